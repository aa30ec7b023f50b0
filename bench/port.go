package bench

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"gvswitch/dataplane"
	"gvswitch/dataplane/afpacket"
	"gvswitch/dataplane/afxdp"
	"gvswitch/vhostuser/vhosttest"
)

// Port is one generator port. Tx and Rx are called from the generator's
// loop only, once per burst.
type Port interface {
	// Name is how results name the port (its spec).
	Name() string
	// Tx sends frames, copying them (the caller keeps the slices), and
	// returns how many the port accepted; the rest were not sent (the
	// ring is full) and are not counted as transmitted.
	Tx(frames [][]byte) int
	// Rx fills frames with received frames and returns how many; the
	// slices are valid until the next Rx.
	Rx(frames [][]byte) int
	// Close releases the port and removes any file it created.
	Close() error
}

// FrameLimiter is implemented by ports that carry frames up to a size
// (counted with FCS, as stream sizes are); Run refuses larger sizes.
type FrameLimiter interface {
	MaxFrameSize() int
}

// ErrBadSpec is wrapped by OpenPort for a spec it cannot parse.
var ErrBadSpec = errors.New("bad port spec")

// PortOptions tune the ports OpenPort makes.
type PortOptions struct {
	// RingSize is the vhost-user virtqueue size (0: 1024).
	RingSize int
	// BufSize is the vhost-user buffer size (0: 2048, enough for 1518-byte
	// frames; raise it for jumbo frames).
	BufSize int
	// HugePages backs vhost-user guest memory with 2 MiB hugepages.
	HugePages bool
	// ConnectTimeout bounds waiting for the back-end (0: 60 s).
	ConnectTimeout time.Duration
	// Pool supplies packet buffers to kernel-interface ports (made by
	// OpenPort when nil).
	Pool *dataplane.Pool
}

// OpenPort opens a generator port from its spec:
//
//	vhost-server:PATH   listen at PATH as a vhost-user front-end (QEMU's
//	                    server=on; the switch's dpdkvhostuserclient port or
//	                    DPDK's net_vhost with client=1 connects)
//	vhost-client:PATH   connect to a back-end listening at PATH (a
//	                    dpdkvhostuser port, DPDK's net_vhost)
//	afpacket:IFNAME     AF_PACKET on a kernel interface
//	afxdp:IFNAME        AF_XDP on a kernel interface (queue 0)
func OpenPort(spec string, opt PortOptions) (Port, error) {
	kind, arg, ok := strings.Cut(spec, ":")
	if !ok || arg == "" {
		return nil, fmt.Errorf("%w %q: want KIND:ARG (vhost-server:PATH, vhost-client:PATH, afpacket:IFNAME, afxdp:IFNAME)", ErrBadSpec, spec)
	}
	switch kind {
	case "vhost-server", "vhost-client":
		return OpenVhost(spec, arg, kind == "vhost-server", opt)
	case "afpacket", "afxdp":
		pool := opt.Pool
		var arena *dataplane.Arena
		if pool == nil {
			var err error
			if pool, arena, err = newPool(4096); err != nil {
				return nil, fmt.Errorf("port %s: %w", spec, err)
			}
		}
		var p dataplane.Port
		var err error
		if kind == "afpacket" {
			p, err = afpacket.Open(arg, afpacket.Options{Pool: pool})
		} else {
			p, err = afxdp.Open(arg, afxdp.Options{HugePages: opt.HugePages})
		}
		if err != nil {
			if arena != nil {
				arena.Close()
			}
			return nil, fmt.Errorf("port %s: %w", spec, err)
		}
		return NewDataplanePort(spec, p, pool, arena), nil
	}
	return nil, fmt.Errorf("%w %q: unknown kind %q", ErrBadSpec, spec, kind)
}

func newPool(n int) (*dataplane.Pool, *dataplane.Arena, error) {
	size := n * (dataplane.DefaultDataRoom + dataplane.Headroom + 256)
	ar, err := dataplane.NewArena(size, dataplane.ArenaOptions{})
	if err != nil {
		return nil, nil, err
	}
	p, _, err := dataplane.NewPool("pktgen", ar, 0, n, dataplane.DefaultDataRoom)
	if err != nil {
		ar.Close()
		return nil, nil, err
	}
	return p, ar, nil
}

// VhostPort is a vhost-user front-end with one queue pair driven through
// vhosttest's burst data path.
type VhostPort struct {
	name   string
	path   string
	listen bool
	f      *vhosttest.Frontend
	rx, tx *vhosttest.Ring
}

// OpenVhost sets up a front-end at path: listening there (server role)
// when listen is set, else connecting to it, retrying until the back-end
// is there or the timeout passes. It negotiates one queue pair with
// mergeable receive buffers and shares memory for both rings.
func OpenVhost(name, path string, listen bool, opt PortOptions) (*VhostPort, error) {
	ringSize := opt.RingSize
	if ringSize == 0 {
		ringSize = 1024
	}
	if ringSize&(ringSize-1) != 0 || ringSize > 32768 {
		return nil, fmt.Errorf("port %s: ring size %d is not a power of 2 up to 32768 (virtio 1.1 2.6)", name, ringSize)
	}
	timeout := opt.ConnectTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	bufSize := opt.BufSize
	if bufSize == 0 {
		bufSize = 2048 // a 1518-byte frame and its header fit one buffer
	}
	if bufSize < 128 || bufSize > 65536 {
		return nil, fmt.Errorf("port %s: buffer size %d outside 128..65536", name, bufSize)
	}
	memSize := 2*ringSize*(bufSize+16+8+2) + 4*4096 + 1<<20
	p := &VhostPort{name: name, path: path, listen: listen}
	var err error
	if listen {
		if p.f, err = vhosttest.Listen(path); err != nil {
			return nil, fmt.Errorf("port %s: listen: %w", name, err)
		}
		if err = p.f.Accept(timeout); err != nil {
			p.Close()
			return nil, fmt.Errorf("port %s: waiting %v for the back-end to connect: %w", name, timeout, err)
		}
	} else {
		deadline := time.Now().Add(timeout)
		for {
			if p.f, err = vhosttest.Dial(path); err == nil {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("port %s: connect: %w", name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	p.f.ReplyTimeout = timeout
	if opt.HugePages {
		if p.f.Mem, err = vhosttest.NewHugeMemory(memSize); err != nil {
			p.Close()
			return nil, fmt.Errorf("port %s: %w", name, err)
		}
	}
	if err := p.f.Setup(vhosttest.BurstFeatures, vhosttest.DefaultProtocols, 1, uint16(ringSize), bufSize, memSize); err != nil {
		p.Close()
		return nil, fmt.Errorf("port %s: vhost-user setup: %w", name, err)
	}
	p.f.StartBurst()
	p.rx, p.tx = p.f.Rings[0], p.f.Rings[1]
	return p, nil
}

// Name is the port's spec.
func (p *VhostPort) Name() string { return p.name }

// Tx posts frames on the transmit ring.
func (p *VhostPort) Tx(frames [][]byte) int { return p.tx.TxBurst(frames) }

// Rx collects frames from the receive ring.
func (p *VhostPort) Rx(frames [][]byte) int { return p.rx.RxBurst(frames) }

// MaxFrameSize is the largest frame (with FCS) one transmit buffer holds.
func (p *VhostPort) MaxFrameSize() int { return p.tx.BufSize - p.tx.HdrLen + FCSLen }

// Features are the negotiated virtio features.
func (p *VhostPort) Features() uint64 { return p.f.Features }

// Close disconnects, frees the shared memory and, in server role, removes
// the socket file.
func (p *VhostPort) Close() error {
	if p.f != nil {
		p.f.Close()
	}
	if p.listen {
		if err := os.Remove(p.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("port %s: %w", p.name, err)
		}
	}
	return nil
}

// DataplanePort drives a dataplane.Port (AF_PACKET, AF_XDP, ixgbe) as a
// generator port on its queue 0, copying frames into packets of a pool.
type DataplanePort struct {
	name  string
	port  dataplane.Port
	pool  *dataplane.Pool
	arena *dataplane.Arena // owned, when OpenPort made the pool
	tx    []*dataplane.Packet
	rx    []*dataplane.Packet
	nrx   int
}

// NewDataplanePort wraps p; pool supplies the transmit buffers. When arena
// is not nil the port owns it and closes it on Close.
func NewDataplanePort(name string, p dataplane.Port, pool *dataplane.Pool, arena *dataplane.Arena) *DataplanePort {
	return &DataplanePort{name: name, port: p, pool: pool, arena: arena,
		tx: make([]*dataplane.Packet, 0, MaxBurst), rx: make([]*dataplane.Packet, MaxBurst)}
}

// Name is the port's spec.
func (p *DataplanePort) Name() string { return p.name }

// Tx copies frames into pool packets and sends them.
func (p *DataplanePort) Tx(frames [][]byte) int {
	if len(frames) > MaxBurst {
		frames = frames[:MaxBurst]
	}
	pk := p.tx[:len(frames)]
	n := p.pool.GetBurst(pk)
	for i := 0; i < n; i++ {
		if !pk[i].SetLen(len(frames[i])) {
			// Larger than a buffer: send what fits before it.
			dataplane.PutBurst(pk[i:n])
			n = i
			break
		}
		copy(pk[i].Data(), frames[i])
	}
	if n == 0 {
		return 0
	}
	return p.port.TxBurst(0, pk[:n])
}

// MaxFrameSize is the largest frame (with FCS) a pool packet holds.
func (p *DataplanePort) MaxFrameSize() int { return p.pool.DataRoom() + FCSLen }

// Rx receives a burst, freeing the previous one's packets first.
func (p *DataplanePort) Rx(frames [][]byte) int {
	if p.nrx > 0 {
		dataplane.PutBurst(p.rx[:p.nrx])
		p.nrx = 0
	}
	if len(frames) > MaxBurst {
		frames = frames[:MaxBurst]
	}
	n := p.port.RxBurst(0, p.rx[:len(frames)])
	for i := 0; i < n; i++ {
		frames[i] = p.rx[i].Data()
	}
	p.nrx = n
	return n
}

// Close closes the port and the arena it owns.
func (p *DataplanePort) Close() error {
	if p.nrx > 0 {
		dataplane.PutBurst(p.rx[:p.nrx])
		p.nrx = 0
	}
	err := p.port.Close()
	if p.arena != nil {
		p.arena.Close()
	}
	return err
}

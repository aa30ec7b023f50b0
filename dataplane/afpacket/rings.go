package afpacket

import (
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"

	"gvswitch/internal/offload"
)

// Setting up or tearing down a PACKET_MMAP ring costs an RCU grace period
// each (packet_set_ring calls synchronize_net, net/packet/af_packet.c),
// and closing the socket one more (packet_release): 20 to 30 ms per port
// to open it and 30 to 50 ms to close it, most of it waiting. A port being
// added or deleted is what a waiting ovs-vsctl add-port/del-port waits
// for, so neither happens on that path: Open takes a socket whose rings
// were set up in advance (a spare, made in the background after the
// previous Open), and Close hands the socket to a goroutine that closes
// it. maxSpares are kept, so that ports added one right after the other
// (two add-ports within a build) do not wait; they cost the memory of
// that many ports' rings (about 9 MiB each) from the first Open on.

// geometry is the layout of a socket's rings: receive slots of rxFrameSize
// in rxBlocks blocks of rxBlockSize, then transmit slots of txFrame bytes
// in txBlocks blocks of txBlock bytes, mapped in that order.
type geometry struct {
	rxBlocks, txBlocks int
	txBlock, txFrame   int
}

// geometryFor is the layout for nrx receive slots (DefaultRxFrames if 0)
// and transmit slots that hold a pool buffer of dataRoom bytes.
func geometryFor(nrx, dataRoom int) geometry {
	if nrx <= 0 {
		nrx = DefaultRxFrames
	}
	perBlock := rxBlockSize / rxFrameSize
	g := geometry{rxBlocks: (nrx + perBlock - 1) / perBlock}
	g.txFrame = roundUp(txDataOff+offload.VnetHdrLen+dataRoom, unix.TPACKET_ALIGNMENT)
	g.txBlock = max(txBlockSize, roundUp(g.txFrame, unix.Getpagesize()))
	txPerBlock := g.txBlock / g.txFrame
	g.txBlocks = (txFrames + txPerBlock - 1) / txPerBlock
	return g
}

// rxOffsets and txOffsets are the offsets of the slots in the mapping.
func (g geometry) rxOffsets() []int {
	perBlock := rxBlockSize / rxFrameSize
	off := make([]int, 0, g.rxBlocks*perBlock)
	for b := 0; b < g.rxBlocks; b++ {
		for f := 0; f < perBlock; f++ {
			off = append(off, b*rxBlockSize+f*rxFrameSize)
		}
	}
	return off
}

func (g geometry) txOffsets() []int {
	perBlock := g.txBlock / g.txFrame
	off := make([]int, 0, g.txBlocks*perBlock)
	for b := 0; b < g.txBlocks; b++ {
		for f := 0; f < perBlock; f++ {
			off = append(off, g.rxBlocks*rxBlockSize+b*g.txBlock+f*g.txFrame)
		}
	}
	return off
}

// ringSocket is an AF_PACKET socket with its rings set up and mapped, not
// bound to any interface yet (protocol 0: it receives nothing).
type ringSocket struct {
	fd  int
	mem []byte
	geo geometry
	ns  netnsID // the network namespace it was made in
}

func newRingSocket(g geometry) (*ringSocket, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket(AF_PACKET): %w", err)
	}
	r := &ringSocket{fd: fd, geo: g}
	if err := r.setup(); err != nil {
		r.release()
		return nil, err
	}
	return r, nil
}

func (r *ringSocket) setup() error {
	fd, g := r.fd, r.geo
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
		return fmt.Errorf("PACKET_VERSION: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
		return fmt.Errorf("PACKET_VNET_HDR: %w", err)
	}
	// A frame the kernel refuses (bad offsets, too long) is skipped
	// instead of stopping the transmit ring at it (packet_mmap.rst,
	// PACKET_LOSS).
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_LOSS, 1); err != nil {
		return fmt.Errorf("PACKET_LOSS: %w", err)
	}
	// Linux 4.20+; older kernels still get PACKET_OUTGOING filtering.
	_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)

	perBlock := rxBlockSize / rxFrameSize
	rxReq := unix.TpacketReq{Block_size: rxBlockSize, Block_nr: uint32(g.rxBlocks), Frame_size: rxFrameSize, Frame_nr: uint32(g.rxBlocks * perBlock)}
	if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &rxReq); err != nil {
		return fmt.Errorf("PACKET_RX_RING: %w", err)
	}
	txPerBlock := g.txBlock / g.txFrame
	txReq := unix.TpacketReq{Block_size: uint32(g.txBlock), Block_nr: uint32(g.txBlocks), Frame_size: uint32(g.txFrame), Frame_nr: uint32(g.txBlocks * txPerBlock)}
	if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_TX_RING, &txReq); err != nil {
		return fmt.Errorf("PACKET_TX_RING: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, g.rxBlocks*rxBlockSize+g.txBlocks*g.txBlock, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("mmap rings: %w", err)
	}
	r.mem = mem
	return nil
}

// release unmaps and closes the socket in the background (see the top of
// this file).
func (r *ringSocket) release() {
	releaseSocket(r.mem, r.fd)
}

// pendingCloses counts sockets still being closed by releaseSocket.
var pendingCloses sync.WaitGroup

// releaseSocket unmaps mem and closes the sockets fds (-1 skipped) in a
// goroutine of its own.
func releaseSocket(mem []byte, fds ...int) {
	pendingCloses.Add(1)
	go func() {
		defer pendingCloses.Done()
		if mem != nil {
			unix.Munmap(mem)
		}
		for _, fd := range fds {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	}()
}

// netnsID identifies a network namespace (the device and inode of its
// nsfs file).
type netnsID struct{ dev, ino uint64 }

// threadNetns is the network namespace of the calling thread.
func threadNetns() (netnsID, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		return netnsID{}, err
	}
	return netnsID{st.Dev, st.Ino}, nil
}

// maxSpares is how many ring sockets are kept ready.
const maxSpares = 2

// spares are the ring sockets kept ready for the next Opens, all for the
// key of the last Open (want). building counts the goroutines making
// spares for want; each signals cond when it ends. gen changes with want,
// so that a goroutine still making a spare for an older key neither counts
// as building nor adds its socket. taken counts the spares Open used (for
// tests).
var spares struct {
	mu       sync.Mutex
	cond     *sync.Cond
	want     ringKey
	gen      int
	ready    []*ringSocket
	building int
	taken    int
}

func init() { spares.cond = sync.NewCond(&spares.mu) }

// ringKey is what a spare must match to be used: a socket's rings have
// one geometry and it belongs to one network namespace.
type ringKey struct {
	geo geometry
	ns  netnsID
}

// takeRingSocket returns a ring socket of geometry g made in the calling
// thread's network namespace: a spare if one fits (waiting for one being
// made: that is never longer than making a new one), else a new one. It
// then has spares made in the background, up to maxSpares.
func takeRingSocket(g geometry) (*ringSocket, error) {
	ns, err := threadNetns()
	if err != nil {
		// No namespace to check spares against: no spares.
		return newRingSocket(g)
	}
	key := ringKey{g, ns}
	var r *ringSocket
	spares.mu.Lock()
	if spares.want != key {
		for _, old := range spares.ready {
			old.release()
		}
		spares.want, spares.ready, spares.building = key, nil, 0
		spares.gen++
	}
	for len(spares.ready) == 0 && spares.building > 0 {
		spares.cond.Wait()
		if spares.want != key {
			break // another Open, in another namespace, changed it
		}
	}
	if n := len(spares.ready); n > 0 && spares.want == key {
		r, spares.ready = spares.ready[n-1], spares.ready[:n-1]
		spares.taken++
	}
	if spares.want == key {
		for len(spares.ready)+spares.building < maxSpares && startSpare(key, spares.gen) {
			spares.building++
		}
	}
	spares.mu.Unlock()
	if r == nil {
		if r, err = newRingSocket(g); err != nil {
			return nil, err
		}
		r.ns = ns
	}
	return r, nil
}

// startSpare starts a goroutine that makes a spare for key (of the calling
// thread's namespace) and adds it if the spares are still those of
// generation gen. The goroutine enters the namespace if its thread is not
// in it (a caller in another namespace runs on a locked thread, which the
// goroutine cannot share). Called with spares.mu held.
func startSpare(key ringKey, gen int) bool {
	nsFd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	go func() {
		r := buildSpare(key, nsFd)
		spares.mu.Lock()
		if spares.gen == gen {
			spares.building--
			if r != nil {
				spares.ready = append(spares.ready, r)
				r = nil
			}
		}
		spares.cond.Broadcast()
		spares.mu.Unlock()
		if r != nil {
			r.release()
		}
	}()
	return true
}

// buildSpare makes a ring socket for key in the namespace of nsFd (that
// of key) and closes nsFd; nil if that fails. It runs at the priority of
// the rest of the process: an Open may be waiting for it, so it must not
// be starved on a busy host.
func buildSpare(key ringKey, nsFd int) *ringSocket {
	runtime.LockOSThread()
	defer unix.Close(nsFd)
	if cur, err := threadNetns(); err != nil || cur != key.ns {
		// The thread stays locked: it ends with the goroutine instead
		// of running others in this namespace.
		if err := unix.Setns(nsFd, unix.CLONE_NEWNET); err != nil {
			return nil
		}
	} else {
		defer runtime.UnlockOSThread()
	}
	r, err := newRingSocket(key.geo)
	if err != nil {
		return nil
	}
	r.ns = key.ns
	return r
}

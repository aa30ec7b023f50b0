package afpacket

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"gvswitch/dataplane"
	"gvswitch/dataplane/internal/kport"
	"gvswitch/internal/offload"
)

// ErrNoDevice is wrapped by Open when the kernel has no interface of that
// name (in the caller's network namespace).
var ErrNoDevice = kport.ErrNoDevice

// Options configure Open.
type Options struct {
	// Pool supplies the buffers of received packets (required).
	Pool *dataplane.Pool
	// MTU, if not 0, is set on the kernel interface (Interface
	// mtu_request); 0 keeps the interface's MTU.
	MTU int
	// RxFrames is the number of receive ring slots, each big enough for
	// a 64 KiB GSO frame; 0 means DefaultRxFrames.
	RxFrames int
	// KeepOffloads passes partial checksums on as Packet offload
	// metadata instead of completing them on receive. A dataplane.Bridge
	// completes them for egress ports that do not carry them (see
	// dataplane.OffloadCapable); other consumers of the packets must do
	// the same. By default the port completes them itself.
	KeepOffloads bool
	// GSOPool, if set, holds buffers of at least MaxGSOFrame bytes: a
	// TCP GSO frame is then received whole into one of them, with
	// Packet.GSOSize set, instead of being cut into MSS-sized packets.
	// That is several times faster for TCP between kernel ports. A
	// dataplane.Bridge segments such frames for egress ports that do not
	// carry them; other consumers must do the same (offload.Segmenter).
	// Such frames keep their partial checksum whatever KeepOffloads says.
	GSOPool *dataplane.Pool
}

// MaxGSOFrame is the largest GSO frame a kernel interface hands over
// (gso_max_size 64 KiB plus Ethernet and VLAN headers).
const MaxGSOFrame = kport.MaxGSOFrame

// Ring geometry. A receive slot holds the largest GSO frame a veth makes
// (64 KiB) plus the ring and virtio-net headers.
const (
	DefaultRxFrames = 120
	rxFrameSize     = 65536 + 512
	rxBlockSize     = 1 << 20
	txFrames        = 256
	txBlockSize     = 1 << 16

	// TPACKET_V2 frame layout (linux/if_packet.h): struct tpacket2_hdr
	// (32 bytes), then struct sockaddr_ll at TPACKET_ALIGN(32).
	hdrStatus   = 0
	hdrLen      = 4
	hdrSnaplen  = 8
	hdrMac      = 12
	hdrVlanTCI  = 24
	hdrVlanTPID = 26
	sllPkttype  = 32 + 10
	// tpacket_snd reads the frame at tp_hdrlen - sizeof(sockaddr_ll) =
	// TPACKET2_HDRLEN - 20 = 32 when PACKET_TX_HAS_OFF is not set.
	txDataOff = 32
)

// Port is an open AF_PACKET port. RxBurst and TxBurst follow the
// dataplane.Port contract (one rx and one tx queue).
type Port struct {
	name    string
	ifindex int
	fd      int
	mem     []byte
	nl      *netlink.Handle
	mac     [6]byte
	mtu     atomic.Int32
	link    atomic.Bool

	// Receive side, owned by the polling goroutine.
	rxCache   *dataplane.PoolCache
	rxOff     []int // offset of each rx slot in mem
	rxHead    int
	offl      kport.Offloads
	seg       offload.Segmenter
	segActive bool
	segMeta   segMeta

	// Transmit side, owned by the goroutine holding tx queue 0.
	txCache  *dataplane.PoolCache
	bigFd    int // plain socket for frames larger than a tx slot
	txOff    []int
	txHead   int
	txFrame  int
	dataRoom int

	rxPackets, rxBytes, rxDropped, rxErrors atomic.Uint64
	txPackets, txBytes, txDropped, txErrors atomic.Uint64

	kmu          sync.Mutex
	kernelDrops  uint64
	closeOnce    sync.Once
	gsoSegmented atomic.Uint64
}

// segMeta is what a frame being segmented needs besides its bytes.
type segMeta struct {
	vlan    bool
	tci     uint16
	tpid    uint16
	partial bool
}

// Open opens the kernel interface name in the caller's network namespace.
// The interface keeps its name and configuration (apart from the MTU if
// opt.MTU is set, and promiscuous mode while the port is open).
func Open(name string, opt Options) (*Port, error) {
	if opt.Pool == nil {
		return nil, fmt.Errorf("afpacket %s: no packet pool", name)
	}
	nl, link, err := kport.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("afpacket %s: %w", name, err)
	}
	p := &Port{name: name, ifindex: link.Attrs().Index, nl: nl, fd: -1, bigFd: -1, dataRoom: opt.Pool.DataRoom()}
	copy(p.mac[:], link.Attrs().HardwareAddr)
	if opt.MTU > 0 && opt.MTU != link.Attrs().MTU {
		if err := nl.LinkSetMTU(link, opt.MTU); err != nil {
			nl.Close()
			return nil, fmt.Errorf("afpacket %s: set MTU %d: %w", name, opt.MTU, err)
		}
		link.Attrs().MTU = opt.MTU
	}
	p.mtu.Store(int32(link.Attrs().MTU))
	p.link.Store(linkUp(link))
	if err := p.openSocket(opt); err != nil {
		p.Close()
		return nil, fmt.Errorf("afpacket %s: %w", name, err)
	}
	p.rxCache = opt.Pool.NewCache(0)
	p.txCache = opt.Pool.NewCache(0)
	if err := p.SetOffloads(opt.KeepOffloads, opt.GSOPool); err != nil {
		p.Close()
		return nil, err
	}
	p.offl.Adopt()
	return p, nil
}

// SetOffloads changes KeepOffloads and GSOPool (see Options) while the
// port runs: the receive side switches at its next burst (e.g. when the
// control plane changes userspace-tso-enable). Egress ports that cannot
// carry the metadata need no change: the bridge completes and segments for
// them.
func (p *Port) SetOffloads(keep bool, gsoPool *dataplane.Pool) error {
	gso, err := kport.NewGSOCache(gsoPool, MaxGSOFrame)
	if err != nil {
		return fmt.Errorf("afpacket %s: %w", p.name, err)
	}
	p.offl.Set(keep, gso)
	return nil
}

func linkUp(l netlink.Link) bool {
	f := l.Attrs().RawFlags
	return f&unix.IFF_UP != 0 && f&unix.IFF_RUNNING != 0
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (p *Port) openSocket(opt Options) error {
	r, err := takeRingSocket(geometryFor(opt.RxFrames, p.dataRoom))
	if err != nil {
		return err
	}
	fd := r.fd
	p.fd, p.mem, p.txFrame = fd, r.mem, r.geo.txFrame
	p.rxOff, p.txOff = r.geo.rxOffsets(), r.geo.txOffsets()
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: p.ifindex}
	if err := unix.Bind(fd, sa); err != nil {
		return fmt.Errorf("bind ifindex %d: %w", p.ifindex, err)
	}
	// Frames larger than a tx slot (GSO frames from another port) go out
	// through a plain socket with one write each. Protocol 0: it never
	// receives anything.
	big, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return fmt.Errorf("socket(AF_PACKET): %w", err)
	}
	p.bigFd = big
	if err := unix.SetsockoptInt(big, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
		return fmt.Errorf("PACKET_VNET_HDR: %w", err)
	}
	if err := unix.Bind(big, &unix.SockaddrLinklayer{Ifindex: p.ifindex}); err != nil {
		return fmt.Errorf("bind ifindex %d: %w", p.ifindex, err)
	}
	if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, p.promisc()); err != nil {
		return fmt.Errorf("promiscuous mode: %w", err)
	}
	return nil
}

// promisc is the membership that puts the interface in promiscuous mode.
func (p *Port) promisc() *unix.PacketMreq {
	return &unix.PacketMreq{Ifindex: int32(p.ifindex), Type: unix.PACKET_MR_PROMISC}
}

func roundUp(n, to int) int { return (n + to - 1) / to * to }

func (p *Port) status(off int) uint32 {
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&p.mem[off+hdrStatus])))
}

func (p *Port) setStatus(off int, v uint32) {
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&p.mem[off+hdrStatus])), v)
}

func (p *Port) u32(off int) uint32 { return binary.NativeEndian.Uint32(p.mem[off:]) }
func (p *Port) u16(off int) uint16 { return binary.NativeEndian.Uint16(p.mem[off:]) }

// releaseRx gives the head rx slot back to the kernel.
func (p *Port) releaseRx() {
	p.setStatus(p.rxOff[p.rxHead], unix.TP_STATUS_KERNEL)
	p.rxHead++
	if p.rxHead == len(p.rxOff) {
		p.rxHead = 0
	}
}

// Name is the interface name.
func (p *Port) Name() string { return p.name }

// NumRxQueues and NumTxQueues: one of each.
func (p *Port) NumRxQueues() int { return 1 }
func (p *Port) NumTxQueues() int { return 1 }

// Ifindex is the kernel interface index.
func (p *Port) Ifindex() int { return p.ifindex }

// MAC is the interface's Ethernet address.
func (p *Port) MAC() [6]byte { return p.mac }

// MTU is the interface's MTU as last seen (Open, SetMTU, Link).
func (p *Port) MTU() int { return int(p.mtu.Load()) }

// Link asks the kernel whether the interface is up with carrier, and
// refreshes the MTU.
func (p *Port) Link() bool {
	l, err := p.nl.LinkByIndex(p.ifindex)
	if err != nil {
		p.link.Store(false)
		return false
	}
	p.mtu.Store(int32(l.Attrs().MTU))
	up := linkUp(l)
	p.link.Store(up)
	return up
}

// SetMTU sets the kernel interface's MTU (Interface mtu_request).
func (p *Port) SetMTU(mtu int) error {
	if err := kport.SetMTU(p.nl, p.ifindex, mtu); err != nil {
		return fmt.Errorf("afpacket %s: %w", p.name, err)
	}
	p.mtu.Store(int32(mtu))
	return nil
}

// Stats are the port's counters; RxDropped includes the frames the kernel
// dropped because the receive ring was full (PACKET_STATISTICS).
func (p *Port) Stats() dataplane.PortStats {
	p.kmu.Lock()
	if p.fd >= 0 {
		// Reading PACKET_STATISTICS resets the kernel's counters.
		if st, err := unix.GetsockoptTpacketStats(p.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
			p.kernelDrops += uint64(st.Drops)
		}
	}
	kd := p.kernelDrops
	p.kmu.Unlock()
	return dataplane.PortStats{
		RxPackets: p.rxPackets.Load(), RxBytes: p.rxBytes.Load(),
		RxDropped: p.rxDropped.Load() + kd, RxErrors: p.rxErrors.Load(),
		TxPackets: p.txPackets.Load(), TxBytes: p.txBytes.Load(),
		TxDropped: p.txDropped.Load(), TxErrors: p.txErrors.Load(),
	}
}

// ExtraStats are the kernel interface's error counters under the
// Interface statistics keys Open vSwitch uses for system ports, and how
// many received GSO frames were cut into segments ("rx_gso_segmented").
func (p *Port) ExtraStats() map[string]uint64 {
	m := map[string]uint64{"rx_gso_segmented": p.gsoSegmented.Load()}
	if l, err := p.nl.LinkByIndex(p.ifindex); err == nil && l.Attrs().Statistics != nil {
		s := l.Attrs().Statistics
		m["collisions"] = s.Collisions
		m["rx_crc_err"] = s.RxCrcErrors
		m["rx_frame_err"] = s.RxFrameErrors
		m["rx_over_err"] = s.RxOverErrors
		m["rx_missed_errors"] = s.RxMissedErrors
	}
	return m
}

// Status is for the Interface status column.
func (p *Port) Status() map[string]string {
	return map[string]string{"driver_name": "af_packet", "ifindex": fmt.Sprint(p.ifindex)}
}

// Close releases the port's buffers and takes the interface out of
// promiscuous mode at once; the socket and its rings are released in the
// background (closing them waits for RCU grace periods: see rings.go).
// The kernel interface stays.
func (p *Port) Close() error {
	p.closeOnce.Do(func() {
		if p.rxCache != nil {
			p.rxCache.Flush()
			p.txCache.Flush()
		}
		p.offl.Close()
		p.kmu.Lock()
		fd, big, mem := p.fd, p.bigFd, p.mem
		p.fd, p.bigFd, p.mem = -1, -1, nil
		p.kmu.Unlock()
		if fd >= 0 {
			// Not an error if the membership was never added (a
			// failed Open) or the interface is gone.
			unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_DROP_MEMBERSHIP, p.promisc())
		}
		releaseSocket(mem, fd, big)
		if p.nl != nil {
			p.nl.Close()
		}
	})
	return nil
}

// TxOffloads implements dataplane.OffloadCapable: the kernel takes
// partial checksums and GSO frames of up to MaxGSOFrame bytes through the
// virtio-net header (PACKET_VNET_HDR), whatever the receive options.
func (p *Port) TxOffloads() dataplane.TxOffloads {
	return dataplane.TxOffloads{CsumPartial: true, MaxGSOFrame: MaxGSOFrame}
}

// HardwareAddr is MAC as a net.HardwareAddr.
func (p *Port) HardwareAddr() net.HardwareAddr { return net.HardwareAddr(p.mac[:]) }

var (
	_ dataplane.Port           = (*Port)(nil)
	_ dataplane.OffloadCapable = (*Port)(nil)
)

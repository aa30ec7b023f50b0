package tap

import (
	"errors"
	"fmt"
	"hash/fnv"
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

// ErrName is wrapped by Open for a name the kernel cannot use.
var ErrName = errors.New("invalid interface name")

// Options configure Open.
type Options struct {
	// Pool supplies the buffers of received packets (required).
	Pool *dataplane.Pool
	// MAC is the tap's Ethernet address; zero selects MACFromName(name),
	// stable across restarts.
	MAC [6]byte
	// MTU (Interface mtu_request); 0 keeps the kernel's 1500.
	MTU int
	// KeepOffloads offers checksum offload to the host stack (TUN_F_CSUM):
	// frames then arrive with partial checksums, passed on as Packet
	// offload metadata. A dataplane.Bridge completes them for egress
	// ports that do not carry them (dataplane.OffloadCapable); other
	// consumers must do the same. By default the kernel completes them
	// before the tap.
	KeepOffloads bool
	// GSOPool, if set, holds buffers of at least MaxGSOFrame bytes, and
	// TCP segmentation offload is offered to the host stack: its TCP
	// frames of up to 64 KiB arrive whole, in these buffers, with
	// Packet.GSOSize set. A dataplane.Bridge segments them for egress
	// ports that do not carry them; other consumers must do the same.
	GSOPool *dataplane.Pool
}

// MaxGSOFrame is the largest frame the host stack hands to a tap with TSO
// (64 KiB plus Ethernet and VLAN headers).
const MaxGSOFrame = kport.MaxGSOFrame

// TUN_F_* offload flags (linux/if_tun.h).
const (
	tunFCsum   = 0x01
	tunFTSO4   = 0x02
	tunFTSO6   = 0x04
	tunFTSOECN = 0x08
)

// Port is an open tap.
type Port struct {
	name    string
	ifindex int
	fd      int
	nl      *netlink.Handle
	mac     [6]byte
	mtu     atomic.Int32

	rxCache *dataplane.PoolCache
	txCache *dataplane.PoolCache

	// Receive side, owned by the polling goroutine: offload settings,
	// and where a frame larger than a pool buffer spills (readv's second
	// iovec).
	offl  kport.Offloads
	spill []byte
	iov   [2]unix.Iovec
	gsoRx atomic.Uint64

	rxPackets, rxBytes, rxDropped, rxErrors atomic.Uint64
	txPackets, txBytes, txDropped, txErrors atomic.Uint64

	closeOnce sync.Once
	closeErr  error
}

// MACFromName derives a stable, locally administered unicast address from
// an interface name.
func MACFromName(name string) [6]byte {
	h := fnv.New64a()
	h.Write([]byte("gvswitch-internal:" + name))
	s := h.Sum(nil)
	var m [6]byte
	copy(m[:], s)
	m[0] = m[0]&^0x01 | 0x02
	return m
}

// Open creates the tap name in the caller's network namespace, sets its
// MAC and MTU and brings it up. A name already used by another interface
// is an error (the kernel refuses to attach to a non-tap device).
func Open(name string, opt Options) (*Port, error) {
	if opt.Pool == nil {
		return nil, fmt.Errorf("tap %s: no packet pool", name)
	}
	if len(name) == 0 || len(name) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("tap %q: %w (1 to %d bytes)", name, ErrName, unix.IFNAMSIZ-1)
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("tap %s: open /dev/net/tun: %w", name, err)
	}
	p := &Port{name: name, fd: fd, spill: make([]byte, MaxGSOFrame+offload.VnetHdrLen)}
	fail := func(err error) (*Port, error) {
		p.Close()
		return nil, fmt.Errorf("tap %s: %w", name, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return fail(fmt.Errorf("%w: %v", ErrName, err))
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		return fail(fmt.Errorf("TUNSETIFF (is %s another kind of interface?): %w", name, err))
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TUNSETVNETHDRSZ, offload.VnetHdrLen); err != nil {
		return fail(fmt.Errorf("TUNSETVNETHDRSZ: %w", err))
	}
	if err := p.SetOffloads(opt.KeepOffloads, opt.GSOPool); err != nil {
		return fail(err)
	}
	p.offl.Adopt()
	if p.nl, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
		return fail(fmt.Errorf("netlink: %w", err))
	}
	link, err := p.nl.LinkByName(name)
	if err != nil {
		return fail(err)
	}
	p.ifindex = link.Attrs().Index
	p.mac = opt.MAC
	if p.mac == [6]byte{} {
		p.mac = MACFromName(name)
	}
	if err := p.nl.LinkSetHardwareAddr(link, net.HardwareAddr(p.mac[:])); err != nil {
		return fail(fmt.Errorf("set MAC: %w", err))
	}
	mtu := link.Attrs().MTU
	if opt.MTU > 0 && opt.MTU != mtu {
		if err := p.nl.LinkSetMTU(link, opt.MTU); err != nil {
			return fail(fmt.Errorf("set MTU %d: %w", opt.MTU, err))
		}
		mtu = opt.MTU
	}
	p.mtu.Store(int32(mtu))
	if err := p.nl.LinkSetUp(link); err != nil {
		return fail(fmt.Errorf("set up: %w", err))
	}
	p.rxCache = opt.Pool.NewCache(0)
	p.txCache = opt.Pool.NewCache(0)
	return p, nil
}

// SetOffloads changes Options.KeepOffloads and Options.GSOPool while the
// port runs (TUNSETOFFLOAD; the receive side switches at its next burst).
// Frames already queued in the tap keep their form: a GSO frame that
// arrives when GSO is off is dropped and counted as an rx error.
func (p *Port) SetOffloads(keep bool, gsoPool *dataplane.Pool) error {
	gso, err := kport.NewGSOCache(gsoPool, MaxGSOFrame)
	if err != nil {
		return fmt.Errorf("tap %s: %w", p.name, err)
	}
	flags := 0
	if keep {
		flags = tunFCsum
	}
	if gso != nil {
		// TSO needs checksum offload (tun_set_offload).
		flags = tunFCsum | tunFTSO4 | tunFTSO6 | tunFTSOECN
	}
	if err := unix.IoctlSetInt(p.fd, unix.TUNSETOFFLOAD, flags); err != nil {
		return fmt.Errorf("tap %s: TUNSETOFFLOAD %#x: %w", p.name, flags, err)
	}
	p.offl.Set(keep, gso)
	return nil
}

// Name is the tap's name.
func (p *Port) Name() string { return p.name }

// Ifindex is the kernel interface index.
func (p *Port) Ifindex() int { return p.ifindex }

// NumRxQueues and NumTxQueues: one of each.
func (p *Port) NumRxQueues() int { return 1 }
func (p *Port) NumTxQueues() int { return 1 }

// MAC is the tap's address.
func (p *Port) MAC() [6]byte { return p.mac }

// MTU is the tap's MTU as last seen.
func (p *Port) MTU() int { return int(p.mtu.Load()) }

// Link reports whether the tap is administratively up (a tap has carrier
// while the port holds it open); it refreshes the MTU.
func (p *Port) Link() bool {
	l, err := p.nl.LinkByIndex(p.ifindex)
	if err != nil {
		return false
	}
	p.mtu.Store(int32(l.Attrs().MTU))
	return l.Attrs().RawFlags&unix.IFF_UP != 0
}

// SetMTU changes the tap's MTU (Interface mtu_request).
func (p *Port) SetMTU(mtu int) error {
	if err := kport.SetMTU(p.nl, p.ifindex, mtu); err != nil {
		return fmt.Errorf("tap %s: %w", p.name, err)
	}
	p.mtu.Store(int32(mtu))
	return nil
}

// Stats are the port's counters.
func (p *Port) Stats() dataplane.PortStats {
	return dataplane.PortStats{
		RxPackets: p.rxPackets.Load(), RxBytes: p.rxBytes.Load(),
		RxDropped: p.rxDropped.Load(), RxErrors: p.rxErrors.Load(),
		TxPackets: p.txPackets.Load(), TxBytes: p.txBytes.Load(),
		TxDropped: p.txDropped.Load(), TxErrors: p.txErrors.Load(),
	}
}

// Status is for the Interface status column.
func (p *Port) Status() map[string]string {
	return map[string]string{"driver_name": "tun", "ifindex": fmt.Sprint(p.ifindex)}
}

// RxBurst reads up to len(pkts) frames, one readv(2) each, until the tap
// has no more.
func (p *Port) RxBurst(q int, pkts []*dataplane.Packet) int {
	p.offl.Adopt()
	n := 0
	var bytes, drops, errs uint64
	for n < len(pkts) {
		pk := p.rxCache.Get()
		if pk == nil {
			drops++
			// Read and discard one frame so the tap does not fill up.
			if _, err := p.readv(p.spill[:64], nil); err != nil {
				break
			}
			continue
		}
		// The virtio-net header lands in the headroom, the frame at
		// the packet's normal start; a bigger frame spills over.
		buf := pk.Buffer()[dataplane.Headroom-offload.VnetHdrLen:]
		r, err := p.readv(buf, p.spill)
		if err != nil || r < offload.VnetHdrLen+14 {
			p.rxCache.Put(pk)
			if err != nil {
				break // EAGAIN: nothing more
			}
			errs++
			continue
		}
		vh, _ := offload.DecodeVnetHdr(buf)
		if r > len(buf) {
			// A GSO frame: move it into a GSO buffer.
			p.rxCache.Put(pk)
			if pk = p.rxGSO(buf, r); pk == nil {
				errs++
				continue
			}
		} else {
			pk.SetLen(r - offload.VnetHdrLen)
		}
		if vh.GSOType != offload.GSONone && vh.GSOSize > 0 {
			pk.GSOSize = vh.GSOSize
		}
		if vh.Flags&offload.FlagNeedsCsum != 0 {
			if p.offl.Keep || pk.GSOSize > 0 {
				pk.Offload = dataplane.OffloadCsumPartial
				pk.CsumStart, pk.CsumOffset = vh.CsumStart, vh.CsumOffset
			} else if offload.CompletePartial(pk.Data(), int(vh.CsumStart), int(vh.CsumOffset)) != nil {
				pk.Free()
				errs++
				continue
			} else {
				pk.Offload = dataplane.OffloadCsumValid
			}
		} else if vh.Flags&offload.FlagDataValid != 0 {
			pk.Offload = dataplane.OffloadCsumValid
		}
		bytes += uint64(pk.Len())
		pkts[n] = pk
		n++
	}
	if n > 0 {
		p.rxPackets.Add(uint64(n))
		p.rxBytes.Add(bytes)
	}
	if drops > 0 {
		p.rxDropped.Add(drops)
	}
	if errs > 0 {
		p.rxErrors.Add(errs)
	}
	return n
}

// rxGSO copies a frame of r bytes (virtio-net header included) that
// spilled from buf into p.spill into a GSO buffer; nil without one.
func (p *Port) rxGSO(buf []byte, r int) *dataplane.Packet {
	if p.offl.GSO == nil || r > len(buf)+len(p.spill) {
		return nil
	}
	g := p.offl.GSO.Get()
	if g == nil {
		return nil
	}
	room := g.Room()
	flen := r - offload.VnetHdrLen
	if flen > len(room) {
		p.offl.GSO.Put(g)
		return nil
	}
	k := copy(room, buf[offload.VnetHdrLen:])
	copy(room[k:flen], p.spill)
	g.SetLen(flen)
	p.gsoRx.Add(1)
	return g
}

// readv reads one frame into a, spilling into b (may be nil).
func (p *Port) readv(a, b []byte) (int, error) {
	p.iov[0].Base = &a[0]
	p.iov[0].SetLen(len(a))
	cnt := 1
	if len(b) > 0 {
		p.iov[1].Base = &b[0]
		p.iov[1].SetLen(len(b))
		cnt = 2
	}
	r, _, e := unix.RawSyscall(unix.SYS_READV, uintptr(p.fd), uintptr(unsafe.Pointer(&p.iov[0])), uintptr(cnt))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// ExtraStats reports how many GSO frames arrived whole ("rx_gso_frames").
func (p *Port) ExtraStats() map[string]uint64 {
	return map[string]uint64{"rx_gso_frames": p.gsoRx.Load()}
}

// TxBurst writes each frame behind a virtio-net header built in its
// headroom, one write(2) each, and frees the packets. Frames the tap
// refuses (queue full, device down) are dropped and counted.
func (p *Port) TxBurst(q int, pkts []*dataplane.Packet) int {
	sent := 0
	var bytes, drops uint64
	for _, pk := range pkts {
		l := pk.Len()
		var vh offload.VnetHdr
		if pk.Offload&dataplane.OffloadCsumPartial != 0 {
			vh.Flags = offload.FlagNeedsCsum
			vh.CsumStart, vh.CsumOffset = pk.CsumStart, pk.CsumOffset
		}
		if pk.GSOSize > 0 {
			vh.GSOType, vh.GSOSize = gsoType(pk.Data()), pk.GSOSize
		}
		hdr := pk.Prepend(offload.VnetHdrLen)
		if hdr == nil {
			drops++ // no headroom: not a buffer of ours
			continue
		}
		vh.Encode(hdr)
		if _, err := rawWrite(p.fd, pk.Data()); err != nil {
			drops++
			continue
		}
		bytes += uint64(l)
		sent++
	}
	if sent > 0 {
		p.txPackets.Add(uint64(sent))
		p.txBytes.Add(bytes)
	}
	if drops > 0 {
		p.txDropped.Add(drops)
	}
	p.txCache.PutBurst(pkts)
	return sent
}

// gsoType is the virtio GSO type the tap wants with a TCP GSO frame
// (kport.GSOType).
func gsoType(frame []byte) uint8 { return kport.GSOType(frame) }

// TxOffloads implements dataplane.OffloadCapable: the kernel takes partial
// checksums and GSO frames of up to MaxGSOFrame bytes written with their
// virtio-net header (IFF_VNET_HDR), whatever the receive options.
func (p *Port) TxOffloads() dataplane.TxOffloads {
	return dataplane.TxOffloads{CsumPartial: true, MaxGSOFrame: MaxGSOFrame}
}

// rawWrite is write(2) without the runtime's blocking-syscall
// bookkeeping: the fd is non-blocking, so it returns at once (EAGAIN when
// the tap's queue is full).
func rawWrite(fd int, b []byte) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// Close removes the tap from the kernel and releases the port.
func (p *Port) Close() error {
	p.closeOnce.Do(func() {
		if p.rxCache != nil {
			p.rxCache.Flush()
			p.txCache.Flush()
		}
		p.offl.Close()
		if p.fd >= 0 {
			// Closing the only fd of a non-persistent tap unregisters it.
			p.closeErr = unix.Close(p.fd)
			p.fd = -1
		}
		if p.nl != nil {
			p.nl.Close()
		}
	})
	return p.closeErr
}

var (
	_ dataplane.Port           = (*Port)(nil)
	_ dataplane.OffloadCapable = (*Port)(nil)
)

// HardwareAddrString is the MAC in the usual colon form.
func (p *Port) HardwareAddrString() string { return net.HardwareAddr(p.mac[:]).String() }

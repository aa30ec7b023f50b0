package afxdp

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"gvswitch/dataplane"
	"gvswitch/dataplane/internal/kport"
)

// Sentinel errors Open wraps.
var (
	// ErrNoDevice: the kernel has no interface of that name (in the
	// caller's network namespace).
	ErrNoDevice = kport.ErrNoDevice
	// ErrUnsupported: the interface (or the kernel) cannot do AF_XDP in
	// the requested mode, or in any mode for best-effort.
	ErrUnsupported = errors.New("AF_XDP not supported")
	// ErrBadOption: an Interface option has a value we do not accept.
	ErrBadOption = errors.New("bad afxdp option")
)

// Mode is an XDP mode, options:xdp-mode.
type Mode int

// The modes, in best-effort's order of preference.
const (
	ModeBestEffort Mode = iota
	ModeNativeZeroCopy
	ModeNative
	ModeGeneric
)

var modeNames = [...]string{"best-effort", "native-with-zerocopy", "native", "generic"}

// String is the mode's name as options:xdp-mode and the status column
// spell it.
func (m Mode) String() string {
	if m < 0 || int(m) >= len(modeNames) {
		return "unknown"
	}
	return modeNames[m]
}

// ParseMode parses an options:xdp-mode value; "" is best-effort.
func ParseMode(s string) (Mode, error) {
	if s == "" {
		return ModeBestEffort, nil
	}
	for i, n := range modeNames {
		if s == n {
			return Mode(i), nil
		}
	}
	return 0, fmt.Errorf("%w: xdp-mode %q (want best-effort, native-with-zerocopy, native or generic)", ErrBadOption, s)
}

// attachFlags and bindFlags are how a concrete mode attaches the program
// (XDP_FLAGS_*) and binds the sockets (XDP_COPY/XDP_ZEROCOPY).
func (m Mode) attachFlags() int {
	if m == ModeGeneric {
		return unix.XDP_FLAGS_SKB_MODE
	}
	return unix.XDP_FLAGS_DRV_MODE
}

func (m Mode) bindFlags() uint16 {
	if m == ModeNativeZeroCopy {
		return unix.XDP_ZEROCOPY
	}
	return unix.XDP_COPY
}

// MaxMTU is the largest MTU an AF_XDP port carries: a frame (with one
// VLAN tag) must fit a UMEM chunk after the kernel's XDP_PACKET_HEADROOM.
const MaxMTU = FrameSize - unix.XDP_PACKET_HEADROOM - 14 - 4

// MaxQueues is the largest options:n_rxq (Open vSwitch's limit too).
const MaxQueues = 16

// Options configure Open. The zero value is Open vSwitch's default: one
// queue, best-effort, need_wakeup on.
type Options struct {
	// Mode is the XDP mode to use (options:xdp-mode).
	Mode Mode
	// NoNeedWakeup turns XDP_USE_NEED_WAKEUP off
	// (options:use-need-wakeup=false): the port then makes a sendto per
	// transmitted burst whether the kernel needs it or not.
	NoNeedWakeup bool
	// Queues is the number of rx (and tx) queues, one XSK each, bound to
	// the interface's queues 0..Queues-1 (options:n_rxq); 0 means 1.
	Queues int
	// MTU, if not 0, is set on the kernel interface (mtu_request).
	MTU int
	// Frames is the number of UMEM chunks per queue (0: DefaultFrames);
	// RingSize the entries of each ring, a power of two (0:
	// DefaultRingSize).
	Frames, RingSize int
	// HugePages backs the UMEM with hugepages when the host has them.
	HugePages bool
}

// ParseOptions sets opt from an Interface's options column: xdp-mode,
// use-need-wakeup and n_rxq, spelt and defaulted as in Open vSwitch.
// Other keys are left to the caller.
func ParseOptions(opt *Options, o map[string]string) error {
	m, err := ParseMode(o["xdp-mode"])
	if err != nil {
		return err
	}
	opt.Mode = m
	switch v := o["use-need-wakeup"]; v {
	case "", "true":
		opt.NoNeedWakeup = false
	case "false":
		opt.NoNeedWakeup = true
	default:
		return fmt.Errorf("%w: use-need-wakeup %q (want true or false)", ErrBadOption, v)
	}
	opt.Queues = 1
	if v, ok := o["n_rxq"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > MaxQueues {
			return fmt.Errorf("%w: n_rxq %q (want 1..%d)", ErrBadOption, v, MaxQueues)
		}
		opt.Queues = n
	}
	return nil
}

// Port is an open AF_XDP port. RxBurst and TxBurst follow the
// dataplane.Port contract, with NumRxQueues() == NumTxQueues() == the
// number of XSKs.
type Port struct {
	name    string
	ifindex int
	mac     [6]byte
	mtu     atomic.Int32
	nl      *netlink.Handle
	drv     [3]string // driver name, version, firmware (ETHTOOL_GDRVINFO)
	mode    Mode      // in use
	wakeup  bool
	prog    *xdpProg
	qs      []*queue

	mu     sync.Mutex // Stats/ExtraStats against Close
	closed bool
}

// Open opens the kernel interface name (in the caller's network
// namespace and on the calling OS thread's namespace: run it on the
// thread that is in the interface's namespace) as an AF_XDP port.
func Open(name string, opt Options) (*Port, error) {
	if opt.Queues == 0 {
		opt.Queues = 1
	}
	if opt.Queues < 0 || opt.Queues > MaxQueues {
		return nil, fmt.Errorf("afxdp %s: %w: %d queues (want 1..%d)", name, ErrBadOption, opt.Queues, MaxQueues)
	}
	if opt.Mode < ModeBestEffort || opt.Mode > ModeGeneric {
		return nil, fmt.Errorf("afxdp %s: %w: mode %d", name, ErrBadOption, opt.Mode)
	}
	if opt.Frames == 0 {
		opt.Frames = DefaultFrames
	}
	if opt.RingSize == 0 {
		opt.RingSize = DefaultRingSize
	}
	if opt.RingSize < 64 || opt.RingSize&(opt.RingSize-1) != 0 || opt.Frames < 2*opt.RingSize {
		return nil, fmt.Errorf("afxdp %s: %w: ring size %d, %d frames (want a power of two >= 64, frames >= 2 rings)",
			name, ErrBadOption, opt.RingSize, opt.Frames)
	}
	nl, l, err := kport.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("afxdp %s: %w", name, err)
	}
	if nrx := rxQueuesInUse(name); nrx > 0 && opt.Queues > nrx {
		nl.Close()
		return nil, fmt.Errorf("afxdp %s: %w: n_rxq %d: the interface has %d rx queues", name, ErrBadOption, opt.Queues, nrx)
	}
	p := &Port{name: name, ifindex: l.Attrs().Index, nl: nl, wakeup: !opt.NoNeedWakeup, drv: driverInfo(name)}
	copy(p.mac[:], l.Attrs().HardwareAddr)
	mtu := l.Attrs().MTU
	if opt.MTU > 0 {
		mtu = opt.MTU
	}
	if mtu > MaxMTU {
		nl.Close()
		return nil, fmt.Errorf("afxdp %s: %w: MTU %d is larger than AF_XDP frames carry (%d)", name, ErrUnsupported, mtu, MaxMTU)
	}
	if opt.MTU > 0 && opt.MTU != l.Attrs().MTU {
		if err := nl.LinkSetMTU(l, opt.MTU); err != nil {
			nl.Close()
			return nil, fmt.Errorf("afxdp %s: set MTU %d: %w", name, opt.MTU, err)
		}
		l.Attrs().MTU = opt.MTU
	}
	p.mtu.Store(int32(l.Attrs().MTU))
	if err := p.open(opt); err != nil {
		nl.Close()
		return nil, fmt.Errorf("afxdp %s: %w", name, err)
	}
	return p, nil
}

func (p *Port) open(opt Options) error {
	if err := removeStale(p.nl, p.ifindex); err != nil {
		return err
	}
	// The kernel must know AF_XDP at all before anything is attached.
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%w: socket(AF_XDP): %w", ErrUnsupported, err)
	}
	unix.Close(fd)
	prog, err := loadProgram(opt.Queues)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	modes := []Mode{opt.Mode}
	if opt.Mode == ModeBestEffort {
		modes = []Mode{ModeNativeZeroCopy, ModeNative, ModeGeneric}
	}
	var fails []string
	var last error
	for _, m := range modes {
		qs, err := p.tryMode(prog, m, opt)
		if err == nil {
			p.prog, p.mode, p.qs = prog, m, qs
			return nil
		}
		last = err
		fails = append(fails, fmt.Sprintf("%s: %v", m, err))
	}
	prog.close()
	if len(modes) == 1 {
		return fmt.Errorf("%w in xdp-mode %s: %w", ErrUnsupported, opt.Mode, last)
	}
	return fmt.Errorf("%w in any XDP mode (%s)", ErrUnsupported, strings.Join(fails, "; "))
}

// tryMode attaches the program in mode m and binds one XSK per queue;
// on failure it undoes both.
func (p *Port) tryMode(prog *xdpProg, m Mode, opt Options) ([]*queue, error) {
	if err := prog.attach(p.ifindex, m.attachFlags()); err != nil {
		return nil, fmt.Errorf("attach XDP program: %w", err)
	}
	var qs []*queue
	fail := func(err error) ([]*queue, error) {
		for _, q := range qs {
			q.x.close()
		}
		prog.detach()
		return nil, err
	}
	for i := 0; i < opt.Queues; i++ {
		x, err := newXSK(p.name, i, opt.Frames, opt.RingSize, opt.HugePages)
		if err != nil {
			return fail(err)
		}
		qs = append(qs, newQueue(x))
		if err := x.bind(p.ifindex, i, m.bindFlags(), p.wakeup); err != nil {
			return fail(err)
		}
		if err := prog.xsks.Put(uint32(i), uint32(x.fd)); err != nil {
			return fail(fmt.Errorf("XSKMAP entry %d: %w", i, err))
		}
	}
	for _, q := range qs {
		q.refill(p.wakeup)
	}
	return qs, nil
}

// rxQueuesInUse asks the driver how many rx queues it uses now
// (ETHTOOL_GCHANNELS: rx or combined channels); 0 when it cannot say.
// A socket can only bind to one of these.
func rxQueuesInUse(name string) int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	defer unix.Close(fd)
	// struct ethtool_channels (linux/ethtool.h): cmd, max_rx, max_tx,
	// max_other, max_combined, rx_count, tx_count, other_count,
	// combined_count.
	var ch [9]uint32
	ch[0] = unix.ETHTOOL_GCHANNELS
	var ifr struct {
		name [unix.IFNAMSIZ]byte
		data unsafe.Pointer
		_    [16]byte
	}
	copy(ifr.name[:unix.IFNAMSIZ-1], name)
	ifr.data = unsafe.Pointer(&ch)
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr))); e != 0 {
		return 0
	}
	return int(max(ch[5], ch[8]))
}

// driverInfo asks the kernel for the interface's driver name, version
// and firmware version (ETHTOOL_GDRVINFO), for the status column; empty
// strings when it cannot say.
func driverInfo(name string) (d [3]string) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return d
	}
	defer unix.Close(fd)
	info, err := unix.IoctlGetEthtoolDrvinfo(fd, name)
	if err != nil {
		return d
	}
	return [3]string{unix.ByteSliceToString(info.Driver[:]), unix.ByteSliceToString(info.Version[:]),
		unix.ByteSliceToString(info.Fw_version[:])}
}

// Name is the interface name.
func (p *Port) Name() string { return p.name }

// NumRxQueues and NumTxQueues are the number of XSKs (options:n_rxq).
func (p *Port) NumRxQueues() int { return len(p.qs) }
func (p *Port) NumTxQueues() int { return len(p.qs) }

// Ifindex is the kernel interface index.
func (p *Port) Ifindex() int { return p.ifindex }

// MAC is the interface's Ethernet address.
func (p *Port) MAC() [6]byte { return p.mac }

// HardwareAddr is MAC as a net.HardwareAddr.
func (p *Port) HardwareAddr() net.HardwareAddr { return net.HardwareAddr(p.mac[:]) }

// MTU is the interface's MTU as last seen (Open, Link).
func (p *Port) MTU() int { return int(p.mtu.Load()) }

// Mode is the XDP mode in use (never best-effort).
func (p *Port) Mode() Mode { return p.mode }

// Link asks the kernel whether the interface is up with carrier, and
// refreshes the MTU.
func (p *Port) Link() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	l, err := p.nl.LinkByIndex(p.ifindex)
	if err != nil {
		return false
	}
	p.mtu.Store(int32(l.Attrs().MTU))
	f := l.Attrs().RawFlags
	return f&unix.IFF_UP != 0 && f&unix.IFF_RUNNING != 0
}

// Status is for the Interface status column: the XDP mode in use under
// Open vSwitch's key "xdp-mode", and the kernel driver's name and
// versions as Open vSwitch reports them for kernel devices.
func (p *Port) Status() map[string]string {
	s := map[string]string{"xdp-mode": p.mode.String()}
	for i, k := range [...]string{"driver_name", "driver_version", "firmware_version"} {
		if p.drv[i] != "" {
			s[k] = p.drv[i]
		}
	}
	return s
}

// Stats are the port's counters. RxDropped includes the frames the kernel
// could not put on a full rx ring or had no fill buffer for, and the error
// counters the descriptors it found invalid (XDP_STATISTICS).
func (p *Port) Stats() dataplane.PortStats {
	var s dataplane.PortStats
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, q := range p.qs {
		s.RxPackets += q.rxPackets.Load()
		s.RxBytes += q.rxBytes.Load()
		s.RxErrors += q.rxErrors.Load()
		s.TxPackets += q.txPackets.Load()
		s.TxBytes += q.txBytes.Load()
		s.TxDropped += q.txDropped.Load()
		s.TxErrors += q.txErrors.Load()
		if p.closed {
			continue
		}
		if ks, err := q.x.statistics(); err == nil {
			s.RxDropped += ks.Rx_dropped + ks.Rx_ring_full
			s.RxErrors += ks.Rx_invalid_descs
			s.TxErrors += ks.Tx_invalid_descs
		}
	}
	return s
}

// ExtraStats are the sockets' XDP_STATISTICS per queue, under Open
// vSwitch's names (xsk_queue_<q>_rx_dropped, ..._rx_invalid_descs,
// ..._tx_invalid_descs) and the newer counters of the same struct
// (..._rx_ring_full, ..._rx_fill_ring_empty_descs,
// ..._tx_ring_empty_descs), plus the frames copied into the UMEM on
// transmit (tx_copied).
func (p *Port) ExtraStats() map[string]uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := map[string]uint64{}
	var copied uint64
	for i, q := range p.qs {
		copied += q.txCopied.Load()
		if p.closed {
			continue
		}
		ks, err := q.x.statistics()
		if err != nil {
			continue
		}
		pre := "xsk_queue_" + strconv.Itoa(i) + "_"
		m[pre+"rx_dropped"] = ks.Rx_dropped
		m[pre+"rx_invalid_descs"] = ks.Rx_invalid_descs
		m[pre+"tx_invalid_descs"] = ks.Tx_invalid_descs
		m[pre+"rx_ring_full"] = ks.Rx_ring_full
		m[pre+"rx_fill_ring_empty_descs"] = ks.Rx_fill_ring_empty_descs
		m[pre+"tx_ring_empty_descs"] = ks.Tx_ring_empty_descs
	}
	m["tx_copied"] = copied
	return m
}

// Close detaches the XDP program, closes the sockets and releases the
// UMEM. The caller must have stopped polling the port and have given back
// every packet it received from it; a UMEM whose packets are still out is
// left mapped (and reported) rather than pulled from under them.
func (p *Port) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	var errs []error
	if p.prog != nil {
		if err := p.prog.close(); err != nil {
			errs = append(errs, err)
		}
	}
	for i, q := range p.qs {
		if out := q.release(); out > 0 {
			errs = append(errs, fmt.Errorf("queue %d: %d packets still out, UMEM left mapped", i, out))
		}
	}
	p.nl.Close()
	if len(errs) > 0 {
		return fmt.Errorf("afxdp %s: close: %w", p.name, errors.Join(errs...))
	}
	return nil
}

var _ dataplane.Port = (*Port)(nil)
var _ dataplane.StatusReporter = (*Port)(nil)
var _ dataplane.ExtraStats = (*Port)(nil)

package dataplane

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"gvswitch/bond"
	"gvswitch/fdb"
	"gvswitch/internal/relaxed"
)

// Bridge errors callers test for.
var (
	ErrPortExists = errors.New("port number in use")
	ErrNoPort     = errors.New("no such port")
	ErrBadPort    = errors.New("bad port configuration")
)

// LocalPort is the OpenFlow number of the bridge's own internal port.
const LocalPort = fdb.LocalPort

// MaxWorkers bounds the worker ids Process accepts (pmd.Thread.TxQueue()
// values: 0 for the main thread, 1.. for PMDs).
const MaxWorkers = 256

// maxBatch is the capacity of a worker's per-output tx batch: a full
// 32-packet burst plus the same again before a forced flush.
const maxBatch = 64

// BridgeConfig configures NewBridge; zero values pick OVS's defaults.
type BridgeConfig struct {
	Name string
	// Pool provides the buffers of flood copies and injected frames.
	Pool *Pool
	// MACTableSize is other_config:mac-table-size (default 8192).
	MACTableSize int
	// MACAgingTime is other_config:mac-aging-time (default 300 s).
	MACAgingTime time.Duration
	// VLANLimit is Open_vSwitch other_config:vlan-limit (default 1, 0 =
	// no limit). The bridge switches on the outermost tag (802.1Q 0x8100
	// or 802.1ad 0x88a8) and treats inner tags as payload, as OVS does with
	// the default; see the package documentation.
	VLANLimit int
	// FloodVLANs is Bridge flood_vlans: VLANs without MAC learning.
	FloodVLANs []uint16
	// SlowPathSize is how many slow-protocol frames (LACP, Marker) may wait
	// for the control plane (default 1024); more are dropped and counted.
	SlowPathSize int
	// DisableEMC turns off the per-worker exact-match cache in front of
	// the FDB (for measurements).
	DisableEMC bool
	// Clock returns monotonic nanoseconds; default time since NewBridge.
	// Read once per burst.
	Clock func() int64
}

// PortConfig describes one bridge port: a Port row with its interfaces.
type PortConfig struct {
	// Name is the Port name (for messages and Ports()).
	Name string
	// Port is the port's interface, or nil for a bond.
	Port Port
	// Members are a bond's interfaces, indexed by the member indexes
	// Bond.SetMember returned (nil for an unused index); Bond must be set
	// with them.
	Members []Port
	// Bond is the bond logic of a bond port; the pipeline calls its hot
	// path (RxVerdict, TxHash, TxMember, Account) per packet.
	Bond *bond.Bond
	// VLANMode, Tag (valid when HasTag) and Trunks are the Port columns
	// vlan_mode, tag and trunks.
	VLANMode VLANMode
	Tag      uint16
	HasTag   bool
	Trunks   []uint16
}

// SlowFrame is a slow-protocol frame (EtherType 0x8809: LACPDU, Marker)
// received by the bridge, for the control plane. The receiver owns Pkt and
// must Free it.
type SlowFrame struct {
	Port   uint32 // bridge port number
	Member int    // bond member index, -1 for a plain port
	Pkt    *Packet
}

// PortCounters are the bridge's own per-port counters (the Port's Stats
// count what the device did).
type PortCounters struct {
	// RxVLANDrops: input frames whose VLAN the port does not carry.
	RxVLANDrops uint64
	// RxReservedDrops: frames to 01:80:c2:00:00:00-0f (other than slow
	// protocols) and frames with a multicast source address.
	RxReservedDrops uint64
	// RxBondDrops: frames a bond refused (inactive member, or a balance-slb
	// source address learned on another port).
	RxBondDrops uint64
	// RxErrors: frames too short to be Ethernet.
	RxErrors uint64
	// TxMTUDrops: frames larger than the port's MTU.
	TxMTUDrops uint64
	// TxNoBufDrops: flood copies, and GSO frames being segmented for the
	// port, lost to an empty pool.
	TxNoBufDrops uint64
	// TxGSOSegmented counts GSO frames the bridge cut into segments for
	// the port (it does not carry them whole, see OffloadCapable), and
	// TxGSOSegments the segments so made.
	TxGSOSegmented, TxGSOSegments uint64
	// TxCsumCompleted counts partial checksums the bridge completed for
	// the port (it does not carry them).
	TxCsumCompleted uint64
	// TxOffloadDrops: frames whose offload metadata the port does not
	// carry and the bridge could not act on (a GSO frame that is not
	// TCP, a checksum offset outside the frame).
	TxOffloadDrops uint64
	// InjectDrops: frames Inject could not send for lack of a buffer.
	InjectDrops uint64
}

// PortInfo describes a bridge port for dpif/show and friends.
type PortInfo struct {
	No       uint32
	Name     string
	Port     Port
	Members  []Port
	VLANMode VLANMode // resolved (never VLANModeDefault)
	Tag      uint16
	HasTag   bool
	Trunks   []uint16
}

// txLock serialises one tx queue of a port between the goroutines that map
// onto it (PMDs, or the control plane injecting a frame). Uncontended, it
// costs one compare-and-swap per burst; padded to its own cache line.
type txLock struct {
	relaxed.SpinLock
	_ [60]byte
}

const txLocks = 16

// txTarget is one device the bridge transmits on: a plain port, or one
// member of a bond. It lives as long as the bridge port.
type txTarget struct {
	port  Port
	locks [txLocks]txLock
}

// send transmits pkts on the tx queue the worker maps to, under its lock.
func (t *txTarget) send(worker int, pkts []*Packet) {
	nq := t.port.NumTxQueues()
	if nq <= 0 {
		nq = 1
	}
	q := worker % nq
	l := &t.locks[q%txLocks]
	l.Lock()
	// A device may panic (a vhost-user guest's memory vanishing under us
	// faults, and the PMD recovers): never leave its queue locked.
	defer l.Unlock()
	t.port.TxBurst(q, pkts)
}

// bridgePort is what lives as long as the port: identity, capture and
// counters. Its configuration and devices are in the snapshot.
type bridgePort struct {
	no      uint32
	name    string
	devs    map[Port]*txTarget // control plane only: keeps tx locks across reconfiguration
	capture atomic.Pointer[Capture]
	cnt     struct {
		vlan, reserved, bond, errors, mtu, nobuf, slow atomic.Uint64
		segmented, segments, completed, offloadBad     atomic.Uint64
	}
}

// portView is a port as one snapshot sees it.
type portView struct {
	bp      *bridgePort
	cfg     PortConfig
	pol     vlanPolicy
	targets []*txTarget  // the port, or one per bond member index (nil: none)
	offl    []TxOffloads // what each target transmits, asked once per snapshot
	bond    *bond.Bond
}

// snapshot is an immutable version of the bridge's configuration that the
// workers read without locks.
type snapshot struct {
	ports      []portView
	direct     []int16 // port number → index+1, for numbers < len(direct)
	local      int16   // index+1 of LocalPort
	vlanLimit  int
	floodVLANs vlanSet
	anyFlood   bool
}

func (s *snapshot) index(no uint32) int {
	if no < uint32(len(s.direct)) {
		return int(s.direct[no]) - 1
	}
	if no == LocalPort {
		return int(s.local) - 1
	}
	return -1
}

// Bridge is a VLAN-aware learning switch between numbered ports, the
// NORMAL pipeline of an Open vSwitch netdev bridge. Poll-mode threads call
// Process for each received burst; the control plane adds, reconfigures
// and removes ports, which publishes a new immutable snapshot without
// stopping traffic on the other ports.
type Bridge struct {
	name  string
	pool  *Pool
	fdb   *fdb.Table
	clock func() int64

	snap    atomic.Pointer[snapshot]
	workers [MaxWorkers]atomic.Pointer[worker]
	slow    *MPSCRing[SlowFrame]
	slowOut atomic.Uint64

	mu    sync.Mutex // serialises configuration changes
	ports map[uint32]*bridgePort
	cfg   BridgeConfig
}

// NewBridge makes a bridge with no ports.
func NewBridge(cfg BridgeConfig) (*Bridge, error) {
	if cfg.Pool == nil {
		return nil, fmt.Errorf("bridge %s: no packet pool", cfg.Name)
	}
	t, err := fdb.New(cfg.MACTableSize, cfg.MACAgingTime)
	if err != nil {
		return nil, fmt.Errorf("bridge %s: %w", cfg.Name, err)
	}
	if cfg.VLANLimit < 0 {
		return nil, fmt.Errorf("bridge %s: vlan-limit %d: %w", cfg.Name, cfg.VLANLimit, ErrBadVLANConfig)
	}
	for _, v := range cfg.FloodVLANs {
		if v > 4095 {
			return nil, fmt.Errorf("bridge %s: flood_vlans: VLAN %d: %w", cfg.Name, v, ErrBadVLANConfig)
		}
	}
	if cfg.Clock == nil {
		start := time.Now()
		cfg.Clock = func() int64 { return int64(time.Since(start)) }
	}
	if cfg.SlowPathSize <= 0 {
		cfg.SlowPathSize = 1024
	}
	b := &Bridge{
		name:  cfg.Name,
		pool:  cfg.Pool,
		fdb:   t,
		clock: cfg.Clock,
		slow:  NewMPSCRing[SlowFrame](cfg.SlowPathSize),
		ports: map[uint32]*bridgePort{},
		cfg:   cfg,
	}
	b.publishLocked(nil)
	return b, nil
}

// Name is the bridge's name.
func (b *Bridge) Name() string { return b.name }

// FDB is the bridge's MAC learning table (fdb/show, fdb/flush, ...).
func (b *Bridge) FDB() *fdb.Table { return b.fdb }

// Now is the bridge's clock, as the FDB's ages use it.
func (b *Bridge) Now() int64 { return b.clock() }

// Expire ages out MAC entries; the control plane calls it about once a
// second.
func (b *Bridge) Expire() int { return b.fdb.Expire(b.clock()) }

// WriteFDBShow writes fdb/show for this bridge.
func (b *Bridge) WriteFDBShow(w io.Writer) error {
	return fdb.WriteShow(w, b.fdb.Entries(), b.clock(), nil)
}

// WriteFDBStats writes fdb/stats-show for this bridge.
func (b *Bridge) WriteFDBStats(w io.Writer) error {
	return fdb.WriteStats(w, b.name, b.fdb.Stats())
}

// SetVLANLimit changes vlan-limit (0 = unlimited).
func (b *Bridge) SetVLANLimit(n int) error {
	if n < 0 {
		return fmt.Errorf("bridge %s: vlan-limit %d: %w", b.name, n, ErrBadVLANConfig)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cfg.VLANLimit = n
	b.publishLocked(nil)
	return nil
}

// SetFloodVLANs changes flood_vlans.
func (b *Bridge) SetFloodVLANs(vlans []uint16) error {
	for _, v := range vlans {
		if v > 4095 {
			return fmt.Errorf("bridge %s: flood_vlans: VLAN %d: %w", b.name, v, ErrBadVLANConfig)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cfg.FloodVLANs = slices.Clone(vlans)
	b.publishLocked(nil)
	return nil
}

func checkPortConfig(cfg *PortConfig) (vlanPolicy, error) {
	if cfg.Port == nil && len(cfg.Members) == 0 {
		return vlanPolicy{}, fmt.Errorf("port %s: no interface: %w", cfg.Name, ErrBadPort)
	}
	if cfg.Port != nil && len(cfg.Members) != 0 {
		return vlanPolicy{}, fmt.Errorf("port %s: both an interface and bond members: %w", cfg.Name, ErrBadPort)
	}
	if len(cfg.Members) != 0 && cfg.Bond == nil {
		return vlanPolicy{}, fmt.Errorf("port %s: bond members without bond logic: %w", cfg.Name, ErrBadPort)
	}
	return compileVLAN(cfg.VLANMode, cfg.Tag, cfg.HasTag, cfg.Trunks)
}

// AddPort adds port number no (the OpenFlow port number; LocalPort for the
// bridge's internal port). Traffic of other ports is not interrupted.
func (b *Bridge) AddPort(no uint32, cfg PortConfig) error {
	if _, err := checkPortConfig(&cfg); err != nil {
		return fmt.Errorf("bridge %s: %w", b.name, err)
	}
	if no == 0 || no > 0xfeff && no != LocalPort {
		return fmt.Errorf("bridge %s: port %s: number %d: %w", b.name, cfg.Name, no, ErrBadPort)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.ports[no]; ok {
		return fmt.Errorf("bridge %s: port %s: number %d: %w", b.name, cfg.Name, no, ErrPortExists)
	}
	bp := &bridgePort{no: no, name: cfg.Name, devs: map[Port]*txTarget{}}
	b.ports[no] = bp
	b.publishLocked(map[uint32]PortConfig{no: cfg})
	return nil
}

// SetPortConfig changes a port's configuration: VLANs (vlan_mode, tag,
// trunks) or devices (a bond's members come and go). When it returns, no
// worker uses a device the new configuration dropped. Learned addresses of
// the port are flushed when its VLAN configuration changed, as OVS does.
func (b *Bridge) SetPortConfig(no uint32, cfg PortConfig) error {
	if _, err := checkPortConfig(&cfg); err != nil {
		return fmt.Errorf("bridge %s: %w", b.name, err)
	}
	b.mu.Lock()
	bp, ok := b.ports[no]
	if !ok {
		b.mu.Unlock()
		return fmt.Errorf("bridge %s: port %d: %w", b.name, no, ErrNoPort)
	}
	old := b.snap.Load().ports[b.snap.Load().index(no)].cfg
	vlanChanged := old.VLANMode != cfg.VLANMode || old.HasTag != cfg.HasTag ||
		old.Tag != cfg.Tag || !slices.Equal(old.Trunks, cfg.Trunks)
	bp.name = cfg.Name
	b.publishLocked(map[uint32]PortConfig{no: cfg})
	b.mu.Unlock()
	b.waitQuiescent()
	if vlanChanged {
		b.fdb.FlushPort(no)
	}
	return nil
}

// RemovePort takes a port out of the bridge and returns its configuration.
// When it returns, no worker uses the port any more: the caller may close
// its devices.
func (b *Bridge) RemovePort(no uint32) (PortConfig, error) {
	b.mu.Lock()
	s := b.snap.Load()
	i := s.index(no)
	if i < 0 {
		b.mu.Unlock()
		return PortConfig{}, fmt.Errorf("bridge %s: port %d: %w", b.name, no, ErrNoPort)
	}
	cfg := s.ports[i].cfg
	delete(b.ports, no)
	b.publishLocked(nil)
	b.mu.Unlock()
	b.waitQuiescent()
	b.fdb.FlushPort(no)
	return cfg, nil
}

// Ports lists the bridge's ports by number.
func (b *Bridge) Ports() []PortInfo {
	s := b.snap.Load()
	out := make([]PortInfo, 0, len(s.ports))
	for _, v := range s.ports {
		out = append(out, PortInfo{
			No: v.bp.no, Name: v.cfg.Name, Port: v.cfg.Port, Members: slices.Clone(v.cfg.Members),
			VLANMode: v.pol.mode, Tag: v.cfg.Tag, HasTag: v.cfg.HasTag, Trunks: slices.Clone(v.cfg.Trunks),
		})
	}
	slices.SortFunc(out, func(a, c PortInfo) int { return int(a.No) - int(c.No) })
	return out
}

// PortCounters returns the bridge's counters of port no.
func (b *Bridge) PortCounters(no uint32) (PortCounters, error) {
	b.mu.Lock()
	bp, ok := b.ports[no]
	b.mu.Unlock()
	if !ok {
		return PortCounters{}, fmt.Errorf("bridge %s: port %d: %w", b.name, no, ErrNoPort)
	}
	return PortCounters{
		RxVLANDrops: bp.cnt.vlan.Load(), RxReservedDrops: bp.cnt.reserved.Load(),
		RxBondDrops: bp.cnt.bond.Load(), RxErrors: bp.cnt.errors.Load(),
		TxMTUDrops: bp.cnt.mtu.Load(), TxNoBufDrops: bp.cnt.nobuf.Load(),
		InjectDrops:    bp.cnt.slow.Load(),
		TxGSOSegmented: bp.cnt.segmented.Load(), TxGSOSegments: bp.cnt.segments.Load(),
		TxCsumCompleted: bp.cnt.completed.Load(), TxOffloadDrops: bp.cnt.offloadBad.Load(),
	}, nil
}

// SetCapture attaches c to port no (nil detaches). The port's traffic is
// copied into c from the next burst on.
func (b *Bridge) SetCapture(no uint32, c *Capture) error {
	b.mu.Lock()
	bp, ok := b.ports[no]
	b.mu.Unlock()
	if !ok {
		return fmt.Errorf("bridge %s: capture on port %d: %w", b.name, no, ErrNoPort)
	}
	bp.capture.Store(c)
	return nil
}

// publishLocked builds and publishes a snapshot from b.ports; changed holds
// new configurations, the other ports keep theirs.
func (b *Bridge) publishLocked(changed map[uint32]PortConfig) {
	old := b.snap.Load()
	s := &snapshot{vlanLimit: b.cfg.VLANLimit}
	for _, v := range b.cfg.FloodVLANs {
		s.floodVLANs.set(v)
		s.anyFlood = true
	}
	maxNo := uint32(0)
	for no := range b.ports {
		if no != LocalPort {
			maxNo = max(maxNo, no)
		}
	}
	s.direct = make([]int16, maxNo+1)
	nos := make([]uint32, 0, len(b.ports))
	for no := range b.ports {
		nos = append(nos, no)
	}
	slices.Sort(nos)
	for _, no := range nos {
		bp := b.ports[no]
		cfg, ok := changed[no]
		if !ok && old != nil {
			cfg = old.ports[old.index(no)].cfg
		}
		pol, _ := checkPortConfig(&cfg) // checked by the caller
		pv := portView{bp: bp, cfg: cfg, pol: pol, bond: cfg.Bond}
		devs := cfg.Members
		if cfg.Port != nil {
			devs = []Port{cfg.Port}
		}
		keep := make(map[Port]*txTarget, len(devs))
		for _, d := range devs {
			var t *txTarget
			if d != nil {
				if t = bp.devs[d]; t == nil {
					t = &txTarget{port: d}
				}
				keep[d] = t
			}
			pv.targets = append(pv.targets, t)
			var o TxOffloads
			if d != nil {
				o = txOffloadsOf(d)
			}
			pv.offl = append(pv.offl, o)
		}
		bp.devs = keep
		s.ports = append(s.ports, pv)
		if no == LocalPort {
			s.local = int16(len(s.ports))
		} else {
			s.direct[no] = int16(len(s.ports))
		}
	}
	b.snap.Store(s)
}

// waitQuiescent returns once every worker that was inside Process when it
// was called has left it (so none holds a snapshot older than the call).
func (b *Bridge) waitQuiescent() {
	// Workers count seq with plain stores: after the barrier a worker
	// inside Process shows an odd seq, and one entering later loads the
	// snapshot stored before the call.
	relaxed.Barrier()
	for i := range b.workers {
		w := b.workers[i].Load()
		if w == nil {
			continue
		}
		seq := w.seq.Load()
		if seq&1 == 0 {
			continue
		}
		// A burst takes microseconds; time.Sleep rounds to about a
		// millisecond here, so yield first.
		for n := 0; w.seq.Load() == seq; n++ {
			if n < 2000 {
				runtime.Gosched()
			} else {
				time.Sleep(50 * time.Microsecond)
			}
		}
	}
}

// Inject sends frame on port no (member: bond member index, or -1 for a
// plain port) from the control plane: LACPDUs, gratuitous learning frames.
// It copies the frame into a pool buffer and transmits it on tx queue 0
// (the main thread's) under that queue's lock, so it is safe alongside the
// PMDs.
func (b *Bridge) Inject(no uint32, member int, frame []byte) error {
	s := b.snap.Load()
	i := s.index(no)
	if i < 0 {
		return fmt.Errorf("bridge %s: inject on port %d: %w", b.name, no, ErrNoPort)
	}
	pv := &s.ports[i]
	bp := pv.bp
	if member < 0 {
		member = 0
	}
	if member >= len(pv.targets) || pv.targets[member] == nil {
		return fmt.Errorf("bridge %s: inject on port %d member %d: %w", b.name, no, member, ErrNoPort)
	}
	pk := b.pool.Get()
	if pk == nil {
		bp.cnt.slow.Add(1)
		return fmt.Errorf("bridge %s: inject on port %d: %w", b.name, no, ErrNoBuffers)
	}
	if len(frame) > len(pk.Room()) {
		pk.Free()
		return fmt.Errorf("bridge %s: inject on port %d: %d-byte frame: %w", b.name, no, len(frame), ErrBadPort)
	}
	pk.SetLen(copy(pk.Room(), frame))
	pk.InPort = LocalPort
	one := [1]*Packet{pk}
	if c := bp.capture.Load(); c != nil {
		c.record(one[:], CaptureTx, time.Now().UnixNano())
	}
	pv.targets[member].send(0, one[:])
	return nil
}

// ErrNoBuffers is wrapped when the packet pool is empty.
var ErrNoBuffers = errors.New("no packet buffers")

// ReadSlowPath moves received slow-protocol frames into dst and returns how
// many; the caller owns (and must Free) their packets. One goroutine only.
func (b *Bridge) ReadSlowPath(dst []SlowFrame) int {
	return b.slow.Dequeue(dst)
}

// SlowPathDrops counts slow-protocol frames dropped because the control
// plane did not read them in time.
func (b *Bridge) SlowPathDrops() uint64 { return b.slowOut.Load() }

// LookupStats sums the workers' FDB lookup hits and misses (dpif/show's
// "hit:N missed:M").
func (b *Bridge) LookupStats() (hit, missed uint64) {
	for i := range b.workers {
		if w := b.workers[i].Load(); w != nil {
			hit += w.hits.Load()
			missed += w.misses.Load()
		}
	}
	return hit, missed
}

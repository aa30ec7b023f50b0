package ixgbe

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"gvswitch/dataplane"
	"gvswitch/internal/relaxed"
	"gvswitch/vfio"
)

// Errors callers test with errors.Is.
var (
	// ErrTimeout: the device did not reach a state within its timeout
	// (reset, EEPROM auto-read, DMA init, queue enable, link).
	ErrTimeout = errors.New("device did not answer in time")
	// ErrUnsupported: the PCI function is not an 82599/X540/X550.
	ErrUnsupported = errors.New("unsupported device")
	// ErrOptions: an option is out of range.
	ErrOptions = errors.New("invalid option")
	// ErrTxHang: a transmit queue stopped writing descriptors back.
	ErrTxHang = errors.New("transmit queue hang")
	// ErrMTU: the MTU is out of range or larger than the receive buffers.
	ErrMTU = errors.New("MTU not supported")
)

// Bus is the driver's view of the PCI function: its BAR0, DMA mapping into
// the IOMMU (or physical addresses with uio), bus mastering. The vfio
// package provides the real one; tests provide a device model.
type Bus interface {
	Registers() Registers
	// MapDMA makes the arena reachable by the device at a.IOVA(off); it
	// may change the arena's IOVA base (physical addresses with uio).
	MapDMA(a *dataplane.Arena) error
	UnmapDMA(a *dataplane.Arena) error
	// SetBusMaster sets or clears the command register's bus master bit.
	SetBusMaster(on bool) error
	Close() error
}

// BusInfo identifies the PCI function.
type BusInfo struct {
	Addr     string // 0000:08:00.0
	VendorID uint16
	DeviceID uint16
	NUMANode int    // -1 when unknown
	Driver   string // vfio-pci or uio_pci_generic
}

// Options configure a port; the zero value works (one queue pair of 2048
// descriptors, MTU 1500, promiscuous).
type Options struct {
	Name      string // Interface name
	RxQueues  int    // options:n_rxq, 1..16 (RSS spreads over them)
	TxQueues  int    // one per PMD thread, 1..64
	RxDesc    int    // options:n_rxq_desc, power of two 64..4096
	TxDesc    int    // options:n_txq_desc, power of two 64..4096
	MTU       int    // mtu_request, 68..9710
	NoPromisc bool   // do not accept every unicast (OVS sets promiscuous)
	AllMulti  bool   // accept every multicast
	// PoolSize is the number of receive buffers; 0 sizes it from the
	// queues (at least 16384, like OVS-DPDK's minimum mempool).
	PoolSize int
	// HugePages asks for hugepage-backed DMA memory, of HugePageSize
	// (2 MiB or 1 GiB; 0: 2 MiB) or from the hugetlbfs mount HugetlbfsDir
	// (vfio.Host.HugeMounts finds them). RequireHuge fails instead of
	// falling back to ordinary pages (uio_pci_generic sets it).
	HugePages    bool
	RequireHuge  bool
	HugePageSize int
	HugetlbfsDir string
	// Timeouts; zero picks the default.
	ResetTimeout  time.Duration // reset, EEPROM auto-read, DMA init: 1s
	QueueTimeout  time.Duration // RXDCTL/TXDCTL enable: 1s
	LinkTimeout   time.Duration // WaitLink when WaitLink is set: 10s
	TxHangTimeout time.Duration // ring full with no write-back: 1s
	// DMAArenas are other arenas whose packets the port transmits (the
	// switch's shared pool): mapped for DMA at open so that TxBurst sends
	// them without a copy. Packets from unmapped memory are copied.
	DMAArenas []*dataplane.Arena
	// WaitLink makes New fail when the link is not up within LinkTimeout.
	WaitLink bool
}

// ParseOptions reads the Interface options this driver honours
// (n_rxq, n_rxq_desc, n_txq_desc) into o, leaving other fields.
func ParseOptions(o *Options, m map[string]string) error {
	for _, f := range []struct {
		key string
		dst *int
	}{{"n_rxq", &o.RxQueues}, {"n_rxq_desc", &o.RxDesc}, {"n_txq_desc", &o.TxDesc}} {
		s, ok := m[f.key]
		if !ok {
			continue
		}
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			return fmt.Errorf("%w: %s=%q is not a positive integer", ErrOptions, f.key, s)
		}
		*f.dst = v
	}
	return nil
}

func (o *Options) setDefaults() error {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.RxQueues, 1)
	def(&o.TxQueues, 1)
	def(&o.RxDesc, 2048)
	def(&o.TxDesc, 2048)
	def(&o.MTU, 1500)
	defd := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	defd(&o.ResetTimeout, time.Second)
	defd(&o.QueueTimeout, time.Second)
	defd(&o.LinkTimeout, 10*time.Second)
	defd(&o.TxHangTimeout, time.Second)
	if o.RxQueues < 1 || o.RxQueues > maxRSSQueues {
		return fmt.Errorf("%w: n_rxq=%d (1..%d)", ErrOptions, o.RxQueues, maxRSSQueues)
	}
	if o.TxQueues < 1 || o.TxQueues > 64 {
		return fmt.Errorf("%w: %d tx queues (1..64)", ErrOptions, o.TxQueues)
	}
	for _, d := range []struct {
		name string
		v    int
	}{{"n_rxq_desc", o.RxDesc}, {"n_txq_desc", o.TxDesc}} {
		if d.v < minDesc || d.v > maxDesc || d.v&(d.v-1) != 0 {
			return fmt.Errorf("%w: %s=%d (a power of two, %d..%d)", ErrOptions, d.name, d.v, minDesc, maxDesc)
		}
	}
	if o.MTU < 68 || o.MTU > MaxMTU {
		return fmt.Errorf("%w: mtu %d (68..%d)", ErrMTU, o.MTU, MaxMTU)
	}
	return nil
}

// dmaRange is an IOVA range the device may read (TxBurst sends packets
// from it without a copy).
type dmaRange struct{ lo, hi uint64 }

const maxDMARanges = 8

// txCleanBatch is how many transmit descriptors are reclaimed at once: the
// DD bit of the last one of a batch is checked (write-back is in order).
const txCleanBatch = 32

// Port is one 82599/X540 port driven from userspace. It implements
// dataplane.Port, dataplane.StatusReporter and dataplane.ExtraStats.
type Port struct {
	name     string
	bus      Bus
	regs     Registers
	info     BusInfo
	family   Family
	opts     Options
	arena    *dataplane.Arena
	pool     *dataplane.Pool
	rx       []rxQueue
	tx       []txQueue
	mac      [6]byte
	dataRoom int
	numaMem  string // where the DMA memory lives, for Status

	dma    [maxDMARanges]dmaRange
	ndma   int
	mapped []*dataplane.Arena // arenas mapped for DMA, ours first

	mu      sync.Mutex // serialises configuration, Stats and Close
	mtu     int
	promisc bool
	allMult bool
	hw      hwStats
	closed  atomic.Bool
	health  atomic.Pointer[error]

	lastLink   atomic.Bool
	linkResets atomic.Uint64
}

type rxQueue struct {
	ring    []desc
	bufs    []*dataplane.Packet
	fill    []*dataplane.Packet // replacement buffers of one burst
	next    int
	mask    int
	tailReg uint32
	discard bool // dropping the rest of a multi-descriptor frame
	// cache is the polling PMD's, in front of the pool: replacement
	// buffers and dropped frames go through it, not the pool's lock.
	cache *dataplane.PoolCache

	// Written by the polling PMD only.
	packets, bytes, nombuf, errs relaxed.Counter
	_                            [64]byte // keep queues on separate cache lines
}

type txQueue struct {
	ring       []desc
	bufs       []*dataplane.Packet
	tail       int
	clean      int
	mask       int
	tailReg    uint32
	stuckSince int64
	// cache takes the buffers of sent frames (tx queue lock holder's).
	cache *dataplane.PoolCache

	// Written under the tx queue's lock only.
	packets, bytes, dropped relaxed.Counter
	_                       [64]byte
}

// New initialises the device behind bus and returns the running port.
// The port owns bus from then on (Close closes it), also when New fails.
func New(bus Bus, info BusInfo, opts Options) (*Port, error) {
	family, ok := Supported(info.VendorID, info.DeviceID)
	if !ok {
		bus.Close()
		return nil, fmt.Errorf("%s: %w: vendor %#04x device %#04x is not an 82599/X540/X550", info.Addr, ErrUnsupported, info.VendorID, info.DeviceID)
	}
	if err := opts.setDefaults(); err != nil {
		bus.Close()
		return nil, fmt.Errorf("%s: %w", info.Addr, err)
	}
	p := &Port{
		name:    opts.Name,
		bus:     bus,
		regs:    bus.Registers(),
		info:    info,
		family:  family,
		opts:    opts,
		mtu:     opts.MTU,
		promisc: !opts.NoPromisc,
		allMult: opts.AllMulti,
	}
	if p.name == "" {
		p.name = info.Addr
	}
	if err := p.allocate(); err != nil {
		p.release()
		return nil, err
	}
	if err := p.init(); err != nil {
		p.release()
		return nil, err
	}
	if opts.WaitLink {
		if err := p.WaitLink(opts.LinkTimeout); err != nil {
			p.release()
			return nil, err
		}
	}
	return p, nil
}

// allocate maps one arena for the descriptor rings and the receive buffers
// and makes it reachable by the device.
func (p *Port) allocate() error {
	o := &p.opts
	p.dataRoom = (o.MTU + frameOverhead + 1023) &^ 1023
	if p.dataRoom < dataplane.DefaultDataRoom {
		p.dataRoom = dataplane.DefaultDataRoom
	}
	ringBytes := (o.RxQueues*o.RxDesc + o.TxQueues*o.TxDesc) * descSize
	count := o.PoolSize
	if count == 0 {
		count = max(16384, 2*o.RxQueues*o.RxDesc+o.TxQueues*o.TxDesc)
	}
	if count < o.RxQueues*o.RxDesc+txCleanBatch {
		return fmt.Errorf("%s: %w: pool of %d buffers cannot fill %d rx queues of %d descriptors", p.info.Addr, ErrOptions, count, o.RxQueues, o.RxDesc)
	}
	bufSize := (dataplane.Headroom + p.dataRoom + 63) &^ 63
	a, err := dataplane.NewArena(ringBytes+count*bufSize, dataplane.ArenaOptions{
		HugePages: o.HugePages, RequireHuge: o.RequireHuge, HugePageSize: o.HugePageSize, HugetlbfsDir: o.HugetlbfsDir})
	if errors.Is(err, dataplane.ErrNoHugepages) {
		return fmt.Errorf("%s: DMA memory: %w; reserve hugepages (echo N > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages)", p.info.Addr, err)
	}
	if err != nil {
		return fmt.Errorf("%s: DMA memory: %w", p.info.Addr, err)
	}
	p.arena = a
	// Keep the DMA memory on the device's socket (dpdk-socket-mem's
	// per-node pools); a failure costs speed, not correctness, and shows
	// in the status column.
	if n := p.info.NUMANode; n >= 0 {
		if err := vfio.BindToNode(a.Bytes(), n); err != nil {
			p.numaMem = "not bound: " + err.Error()
		} else {
			p.numaMem = "node " + strconv.Itoa(n)
		}
	}
	// Rings first: they start page aligned and every ring is a multiple
	// of 1 KB, so each satisfies the 128-byte alignment of RDBAL/TDBAL
	// (8.2.3.8.1, 8.2.3.9.5).
	mem := a.Bytes()
	off := 0
	p.rx = make([]rxQueue, o.RxQueues)
	for i := range p.rx {
		r := &p.rx[i]
		r.ring = descRing(mem[off:], o.RxDesc)
		off += o.RxDesc * descSize
		r.bufs = make([]*dataplane.Packet, o.RxDesc)
		r.fill = make([]*dataplane.Packet, o.RxDesc)
		r.mask = o.RxDesc - 1
		r.tailReg = rxq(regRDT, i)
	}
	p.tx = make([]txQueue, o.TxQueues)
	for i := range p.tx {
		t := &p.tx[i]
		t.ring = descRing(mem[off:], o.TxDesc)
		off += o.TxDesc * descSize
		t.bufs = make([]*dataplane.Packet, o.TxDesc)
		t.mask = o.TxDesc - 1
		t.tailReg = txq(regTDT, i)
	}
	// Map before carving the pool: with uio the mapping sets the arena's
	// IOVA base (its physical address), which the pool's packets copy.
	if err := p.bus.SetBusMaster(true); err != nil {
		return fmt.Errorf("%s: enable bus mastering: %w", p.info.Addr, err)
	}
	if err := p.MapArena(a); err != nil {
		return err
	}
	pool, _, err := dataplane.NewPool(p.name, a, off, count, p.dataRoom)
	if err != nil {
		return fmt.Errorf("%s: %w", p.info.Addr, err)
	}
	p.pool = pool
	for i := range p.rx {
		p.rx[i].cache = pool.NewCache(0)
	}
	for i := range p.tx {
		p.tx[i].cache = pool.NewCache(0)
	}
	for _, other := range o.DMAArenas {
		if err := p.MapArena(other); err != nil {
			return err
		}
	}
	return nil
}

// MapArena makes the packets of another arena (another port's pool)
// transmittable without a copy. Call it before traffic starts; at most 8.
func (p *Port) MapArena(a *dataplane.Arena) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ndma == maxDMARanges {
		return fmt.Errorf("%s: %w: more than %d DMA-mapped arenas", p.info.Addr, ErrOptions, maxDMARanges)
	}
	if err := p.bus.MapDMA(a); err != nil {
		return fmt.Errorf("%s: DMA map %d bytes: %w", p.info.Addr, len(a.Bytes()), err)
	}
	p.dma[p.ndma] = dmaRange{a.IOVA(0), a.IOVA(len(a.Bytes()))}
	p.ndma++
	p.mapped = append(p.mapped, a)
	return nil
}

// Pool is the port's receive buffer pool.
func (p *Port) Pool() *dataplane.Pool { return p.pool }

// wait polls reg until reg&mask == want or the timeout passes.
func (p *Port) wait(what string, reg, mask, want uint32, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	sleep := 10 * time.Microsecond
	for {
		v := p.regs.Read32(reg)
		if v&mask == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %w: %s (register %#05x = %#08x after %v)", p.info.Addr, ErrTimeout, what, reg, v, timeout)
		}
		time.Sleep(sleep)
		if sleep < time.Millisecond {
			sleep *= 2
		}
	}
}

func (p *Port) set(reg, bits uint32)   { p.regs.Write32(reg, p.regs.Read32(reg)|bits) }
func (p *Port) clear(reg, bits uint32) { p.regs.Write32(reg, p.regs.Read32(reg)&^bits) }

// init runs the 82599 datasheet 4.6.3 initialisation sequence.
func (p *Port) init() error {
	o := &p.opts
	// 4.6.3.1: mask all interrupts; we poll.
	p.disableInterrupts()
	// 4.6.3.2: global reset (software reset plus link reset), then wait
	// for the self-clearing bits; 8.2.3.1.1 asks for at least 1 ms.
	p.regs.Write32(regCTRL, p.regs.Read32(regCTRL)|ctrlRstMask)
	time.Sleep(time.Millisecond)
	if err := p.wait("global reset did not complete (CTRL.RST stuck)", regCTRL, ctrlRstMask, 0, o.ResetTimeout); err != nil {
		return err
	}
	time.Sleep(10 * time.Millisecond) // 4.6.3.2: settle after reset
	// 4.6.3.1: interrupts are masked again after the reset.
	p.disableInterrupts()
	// 4.6.3: wait for the EEPROM auto-read and the DMA initialisation.
	if err := p.wait("EEPROM auto-read not done (EEC.ARD)", regEEC, eecAutoRdDone, eecAutoRdDone, o.ResetTimeout); err != nil {
		return err
	}
	if err := p.wait("DMA initialisation not done (RDRXCTL.DMAIDONE)", regRDRXCTL, rdrxctlDMAIDone, rdrxctlDMAIDone, o.ResetTimeout); err != nil {
		return err
	}
	// 8.2.3.1.3: tell the firmware a driver owns the device.
	p.set(regCTRLEXT, ctrlExtDrvLoad)
	p.readMAC()
	// 4.6.4: link setup.
	p.setupLink()
	// 4.6.5: statistics are clear-on-read; read them all once.
	var discard hwStats
	p.readStats(&discard)
	// 4.6.7 and 4.6.8.
	p.initRx()
	p.initTx()
	for i := range p.rx {
		if err := p.startRx(i); err != nil {
			return err
		}
	}
	for i := range p.tx {
		if err := p.startTx(i); err != nil {
			return err
		}
	}
	// 4.6.7: enable receive after all queues are set up (8.2.3.8.10).
	p.enableRx()
	p.applyFilters()
	return nil
}

// enableRx sets RXCTRL.RXEN with the receive security block stopped, as
// 8.2.3.8.10 asks of the 82599 (SECRXCTRL.RX_DIS, wait for
// SECRXSTAT.SECRX_RDY). A block that never reports ready is not fatal:
// receive is enabled anyway, as the datasheet's flow allows.
func (p *Port) enableRx() {
	p.set(regSECRXCTRL, secrxRxDis)
	p.wait("security RX path not idle (SECRXSTAT.SECRX_RDY)", regSECRXSTAT, secrxRdy, secrxRdy, 10*time.Millisecond)
	p.set(regRXCTRL, rxctrlRXEN)
	p.clear(regSECRXCTRL, secrxRxDis)
}

func (p *Port) disableInterrupts() {
	// 8.2.3.5.4 EIMC, and 8.2.3.5.5 EIMC_EX for the queue causes.
	p.regs.Write32(regEIMC, eimcAll)
	p.regs.Write32(regEIMCEx0, 0xFFFFFFFF)
	p.regs.Write32(regEIMCEx1, 0xFFFFFFFF)
}

func (p *Port) readMAC() {
	// 8.2.3.7.9/10: RAL0/RAH0 are loaded from the EEPROM at reset.
	lo, hi := p.regs.Read32(regRAL0), p.regs.Read32(regRAH0)
	p.mac = [6]byte{byte(lo), byte(lo >> 8), byte(lo >> 16), byte(lo >> 24), byte(hi), byte(hi >> 8)}
}

// setupLink starts autonegotiation (4.6.4). On the 82599 the MAC's AUTOC
// selects "10 GbE serial with KX/KX4/KR autonegotiation" and restarts it;
// the X540/X550's copper PHY is set up by its firmware from the NVM and
// negotiates on its own after reset, so there is nothing to write.
func (p *Port) setupLink() {
	if p.family != Family82599 {
		return
	}
	autoc := p.regs.Read32(regAUTOC)
	autoc = autoc&^autocLMSMask | autocLMS10GSerial
	autoc = autoc&^autocPMAPMDMask | autocPMAPMDXAUI
	p.regs.Write32(regAUTOC, autoc)
	p.regs.Write32(regAUTOC, autoc|autocANRestart)
}

// initRx is 4.6.7 "Receive Initialization".
func (p *Port) initRx() {
	o := &p.opts
	// 4.6.7: keep receive off while programming (8.2.3.8.10).
	p.clear(regRXCTRL, rxctrlRXEN)
	// 4.6.11.3.4 (no DCB/VT): the whole receive packet buffer to TC 0.
	pb := uint32(rxpbsize512K)
	if p.family != Family82599 {
		pb = rxpbsize384K
	}
	p.regs.Write32(regRXPBSIZE0, pb)
	for i := 1; i < 8; i++ {
		p.regs.Write32(regRXPBSIZE0+uint32(i)*4, 0)
	}
	// 8.2.3.22.8 and 8.2.3.8.8: strip the CRC, in both places as 4.6.7
	// requires them to agree.
	p.set(regHLREG0, hlreg0RxCRCStrp)
	rdrxctl := p.regs.Read32(regRDRXCTL)&^rdrxctlRSCFrstSize | rdrxctlCRCStrip | rdrxctlRSCACKC | rdrxctlFCoEWrFix
	p.regs.Write32(regRDRXCTL, rdrxctl)
	p.setMaxFrame()
	// 7.1.2.8: RSS with the verification-suite key, RETA entry i → queue
	// i mod n, hash over IPv4/IPv6 and their TCP/UDP ports.
	for i := 0; i < 10; i++ {
		k := defaultRSSKey[i*4:]
		p.regs.Write32(regRSSRK0+uint32(i)*4, uint32(k[0])|uint32(k[1])<<8|uint32(k[2])<<16|uint32(k[3])<<24)
	}
	for i := 0; i < retaEntries/4; i++ {
		var v uint32
		for b := 0; b < 4; b++ {
			v |= uint32((i*4+b)%o.RxQueues) << (8 * b)
		}
		p.regs.Write32(regRETA0+uint32(i)*4, v)
	}
	mrqc := uint32(0)
	if o.RxQueues > 1 {
		mrqc = mrqcRSSEn | mrqcIPv4 | mrqcTCPIPv4 | mrqcIPv6 | mrqcTCPIPv6 | mrqcUDPIPv4 | mrqcUDPIPv6
	}
	p.regs.Write32(regMRQC, mrqc)
	// 8.2.3.7.5: PCSD so the write-back carries the RSS hash.
	p.set(regRXCSUM, rxcsumPCSD)
	for i := range p.rx {
		r := &p.rx[i]
		// 8.2.3.8.7: advanced one-buffer descriptors, buffer size in KB,
		// DROP_EN so that one full queue does not stall the others.
		p.regs.Write32(rxq(regSRRCTL, i), srrctlAdv1|srrctlDrop|uint32(p.dataRoom/1024)&srrctlBSize)
		base := p.arena.IOVA(p.ringOffset(r.ring))
		p.regs.Write32(rxq(regRDBAL, i), uint32(base))
		p.regs.Write32(rxq(regRDBAH, i), uint32(base>>32))
		p.regs.Write32(rxq(regRDLEN, i), uint32(len(r.ring)*descSize))
		p.regs.Write32(rxq(regRDH, i), 0)
		p.regs.Write32(rxq(regRDT, i), 0)
	}
	// 4.6.7: "set CTRL_EXT.NS_DIS", and 8.2.3.11.1: no relaxed ordering
	// of descriptor write-back.
	p.set(regCTRLEXT, ctrlExtNSDis)
	for i := range p.rx {
		p.clear(rxq(regDCARXCTL, i), dcaRxRelax)
	}
}

// initTx is 4.6.8 "Transmit Initialization".
func (p *Port) initTx() {
	// 8.2.3.22.8: append CRC and pad short frames.
	p.set(regHLREG0, hlreg0TxCRCEn|hlreg0TxPadEn)
	// 4.6.11.3.4: all 160 KB of transmit packet buffer to TC 0.
	p.regs.Write32(regTXPBSIZE0, txpbsize160K)
	for i := 1; i < 8; i++ {
		p.regs.Write32(regTXPBSIZE0+uint32(i)*4, 0)
	}
	// 8.2.3.9.1: no limit on outstanding TCP read requests (no DCB).
	p.regs.Write32(regDTXMXSZRQ, 0xFFFF)
	// 4.6.8 / 8.2.3.10.2: arbiter off while configuring.
	p.set(regRTTDCS, rttdcsArbDis)
	for i := range p.tx {
		t := &p.tx[i]
		base := p.arena.IOVA(p.ringOffset(t.ring))
		p.regs.Write32(txq(regTDBAL, i), uint32(base))
		p.regs.Write32(txq(regTDBAH, i), uint32(base>>32))
		p.regs.Write32(txq(regTDLEN, i), uint32(len(t.ring)*descSize))
		// 8.2.3.9.10: prefetch when 32 descriptors are free (PTHRESH),
		// WTHRESH 0: every RS descriptor is written back at once
		// (7.2.3.5.1), so the last descriptors of a quiet queue are
		// reclaimed too, not held until more traffic completes a batch.
		p.regs.Write32(txq(regTXDCTL, i), 32)
	}
	p.clear(regRTTDCS, rttdcsArbDis)
	// 8.2.3.9.2: transmit DMA on.
	p.set(regDMATXCTL, dmatxctlTE)
}

func (p *Port) ringOffset(ring []desc) int {
	return int(uintptr(unsafe.Pointer(&ring[0])) - uintptr(unsafe.Pointer(&p.arena.Bytes()[0])))
}

// startRx posts a buffer on every descriptor and enables the queue
// (4.6.7.1 "Dynamic Enabling and Disabling of Receive Queues").
func (p *Port) startRx(i int) error {
	r := &p.rx[i]
	n := len(r.ring)
	if got := p.pool.GetBurst(r.bufs); got != n {
		return fmt.Errorf("%s: rx queue %d: %d of %d buffers available", p.info.Addr, i, got, n)
	}
	for j, pkt := range r.bufs {
		r.ring[j].storeLo(pkt.IOVA())
		r.ring[j].storeHi(0)
	}
	p.set(rxq(regRXDCTL, i), rxdctlEn)
	if err := p.wait(fmt.Sprintf("rx queue %d not enabled (RXDCTL.ENABLE)", i), rxq(regRXDCTL, i), rxdctlEn, rxdctlEn, p.opts.QueueTimeout); err != nil {
		return err
	}
	// 4.6.7.1: head 0, tail one behind: every descriptor but one is the
	// device's.
	p.regs.Write32(rxq(regRDH, i), 0)
	p.regs.Write32(rxq(regRDT, i), uint32(n-1))
	r.next = 0
	return nil
}

// startTx enables a transmit queue (4.6.8.1).
func (p *Port) startTx(i int) error {
	p.regs.Write32(txq(regTDH, i), 0)
	p.regs.Write32(txq(regTDT, i), 0)
	p.set(txq(regTXDCTL, i), txdctlEn)
	return p.wait(fmt.Sprintf("tx queue %d not enabled (TXDCTL.ENABLE)", i), txq(regTXDCTL, i), txdctlEn, txdctlEn, p.opts.QueueTimeout)
}

func (p *Port) setMaxFrame() {
	// 8.2.3.22.13: MFS counts the whole frame with CRC; 8.2.3.22.8:
	// JUMBOEN above 1518 bytes.
	mfs := uint32(p.mtu + frameOverhead)
	p.regs.Write32(regMAXFRS, mfs<<maxfrsShift)
	if p.mtu > 1500 {
		p.set(regHLREG0, hlreg0JumboEn)
	} else {
		p.clear(regHLREG0, hlreg0JumboEn)
	}
}

// applyFilters programs FCTRL (8.2.3.7.1) from the promiscuous and
// all-multicast settings; broadcasts are always accepted.
func (p *Port) applyFilters() {
	v := p.regs.Read32(regFCTRL) &^ (fctrlUPE | fctrlMPE)
	v |= fctrlBAM
	if p.promisc {
		v |= fctrlUPE | fctrlMPE
	}
	if p.allMult {
		v |= fctrlMPE
	}
	p.regs.Write32(regFCTRL, v)
}

// SetPromiscuous turns unicast (and multicast) promiscuous mode on or off.
func (p *Port) SetPromiscuous(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.promisc = on
	p.applyFilters()
}

// SetAllMulticast accepts every multicast frame, or only those of the
// multicast table (AddMulticast).
func (p *Port) SetAllMulticast(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.allMult = on
	p.applyFilters()
}

// AddMulticast accepts frames to the multicast address mac through the
// multicast table array: 8.2.3.7.7 with MCSTCTRL.MO = 0 hashes address
// bits 47:36 to a 12-bit vector (register = bits 11:5, bit = bits 4:0).
func (p *Port) AddMulticast(mac [6]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	vec := uint32(mac[4])>>4 | uint32(mac[5])<<4
	reg := regMTA0 + (vec>>5&0x7F)*4
	p.set(reg, 1<<(vec&0x1F))
}

// SetMTU changes the MTU when frames of that size fit the receive buffers
// the port was opened with; a larger one needs the port reopened with
// Options.MTU (wraps ErrMTU).
func (p *Port) SetMTU(mtu int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if mtu < 68 || mtu > MaxMTU {
		return fmt.Errorf("%s: %w: %d (68..%d)", p.name, ErrMTU, mtu, MaxMTU)
	}
	if mtu+frameOverhead > p.dataRoom {
		return fmt.Errorf("%s: %w: %d needs %d-byte buffers, port has %d (reopen the port)", p.name, ErrMTU, mtu, mtu+frameOverhead, p.dataRoom)
	}
	p.mtu = mtu
	p.setMaxFrame()
	return nil
}

// Name is the Interface name.
func (p *Port) Name() string { return p.name }

// NumRxQueues is n_rxq.
func (p *Port) NumRxQueues() int { return len(p.rx) }

// NumTxQueues is the number of transmit queues.
func (p *Port) NumTxQueues() int { return len(p.tx) }

// MTU is the current MTU.
func (p *Port) MTU() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mtu
}

// MAC is the address loaded from the EEPROM.
func (p *Port) MAC() [6]byte { return p.mac }

// Link reads the link state from LINKS (8.2.3.22.20); polling it is how
// link changes are seen (no interrupts), and each change counts in
// LinkResets.
func (p *Port) Link() bool {
	if p.closed.Load() {
		return false
	}
	up := p.regs.Read32(regLINKS)&linksUp != 0
	if p.lastLink.Swap(up) != up {
		p.linkResets.Add(1)
	}
	return up
}

// LinkResets counts the link state changes Link has seen (the Interface
// link_resets column).
func (p *Port) LinkResets() uint64 { return p.linkResets.Load() }

// Speed is the negotiated link speed in Mb/s, 0 when the link is down.
func (p *Port) Speed() int {
	v := p.regs.Read32(regLINKS)
	if v&linksUp == 0 {
		return 0
	}
	switch (v & linksSpeedMask) >> linksSpeedShift {
	case linksSpeed10G:
		return 10000
	case linksSpeed1G:
		return 1000
	case linksSpeed100M:
		return 100
	}
	return 0
}

// WaitLink polls the link until it is up or the timeout passes.
func (p *Port) WaitLink(timeout time.Duration) error {
	return p.wait("link did not come up (LINKS.LINK_UP)", regLINKS, linksUp, linksUp, timeout)
}

// Health is nil while the port works, or the first fault detected on the
// data path (a transmit queue that stopped writing descriptors back).
func (p *Port) Health() error {
	if e := p.health.Load(); e != nil {
		return *e
	}
	return nil
}

func (p *Port) fail(err error) {
	p.health.CompareAndSwap(nil, &err)
}

// Close stops the queues, resets the device into its power-on state,
// disables bus mastering and releases the memory. RxBurst and TxBurst
// must not run concurrently with or after Close.
func (p *Port) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// 4.6.7.1 / 4.6.8.1: receive off, queues off; then a global reset
	// puts every register back to its default (4.6.3.2).
	p.clear(regRXCTRL, rxctrlRXEN)
	for i := range p.rx {
		p.clear(rxq(regRXDCTL, i), rxdctlEn)
	}
	for i := range p.tx {
		p.clear(txq(regTXDCTL, i), txdctlEn)
	}
	p.disableInterrupts()
	p.regs.Write32(regCTRL, p.regs.Read32(regCTRL)|ctrlRstMask)
	time.Sleep(time.Millisecond)
	err := p.wait("reset on close did not complete", regCTRL, ctrlRstMask, 0, p.opts.ResetTimeout)
	p.clear(regCTRLEXT, ctrlExtDrvLoad)
	p.release()
	return err
}

// release gives back everything New acquired, in reverse order.
func (p *Port) release() {
	for i := range p.tx {
		t := &p.tx[i]
		for j, pkt := range t.bufs {
			if pkt != nil {
				pkt.Free()
				t.bufs[j] = nil
			}
		}
	}
	for i := range p.rx {
		r := &p.rx[i]
		for j, pkt := range r.bufs {
			if pkt != nil {
				pkt.Free()
				r.bufs[j] = nil
			}
		}
		if r.cache != nil {
			r.cache.Flush()
		}
	}
	for i := range p.tx {
		if c := p.tx[i].cache; c != nil {
			c.Flush()
		}
	}
	if p.bus != nil {
		p.bus.SetBusMaster(false)
		for i := len(p.mapped) - 1; i >= 0; i-- {
			p.bus.UnmapDMA(p.mapped[i])
		}
		p.mapped = nil
		p.ndma = 0
		p.bus.Close()
	}
	// Only our own arena is unmapped, and only when every buffer of the
	// pool came back: a packet still queued on another port keeps it
	// alive (it is leaked rather than freed under that packet).
	if p.arena != nil && (p.pool == nil || p.pool.Available() == p.pool.Size()) {
		p.arena.Close()
	}
	p.arena = nil
}

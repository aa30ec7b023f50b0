package vhostuser

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"gvswitch/dataplane"
	"gvswitch/internal/relaxed"
	"gvswitch/vhostuser/virtq"
)

// ErrClosed is returned by calls on a closed Port.
var ErrClosed = errors.New("vhost-user port closed")

// Options are a port's settings. The zero value works.
type Options struct {
	// Pool supplies the buffers RxBurst fills. Nil: the port makes its
	// own pool.
	Pool *dataplane.Pool
	// Logger receives the connection life-cycle lines. Nil: slog.Default().
	Logger *slog.Logger
	// IOMMU offers VIRTIO_F_IOMMU_PLATFORM and handles IOTLB messages
	// (other_config:vhost-iommu-support=true).
	IOMMU bool
	// MTU is reported by MTU(); 0 means 1500.
	MTU int
	// ReconnectMax is the longest wait between two connection attempts
	// of a client port; 0 means 1 s. Attempts start 50 ms apart and
	// double up to it.
	ReconnectMax time.Duration
	// TxRetries is a client port's options:tx-retries-max, as written
	// in the database ("" for the default; see SetTxRetries).
	TxRetries string
}

// Mode is a port's socket role.
type Mode string

const (
	// ModeClient: the switch connects (type dpdkvhostuserclient).
	ModeClient Mode = "client"
	// ModeServer: the switch listens (type dpdkvhostuser).
	ModeServer Mode = "server"
)

// vringSlot is what a PMD touches for one vring: the published queue and
// the flag that says it is inside a burst. Slots are padded apart so two
// PMDs polling different vrings do not share a cache line.
type vringSlot struct {
	live atomic.Pointer[virtq.Queue]
	// busy is set while a PMD is inside a burst on the vring; a plain
	// store, paired with relaxed.Barrier in stopVring.
	busy     relaxed.Flag
	reported atomic.Bool
	stats    virtq.Stats
	retries  relaxed.Counter // ovs_tx_retries
	// cache is the burst's packet cache in front of the port's pool:
	// buffers for guest frames (rx vring), freed buffers (tx vring).
	// Made and used by the goroutine inside a burst, flushed by Close.
	cache *dataplane.PoolCache
	// IOTLB miss de-duplication, touched by the polling PMD only.
	lastMiss uint64
	missWait int
	_        [64]byte
}

// Port is a vhost-user port. It implements dataplane.Port,
// dataplane.StatusReporter and dataplane.ExtraStats.
type Port struct {
	name string
	mode Mode
	opts Options
	log  *slog.Logger
	pool *dataplane.Pool

	ownArena *dataplane.Arena

	vrings [maxVrings]vringSlot

	link          atomic.Bool
	mtu           atomic.Int32
	everConnected atomic.Bool
	queuePairs    atomic.Int32
	notifyQueue   atomic.Pointer[func()]
	noDevDrops    atomic.Uint64
	txRetries     atomic.Int32 // tx-retries-max
	rarp          atomic.Pointer[[6]byte]
	// miss carries IOTLB misses from the PMDs to the connection's
	// back-end channel (only with Options.IOMMU).
	miss chan iotlbMiss

	mu       sync.Mutex
	path     string
	conn     net.Conn
	listener *net.UnixListener
	status   map[string]string // published copy, replaced whole
	closed   bool
	wake     chan struct{}
	done     chan struct{}
	wg       sync.WaitGroup
}

// NewClient makes a dpdkvhostuserclient port that connects to the
// front-end's socket at socketPath, retrying with back-off while it is
// missing or refuses, and again whenever the front-end goes away.
func NewClient(name, socketPath string, opts Options) (*Port, error) {
	p, err := newPort(name, ModeClient, socketPath, opts)
	if err != nil {
		return nil, err
	}
	p.log.Info(fmt.Sprintf("vHost User device '%s' created in 'client' mode, using client socket '%s'", name, socketPath))
	p.wg.Add(1)
	go p.runClient()
	return p, nil
}

// NewServer makes a dpdkvhostuser port listening at socketPath (OVS:
// <vhost-sock-dir>/<port name>). A stale socket file there is replaced.
func NewServer(name, socketPath string, opts Options) (*Port, error) {
	p, err := newPort(name, ModeServer, socketPath, opts)
	if err != nil {
		return nil, err
	}
	if err := p.listen(); err != nil {
		p.freePool()
		return nil, err
	}
	p.log.Info(fmt.Sprintf("Socket %s created for vhost-user port %s", socketPath, name))
	p.log.Warn("dpdkvhostuser ports are considered deprecated;  please migrate to dpdkvhostuserclient ports.")
	p.wg.Add(1)
	go p.runServer()
	return p, nil
}

func newPort(name string, mode Mode, path string, opts Options) (*Port, error) {
	if path == "" {
		return nil, fmt.Errorf("vhost-user port %s: no socket path", name)
	}
	p := &Port{name: name, mode: mode, opts: opts, path: path, wake: make(chan struct{}, 1), done: make(chan struct{})}
	p.log = opts.Logger
	if p.log == nil {
		p.log = slog.Default()
	}
	p.log = p.log.With("port", name)
	p.SetTxRetries(opts.TxRetries)
	p.pool = opts.Pool
	if p.pool == nil {
		pool, ar, err := dataplane.NewArenaPool("vhost-"+name, 4096, dataplane.DefaultDataRoom, dataplane.ArenaOptions{HugePages: true})
		if err != nil {
			return nil, fmt.Errorf("vhost-user port %s: %w", name, err)
		}
		p.ownArena, p.pool = ar, pool
	}
	if opts.IOMMU {
		p.miss = make(chan iotlbMiss, 64)
	}
	if opts.MTU > 0 {
		p.mtu.Store(int32(opts.MTU))
	}
	p.queuePairs.Store(1)
	p.publishStatus(nil)
	return p, nil
}

func (p *Port) freePool() {
	if p.ownArena != nil {
		p.ownArena.Close()
		p.ownArena = nil
	}
}

// Name is the Interface name.
func (p *Port) Name() string { return p.name }

// Mode is the socket role.
func (p *Port) Mode() Mode { return p.mode }

// SocketPath is the socket the port uses now.
func (p *Port) SocketPath() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.path
}

// SetSocketPath changes the socket (options:vhost-server-path, or a new
// vhost-sock-dir) without recreating the port: a client drops its current
// connection and connects to the new path; a server listens there instead.
func (p *Port) SetSocketPath(path string) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	if path == p.path {
		p.mu.Unlock()
		return nil
	}
	old := p.path
	p.path = path
	conn, ln := p.conn, p.listener
	p.mu.Unlock()
	p.log.Info(fmt.Sprintf("vHost User device '%s': socket changed from '%s' to '%s'", p.name, old, path))
	if p.mode == ModeServer {
		if err := p.listen(); err != nil {
			return err
		}
		if ln != nil {
			ln.Close()
			os.Remove(old)
		}
	}
	if conn != nil {
		conn.Close()
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return nil
}

// SetQueueChangeNotify sets a function called (from the port's control
// goroutine) after NumRxQueues/NumTxQueues changed. It must return
// quickly and must not call Close or SetSocketPath: the guest's messages
// wait while it runs.
func (p *Port) SetQueueChangeNotify(f func()) {
	if f == nil {
		p.notifyQueue.Store(nil)
		return
	}
	p.notifyQueue.Store(&f)
}

// NumRxQueues is the number of queue pairs the guest set up (1 without a
// guest).
func (p *Port) NumRxQueues() int { return int(p.queuePairs.Load()) }

// NumTxQueues equals NumRxQueues: vhost-user queues come in pairs.
func (p *Port) NumTxQueues() int { return int(p.queuePairs.Load()) }

// RxQueueEnabled reports whether the guest has enabled its transmit ring
// of queue pair q (pmd-rxq-show prints "(disabled)" otherwise). Like
// OVS-DPDK, a dpdkvhostuser port that never had a guest shows its queue
// enabled, a dpdkvhostuserclient port without a guest disabled.
func (p *Port) RxQueueEnabled(q int) bool {
	if uint(q) >= MaxQueuePairs {
		return false
	}
	if p.vrings[2*q+1].live.Load() != nil {
		return true
	}
	return p.mode == ModeServer && !p.everConnected.Load()
}

// Link is true while a guest driver is ready and its first queue pair is
// enabled.
func (p *Port) Link() bool { return p.link.Load() }

// MTU is the configured MTU (1500 by default).
func (p *Port) MTU() int {
	if m := p.mtu.Load(); m > 0 {
		return int(m)
	}
	return 1500
}

// SetMTU changes the MTU the port reports (Interface mtu_request). Like
// OVS-DPDK's vhost ports it does not change what the guest may send: the
// guest's own MTU is its business (QEMU's host_mtu tells it one).
func (p *Port) SetMTU(mtu int) error {
	if mtu < 68 || mtu > 65535 {
		return fmt.Errorf("vhost-user port %s: MTU %d out of range 68..65535", p.name, mtu)
	}
	p.mtu.Store(int32(mtu))
	return nil
}

// MAC is all zeros: a vhost-user port has no address of its own (OVS's
// mac_in_use "00:00:00:00:00:00").
func (p *Port) MAC() [6]byte { return [6]byte{} }

// RxBurst receives what the guest transmitted on queue pair q (vring 2q+1).
func (p *Port) RxBurst(q int, pkts []*dataplane.Packet) int {
	if uint(q) >= MaxQueuePairs {
		return 0
	}
	s := &p.vrings[2*q+1]
	s.busy.Set(1)
	vq := s.live.Load()
	if vq == nil {
		s.busy.Set(0)
		return 0
	}
	n := 0
	if q == 0 && p.rarp.Load() != nil {
		n = p.injectRARP(pkts)
	}
	if s.cache == nil {
		s.cache = p.pool.NewCache(0)
	}
	n += p.dequeue(s, vq, pkts[n:])
	s.busy.Set(0)
	return n
}

func (p *Port) dequeue(s *vringSlot, vq *virtq.Queue, pkts []*dataplane.Packet) (n int) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			p.fault(r)
			n = 0
		}
	}()
	n = vq.Dequeue(s.cache, pkts)
	if n == 0 && !s.reported.Load() && vq.Broken() != "" {
		p.reportBroken(s, vq)
	}
	if p.miss != nil {
		p.takeMiss(s, vq)
	}
	return n
}

// TxBurst sends pkts to the guest on queue pair q (vring 2q) and frees
// them all.
func (p *Port) TxBurst(q int, pkts []*dataplane.Packet) int {
	if len(pkts) == 0 {
		return 0
	}
	var vq *virtq.Queue
	var s *vringSlot
	if uint(q) < MaxQueuePairs {
		s = &p.vrings[2*q]
		s.busy.Set(1)
		vq = s.live.Load()
	}
	if vq == nil {
		if s != nil {
			s.busy.Set(0)
		}
		p.noDevDrops.Add(uint64(len(pkts)))
		dataplane.PutBurst(pkts)
		return 0
	}
	n := p.enqueue(s, vq, pkts)
	if s.cache == nil {
		s.cache = p.pool.NewCache(0)
	}
	s.cache.PutBurst(pkts)
	s.busy.Set(0)
	return n
}

func (p *Port) enqueue(s *vringSlot, vq *virtq.Queue, pkts []*dataplane.Packet) (n int) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			p.fault(r)
			n = 0
		}
	}()
	// Like OVS (tx-retries-max 8): while the guest keeps taking frames,
	// offer it the rest again before dropping them.
	for retries := 0; ; retries++ {
		k := vq.TryEnqueue(pkts[n:])
		n += k
		if k == 0 || n == len(pkts) || retries >= int(p.txRetries.Load()) {
			break
		}
		s.retries.Add(1)
	}
	if n < len(pkts) {
		s.stats.Dropped.Add(uint64(len(pkts) - n))
	}
	if n == 0 && !s.reported.Load() && vq.Broken() != "" {
		p.reportBroken(s, vq)
	}
	if p.miss != nil {
		p.takeMiss(s, vq)
	}
	return n
}

type iotlbMiss struct {
	iova uint64
	perm uint8
}

// takeMiss hands a queue's IOTLB miss to the control side without
// blocking. The same address is asked again only every missRetry bursts,
// so a PMD spinning on a miss does not flood the front-end.
func (p *Port) takeMiss(s *vringSlot, vq *virtq.Queue) {
	iova, perm, ok := vq.TakeMiss()
	if !ok {
		return
	}
	if iova == s.lastMiss && s.missWait > 0 {
		s.missWait--
		return
	}
	s.lastMiss, s.missWait = iova, missRetry
	s.stats.IOTLBMisses.Add(1)
	select {
	case p.miss <- iotlbMiss{iova, perm}:
	default:
	}
}

const missRetry = 4096

// Retries of a TxBurst: how often it offers a guest the frames it did not
// take yet, as long as it takes some each time (OVS's tx-retries-max:
// default 8, 0..32).
const (
	defaultTxRetries = 8
	maxTxRetries     = 32
)

// SetTxRetries applies options:tx-retries-max to a client port, at once
// and without reconnecting, as OVS-DPDK does: an integer in 0..32, the
// default 8 for "" or anything else. Server ports (dpdkvhostuser) ignore
// the option, as in OVS.
func (p *Port) SetTxRetries(opt string) {
	n := defaultTxRetries
	if v, err := strconv.Atoi(opt); err == nil && v >= 0 && v <= maxTxRetries && p.mode == ModeClient {
		n = v
	}
	p.txRetries.Store(int32(n))
}

// fault runs on a PMD after guest memory faulted under it (the front-end
// truncated or replaced its memory file): every vring of the device is
// marked broken until the front-end sets the rings up again.
func (p *Port) fault(r any) {
	why := describePanic(r)
	for i := range p.vrings {
		if vq := p.vrings[i].live.Load(); vq != nil {
			vq.MarkBroken(why)
		}
	}
	p.log.Error(fmt.Sprintf("vHost Device '%s': device marked broken: %s", p.SocketPath(), why))
}

func (p *Port) reportBroken(s *vringSlot, vq *virtq.Queue) {
	if s.reported.Swap(true) {
		return
	}
	idx := 0
	for i := range p.vrings {
		if &p.vrings[i] == s {
			idx = i
		}
	}
	p.log.Warn(fmt.Sprintf("vHost Device '%s': queue %d marked broken, its packets are dropped: %s", p.SocketPath(), idx, vq.Broken()))
}

// Stats sums the counters of the vrings since the guest connected (they
// start again from 0 on every connection, as in OVS).
func (p *Port) Stats() dataplane.PortStats {
	var st dataplane.PortStats
	for i := range p.vrings {
		s := &p.vrings[i].stats
		if i%2 == 1 {
			st.RxPackets += s.Packets.Load()
			st.RxBytes += s.Bytes.Load()
			st.RxDropped += s.Dropped.Load()
			st.RxErrors += s.Errors.Load()
		} else {
			st.TxPackets += s.Packets.Load()
			st.TxBytes += s.Bytes.Load()
			st.TxDropped += s.Dropped.Load()
			st.TxErrors += s.Errors.Load()
		}
	}
	st.TxDropped += p.noDevDrops.Load()
	return st
}

// Status is the Interface status column, with OVS-DPDK's keys:
// {mode, status=disconnected} without a ready guest, and features,
// num_of_vrings, numa, socket, status=connected, vring_N_size with one.
func (p *Port) Status() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]string, len(p.status))
	for k, v := range p.status {
		out[k] = v
	}
	return out
}

// deviceInfo is what a ready device contributes to Status.
type deviceInfo struct {
	features uint64
	sizes    []uint16 // per vring
}

func (p *Port) publishStatus(d *deviceInfo) {
	st := map[string]string{"mode": string(p.mode), "status": "disconnected"}
	p.mu.Lock()
	if d != nil {
		st["status"] = "connected"
		st["features"] = fmt.Sprintf("0x%016x", d.features)
		st["num_of_vrings"] = strconv.Itoa(len(d.sizes))
		st["numa"] = "0"
		st["socket"] = p.path
		for i, s := range d.sizes {
			st["vring_"+strconv.Itoa(i)+"_size"] = strconv.Itoa(int(s))
		}
	}
	p.status = st
	p.mu.Unlock()
}

var ovsStatKeys = []string{"ovs_rx_qos_drops", "ovs_tx_failure_drops", "ovs_tx_invalid_hwol_drops",
	"ovs_tx_mtu_exceeded_drops", "ovs_tx_qos_drops", "ovs_tx_retries"}

// ExtraStats is the Interface statistics column beyond PortStats, with
// OVS-DPDK's vhost keys: the ovs_* drop counters always, and with a ready
// guest the size histograms, broadcast/multicast counts and the per-queue
// rx_qN_*/tx_qN_* counters.
func (p *Port) ExtraStats() map[string]uint64 {
	out := make(map[string]uint64, 64)
	for _, k := range ovsStatKeys {
		out[k] = 0
	}
	var txFail, retries uint64
	for i := 0; i < maxVrings; i += 2 {
		txFail += p.vrings[i].stats.Dropped.Load()
		retries += p.vrings[i].retries.Load()
	}
	out["ovs_tx_failure_drops"] = txFail
	out["ovs_tx_retries"] = retries
	if !p.Link() {
		return out
	}
	st := p.Stats()
	out["rx_packets"], out["rx_bytes"], out["rx_dropped"] = st.RxPackets, st.RxBytes, st.RxDropped
	out["tx_packets"], out["tx_bytes"], out["tx_dropped"] = st.TxPackets, st.TxBytes, st.TxDropped
	pairs := p.NumRxQueues()
	for _, name := range [2]string{"rx", "tx"} {
		var sizes [virtq.NumSizeBuckets]uint64
		var bc, mc uint64
		for q := 0; q < MaxQueuePairs; q++ {
			// Vring 2q+1 is the guest's transmit ring: our rx.
			s := &p.vrings[2*q].stats
			if name == "rx" {
				s = &p.vrings[2*q+1].stats
			}
			var qs [virtq.NumSizeBuckets]uint64
			for b := range qs {
				qs[b] = s.Sizes[b].Load()
				sizes[b] += qs[b]
			}
			bc += s.Broadcast.Load()
			mc += s.Multicast.Load()
			if q >= pairs {
				continue
			}
			pre := name + "_q" + strconv.Itoa(q) + "_"
			out[pre+"good_packets"] = s.Packets.Load()
			out[pre+"good_bytes"] = s.Bytes.Load()
			out[pre+"undersize_packets"] = qs[virtq.SizeUnder64]
			out[pre+"size_64_packets"] = qs[virtq.Size64]
			out[pre+"size_65_127_packets"] = qs[virtq.Size65to127]
			out[pre+"size_128_255_packets"] = qs[virtq.Size128to255]
			out[pre+"size_256_511_packets"] = qs[virtq.Size256to511]
			out[pre+"size_512_1023_packets"] = qs[virtq.Size512to1023]
			out[pre+"size_1024_1518_packets"] = qs[virtq.Size1024to1518]
			out[pre+"size_1519_max_packets"] = qs[virtq.Size1519to1522] + qs[virtq.Size1523up]
			out[pre+"broadcast_packets"] = s.Broadcast.Load()
			out[pre+"multicast_packets"] = s.Multicast.Load()
			out[pre+"guest_notifications"] = s.Notifications.Load()
			out[pre+"inflight_submitted"] = 0
			out[pre+"inflight_completed"] = 0
			out[pre+"iotlb_hits"] = s.IOTLBHits.Load()
			out[pre+"iotlb_misses"] = s.IOTLBMisses.Load()
		}
		out[name+"_broadcast_packets"] = bc
		out[name+"_multicast_packets"] = mc
		out[name+"_1_to_64_packets"] = sizes[virtq.SizeUnder64] + sizes[virtq.Size64]
		out[name+"_65_to_127_packets"] = sizes[virtq.Size65to127]
		out[name+"_128_to_255_packets"] = sizes[virtq.Size128to255]
		out[name+"_256_to_511_packets"] = sizes[virtq.Size256to511]
		out[name+"_512_to_1023_packets"] = sizes[virtq.Size512to1023]
		out[name+"_1024_to_1522_packets"] = sizes[virtq.Size1024to1518] + sizes[virtq.Size1519to1522]
		out[name+"_1523_to_max_packets"] = sizes[virtq.Size1523up]
	}
	return out
}

// Close stops the port: the connection or listener is closed, a server's
// socket file removed, the guest memory unmapped. RxBurst and TxBurst must
// not be called any more.
func (p *Port) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	conn, ln, path := p.conn, p.listener, p.path
	p.mu.Unlock()
	if ln != nil {
		ln.Close()
		os.Remove(path)
	}
	if conn != nil {
		conn.Close()
	}
	p.wg.Wait()
	// No burst uses the caches once every vring is stopped: give their
	// buffers back before the pool may go.
	for i := range p.vrings {
		p.stopVring(i)
		if c := p.vrings[i].cache; c != nil {
			c.Flush()
		}
	}
	p.freePool()
	return nil
}

func (p *Port) isClosed() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stopVring unpublishes vring i and waits until no PMD is inside a burst
// on it; it returns the queue that was live, if any.
func (p *Port) stopVring(i int) *virtq.Queue {
	s := &p.vrings[i]
	old := s.live.Swap(nil)
	// The PMD sets busy with a plain store before it loads live: after
	// the barrier either its busy is visible here or its load sees nil.
	relaxed.Barrier()
	for s.busy.Load() != 0 {
		runtime.Gosched()
	}
	return old
}

func (p *Port) listen() error {
	path := p.SocketPath()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("vhost-user port %s: %w", p.name, err)
	}
	// A socket left by a previous run would make bind fail; only remove
	// a socket, never another kind of file.
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(path)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return fmt.Errorf("vhost-user port %s: listen: %w", p.name, err)
	}
	ln.SetUnlinkOnClose(false)
	p.log.Info(fmt.Sprintf("VHOST_CONFIG: (%s) vhost-user server: socket created", path))
	p.log.Info(fmt.Sprintf("VHOST_CONFIG: (%s) binding succeeded", path))
	p.mu.Lock()
	p.listener = ln
	p.mu.Unlock()
	return nil
}

func (p *Port) runServer() {
	defer p.wg.Done()
	for !p.isClosed() {
		p.mu.Lock()
		ln := p.listener
		p.mu.Unlock()
		c, err := ln.AcceptUnix()
		if err != nil {
			if p.isClosed() {
				return
			}
			// The listener was replaced (SetSocketPath) or failed.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p.serve(c)
	}
}

func (p *Port) runClient() {
	defer p.wg.Done()
	max := p.opts.ReconnectMax
	if max <= 0 {
		max = time.Second
	}
	wait := 50 * time.Millisecond
	warned := false
	for !p.isClosed() {
		path := p.SocketPath()
		c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			if !warned {
				// Like OVS: the first failure is logged, later retries
				// are silent.
				p.log.Warn(fmt.Sprintf("VHOST_CONFIG: (%s) failed to connect: %v", path, errnoText(err)))
				p.log.Info(fmt.Sprintf("VHOST_CONFIG: (%s) reconnecting...", path))
				warned = true
			}
			select {
			case <-p.done:
				return
			case <-p.wake:
				wait = 50 * time.Millisecond
				warned = false
			case <-time.After(wait):
				wait = min(2*wait, max)
			}
			continue
		}
		p.log.Info(fmt.Sprintf("VHOST_CONFIG: (%s) connected", path))
		p.serve(c)
		warned = false
		wait = 50 * time.Millisecond
		if !p.isClosed() {
			p.log.Info(fmt.Sprintf("VHOST_CONFIG: (%s) vhost-user client: socket created", p.SocketPath()))
		}
	}
}

func errnoText(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) {
		var se *os.SyscallError
		if errors.As(oe.Err, &se) {
			// OVS prints strerror(): "Connection refused".
			s := se.Err.Error()
			if len(s) > 0 && s[0] >= 'a' && s[0] <= 'z' {
				return string(s[0]-'a'+'A') + s[1:]
			}
			return s
		}
	}
	return err.Error()
}

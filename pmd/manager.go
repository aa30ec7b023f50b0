package pmd

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"gvswitch/dataplane"
)

// Assignment modes of other_config:pmd-rxq-assign.
const (
	// AssignRoundRobin deals the queues, sorted by port name and queue
	// id, to the PMDs in core order.
	AssignRoundRobin = "roundrobin"
	// AssignCycles gives each queue, the busiest first (load measured
	// over the last minute), to the least loaded PMD.
	AssignCycles = "cycles"
	// AssignGroup is accepted for OVS compatibility and behaves as
	// AssignCycles, which here already balances by measured PMD load.
	AssignGroup = "group"
)

// ErrBadAssign is wrapped by Configure for an unknown pmd-rxq-assign.
var ErrBadAssign = errors.New("invalid pmd-rxq-assign")

// ErrClosed is returned by calls on a closed Manager.
var ErrClosed = errors.New("pmd manager closed")

// quiesceTimeout bounds the wait for a PMD to leave an old poll list; a PMD
// stuck longer than that in a ProcessFunc is a bug that is logged.
const quiesceTimeout = 2 * time.Second

// Config is the PMD part of the Open_vSwitch other_config column.
type Config struct {
	// CPUMask is pmd-cpu-mask; empty selects DefaultCPUs.
	CPUMask string
	// MaxSleep is the idle back-off limit (see ParseMaxSleep); 0 means
	// pure busy polling.
	MaxSleep time.Duration
	// Assign is pmd-rxq-assign; empty selects AssignCycles (OVS's
	// default).
	Assign string
}

// Options are the Manager's fixed settings.
type Options struct {
	// Logger receives warnings and PMD panics; nil means slog.Default().
	Logger *slog.Logger
	// OnPanic, if set, is called (on its own goroutine) after a PMD
	// recovered from a panic while polling queue q (nil if no queue was
	// being polled). The queue is quarantined until q.Restore(); the
	// queue's owner typically marks its device broken.
	OnPanic func(core int, q *Rxq, v any)
}

// Manager owns the PMD threads and the assignment of rx queues to them.
// Its methods are safe for concurrent use.
type Manager struct {
	opt Options
	log *slog.Logger

	mu      sync.Mutex
	cfg     Config
	threads []*Thread // PMDs, by core
	main    *Thread
	rxqs    []*Rxq // PMD queues
	// mainRxqs are the queues of dataplane.RxWaiter ports, served by
	// the main thread (main.go), never by a PMD.
	mainRxqs []*Rxq
	closed   bool
}

// NewManager starts the PMDs of cfg.
func NewManager(cfg Config, opt Options) (*Manager, error) {
	m := &Manager{opt: opt, log: opt.Logger}
	if m.log == nil {
		m.log = slog.Default()
	}
	m.main = &Thread{m: m, core: -1, txq: 0, done: make(chan struct{}), wake: -1}
	m.main.list.Store(new([]*Rxq))
	m.main.startWall = time.Now()
	m.main.startCyc = cycles()
	if err := m.Configure(cfg); err != nil {
		return nil, err
	}
	return m, nil
}

// Main is the main thread's counters (pmd-stats-show "main thread:"), for
// packets the control plane processes itself.
func (m *Manager) Main() *Thread { return m.main }

// Configure applies a new configuration: PMDs on CPUs leaving the mask
// give their queues to the remaining ones and stop, new CPUs get PMDs, and
// the queues are reassigned if the CPU set or the assignment mode changed.
// Queues that stay on their PMD are never interrupted. On error nothing
// changes.
func (m *Manager) Configure(cfg Config) error {
	switch cfg.Assign {
	case "":
		cfg.Assign = AssignCycles
	case AssignRoundRobin, AssignCycles, AssignGroup:
	default:
		return fmt.Errorf("%w %q: want roundrobin, cycles or group", ErrBadAssign, cfg.Assign)
	}
	cpus, err := m.resolveCPUs(cfg.CPUMask)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	old := m.cfg
	m.cfg = cfg
	var keep, gone []*Thread
	have := map[int]bool{}
	for _, t := range m.threads {
		if slices.Contains(cpus, t.core) {
			keep = append(keep, t)
			have[t.core] = true
		} else {
			gone = append(gone, t)
		}
	}
	for _, c := range cpus {
		if !have[c] {
			keep = append(keep, m.startThread(c, keep))
		}
	}
	slices.SortFunc(keep, func(a, b *Thread) int { return a.core - b.core })
	for _, t := range keep {
		t.maxSleep.Store(int64(cfg.MaxSleep))
	}
	if len(gone) > 0 || len(keep) != len(m.threads) || old.Assign != cfg.Assign {
		m.reassign(keep, gone)
	}
	m.threads = keep
	return nil
}

func (m *Manager) resolveCPUs(mask string) ([]int, error) {
	want, err := ParseCPUMask(mask)
	if err != nil {
		return nil, err
	}
	allowed, err := AllowedCPUs()
	if err != nil {
		return nil, err
	}
	if len(want) == 0 {
		return DefaultCPUs(allowed), nil
	}
	var cpus []int
	for _, c := range want {
		if slices.Contains(allowed, c) {
			cpus = append(cpus, c)
		} else {
			m.log.Warn("pmd: CPU in pmd-cpu-mask is not available to this process; ignored", "core", c, "mask", mask)
		}
	}
	if len(cpus) == 0 {
		return nil, fmt.Errorf("%w %q (this process may use CPUs %s)", ErrNoUsableCPU, mask, FormatCPUMask(allowed))
	}
	return cpus, nil
}

// startThread starts a PMD on core; its tx queue is the smallest one not
// used by the live threads. Called with m.mu held.
func (m *Manager) startThread(core int, others []*Thread) *Thread {
	used := map[int]bool{0: true}
	for _, t := range m.threads {
		used[t.txq] = true
	}
	for _, t := range others {
		used[t.txq] = true
	}
	txq := 1
	for used[txq] {
		txq++
	}
	t := &Thread{m: m, core: core, numa: numaNode(core), txq: txq, done: make(chan struct{}), wake: -1}
	t.list.Store(new([]*Rxq))
	t.startWall = time.Now()
	t.startCyc = cycles()
	go t.run()
	return t
}

// AddRxq starts polling q on a PMD: the one of its Affinity if there is
// such a PMD, else the least loaded one. Other queues are not moved,
// except from a PMD that becomes isolated by q's affinity.
func (m *Manager) AddRxq(q *Rxq) error {
	if q == nil || q.Port == nil || q.Process == nil {
		return errors.New("pmd: AddRxq: queue without port or ProcessFunc")
	}
	if q.Queue < 0 || q.Queue >= max(1, q.Port.NumRxQueues()) {
		return fmt.Errorf("pmd: port %s has no rx queue %d", q.Port.Name(), q.Queue)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if slices.Contains(m.rxqs, q) || slices.Contains(m.mainRxqs, q) {
		return fmt.Errorf("pmd: port %s rx queue %d added twice", q.Port.Name(), q.Queue)
	}
	q.name = q.Port.Name()
	if _, ok := q.Port.(dataplane.RxWaiter); ok {
		if err := m.startMain(); err != nil {
			return fmt.Errorf("pmd: main thread for port %s: %w", q.name, err)
		}
		m.mainRxqs = append(m.mainRxqs, q)
		q.pmd = m.main
		m.publish(m.main)
		m.main.wakeMain() // it may sleep on the old list's descriptors
		return nil
	}
	m.rxqs = append(m.rxqs, q)
	t := m.pinnedThread(q, m.threads)
	if t != nil && !t.isolated {
		// Its PMD becomes isolated: move its other queues away (OVS
		// pmd-rxq-isolate=true semantics).
		m.reassign(m.threads, nil)
		return nil
	}
	if t == nil {
		t = m.leastLoaded(m.candidates(m.threads), m.loads(m.threads))
	}
	if t == nil {
		m.rxqs = m.rxqs[:len(m.rxqs)-1]
		return errors.New("pmd: no PMD thread to poll the queue")
	}
	q.pmd = t
	m.publish(t)
	return nil
}

// RemoveRxq stops polling q; when it returns no PMD uses q any more, so
// its port may be closed.
func (m *Manager) RemoveRxq(q *Rxq) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.removeLocked(q)
}

func (m *Manager) removeLocked(q *Rxq) {
	if i := slices.Index(m.mainRxqs, q); i >= 0 {
		m.mainRxqs = slices.Delete(m.mainRxqs, i, i+1)
	} else if i := slices.Index(m.rxqs, q); i >= 0 {
		m.rxqs = slices.Delete(m.rxqs, i, i+1)
	} else {
		return
	}
	if t := q.pmd; t != nil {
		q.pmd = nil
		m.publish(t)
		if !t.quiesce(quiesceTimeout) {
			m.log.Error("pmd: thread did not finish its iteration in time", "core", t.core)
		}
	}
}

// RemovePort stops polling every queue of port and returns them.
func (m *Manager) RemovePort(port dataplane.Port) []*Rxq {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Rxq
	for _, q := range slices.Concat(m.rxqs, m.mainRxqs) {
		if q.Port == port {
			m.removeLocked(q)
			out = append(out, q)
		}
	}
	return out
}

// Rebalance reassigns every queue with the configured algorithm
// (dpif-netdev/pmd-rxq-rebalance).
func (m *Manager) Rebalance() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.reassign(m.threads, nil)
	}
}

// Close stops every PMD. Queues are no longer polled when it returns.
func (m *Manager) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.closed = true
	for _, t := range m.threads {
		t.stop.Store(true)
	}
	for _, t := range m.threads {
		<-t.done
	}
	if m.main.wake >= 0 {
		m.main.stop.Store(true)
		m.main.wakeMain()
		<-m.main.done
	}
	for _, q := range slices.Concat(m.rxqs, m.mainRxqs) {
		q.pmd = nil
	}
	m.threads, m.rxqs, m.mainRxqs = nil, nil, nil
}

// Threads is the running PMDs, by core.
func (m *Manager) Threads() []*Thread {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.threads)
}

// PMDOf is the PMD polling q, nil if none.
func (m *Manager) PMDOf(q *Rxq) *Thread {
	m.mu.Lock()
	defer m.mu.Unlock()
	return q.pmd
}

// publish stores t's poll list from the queues assigned to it.
func (m *Manager) publish(t *Thread) {
	var l []*Rxq
	qs := m.rxqs
	if t == m.main {
		qs = m.mainRxqs
	}
	for _, q := range qs {
		if q.pmd == t {
			l = append(l, q)
		}
	}
	slices.SortFunc(l, func(a, b *Rxq) int {
		if a.less(b) {
			return -1
		}
		if b.less(a) {
			return 1
		}
		return 0
	})
	t.list.Store(&l)
}

// reassign computes a new assignment of all queues to threads and applies
// it in two phases: first every PMD drops the queues it loses (and is
// waited for), then every PMD gets its new queues; a queue is never polled
// by two PMDs at once and queues that stay put are never interrupted.
// Threads in gone are stopped after phase one. Called with m.mu held.
func (m *Manager) reassign(threads, gone []*Thread) {
	target := m.plan(threads)
	// Phase one.
	var waitFor []*Thread
	for _, q := range m.rxqs {
		if q.pmd != nil && q.pmd != target[q] {
			waitFor = append(waitFor, q.pmd)
			q.pmd = nil
		}
	}
	for _, t := range append(slices.Clone(threads), gone...) {
		m.publish(t)
	}
	for _, t := range waitFor {
		if !t.quiesce(quiesceTimeout) {
			m.log.Error("pmd: thread did not finish its iteration in time", "core", t.core)
		}
	}
	for _, t := range gone {
		t.stop.Store(true)
		<-t.done
	}
	// Phase two.
	for _, q := range m.rxqs {
		q.pmd = target[q]
	}
	for _, t := range threads {
		m.publish(t)
	}
}

// plan assigns every queue to a thread: pinned queues to their core's PMD
// (which becomes isolated: it gets no other queues), the others by the
// configured mode among the non-isolated PMDs.
func (m *Manager) plan(threads []*Thread) map[*Rxq]*Thread {
	target := make(map[*Rxq]*Thread, len(m.rxqs))
	for _, t := range threads {
		t.isolated = false
	}
	var free []*Rxq
	for _, q := range m.rxqs {
		if t := m.pinnedThread(q, threads); t != nil {
			target[q] = t
			t.isolated = true
		} else {
			if q.Affinity >= 0 {
				m.log.Warn("pmd: rx queue pinned to a core without a PMD; assigned to another",
					"port", q.name, "queue", q.Queue, "core", q.Affinity)
			}
			free = append(free, q)
		}
	}
	cands := m.candidates(threads)
	if len(cands) == 0 {
		return target
	}
	if m.cfg.Assign == AssignRoundRobin {
		slices.SortFunc(free, func(a, b *Rxq) int {
			if a.less(b) {
				return -1
			}
			return 1
		})
		for i, q := range free {
			target[q] = cands[i%len(cands)]
		}
		return target
	}
	loads := map[*Thread]uint64{}
	counts := map[*Thread]int{}
	for q, t := range target {
		loads[t] += q.load(numIntervals)
		counts[t]++
	}
	slices.SortFunc(free, func(a, b *Rxq) int {
		la, lb := a.load(numIntervals), b.load(numIntervals)
		switch {
		case la > lb:
			return -1
		case la < lb:
			return 1
		case a.less(b):
			return -1
		default:
			return 1
		}
	})
	for _, q := range free {
		best := cands[0]
		for _, t := range cands[1:] {
			if loads[t] < loads[best] || (loads[t] == loads[best] && counts[t] < counts[best]) {
				best = t
			}
		}
		target[q] = best
		loads[best] += q.load(numIntervals)
		counts[best]++
	}
	return target
}

func (m *Manager) pinnedThread(q *Rxq, threads []*Thread) *Thread {
	if q.Affinity < 0 {
		return nil
	}
	for _, t := range threads {
		if t.core == q.Affinity {
			return t
		}
	}
	return nil
}

// candidates is the non-isolated threads, or all of them when every PMD
// is isolated (OVS would leave the other queues unpolled; we prefer
// traffic to flow and say so in pmd-rxq-show's isolated flags).
func (m *Manager) candidates(threads []*Thread) []*Thread {
	var c []*Thread
	for _, t := range threads {
		if !t.isolated {
			c = append(c, t)
		}
	}
	if len(c) == 0 {
		return threads
	}
	return c
}

func (m *Manager) loads(threads []*Thread) map[*Thread]uint64 {
	l := map[*Thread]uint64{}
	for _, q := range m.rxqs {
		if q.pmd != nil {
			if m.cfg.Assign == AssignRoundRobin {
				l[q.pmd]++
			} else {
				l[q.pmd] += q.load(numIntervals) + 1
			}
		}
	}
	return l
}

func (m *Manager) leastLoaded(cands []*Thread, loads map[*Thread]uint64) *Thread {
	if len(cands) == 0 {
		return nil
	}
	best := cands[0]
	for _, t := range cands[1:] {
		if loads[t] < loads[best] {
			best = t
		}
	}
	return best
}

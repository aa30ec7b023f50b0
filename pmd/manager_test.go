package pmd

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gvswitch/dataplane"
)

// srcPort is a port whose rx queues produce packets from a pool as long as
// the test lets them, and which detects two goroutines polling the same
// queue at once.
type srcPort struct {
	name   string
	pool   *dataplane.Pool
	queues int
	budget []atomic.Int64 // packets left to produce per queue
	inUse  []atomic.Int32
	tids   []atomic.Int64 // last polling OS thread per queue
	clash  atomic.Bool
}

func newSrcPort(t testing.TB, name string, queues int) *srcPort {
	t.Helper()
	a, err := dataplane.NewArena(1<<20, dataplane.ArenaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	pool, _, err := dataplane.NewPool(name, a, 0, 256, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return &srcPort{name: name, pool: pool, queues: queues,
		budget: make([]atomic.Int64, queues), inUse: make([]atomic.Int32, queues), tids: make([]atomic.Int64, queues)}
}

func (p *srcPort) Name() string { return p.name }
func (p *srcPort) RxBurst(q int, pkts []*dataplane.Packet) int {
	if p.inUse[q].Add(1) != 1 {
		p.clash.Store(true)
	}
	defer p.inUse[q].Add(-1)
	n := int(min(p.budget[q].Load(), int64(len(pkts))))
	if n <= 0 {
		return 0
	}
	got := p.pool.GetBurst(pkts[:n])
	for _, pk := range pkts[:got] {
		pk.SetLen(64)
	}
	p.budget[q].Add(-int64(got))
	return got
}
func (p *srcPort) TxBurst(q int, pkts []*dataplane.Packet) int {
	dataplane.PutBurst(pkts)
	return 0
}
func (p *srcPort) NumRxQueues() int           { return p.queues }
func (p *srcPort) NumTxQueues() int           { return 1 }
func (p *srcPort) Link() bool                 { return true }
func (p *srcPort) MTU() int                   { return 1500 }
func (p *srcPort) MAC() [6]byte               { return [6]byte{2} }
func (p *srcPort) Stats() dataplane.PortStats { return dataplane.PortStats{} }
func (p *srcPort) Close() error               { return nil }

// sink counts and frees packets, recording which thread processed them.
type sink struct {
	n    atomic.Uint64
	mu   sync.Mutex
	seen map[int]int // core -> packets
}

func (s *sink) process(t *Thread, in *Rxq, pkts []*dataplane.Packet) {
	s.n.Add(uint64(len(pkts)))
	s.mu.Lock()
	if s.seen == nil {
		s.seen = map[int]int{}
	}
	s.seen[t.Core()] += len(pkts)
	s.mu.Unlock()
	dataplane.PutBurst(pkts)
	t.Add(SentPackets, uint64(len(pkts)))
	t.Add(SentBatches, 1)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func needCPUs(t *testing.T, cpus ...int) {
	t.Helper()
	allowed, err := AllowedCPUs()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cpus {
		if !slices.Contains(allowed, c) {
			t.Skipf("needs CPU %d (have %v)", c, allowed)
		}
	}
}

func TestPinnedToMaskCPU(t *testing.T) {
	needCPUs(t, 1)
	m, err := NewManager(Config{CPUMask: "0x2", MaxSleep: DefaultMaxSleep}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	th := m.Threads()
	if len(th) != 1 || th[0].Core() != 1 {
		t.Fatalf("threads %v, want one on core 1", th)
	}
	waitFor(t, "PMD start", func() bool { return th[0].TID() != 0 })
	aff, err := ThreadAffinity(th[0].TID())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(aff, []int{1}) {
		t.Fatalf("affinity of PMD thread %d = %v, want [1]", th[0].TID(), aff)
	}
	// Make it run so /proc shows where it ran.
	p := newSrcPort(t, "p0", 1)
	var s sink
	if err := m.AddRxq(NewRxq(p, 0, s.process)); err != nil {
		t.Fatal(err)
	}
	p.budget[0].Store(1000)
	waitFor(t, "1000 packets", func() bool { return s.n.Load() == 1000 })
	cpu, err := ThreadCPU(th[0].TID())
	if err != nil {
		t.Fatal(err)
	}
	if cpu != 1 {
		t.Fatalf("/proc/self/task/%d/stat processor = %d, want 1", th[0].TID(), cpu)
	}
}

func TestStatsCountPackets(t *testing.T) {
	m, err := NewManager(Config{MaxSleep: 50 * time.Microsecond}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p := newSrcPort(t, "p0", 1)
	var s sink
	if err := m.AddRxq(NewRxq(p, 0, s.process)); err != nil {
		t.Fatal(err)
	}
	p.budget[0].Store(5000)
	waitFor(t, "5000 packets", func() bool { return s.n.Load() == 5000 })
	// The PMD counts a burst after handing it over: wait for the count
	// rather than for a time (a loaded machine can keep the thread off
	// the CPU for long).
	core := m.Threads()[0].Core()
	var out string
	waitFor(t, "stats with 5000 packets", func() bool {
		var b bytes.Buffer
		if err := m.WriteStats(&b, Filter{Core: -1}); err != nil {
			t.Fatal(err)
		}
		out = b.String()
		return strings.Contains(out, fmt.Sprintf("core_id %d:\n  packets received: 5000\n", core))
	})
	for _, want := range []string{
		fmt.Sprintf("pmd thread numa_id 0 core_id %d:\n  packets received: 5000\n", core),
		"  idle cycles: ",
		"  avg processing cycles per packet: ",
		"main thread:\n  packets received: 0\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("pmd-stats-show lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "avg. packets per output batch: ") || strings.Contains(out, "avg. packets per output batch: 0.00\n  idle") {
		t.Errorf("output batches not counted:\n%s", out)
	}
	m.ClearStats(Filter{Core: -1})
	var b bytes.Buffer
	m.WriteStats(&b, Filter{Core: core})
	if !strings.HasPrefix(b.String(), fmt.Sprintf("pmd thread numa_id 0 core_id %d:\n  packets received: 0\n", core)) {
		t.Errorf("after clear, -pmd %d:\n%s", core, b.String())
	}
	if strings.Contains(b.String(), "main thread") {
		t.Errorf("-pmd filter shows the main thread:\n%s", b.String())
	}
	b.Reset()
	m.WritePerf(&b, Filter{Core: -1})
	if !strings.Contains(b.String(), "  Iterations:   ") || strings.Contains(b.String(), "main thread") {
		t.Errorf("pmd-perf-show:\n%s", b.String())
	}
}

func TestIdleBackoffSleeps(t *testing.T) {
	m, err := NewManager(Config{MaxSleep: 100 * time.Microsecond}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	th := m.Threads()[0]
	waitFor(t, "sleep iterations", func() bool { return th.stats[sleepIters].Load() > 10 })
	// With busy polling configured it must stop sleeping.
	if err := m.Configure(Config{MaxSleep: 0}); err != nil {
		t.Fatal(err)
	}
	// A sleep begun before may still end (and count) late when the
	// thread is off the CPU, so look for a quiet 20 ms within 5 s
	// rather than expect one at a fixed time.
	deadline := time.Now().Add(5 * time.Second)
	for {
		a := th.stats[sleepIters].Load()
		time.Sleep(20 * time.Millisecond)
		b := th.stats[sleepIters].Load()
		if b == a {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pmd-maxsleep=0 still sleeps: %d -> %d in 20 ms, 5 s after Configure", a, b)
		}
	}
}

// TestMoveQueuesUnderTraffic reassigns queues between PMDs while packets
// flow and checks that no queue is ever polled by two PMDs at once and no
// packet is lost.
func TestMoveQueuesUnderTraffic(t *testing.T) {
	needCPUs(t, 0, 1)
	m, err := NewManager(Config{CPUMask: "0x3", Assign: AssignRoundRobin, MaxSleep: 20 * time.Microsecond}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p := newSrcPort(t, "p0", 4)
	var s sink
	var qs []*Rxq
	for i := 0; i < 4; i++ {
		q := NewRxq(p, i, s.process)
		qs = append(qs, q)
		if err := m.AddRxq(q); err != nil {
			t.Fatal(err)
		}
	}
	m.Rebalance()
	per := map[int]int{}
	for _, q := range qs {
		per[m.PMDOf(q).Core()]++
	}
	if per[0] != 2 || per[1] != 2 {
		t.Fatalf("round robin gave %v, want 2 queues per PMD", per)
	}
	const each = 20000
	for i := range p.budget {
		p.budget[i].Store(each)
	}
	for _, mask := range []string{"0x1", "0x2", "0x3", "0x1", "0x3"} {
		if err := m.Configure(Config{CPUMask: mask, Assign: AssignRoundRobin, MaxSleep: 20 * time.Microsecond}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	waitFor(t, "all packets", func() bool { return s.n.Load() == 4*each })
	if p.clash.Load() {
		t.Fatal("a queue was polled by two PMDs at once")
	}
	for _, q := range qs {
		if m.PMDOf(q) == nil {
			t.Errorf("queue %d has no PMD", q.Queue)
		}
	}
	// A removed queue is not polled any more.
	m.RemoveRxq(qs[0])
	p.budget[0].Store(10)
	time.Sleep(20 * time.Millisecond)
	if p.budget[0].Load() != 10 {
		t.Error("removed queue still polled")
	}
}

func TestAffinityIsolates(t *testing.T) {
	needCPUs(t, 0, 1)
	m, err := NewManager(Config{CPUMask: "0x3"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p := newSrcPort(t, "p0", 3)
	var s sink
	pinned := NewRxq(p, 0, s.process)
	pinned.Affinity = 1
	// The pinned queue comes last: the PMD on core 1 must give away what
	// it already polls.
	for _, q := range []*Rxq{NewRxq(p, 1, s.process), NewRxq(p, 2, s.process), pinned} {
		if err := m.AddRxq(q); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	m.WriteRxqs(&b, Filter{Core: -1})
	out := b.String()
	want := "Displaying last 60 seconds pmd usage %\n" +
		"pmd thread numa_id 0 core_id 0:\n  isolated : false\n" +
		"  port: p0                queue-id:  1 (enabled)   pmd usage: NOT AVAIL\n" +
		"  port: p0                queue-id:  2 (enabled)   pmd usage: NOT AVAIL\n" +
		"  overhead: NOT AVAIL\n" +
		"pmd thread numa_id 0 core_id 1:\n  isolated : true\n" +
		"  port: p0                queue-id:  0 (enabled)   pmd usage: NOT AVAIL\n" +
		"  overhead: NOT AVAIL\n"
	if out != want {
		t.Errorf("pmd-rxq-show:\n%s\nwant:\n%s", out, want)
	}
}

func TestPanicQuarantinesQueue(t *testing.T) {
	type report struct {
		q *Rxq
		v any
	}
	reports := make(chan report, 4)
	m, err := NewManager(Config{MaxSleep: 20 * time.Microsecond}, Options{
		OnPanic: func(core int, q *Rxq, v any) { reports <- report{q, v} },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	bad := newSrcPort(t, "bad", 1)
	good := newSrcPort(t, "good", 1)
	var s sink
	badQ := NewRxq(bad, 0, func(t *Thread, in *Rxq, pkts []*dataplane.Packet) {
		dataplane.PutBurst(pkts)
		var b []byte
		_ = b[len(pkts)] // index out of range: a bug in a port or the bridge
	})
	if err := m.AddRxq(badQ); err != nil {
		t.Fatal(err)
	}
	if err := m.AddRxq(NewRxq(good, 0, s.process)); err != nil {
		t.Fatal(err)
	}
	bad.budget[0].Store(100)
	select {
	case r := <-reports:
		if r.q != badQ {
			t.Fatalf("OnPanic got queue %v, want the bad one", r.q)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no OnPanic call")
	}
	if !badQ.Quarantined() {
		t.Fatal("faulting queue not quarantined")
	}
	good.budget[0].Store(500)
	waitFor(t, "the good queue keeps flowing", func() bool { return s.n.Load() == 500 })
	if m.Threads()[0].Panics() != 1 {
		t.Errorf("panics = %d, want 1", m.Threads()[0].Panics())
	}
}

func TestPollOnceAllocs(t *testing.T) {
	m := &Manager{}
	th := &Thread{m: m, core: 0}
	p := newSrcPort(t, "p0", 1)
	var n uint64
	q := NewRxq(p, 0, func(t *Thread, in *Rxq, pkts []*dataplane.Packet) {
		n += uint64(len(pkts))
		dataplane.PutBurst(pkts)
	})
	list := []*Rxq{q}
	var pkts [BurstSize]*dataplane.Packet
	allocs := testing.AllocsPerRun(1000, func() {
		p.budget[0].Store(BurstSize)
		th.pollOnce(list, &pkts, cycles())
	})
	if allocs != 0 || n == 0 {
		t.Fatalf("pollOnce: %v allocs per burst (%d packets)", allocs, n)
	}
}

func BenchmarkPollOnce(b *testing.B) {
	th := &Thread{m: &Manager{}, core: 0}
	p := newSrcPort(b, "p0", 1)
	q := NewRxq(p, 0, func(t *Thread, in *Rxq, pkts []*dataplane.Packet) { dataplane.PutBurst(pkts) })
	list := []*Rxq{q}
	var pkts [BurstSize]*dataplane.Packet
	b.ReportAllocs()
	for b.Loop() {
		p.budget[0].Store(BurstSize)
		th.pollOnce(list, &pkts, cycles())
	}
}

// TestPlanCycles: pmd-rxq-assign=cycles gives the busiest queues first to
// the least loaded PMD; roundrobin deals them by name and queue id.
func TestPlanCycles(t *testing.T) {
	m := &Manager{cfg: Config{Assign: AssignCycles}}
	a, b := &Thread{m: m, core: 2}, &Thread{m: m, core: 3}
	p := newSrcPort(t, "p", 4)
	loads := []uint64{100, 90, 10, 5}
	for i, l := range loads {
		q := NewRxq(p, i, nil)
		q.name = "p"
		q.hist[0].Store(l)
		m.rxqs = append(m.rxqs, q)
	}
	got := m.plan([]*Thread{a, b})
	want := map[int]*Thread{0: a, 1: b, 2: b, 3: a}
	for q, th := range got {
		if want[q.Queue] != th {
			t.Errorf("cycles: queue %d (load %d) on core %d", q.Queue, loads[q.Queue], th.core)
		}
	}
	m.cfg.Assign = AssignRoundRobin
	got = m.plan([]*Thread{a, b})
	for q, th := range got {
		if want := []*Thread{a, b}[q.Queue%2]; th != want {
			t.Errorf("roundrobin: queue %d on core %d", q.Queue, th.core)
		}
	}
}

// TestLoopDoesNotAllocate: a PMD forwarding bursts (and backing off when
// idle) allocates nothing in steady state.
func TestLoopDoesNotAllocate(t *testing.T) {
	m, err := NewManager(Config{MaxSleep: 20 * time.Microsecond}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p := newSrcPort(t, "p0", 1)
	var n atomic.Uint64
	if err := m.AddRxq(NewRxq(p, 0, func(t *Thread, in *Rxq, pkts []*dataplane.Packet) {
		n.Add(uint64(len(pkts)))
		dataplane.PutBurst(pkts)
		t.Add(SentBatches, 1)
	})); err != nil {
		t.Fatal(err)
	}
	p.budget[0].Store(1 << 40)
	waitFor(t, "traffic", func() bool { return n.Load() > 10000 })
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n0 := n.Load()
	time.Sleep(300 * time.Millisecond)
	p.budget[0].Store(0) // and some idle back-off
	time.Sleep(100 * time.Millisecond)
	runtime.ReadMemStats(&after)
	bursts := (n.Load() - n0) / BurstSize
	if d := after.Mallocs - before.Mallocs; d > 50 {
		t.Fatalf("%d allocations during %d bursts", d, bursts)
	}
	t.Logf("%d bursts, %d allocations", bursts, after.Mallocs-before.Mallocs)
}

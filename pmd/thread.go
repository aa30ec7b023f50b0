package pmd

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"gvswitch/dataplane"
	"gvswitch/internal/relaxed"
)

// Counter names one of the per-PMD packet counters of pmd-stats-show.
// The PMD counts Received itself; the ProcessFunc (bridge) counts the
// others with Thread.Add, once per burst.
type Counter int

// The counters, in pmd-stats-show order. The names are OVS's: a bridge
// maps its own lookup stages onto them (e.g. a per-PMD exact-match cache
// hit is an EMC hit, an FDB lookup a megaflow hit).
const (
	Received        Counter = iota // packets received
	Recirculated                   // packet recirculations
	PHWOLHits                      // phwol hits
	MFEXOptHits                    // mfex opt hits
	SimpleMatchHits                // simple match hits
	EMCHits                        // emc hits
	SMCHits                        // smc hits
	MegaflowHits                   // megaflow hits
	MegaflowLookups                // subtable lookups, for "avg. subtable lookups per megaflow hit"
	Upcalls                        // miss with success upcall
	LostUpcalls                    // miss with failed upcall
	SentPackets                    // packets handed to TxBurst
	SentBatches                    // TxBurst calls

	// Time accounting, kept by the PMD loop.
	idleCycles
	busyCycles
	sleepCycles
	idleIters
	busyIters
	sleepIters
	numStats
)

// numIntervals and intervalSeconds: pmd-rxq-show reports usage over the
// last numIntervals*intervalSeconds seconds (60 s, like OVS's 12 x 5 s).
const (
	numIntervals    = 12
	intervalSeconds = 5
)

// idleItersBeforeSleep is how many empty iterations in a row a PMD polls
// before it starts to back off (a few microseconds of pure polling).
const idleItersBeforeSleep = 64

// Thread is one PMD: a goroutine locked to an OS thread pinned to Core.
// The main thread (Core -1) is not a goroutine of its own: it stands for
// packets the control plane processes, for pmd-stats-show's "main thread".
type Thread struct {
	m    *Manager
	core int
	numa int
	txq  int

	list     atomic.Pointer[[]*Rxq]
	epoch    relaxed.Counter // loop iterations (plain stores: quiesce fences)
	stop     atomic.Bool
	done     chan struct{}
	tid      atomic.Int32
	maxSleep atomic.Int64 // ns
	wake     int          // main thread: eventfd that ends its sleep; -1 for PMDs
	panics   atomic.Uint64

	// cur is the queue being polled, for panic attribution; PMD-local.
	cur *Rxq

	// stats are written by the PMD with plain stores (by any goroutine,
	// atomically, for the main thread).
	stats [numStats]relaxed.Counter
	// Wall cycles of the last finished interval and busy cycles of the
	// last numIntervals ones.
	intrvlCycles atomic.Uint64
	busyHist     [numIntervals]atomic.Uint64
	busyIdx      atomic.Uint32

	// Manager.mu:
	isolated  bool
	base      [numStats]uint64 // values at the last pmd-stats-clear
	startWall time.Time
	startCyc  uint64
}

// Core is the CPU the PMD is pinned to, -1 for the main thread.
func (t *Thread) Core() int { return t.core }

// NUMA is the NUMA node of the PMD's CPU.
func (t *Thread) NUMA() int { return t.numa }

// TxQueue is the tx queue this thread uses on every port: 0 for the main
// thread, 1, 2, ... for PMDs, unique among the live threads. When a port
// has fewer tx queues, the caller maps it (e.g. TxQueue() % n) and
// serialises the shared queue (see relaxed.SpinLock).
func (t *Thread) TxQueue() int { return t.txq }

// TID is the OS thread id of a running PMD, 0 before it started.
func (t *Thread) TID() int { return int(t.tid.Load()) }

// Panics counts the panics this PMD recovered from.
func (t *Thread) Panics() uint64 { return t.panics.Load() }

// Add adds n to counter c. Call it once per burst, not per packet; it is
// safe from the thread's own goroutine (and, for the main thread, from
// any goroutine).
func (t *Thread) Add(c Counter, n uint64) {
	if c < 0 || c >= numStats {
		return
	}
	if t.core < 0 {
		t.stats[c].AddShared(n)
		return
	}
	t.stats[c].Add(n)
}

// Quiesce returns once the PMD has finished the loop iteration it was in
// (so it no longer uses a poll list replaced before the call), or when it
// has stopped, or after timeout; it reports whether it saw the PMD pass.
func (t *Thread) quiesce(timeout time.Duration) bool {
	if t.core < 0 && t.wake < 0 {
		return true // the main thread serves no queue
	}
	// The PMD counts epochs with plain stores: the barrier makes the
	// count it has reached visible here, and makes its next iteration see
	// what the caller published before the call.
	relaxed.Barrier()
	e := t.epoch.Load()
	if t.core < 0 {
		t.wakeMain() // it may be asleep in poll(2)
	}
	deadline := time.Now().Add(timeout)
	for n := 0; t.epoch.Load() == e; n++ {
		select {
		case <-t.done:
			return true
		default:
		}
		if time.Now().After(deadline) {
			return false
		}
		// A PMD iteration takes microseconds (up to pmd-maxsleep when
		// idle); time.Sleep rounds to about a millisecond here, so yield
		// first.
		if n < 2000 {
			runtime.Gosched()
		} else {
			time.Sleep(50 * time.Microsecond)
		}
	}
	return true
}

// run is the PMD goroutine.
func (t *Thread) run() {
	defer close(t.done)
	// The goroutine never unlocks: when it returns, the runtime ends the
	// OS thread, so its CPU pinning never leaks to other goroutines.
	runtime.LockOSThread()
	t.tid.Store(int32(unix.Gettid()))
	if err := pinCurrentThread(t.core); err != nil {
		t.m.log.Warn("pmd: cannot pin thread", "core", t.core, "err", err)
	}
	// Sleeps of a few microseconds need a small timer slack (prctl(2),
	// PR_SET_TIMERSLACK; the default 50 us would round every back-off up).
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1000, 0, 0, 0)
	// A fault in memory shared with a guest becomes a panic we recover.
	debug.SetPanicOnFault(true)
	hz := cyclesPerSecond()
	for !t.stop.Load() {
		t.poll(uint64(hz * intervalSeconds))
	}
}

// poll is the PMD loop; it returns when the thread is stopped or after a
// recovered panic (run then calls it again).
func (t *Thread) poll(intervalLen uint64) {
	defer t.recoverPanic()
	var pkts [BurstSize]*dataplane.Packet
	now := cycles()
	intervalStart := now
	var (
		idleRun              int
		sleep                time.Duration
		idleC, idleN, busyIv uint64
	)
	flushIdle := func() {
		t.stats[idleCycles].Add(idleC)
		t.stats[idleIters].Add(idleN)
		idleC, idleN = 0, 0
	}
	for !t.stop.Load() {
		list := *t.list.Load()
		got := t.pollOnce(list, &pkts, now)
		end := cycles()
		d := end - now
		now = end
		if got > 0 {
			t.stats[Received].Add(uint64(got))
			t.stats[busyCycles].Add(d)
			t.stats[busyIters].Add(1)
			busyIv += d
			idleRun, sleep = 0, 0
			if idleN > 0 {
				flushIdle()
			}
		} else {
			idleC += d
			idleN++
			idleRun++
			if idleN >= 1024 {
				flushIdle()
			}
		}
		t.epoch.Add(1)

		if now-intervalStart >= intervalLen {
			t.endInterval(list, now-intervalStart, busyIv)
			intervalStart, busyIv = now, 0
		}

		if got == 0 && idleRun >= idleItersBeforeSleep {
			limit := time.Duration(t.maxSleep.Load())
			if limit > 0 {
				sleep = min(max(sleep*2, time.Microsecond), limit)
				flushIdle()
				ts := unix.NsecToTimespec(int64(sleep))
				_ = unix.Nanosleep(&ts, nil)
				end := cycles()
				t.stats[sleepCycles].Add(end - now)
				t.stats[sleepIters].Add(1)
				now = end
				t.epoch.Add(1)
			}
		}
	}
	flushIdle()
}

// pollOnce polls every queue of list once, handing non-empty bursts to
// their ProcessFunc, and charges each queue the cycles since mark (the
// previous clock read). It returns how many packets it received.
func (t *Thread) pollOnce(list []*Rxq, pkts *[BurstSize]*dataplane.Packet, mark uint64) int {
	got := 0
	for _, q := range list {
		if q.quarantined.Load() {
			continue
		}
		t.cur = q
		n := q.Port.RxBurst(q.Queue, pkts[:])
		if n > 0 {
			got += n
			q.Process(t, q, pkts[:n])
			end := cycles()
			q.cur.Add(end - mark)
			mark = end
		}
	}
	t.cur = nil
	return got
}

// endInterval files the finished interval's cycles for pmd-rxq-show and
// the cycles-based assignment.
func (t *Thread) endInterval(list []*Rxq, wall, busy uint64) {
	for _, q := range list {
		i := q.histIdx.Add(1)
		q.hist[i%numIntervals].Store(q.cur.Load())
		q.cur.Store(0)
	}
	i := t.busyIdx.Add(1)
	t.busyHist[i%numIntervals].Store(busy)
	t.intrvlCycles.Store(wall)
}

func (t *Thread) recoverPanic() {
	v := recover()
	if v == nil {
		return
	}
	q := t.cur
	t.cur = nil
	t.panics.Add(1)
	t.epoch.Add(1)
	name := ""
	if q != nil {
		q.quarantined.Store(true)
		name = fmt.Sprintf("%s queue %d", q.name, q.Queue)
	}
	t.m.log.Error("pmd: recovered from panic; rx queue quarantined",
		"core", t.core, "rxq", name, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	if hook := t.m.opt.OnPanic; hook != nil {
		go func() {
			defer func() {
				if r := recover(); r != nil {
					t.m.log.Error("pmd: OnPanic hook panicked", "panic", fmt.Sprint(r))
				}
			}()
			hook(t.core, q, v)
		}()
	}
	if q == nil {
		// Not attributable to a queue: do not spin on a repeating fault.
		time.Sleep(time.Millisecond)
	}
}

// snapshot is the counters since the last clear.
func (t *Thread) snapshot() (s [numStats]uint64) {
	for i := range s {
		s[i] = t.stats[i].Load() - t.base[i]
	}
	return s
}

package pmd

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Filter selects what the show commands print.
type Filter struct {
	// Core limits the output to the PMD on that core; -1 shows all
	// threads (and the main thread, for pmd-stats-show).
	Core int
	// Secs is pmd-rxq-show's -secs (0: the whole 60 s).
	Secs int
}

// ParseArgs reads the arguments of the dpif-netdev/pmd-* commands as OVS
// does: "-pmd CORE", "-secs N" (pmd-rxq-show only; allowSecs) and an
// optional datapath name, returned in dp. Like OVS, a -pmd value that is
// not a number shows every PMD, and a bad -secs the maximum.
func ParseArgs(args []string, allowSecs bool) (f Filter, dp string) {
	f.Core = -1
	for len(args) > 0 {
		switch {
		case args[0] == "-pmd" && len(args) > 1:
			if c, err := strconv.ParseUint(args[1], 10, 31); err == nil {
				f.Core = int(c)
			}
			args = args[2:]
		case allowSecs && args[0] == "-secs" && len(args) > 1:
			if s, err := strconv.ParseUint(args[1], 10, 31); err == nil {
				f.Secs = int(s)
			} else {
				f.Secs = numIntervals * intervalSeconds
			}
			args = args[2:]
		default:
			dp = args[0]
			args = args[1:]
		}
	}
	return f, dp
}

// threadsForShow is the PMDs by core, then the main thread (OVS sorts by
// core id, and the main thread's is the largest).
func (m *Manager) threadsForShow(f Filter, withMain bool) []*Thread {
	var out []*Thread
	for _, t := range m.threads {
		if f.Core < 0 || t.core == f.Core {
			out = append(out, t)
		}
	}
	if withMain && f.Core < 0 {
		out = append(out, m.main)
	}
	return out
}

func (t *Thread) header() string {
	if t.core < 0 {
		return "main thread:\n"
	}
	return fmt.Sprintf("pmd thread numa_id %d core_id %d:\n", t.numa, t.core)
}

// WriteStats writes dpif-netdev/pmd-stats-show.
func (m *Manager) WriteStats(w io.Writer, f Filter) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	for _, t := range m.threadsForShow(f, true) {
		s := t.snapshot()
		b.WriteString(t.header())
		total := s[idleCycles] + s[busyCycles]
		rx := s[Received]
		var passes, lookups, perBatch float64
		if rx > 0 {
			passes = float64(rx+s[Recirculated]) / float64(rx)
		}
		if s[MegaflowHits] > 0 {
			lookups = float64(s[MegaflowLookups]) / float64(s[MegaflowHits])
		}
		if s[SentBatches] > 0 {
			perBatch = float64(s[SentPackets]) / float64(s[SentBatches])
		}
		fmt.Fprintf(&b, "  packets received: %d\n"+
			"  packet recirculations: %d\n"+
			"  avg. datapath passes per packet: %.02f\n"+
			"  phwol hits: %d\n"+
			"  mfex opt hits: %d\n"+
			"  simple match hits: %d\n"+
			"  emc hits: %d\n"+
			"  smc hits: %d\n"+
			"  megaflow hits: %d\n"+
			"  avg. subtable lookups per megaflow hit: %.02f\n"+
			"  miss with success upcall: %d\n"+
			"  miss with failed upcall: %d\n"+
			"  avg. packets per output batch: %.02f\n",
			rx, s[Recirculated], passes, s[PHWOLHits], s[MFEXOptHits], s[SimpleMatchHits],
			s[EMCHits], s[SMCHits], s[MegaflowHits], lookups, s[Upcalls], s[LostUpcalls], perBatch)
		if total == 0 {
			continue
		}
		fmt.Fprintf(&b, "  idle cycles: %d (%.02f%%)\n  processing cycles: %d (%.02f%%)\n",
			s[idleCycles], float64(s[idleCycles])/float64(total)*100,
			s[busyCycles], float64(s[busyCycles])/float64(total)*100)
		if rx == 0 {
			continue
		}
		fmt.Fprintf(&b, "  avg cycles per packet: %.02f (%d/%d)\n", float64(total)/float64(rx), total, rx)
		fmt.Fprintf(&b, "  avg processing cycles per packet: %.02f (%d/%d)\n",
			float64(s[busyCycles])/float64(rx), s[busyCycles], rx)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ClearStats zeroes the counters of the selected threads
// (dpif-netdev/pmd-stats-clear, whose reply is empty).
func (m *Manager) ClearStats(f Filter) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.threadsForShow(f, true) {
		for i := range t.base {
			t.base[i] = t.stats[i].Load()
		}
		t.startWall = time.Now()
		t.startCyc = cycles()
	}
}

// WriteRxqs writes dpif-netdev/pmd-rxq-show: each PMD's queues with their
// share of the PMD's cycles over the last f.Secs seconds (rounded up to the
// 5 s interval; "NOT AVAIL" before the first interval ended).
func (m *Manager) WriteRxqs(w io.Writer, f Filter) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	maxSecs := numIntervals * intervalSeconds
	secs := f.Secs
	if secs <= 0 || secs > maxSecs {
		secs = maxSecs
	} else {
		secs = (secs + intervalSeconds - 1) / intervalSeconds * intervalSeconds
	}
	n := secs / intervalSeconds
	var b strings.Builder
	for i, t := range m.threadsForShow(f, true) {
		if i == 0 {
			fmt.Fprintf(&b, "Displaying last %d seconds pmd usage %%\n", secs)
		}
		if t.core < 0 {
			continue
		}
		fmt.Fprintf(&b, "pmd thread numa_id %d core_id %d:\n  isolated : %t\n", t.numa, t.core, t.isolated)
		total := t.intrvlCycles.Load() * uint64(n)
		busy := min(sumIntervals(&t.busyHist, t.busyIdx.Load(), n), total)
		var procSum uint64
		list := slices.Clone(*t.list.Load())
		for _, q := range list {
			proc := q.load(n)
			procSum += proc
			state := "(enabled) "
			if !q.enabled() {
				state = "(disabled)"
			}
			fmt.Fprintf(&b, "  port: %-16s  queue-id: %2d %s  pmd usage: ", q.name, q.Queue, state)
			if total > 0 {
				fmt.Fprintf(&b, "%2.0f %%", float64(proc*100)/float64(total))
			} else {
				b.WriteString("NOT AVAIL")
			}
			b.WriteString("\n")
		}
		if len(list) > 0 {
			b.WriteString("  overhead: ")
			if total > 0 {
				var over uint64
				if procSum < busy {
					over = busy - procSum
				}
				fmt.Fprintf(&b, "%2.0f %%", float64(over*100)/float64(total))
			} else {
				b.WriteString("NOT AVAIL")
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// RebalanceReply is the reply text of dpif-netdev/pmd-rxq-rebalance.
const RebalanceReply = "pmd rxq rebalance requested.\n"

// WritePerf writes dpif-netdev/pmd-perf-show's overall statistics for
// every PMD (OVS's histograms need pmd-perf-metrics and are not kept).
func (m *Manager) WritePerf(w io.Writer, f Filter) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	hz := cyclesPerSecond()
	var b strings.Builder
	for _, t := range m.threadsForShow(f, false) {
		now := time.Now()
		duration := now.Sub(t.startWall).Seconds()
		fmt.Fprintf(&b, "\nTime: %s\nMeasurement duration: %.3f s\n\n", now.UTC().Format("15:04:05.000"), duration)
		b.WriteString(t.header())
		b.WriteString("\n")
		if duration <= 0 {
			continue
		}
		s := t.snapshot()
		tot := s[idleCycles] + s[busyCycles]
		iters := s[idleIters] + s[busyIters]
		usPerCycle := 1e6 / hz
		pct := func(a, b uint64) float64 {
			if b == 0 {
				return 0
			}
			return 100 * float64(a) / float64(b)
		}
		var usPerIt, sleepPerIt float64
		if iters > 0 {
			usPerIt = float64(tot+s[sleepCycles]) * usPerCycle / float64(iters)
		}
		if s[sleepIters] > 0 {
			sleepPerIt = float64(s[sleepCycles]) * usPerCycle / float64(s[sleepIters])
		}
		fmt.Fprintf(&b, "  Iterations:         %12d  (%.2f us/it)\n"+
			"  - Used TSC cycles:  %12d  (%5.1f %% of total cycles)\n"+
			"  - idle iterations:  %12d  (%5.1f %% of used cycles)\n"+
			"  - busy iterations:  %12d  (%5.1f %% of used cycles)\n"+
			"  - sleep iterations: %12d  (%5.1f %% of iterations)\n"+
			"  Sleep time (us):    %12.0f  (%3.0f us/iteration avg.)\n",
			iters, usPerIt,
			tot, 100*float64(tot)/duration/hz,
			s[idleIters], pct(s[idleCycles], tot),
			s[busyIters], pct(s[busyCycles], tot),
			s[sleepIters], pct(s[sleepIters], iters),
			float64(s[sleepCycles])*usPerCycle, sleepPerIt)
		rx := s[Received]
		if rx > 0 {
			passes := rx + s[Recirculated]
			var lookups float64
			if s[MegaflowHits] > 0 {
				lookups = float64(s[MegaflowLookups]) / float64(s[MegaflowHits])
			}
			fmt.Fprintf(&b, "  Rx packets:         %12d  (%.0f Kpps, %.0f cycles/pkt)\n"+
				"  Datapath passes:    %12d  (%.2f passes/pkt)\n"+
				"  - PHWOL hits:       %12d  (%5.1f %%)\n"+
				"  - MFEX Opt hits:    %12d  (%5.1f %%)\n"+
				"  - Simple Match hits:%12d  (%5.1f %%)\n"+
				"  - EMC hits:         %12d  (%5.1f %%)\n"+
				"  - SMC hits:         %12d  (%5.1f %%)\n"+
				"  - Megaflow hits:    %12d  (%5.1f %%, %.2f subtbl lookups/hit)\n"+
				"  - Upcalls:          %12d  (%5.1f %%, %.1f us/upcall)\n"+
				"  - Lost upcalls:     %12d  (%5.1f %%)\n",
				rx, float64(rx)/duration/1000, float64(s[busyCycles])/float64(rx),
				passes, float64(passes)/float64(rx),
				s[PHWOLHits], pct(s[PHWOLHits], passes),
				s[MFEXOptHits], pct(s[MFEXOptHits], passes),
				s[SimpleMatchHits], pct(s[SimpleMatchHits], passes),
				s[EMCHits], pct(s[EMCHits], passes),
				s[SMCHits], pct(s[SMCHits], passes),
				s[MegaflowHits], pct(s[MegaflowHits], passes), lookups,
				s[Upcalls], pct(s[Upcalls], passes), 0.0,
				s[LostUpcalls], pct(s[LostUpcalls], passes))
		} else {
			fmt.Fprintf(&b, "  Rx packets:         %12d\n", 0)
		}
		if tx := s[SentPackets]; tx > 0 {
			fmt.Fprintf(&b, "  Tx packets:         %12d  (%.0f Kpps)\n"+
				"  Tx batches:         %12d  (%.2f pkts/batch)\n",
				tx, float64(tx)/duration/1000, s[SentBatches], float64(tx)/float64(max(1, s[SentBatches])))
		} else {
			fmt.Fprintf(&b, "  Tx packets:         %12d\n\n", 0)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

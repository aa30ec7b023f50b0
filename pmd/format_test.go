package pmd

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// captureManager rebuilds the state of the OVS capture: one PMD on core 1
// with the captured counters, and the main thread idle.
func captureManager(t *testing.T) *Manager {
	m := &Manager{}
	m.main = &Thread{m: m, core: -1}
	m.main.list.Store(new([]*Rxq))
	pm := &Thread{m: m, core: 1, numa: 0, txq: 1}
	for c, v := range map[Counter]uint64{
		Received: 27533440, EMCHits: 27533280, MegaflowHits: 158, MegaflowLookups: 158,
		Upcalls: 2, SentPackets: 32 * 860420, SentBatches: 860420,
		idleCycles: 15683771365, busyCycles: 13133279971,
	} {
		pm.stats[c].Store(v)
	}
	var qs []*Rxq
	for _, name := range []string{"vhs0", "vhu0", "vhu1"} {
		q := NewRxq(newSrcPort(t, name, 1), 0, nil)
		q.name = name
		qs = append(qs, q)
	}
	// 12 intervals of 100 cycles; vhu0 and vhu1 used 4 % each.
	pm.intrvlCycles.Store(100)
	for i := range numIntervals {
		qs[1].hist[i].Store(4)
		qs[2].hist[i].Store(4)
		pm.busyHist[i].Store(8)
	}
	pm.list.Store(&qs)
	m.threads = []*Thread{pm}
	return m
}

func golden(t *testing.T, name string) string {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestStatsShowGolden(t *testing.T) {
	m := captureManager(t)
	var b bytes.Buffer
	m.WriteStats(&b, Filter{Core: -1})
	if want := golden(t, "pmd-stats-show.golden"); b.String() != want {
		t.Errorf("pmd-stats-show:\n%s\nwant:\n%s", b.String(), want)
	}
	// -pmd 1 (the capture was taken a little later: only the idle cycles
	// moved).
	m.threads[0].stats[idleCycles].Store(16143703030)
	b.Reset()
	f, _ := ParseArgs([]string{"-pmd", "1"}, false)
	m.WriteStats(&b, f)
	if want := golden(t, "pmd-stats-show-pmd1.golden"); b.String() != want {
		t.Errorf("pmd-stats-show -pmd 1:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestRxqShowGolden(t *testing.T) {
	m := captureManager(t)
	var b bytes.Buffer
	m.WriteRxqs(&b, Filter{Core: -1})
	if want := golden(t, "pmd-rxq-show.golden"); b.String() != want {
		t.Errorf("pmd-rxq-show:\n%s\nwant:\n%s", b.String(), want)
	}
	// With no PMD at all, OVS prints only the header (capture 10 of the
	// unixctl sessions).
	m.threads = nil
	b.Reset()
	m.WriteRxqs(&b, Filter{Core: -1})
	if b.String() != "Displaying last 60 seconds pmd usage %\n" {
		t.Errorf("no PMDs: %q", b.String())
	}
	b.Reset()
	m.WriteRxqs(&b, Filter{Core: 7})
	if b.String() != "" {
		t.Errorf("-pmd 7 with no such PMD: %q", b.String())
	}
}

func TestPerfShowGolden(t *testing.T) {
	m := captureManager(t)
	pm := m.threads[0]
	// The capture: 11.812 s, 43984030 iterations of which 459566 busy.
	pm.stats[idleIters].Store(43984030 - 459566)
	pm.stats[busyIters].Store(459566)
	pm.stats[SentBatches].Store(898762)
	pm.stats[SentPackets].Store(28760384)
	pm.stats[idleCycles].Store(28884720875 - 13133279971)
	pm.startWall = time.Now().Add(-11812 * time.Millisecond)
	var b bytes.Buffer
	m.WritePerf(&b, Filter{Core: -1})
	got := strings.Split(b.String(), "\n")
	want := strings.Split(golden(t, "pmd-perf-show.golden"), "\n")
	if len(got) != len(want) {
		t.Fatalf("pmd-perf-show has %d lines, want %d:\n%s", len(got), len(want), b.String())
	}
	for i := range want {
		w, g := want[i], got[i]
		switch {
		case strings.HasPrefix(w, "Time: "), strings.HasPrefix(w, "Measurement duration"):
			if strings.SplitN(w, ":", 2)[0] != strings.SplitN(g, ":", 2)[0] {
				t.Errorf("line %d: %q, want like %q", i, g, w)
			}
		case strings.Contains(w, "Kpps") || strings.Contains(w, "us/it") || strings.Contains(w, "Used TSC"):
			// Rates depend on this machine's TSC and the wall clock:
			// compare the label and the count.
			if k := strings.Index(w, "("); !strings.HasPrefix(g, w[:k]) {
				t.Errorf("line %d: %q, want like %q", i, g, w)
			}
		default:
			if g != w {
				t.Errorf("line %d: %q, want %q", i, g, w)
			}
		}
	}
}

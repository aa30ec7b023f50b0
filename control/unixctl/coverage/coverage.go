// Package coverage counts named events (reconfigurations, port changes,
// unixctl requests, ...) and renders them as ovs-appctl coverage/show does.
//
// Counters are process-wide, created once with New at package init, and
// incremented with one atomic add: cheap enough for the control plane, and
// never used per packet. Sample is called every 5 seconds by the daemon to
// feed the rates shown for the last 5 s, minute and hour.
package coverage

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Counter is one named event count.
type Counter struct {
	name  string
	total atomic.Uint64
}

// Inc counts one event.
func (c *Counter) Inc() { c.total.Add(1) }

// Add counts n events.
func (c *Counter) Add(n uint64) { c.total.Add(n) }

// Total is the count since start.
func (c *Counter) Total() uint64 { return c.total.Load() }

// Name is the counter's name.
func (c *Counter) Name() string { return c.name }

// The sample ring covers one hour at one sample per 5 s.
const (
	samplePeriodSec = 5
	ringLen         = 3600/samplePeriodSec + 1
)

var (
	mu       sync.Mutex
	counters []*Counter
	byName   = map[string]*Counter{}
	// ring[i][j] is counter j's total at sample i; head is the newest.
	ring    [][]uint64
	head    = -1
	samples int
)

// New returns the counter called name, creating it on first use.
func New(name string) *Counter {
	mu.Lock()
	defer mu.Unlock()
	if c, ok := byName[name]; ok {
		return c
	}
	c := &Counter{name: name}
	counters = append(counters, c)
	byName[name] = c
	return c
}

// Lookup returns the counter called name.
func Lookup(name string) (*Counter, bool) {
	mu.Lock()
	defer mu.Unlock()
	c, ok := byName[name]
	return c, ok
}

// Sample records every counter's total; call it every 5 seconds.
func Sample() {
	mu.Lock()
	defer mu.Unlock()
	if ring == nil {
		ring = make([][]uint64, ringLen)
	}
	head = (head + 1) % ringLen
	row := ring[head][:0]
	for _, c := range counters {
		row = append(row, c.Total())
	}
	ring[head] = row
	if samples < ringLen {
		samples++
	}
}

// rate is counter j's events per second over the last n sample periods
// (fewer when the process is younger).
func rate(j int, now uint64, n int) float64 {
	if samples == 0 {
		return 0
	}
	if n > samples-1 {
		n = samples - 1
	}
	if n == 0 {
		return 0
	}
	old := ring[(head-n+ringLen)%ringLen]
	var then uint64
	if j < len(old) {
		then = old[j]
	}
	cur := now
	if j < len(ring[head]) {
		cur = ring[head][j]
	}
	return float64(cur-then) / float64(n*samplePeriodSec)
}

// Show renders the counters like ovs-appctl coverage/show: counters that
// were hit, with their rates and totals, then how many never were.
func Show() string {
	mu.Lock()
	defer mu.Unlock()
	idx := make([]int, len(counters))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return counters[idx[a]].name < counters[idx[b]].name })
	h := fnv.New32a()
	var lines strings.Builder
	never := 0
	for _, j := range idx {
		c := counters[j]
		t := c.Total()
		if t == 0 {
			never++
			continue
		}
		fmt.Fprintf(h, "%s:%d;", c.name, t)
		fmt.Fprintf(&lines, "%-24s %5.1f/sec %9.3f/sec %13.4f/sec   total: %d\n",
			c.name, rate(j, t, 1), rate(j, t, 60/samplePeriodSec), rate(j, t, 3600/samplePeriodSec), t)
	}
	return fmt.Sprintf("Event coverage, avg rate over last: 5 seconds, last minute, last hour,  hash=%08x:\n", h.Sum32()) +
		lines.String() + fmt.Sprintf("%d events never hit\n", never)
}

package pmd

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// threadCPUTime is utime+stime of thread tid of this process (proc(5)
// fields 14 and 15, in clock ticks of 10 ms).
func threadCPUTime(t *testing.T, tid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", tid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	u, _ := strconv.Atoi(f[11])
	k, _ := strconv.Atoi(f[12])
	return time.Duration(u+k) * 10 * time.Millisecond
}

// TestIdleBackoffCPU: with the default pmd-maxsleep an idle PMD uses a
// small fraction of its core (OVS's default busy polling uses all of it).
func TestIdleBackoffCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("measures for 2 s")
	}
	m, err := NewManager(Config{MaxSleep: DefaultMaxSleep}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.AddRxq(NewRxq(newSrcPort(t, "idle", 1), 0, (&sink{}).process)); err != nil {
		t.Fatal(err)
	}
	th := m.Threads()[0]
	waitFor(t, "PMD start", func() bool { return th.TID() != 0 })
	time.Sleep(100 * time.Millisecond)
	c0, w0 := threadCPUTime(t, th.TID()), time.Now()
	time.Sleep(2 * time.Second)
	used := float64(threadCPUTime(t, th.TID())-c0) / float64(time.Since(w0))
	t.Logf("idle PMD with pmd-maxsleep %v: %.1f %% of a CPU", DefaultMaxSleep, 100*used)
	if used > 0.25 {
		t.Errorf("idle PMD uses %.0f %% of a CPU", 100*used)
	}
}

package server

import (
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// BenchmarkOvsVsctlAddDelPort measures add-port/del-port transactions per
// second through the real ovs-vsctl (--no-wait), against our server and
// against a real ovsdb-server in the same run, interleaved in rounds
// (TESTING.md: only ratios measured in one run mean anything). It reports
// both rates and their ratio (gvswitch / ovsdb-server; above 1 = faster).
// Our server syncs every commit to disk before replying (ovsdb-server
// does not, unless asked); a third server, ours without a journal, shows
// what that costs on this machine ("memory" figures).
//
//	go test -run '^$' -bench OvsVsctlAddDelPort -benchtime 1x ./control/ovsdb/server
func BenchmarkOvsVsctlAddDelPort(b *testing.B) {
	// Our server runs in its own process, as ovsdb-server does, so that
	// neither shares a process with the benchmark's fork/exec of ovs-vsctl.
	dir := b.TempDir()
	ours := filepath.Join(dir, "db.sock")
	child := startChildServer(b, filepath.Join(dir, "conf.db"), ours)
	b.Cleanup(func() { child.Process.Kill(); child.Wait() })
	mem := filepath.Join(dir, "mem.sock")
	memChild := startChildServer(b, "", mem, "GVS_CRASH_MEMORY=1")
	b.Cleanup(func() { memChild.Process.Kill(); memChild.Wait() })
	theirs := startRealOvsdbServer(b)
	for _, sock := range []string{ours, theirs, mem} {
		for _, args := range [][]string{{"--no-wait", "init"}, {"--no-wait", "add-br", "ovsbr0"}} {
			if out, err := vsctl(b, sock, args...); err != nil {
				b.Fatalf("%v: %v %s", args, err, out)
			}
		}
	}
	const rounds, perRound = 9, 10
	round := func(sock string) float64 {
		start := time.Now()
		for i := 0; i < perRound; i++ {
			port := fmt.Sprintf("p%d", i)
			if out, err := vsctl(b, sock, "--no-wait", "add-port", "ovsbr0", port, "tag=300"); err != nil {
				b.Fatalf("add-port: %v %s", err, out)
			}
			if out, err := vsctl(b, sock, "--no-wait", "del-port", "ovsbr0", port); err != nil {
				b.Fatalf("del-port: %v %s", err, out)
			}
		}
		return float64(2*perRound) / time.Since(start).Seconds()
	}
	var a, r, m []float64
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for i := 0; i < rounds; i++ {
			a = append(a, round(ours))
			r = append(r, round(theirs))
			m = append(m, round(mem))
		}
	}
	b.StopTimer()
	median := func(xs []float64) float64 {
		sort.Float64s(xs)
		return xs[len(xs)/2]
	}
	ma, mr, mm := median(a), median(r), median(m)
	b.ReportMetric(ma, "gvswitch-txn/s")
	b.ReportMetric(mr, "ovsdb-server-txn/s")
	b.ReportMetric(ma/mr, "ratio")
	b.ReportMetric(mm, "gvswitch-memory-txn/s")
	b.ReportMetric(mm/mr, "memory-ratio")
}

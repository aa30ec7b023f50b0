package bench_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"gvswitch/bench"
	"gvswitch/bench/testpmd"
	"gvswitch/internal/testenv"
)

// startVhostLoopback starts dpdk-testpmd with DPDK's vhost PMD (the
// back-end, listening at the returned socket) forwarding everything it
// receives back out of the same port (io forwarding, loop topology).
func startVhostLoopback(t *testing.T, mode string) (*testpmd.Process, string) {
	testenv.NeedRoot(t)
	testenv.NeedCommand(t, testpmd.Binary(), "stdbuf")
	// DPDK's device arguments cannot hold ',' or '=' (t.TempDir may).
	dir, err := os.MkdirTemp("", "gvs-pktgen-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "vhost0.sock")
	// The vhost back-end's own memory is private: no hugepages needed.
	eal := []string{"--lcores", "0@0,1@0", "--main-lcore", "0", "--no-pci", "--no-huge", "-m", "512",
		"--no-shconf",
		"--vdev", "net_vhost0,iface=" + sock + ",queues=1"}
	app := []string{"--forward-mode=" + mode, "--port-topology=loop", "--nb-cores=1", "--burst=32", "--rxd=1024", "--txd=1024", "--total-num-mbufs=16384"}
	p, err := testpmd.Start(dir, eal, app)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if _, err := p.WaitFor(0, "testpmd> ", 60*time.Second); err != nil {
		t.Fatal(err)
	}
	return p, sock
}

// TestTestpmdCountsMatch: gvs-pktgen's counts through testpmd's vhost PMD
// in io-forward loopback equal testpmd's own port statistics (±0.1 %).
func TestTestpmdCountsMatch(t *testing.T) {
	tp, sock := startVhostLoopback(t, "io")
	gp, err := bench.OpenPort("vhost-client:"+sock, bench.PortOptions{RingSize: 1024, ConnectTimeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("%v\n%s", err, tp.Output())
	}
	defer gp.Close()
	if _, err := tp.WaitFor(0, "is now ready", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := tp.Say("start"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	s := bench.DefaultStream()
	s.SrcIPs = 100
	res, err := bench.Run(context.Background(), bench.Config{Ports: []bench.Port{gp}, Streams: []bench.Stream{s},
		Duration: 2 * time.Second, Pin: runtime.NumCPU() > 1, CPU: 1, Drain: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	st, err := tp.StopStats(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tot := res.Total
	t.Logf("gvs-pktgen: tx %d (%s) rx %d (%s) lost %d reordered %d latency p50 %d ns p99 %d ns",
		tot.TxPackets, bench.FormatRate(tot.TxPPS), tot.RxPackets, bench.FormatRate(tot.RxPPS), tot.Lost, tot.Reordered, tot.Latency.P50Ns, tot.Latency.P99Ns)
	t.Logf("testpmd: RX-packets %d RX-dropped %d TX-packets %d TX-dropped %d", st.RxPackets, st.RxDropped, st.TxPackets, st.TxDropped)
	if tot.TxPackets < 10000 {
		t.Fatalf("sent only %d frames", tot.TxPackets)
	}
	near := func(a, b uint64) bool { return math.Abs(float64(a)-float64(b)) <= 0.001*float64(max(a, b)) }
	if !near(tot.TxPackets, st.RxPackets) {
		t.Errorf("gvs-pktgen sent %d, testpmd received %d", tot.TxPackets, st.RxPackets)
	}
	if !near(tot.RxPackets, st.TxPackets) {
		t.Errorf("gvs-pktgen received %d, testpmd sent %d", tot.RxPackets, st.TxPackets)
	}
	if res.Foreign != 0 {
		t.Errorf("%d foreign frames", res.Foreign)
	}
}

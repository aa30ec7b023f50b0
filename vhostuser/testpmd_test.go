package vhostuser_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gvswitch/bench/testpmd"
	"gvswitch/internal/testenv"
	"gvswitch/vhostuser"
)

// TestTestpmdForwarding: dpdk-testpmd with two net_virtio_user ports in
// server mode is the front-end of two dpdkvhostuserclient ports joined by
// a forwarder; io forwarding with tx_first loops frames through them, with
// one and with two queue pairs.
func TestTestpmdForwarding(t *testing.T) {
	testenv.Short(t)
	testenv.NeedRoot(t)
	testenv.NeedCommand(t, "dpdk-testpmd", "stdbuf")
	for _, queues := range []int{1, 2} {
		t.Run(fmt.Sprintf("queues=%d", queues), func(t *testing.T) { testpmdForward(t, queues) })
	}
}

func testpmdForward(t *testing.T, queues int) {
	dir, huge := testenv.DPDKDirs(t, "gvs-vhtest", 256)
	pool := newPool(t)
	var logs logBuf
	socks := [2]string{filepath.Join(dir, "vhu0.sock"), filepath.Join(dir, "vhu1.sock")}
	var ports [2]*vhostuser.Port
	for i := range ports {
		p, err := vhostuser.NewClient(fmt.Sprintf("vhu%d", i), socks[i], vhostuser.Options{Pool: pool, Logger: logs.logger()})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		ports[i] = p
	}
	eal := []string{"--lcores", "0@0,1@0", "--main-lcore", "0", "--no-pci",
		"--file-prefix", fmt.Sprintf("gvs-vhtest-%d-%d", os.Getpid(), queues), "--in-memory", "--single-file-segments", "-m", "256", "--huge-dir", huge}
	for i, s := range socks {
		eal = append(eal, "--vdev", fmt.Sprintf("net_virtio_user%d,path=%s,server=1,queues=%d,queue_size=256,mac=02:00:00:00:00:%02x", i, s, queues, i+1))
	}
	pmd, err := testpmd.Start(dir, eal, []string{"--forward-mode=io", "--nb-cores=1", fmt.Sprintf("--rxq=%d", queues), fmt.Sprintf("--txq=%d", queues),
		"--burst=32", "--rxd=256", "--txd=256", "--eth-peer=0,02:00:00:00:00:02", "--eth-peer=1,02:00:00:00:00:01"})
	if err != nil {
		t.Fatal(err)
	}
	defer pmd.Close()
	say := func(line string) {
		if err := pmd.Say(line); err != nil {
			t.Fatalf("%v\n%s", err, pmd.Output())
		}
	}
	// testpmd opens its second socket only after the first is connected:
	// the ports keep retrying.
	waitFor(t, "both ports up", 60*time.Second, func() bool {
		select {
		case <-pmd.Exited():
			t.Fatalf("testpmd exited:\n%s", pmd.Output())
		default:
		}
		return ports[0].Link() && ports[1].Link() && strings.Contains(pmd.Output(), "testpmd> ")
	})
	if got := ports[0].NumRxQueues(); got != queues {
		t.Fatalf("vhu0 has %d queue pairs, testpmd asked for %d\n%s", got, queues, logs.String())
	}
	// testpmd polls on CPU 0, the switch on CPU 1 (TESTING.md).
	stop := forwardOn(1, ports[0], ports[1])
	defer stop() // a failure below must not leave it polling into the closed arena
	say("start tx_first")
	time.Sleep(3 * time.Second)
	total, err := pmd.StopStats(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	// Per-queue counters are only reported while the guest is there.
	var q1 [2][2]uint64
	for i, p := range ports {
		x := p.ExtraStats()
		q1[i] = [2]uint64{x["rx_q1_good_packets"], x["tx_q1_good_packets"]}
	}
	pmd.Close()
	rx, tx := total.RxPackets, total.TxPackets
	st0, st1 := ports[0].Stats(), ports[1].Stats()
	t.Logf("testpmd: %d rx, %d tx in ~3 s; vhu0 rx %d tx %d, vhu1 rx %d tx %d",
		rx, tx, st0.RxPackets, st0.TxPackets, st1.RxPackets, st1.TxPackets)
	if rx < 10000 {
		t.Fatalf("testpmd received only %d packets through the switch\n%s", rx, pmd.Output())
	}
	if queues > 1 {
		for i := range ports {
			if q1[i][0] == 0 || q1[i][1] == 0 {
				t.Errorf("vhu%d: no traffic on queue pair 1: rx %d tx %d", i, q1[i][0], q1[i][1])
			}
		}
	}
	// What testpmd received came through our ports' transmit side.
	if sent := st0.TxPackets + st1.TxPackets; sent < rx {
		t.Errorf("ports transmitted %d, testpmd received %d", sent, rx)
	}
}

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gvswitch/bench/testpmd"
	"gvswitch/internal/testenv"
)

// dpdk-testpmd as the front-end of two dpdkvhostuserclient ports on a
// VLAN 300 access bridge of gvswitchd (issue 4's acceptance): io
// forwarding with tx_first loops frames through the switch, with one
// queue pair and with two. testpmd polls on CPU 0, gvswitchd's PMD on
// CPU 1 (pmd-cpu-mask=0x2), as TESTING.md recommends.
func TestVhostUserTestpmd(t *testing.T) {
	testenv.Short(t)
	testenv.NeedRoot(t)
	testenv.NeedCommand(t, "dpdk-testpmd", "stdbuf")
	for _, q := range []int{1, 2} {
		t.Run(fmt.Sprintf("queues=%d", q), func(t *testing.T) { vhostTestpmd(t, q) })
	}
}

func vhostTestpmd(t *testing.T, queues int) {
	dir, huge := testenv.DPDKDirs(t, "gvs-e2e-pmd", 256)

	ns := NewNetns(t, "vhpmd")
	d := StartDaemon(t, DaemonOptions{Netns: ns})
	mustVsctl(t, d, "set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x2")
	mustVsctl(t, d, "add-br", "br0", "--", "set", "Bridge", "br0", "datapath_type=netdev")
	socks := [2]string{filepath.Join(dir, "vhu0.sock"), filepath.Join(dir, "vhu1.sock")}
	for i, s := range socks {
		name := fmt.Sprintf("vhu%d", i)
		mustVsctl(t, d, "add-port", "br0", name, "tag=300", "--", "set", "Interface", name,
			"type=dpdkvhostuserclient", "options:vhost-server-path="+s)
	}

	eal := []string{"--lcores", "0@0,1@0", "--main-lcore", "0", "--no-pci",
		"--file-prefix", fmt.Sprintf("gvs-e2e-%d-%d", os.Getpid(), queues), "--in-memory", "--single-file-segments",
		"-m", "256", "--huge-dir", huge}
	for i, s := range socks {
		eal = append(eal, "--vdev", fmt.Sprintf("net_virtio_user%d,path=%s,server=1,queues=%d,queue_size=256,mac=02:00:00:00:03:%02x", i, s, queues, i+1))
	}
	pmd, err := testpmd.Start(dir, eal, []string{"--forward-mode=io", "--nb-cores=1", fmt.Sprintf("--rxq=%d", queues), fmt.Sprintf("--txq=%d", queues),
		"--burst=32", "--rxd=256", "--txd=256", "--eth-peer=0,02:00:00:00:03:02", "--eth-peer=1,02:00:00:00:03:01"})
	if err != nil {
		t.Fatal(err)
	}
	defer pmd.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		up := mustVsctl(t, d, "get", "Interface", "vhu0", "link_state") == "up\n" &&
			mustVsctl(t, d, "get", "Interface", "vhu1", "link_state") == "up\n"
		if up && strings.Contains(pmd.Output(), "testpmd> ") {
			break
		}
		select {
		case <-pmd.Exited():
			t.Fatalf("testpmd exited:\n%s\ngvswitchd log:\n%s", pmd.Output(), d.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("vhost ports not up in 60 s\ntestpmd:\n%s\ngvswitchd log:\n%s", pmd.Output(), d.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Learning needs one frame each way; tx_first sends a burst on every
	// stream, io forwarding keeps them circulating.
	if err := pmd.Say("start tx_first"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second)
	st, err := pmd.StopStats(30 * time.Second)
	if err != nil {
		t.Fatalf("%v\ngvswitchd log:\n%s", err, d.Log())
	}
	rx := st.RxPackets
	t.Logf("testpmd received %d frames through gvswitchd in 4 s (%.2f Mpps, both directions)", rx, float64(rx)/4e6)
	if rx < 10000 {
		t.Fatalf("testpmd received only %d frames through the switch\n%s\ngvswitchd log:\n%s", rx, pmd.Output(), d.Log())
	}
	if queues > 1 {
		rxq := d.Appctl(t, "dpif-netdev/pmd-rxq-show").Stdout
		for _, want := range []string{"port: vhu0", "queue-id:  1"} {
			if !strings.Contains(rxq, want) {
				t.Errorf("pmd-rxq-show lacks %q:\n%s", want, rxq)
			}
		}
	}
	// The Interface statistics column follows (it is refreshed every few
	// seconds).
	deadline = time.Now().Add(15 * time.Second)
	for {
		st := mustVsctl(t, d, "get", "Interface", "vhu0", "statistics")
		if i := strings.Index(st, "rx_packets="); i >= 0 && !strings.HasPrefix(st[i:], "rx_packets=0,") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("vhu0 statistics never counted the traffic: %s", st)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

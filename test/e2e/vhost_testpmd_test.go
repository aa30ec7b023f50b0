package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var testpmdTotals = regexp.MustCompile(`RX-packets: +(\d+) +RX-dropped: +(\d+) +RX-total: +(\d+)\s+TX-packets: +(\d+)`)

func vhostTestpmd(t *testing.T, queues int) {
	testenv.ReserveHugepages(t, 256)
	// DPDK device arguments cannot hold a path with '=' or ','.
	dir, err := os.MkdirTemp("", "gvs-e2e-pmd")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	huge := filepath.Join(dir, "huge")
	os.Mkdir(huge, 0o700)
	if err := unix.Mount("hugetlbfs", huge, "hugetlbfs", 0, "pagesize=2M"); err != nil {
		testenv.Skip(t, "mount hugetlbfs: %v", err)
	}
	defer unix.Unmount(huge, unix.MNT_DETACH)

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

	args := []string{"-oL", "-eL", "dpdk-testpmd", "--lcores", "0@0,1@0", "--main-lcore", "0", "--no-pci",
		"--file-prefix", fmt.Sprintf("gvs-e2e-%d-%d", os.Getpid(), queues), "--in-memory", "--single-file-segments",
		"-m", "256", "--huge-dir", huge}
	for i, s := range socks {
		args = append(args, "--vdev", fmt.Sprintf("net_virtio_user%d,path=%s,server=1,queues=%d,queue_size=256,mac=02:00:00:00:03:%02x", i, s, queues, i+1))
	}
	args = append(args, "--", "-i", "--forward-mode=io", "--nb-cores=1", fmt.Sprintf("--rxq=%d", queues), fmt.Sprintf("--txq=%d", queues),
		"--burst=32", "--rxd=256", "--txd=256", "--eth-peer=0,02:00:00:00:03:02", "--eth-peer=1,02:00:00:00:03:01")
	cmd := exec.Command("stdbuf", args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out lockedBuf
	cmd.Stdout, cmd.Stderr = &out, &out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill() // by its PID
			<-exited
		}
	}()
	say := func(line string) { io.WriteString(stdin, line+"\n") }
	deadline := time.Now().Add(60 * time.Second)
	for {
		up := mustVsctl(t, d, "get", "Interface", "vhu0", "link_state") == "up\n" &&
			mustVsctl(t, d, "get", "Interface", "vhu1", "link_state") == "up\n"
		if up && strings.Contains(out.String(), "testpmd> ") {
			break
		}
		select {
		case <-exited:
			t.Fatalf("testpmd exited:\n%s\ngvswitchd log:\n%s", out.String(), d.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("vhost ports not up in 60 s\ntestpmd:\n%s\ngvswitchd log:\n%s", out.String(), d.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Learning needs one frame each way; tx_first sends a burst on every
	// stream, io forwarding keeps them circulating.
	say("start tx_first")
	time.Sleep(4 * time.Second)
	say("stop")
	for !strings.Contains(out.String(), "Accumulated forward statistics") {
		select {
		case <-exited:
			t.Fatalf("testpmd exited:\n%s", out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatalf("no statistics from testpmd:\n%s", out.String())
		}
	}
	time.Sleep(200 * time.Millisecond)
	m := testpmdTotals.FindAllStringSubmatch(out.String(), -1)
	if len(m) == 0 {
		t.Fatalf("no totals in testpmd's output:\n%s", out.String())
	}
	rx, _ := strconv.ParseUint(m[len(m)-1][1], 10, 64)
	t.Logf("testpmd received %d frames through gvswitchd in 4 s (%.2f Mpps, both directions)", rx, float64(rx)/4e6)
	if rx < 10000 {
		t.Fatalf("testpmd received only %d frames through the switch\n%s\ngvswitchd log:\n%s", rx, out.String(), d.Log())
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
	say("quit")
}

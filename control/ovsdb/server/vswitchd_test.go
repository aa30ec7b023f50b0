package server

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gvswitch/internal/testenv"
)

// TestRealOvsVswitchdAsClient runs the real ovs-vswitchd (userspace
// datapath, in its own network namespace) against our server: it takes
// its lock, monitors with monitor_cond_since, writes cur_cfg/ofport with
// "assert" on its lock, so that the real ovs-vsctl without --no-wait
// returns. This is the session in reference/ovsdb/vswitchd-as-client.
func TestRealOvsVswitchdAsClient(t *testing.T) {
	testenv.NeedRoot(t)
	paths := testenv.NeedCommand(t, "ovs-vswitchd", "ovs-appctl", "ip")
	sock, db := startSocketServer(t)
	dir := filepath.Dir(sock)
	ns := fmt.Sprintf("gvsdb%d", os.Getpid())
	if out, err := exec.Command(paths[2], "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command(paths[2], "netns", "del", ns).Run() })
	if out, err := vsctl(t, sock, "--no-wait", "init"); err != nil {
		t.Fatalf("init: %v %s", err, out)
	}
	ctl := filepath.Join(dir, "ovs-vswitchd.ctl")
	cmd := exec.Command(paths[2], "netns", "exec", ns, paths[0], "unix:"+sock, "--no-chdir",
		"--pidfile="+filepath.Join(dir, "ovs-vswitchd.pid"), "--unixctl="+ctl,
		"--log-file="+filepath.Join(dir, "ovs-vswitchd.log"))
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+dir, "OVS_LOGDIR="+dir, "OVS_DBDIR="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command(paths[1], "-t", ctl, "exit", "--cleanup").Run()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "ovs-vswitchd.log"))
			t.Logf("ovs-vswitchd.log:\n%s", log)
		}
	})
	for _, args := range [][]string{
		{"add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev"},
		{"add-port", "br0", "p0", "--", "set", "interface", "p0", "type=internal"},
		{"set", "port", "p0", "tag=300"},
		{"del-port", "br0", "p0"},
	} {
		start := time.Now()
		out, err := vsctl(t, sock, append([]string{"--timeout=20"}, args...)...)
		if err != nil || out != "" {
			t.Fatalf("ovs-vsctl %s (waiting for ovs-vswitchd): %v %q", strings.Join(args, " "), err, out)
		}
		t.Logf("ovs-vsctl %s: %v", strings.Join(args, " "), time.Since(start))
	}
	out, err := vsctl(t, sock, "get", "Interface", "br0", "ofport")
	if err != nil || strings.TrimSpace(out) != "65534" {
		t.Errorf("br0 ofport = %q %v (written by ovs-vswitchd)", out, err)
	}
	out, _ = vsctl(t, sock, "get", "Open_vSwitch", ".", "cur_cfg")
	if strings.TrimSpace(out) != "4" {
		t.Errorf("cur_cfg = %q", out)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gvswitch/control/vsctl/vsctltest"
	"gvswitch/internal/testenv"
)

func TestParseRemoteArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string // nil: refused
	}{
		{[]string{"--remote=ptcp:6640"}, []string{"ptcp:6640"}},
		{[]string{"--remote=punix:/tmp/x.sock", "--remote=db:Open_vSwitch,Open_vSwitch,manager_options"},
			[]string{"punix:/tmp/x.sock", "db:Open_vSwitch,Open_vSwitch,manager_options"}},
		{[]string{"--remote", "ptcp:6640:127.0.0.1", "--remote=tcp:127.0.0.1:6641"}, []string{"ptcp:6640:127.0.0.1", "tcp:127.0.0.1:6641"}},
		{[]string{}, []string{}},
		{[]string{"--remote=ptcp:abc"}, nil},
		{[]string{"--remote=pssl:6640"}, nil},
		{[]string{"--remote=db:Open_vSwitch,Open_vSwitch,nosuch"}, nil},
		{[]string{"--remote=db:Open_vSwitch,Bridge"}, nil},
		{[]string{"--remote=6640"}, nil},
		{[]string{"--remote=ptcp:6640", "--db=unix:/var/run/openvswitch/db.sock"}, nil},
	} {
		c, err := parseArgs(tc.args)
		switch {
		case tc.want == nil && err == nil:
			t.Errorf("parseArgs(%q) accepted: %q", tc.args, c.remotes)
		case tc.want != nil && err != nil:
			t.Errorf("parseArgs(%q): %v", tc.args, err)
		case tc.want != nil && strings.Join(c.remotes, " ") != strings.Join(tc.want, " "):
			t.Errorf("parseArgs(%q) remotes %q, want %q", tc.args, c.remotes, tc.want)
		}
	}
}

// vsctlAt runs the real ovs-vsctl against db (unix:PATH or tcp:IP:PORT)
// with dir as the Open vSwitch run directory.
func vsctlAt(t *testing.T, dir, db string, args ...string) (string, error) {
	t.Helper()
	bin := testenv.NeedCommand(t, "ovs-vsctl")[0]
	cmd := exec.Command(bin, append([]string{"--db=" + db, "--timeout=10"}, args...)...)
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+dir, "OVS_LOGDIR="+dir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// startOurDB starts gvswitchd's embedded database (default remotes) in a
// private directory and returns that directory.
func startOurDB(t *testing.T) string {
	dir := t.TempDir()
	e, err := startEmbeddedDB(&config{rundir: dir, dbdir: dir, logdir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return dir
}

// startRealOvsdbServer starts a private ovsdb-server the way ovs-ctl
// does (its socket plus the Manager table's remotes) and returns its run
// directory.
func startRealOvsdbServer(t *testing.T) string {
	return vsctltest.StartOVSDB(t, "--remote=db:Open_vSwitch,Open_vSwitch,manager_options").Dir
}

var (
	boundPortRE = regexp.MustCompile(`bound_port="[0-9]+"`)
	secondsRE   = regexp.MustCompile(`(sec_since_[a-z]+)="[0-9]+"`)
	lastErrorRE = regexp.MustCompile(`last_error="[^"]*"(, )?|, last_error="[^"]*"`)
)

// managerStatus waits until ovsdb-server's status refresh (2.5 s) has
// run and returns "is_connected status" for target, the bound port
// number written as N, without last_error (which we add for failures
// ovsdb-server only logs).
func managerStatus(t *testing.T, dir, target string) string {
	t.Helper()
	db := "unix:" + filepath.Join(dir, "db.sock")
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err1 := vsctlAt(t, dir, db, "get", "Manager", target, "status")
		c, err2 := vsctlAt(t, dir, db, "get", "Manager", target, "is_connected")
		if err1 != nil || err2 != nil {
			t.Fatalf("get Manager %s: %v %v\n%s%s", target, err1, err2, st, c)
		}
		st = lastErrorRE.ReplaceAllString(strings.TrimSpace(st), "")
		st = boundPortRE.ReplaceAllString(st, `bound_port="N"`)
		if !strings.Contains(st, "LISTEN") && strings.Contains(st, "state=") {
			st = secondsRE.ReplaceAllString(st, `$1="N"`)
		}
		if st != "{}" || time.Now().After(deadline) {
			return strings.TrimSpace(c) + " " + st
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestSetManagerLikeOvsdbServer runs the same set-manager against a real
// ovsdb-server and against gvswitchd's database, and compares what
// ovs-vsctl then shows in the Manager rows.
func TestSetManagerLikeOvsdbServer(t *testing.T) {
	testenv.NeedCommand(t, "ovs-vsctl", "ovsdb-server", "ovsdb-tool")
	real, ours := startRealOvsdbServer(t), startOurDB(t)
	refused := fmt.Sprintf("tcp:127.0.0.1:%d", unusedPort(t))
	// A manager both servers connect to; it holds the connections.
	mgr, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mgr.Close()
	go func() {
		for {
			c, err := mgr.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	targets := []string{"ptcp:0:127.0.0.1", "punix:mgr.sock", refused, "tcp:" + mgr.Addr().String()}
	for _, dir := range []string{real, ours} {
		db := "unix:" + filepath.Join(dir, "db.sock")
		if out, err := vsctlAt(t, dir, db, "--no-wait", "init"); err != nil {
			t.Fatalf("init: %v %s", err, out)
		}
		if out, err := vsctlAt(t, dir, db, append([]string{"--no-wait", "set-manager"}, targets...)...); err != nil {
			t.Fatalf("set-manager: %v %s", err, out)
		}
	}
	for _, target := range targets {
		want, got := managerStatus(t, real, target), managerStatus(t, ours, target)
		if got != want {
			t.Errorf("%s: Manager is_connected/status\n got %s\nwant %s (ovsdb-server)", target, got, want)
		} else {
			t.Logf("%s: %s", target, got)
		}
	}
}

func unusedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestOvsVsctlOverManagerRemote: after set-manager, the real ovs-vsctl
// reaches gvswitchd's database over the new remote; after del-manager it
// no longer can, and the daemon's own socket still works throughout.
func TestOvsVsctlOverManagerRemote(t *testing.T) {
	testenv.NeedCommand(t, "ovs-vsctl")
	dir := startOurDB(t)
	local := "unix:" + filepath.Join(dir, "db.sock")
	if out, err := vsctlAt(t, dir, local, "--no-wait", "init"); err != nil {
		t.Fatalf("init: %v %s", err, out)
	}
	for _, tc := range []struct {
		target string
		db     func(status string) string // the --db that reaches the remote
	}{
		{"ptcp:0:127.0.0.1", func(st string) string {
			m := regexp.MustCompile(`bound_port="([0-9]+)"`).FindStringSubmatch(st)
			if m == nil {
				return ""
			}
			return "tcp:127.0.0.1:" + m[1]
		}},
		{"punix:mgr.sock", func(string) string { return "unix:" + filepath.Join(dir, "mgr.sock") }},
		// Hostile targets: errors in the status, the daemon keeps serving.
		{"ssl:127.0.0.1:6640", nil},
		{"ptcp:notaport", nil},
	} {
		t.Run(tc.target, func(t *testing.T) {
			if out, err := vsctlAt(t, dir, local, "--no-wait", "set-manager", tc.target); err != nil {
				t.Fatalf("set-manager: %v %s", err, out)
			}
			var st string
			deadline := time.Now().Add(10 * time.Second)
			for {
				out, err := vsctlAt(t, dir, local, "get", "Manager", tc.target, "status")
				if err != nil {
					t.Fatalf("get status: %v %s", err, out)
				}
				if st = strings.TrimSpace(out); st != "{}" || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if tc.db == nil {
				if !strings.Contains(st, "last_error=") {
					t.Errorf("status %s has no last_error", st)
				}
			} else {
				remote := tc.db(st)
				out, err := vsctlAt(t, dir, remote, "show")
				if err != nil || !strings.Contains(out, fmt.Sprintf("Manager %q", tc.target)) {
					t.Fatalf("ovs-vsctl --db=%s show: %v\n%s", remote, err, out)
				}
				if out, err := vsctlAt(t, dir, local, "--no-wait", "del-manager"); err != nil {
					t.Fatalf("del-manager: %v %s", err, out)
				}
				network, addr, _ := strings.Cut(remote, ":")
				deadline := time.Now().Add(5 * time.Second)
				for {
					c, err := net.Dial(network, addr)
					if err != nil {
						break
					}
					c.Close()
					if time.Now().After(deadline) {
						t.Fatalf("%s still accepts connections after del-manager", remote)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			if out, err := vsctlAt(t, dir, local, "show"); err != nil {
				t.Fatalf("the daemon's own socket after %s: %v %s", tc.target, err, out)
			}
		})
	}
}

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gvswitch/internal/testenv"
)

// The default mode: gvswitchd serves its own database; the real tools
// talk to it through <rundir>/db.sock and <rundir>/gvswitchd.<pid>.ctl.
func TestEmbeddedWithRealTools(t *testing.T) {
	ns := NewNetns(t, "emb")
	d := StartDaemon(t, DaemonOptions{Netns: ns, ExtraArgs: []string{"--system-id=random"}})
	for _, p := range []string{d.DB, d.Ctl()} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o750 {
			t.Errorf("%s: %v mode %v, want 0750", p, err, fi.Mode().Perm())
		}
	}
	r := d.Appctl(t, "version")
	if r.Code != 0 || r.Stdout != "gvswitchd (Open vSwitch) 3.1.0\ngvswitch 0.1.0\n" {
		t.Errorf("version: %v", r)
	}
	r = d.Appctl(t, "list-commands")
	for _, want := range []string{"The available commands are:\n", "  bond/show               [port]\n", "  fdb/show                bridge\n",
		"  dpif-netdev/pmd-stats-show [-pmd core] [dp]\n", "  exit                    [--cleanup]\n", "  vlog/set                {spec | PATTERN:destination:pattern}\n"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("list-commands lacks %q", want)
		}
	}
	if r := d.Appctl(t, "bond/show", "nosuch"); r.Code != 2 || !strings.HasPrefix(r.Stderr, "no such bond\n") {
		t.Errorf("bond/show nosuch: %v", r)
	}
	if r := d.Appctl(t, "fdb/show"); r.Code != 2 || !strings.HasPrefix(r.Stderr, "\"fdb/show\" command requires at least 1 arguments\n") {
		t.Errorf("fdb/show without bridge: %v", r)
	}
	// SCENARIOS.md sections 2 and 4, the real ovs-vsctl, with and without
	// --no-wait.
	for _, args := range [][]string{
		{"--no-wait", "set", "Open_vSwitch", ".", "other_config:dpdk-init=true"},
		{"--no-wait", "set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x1"},
		{"add-br", "ovsbr0"},
		{"add-br", "vlan302", "ovsbr0", "302"},
		{"set", "Bridge", "ovsbr0", "other_config:mac-aging-time=60"},
		{"--may-exist", "add-br", "ovsbr0"},
	} {
		mustVsctl(t, d, args...)
	}
	if got := mustVsctl(t, d, "get", "Open_vSwitch", ".", "dpdk_initialized", "external_ids:system-id"); !strings.HasPrefix(got, "true\n\"") {
		t.Errorf("dpdk_initialized/system-id: %q", got)
	}
	if got := mustVsctl(t, d, "br-to-vlan", "vlan302"); got != "302\n" {
		t.Errorf("br-to-vlan: %q", got)
	}
	if got := d.Appctl(t, "ofproto/list").Stdout; got != "ovsbr0\n" {
		t.Errorf("ofproto/list: %q (a fake bridge is not a bridge of the datapath)", got)
	}
	// exit: reply, then gone with its files.
	if r := d.Appctl(t, "exit"); r.Code != 0 {
		t.Errorf("exit: %v", r)
	}
	if !d.Wait(5 * time.Second) {
		t.Fatal("still running 5 s after exit")
	}
	left, _ := filepath.Glob(filepath.Join(d.Rundir, "*"))
	if len(left) != 0 {
		t.Errorf("left in rundir after exit: %v", left)
	}
}

// kill -9 during a stream of 1,000 ovs-vsctl and gvswitchctl
// transactions: after a restart every acknowledged transaction is there,
// and the database passes its consistency check (gvswitchd refuses to
// start on one that does not).
func TestKill9KeepsAcknowledgedTransactions(t *testing.T) {
	testenv.Short(t)
	ns := NewNetns(t, "k9")
	dir := t.TempDir()
	d := StartDaemon(t, DaemonOptions{Dir: dir, Netns: ns})
	ctl, err := BuildCommand(t.TempDir(), "gvswitchctl")
	if err != nil {
		t.Fatal(err)
	}
	// Four concurrent clients, 250 transactions each, two with the real
	// ovs-vsctl and two with gvswitchctl; the daemon is killed at a
	// random moment while they run.
	const clients, each = 4, 250
	var mu sync.Mutex
	var acked []int
	var attempted atomic.Int64
	killAfter := 200 + time.Now().UnixNano()%400
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < each; k++ {
				i := c*each + k
				if attempted.Add(1) == killAfter {
					go d.Kill()
				}
				args := []string{"--no-wait", "--timeout=2", "set", "Open_vSwitch", ".", fmt.Sprintf("external_ids:k%d=v%d", i, i)}
				var r Result
				if c%2 == 0 {
					r = d.Vsctl(t, args...)
				} else {
					r = Run(t, nil, ctl, append([]string{"--db=unix:" + d.DB}, args...)...)
				}
				if r.Code == 0 {
					mu.Lock()
					acked = append(acked, i)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(acked) < int(killAfter)-clients || len(acked) >= clients*each {
		t.Fatalf("%d of %d transactions acknowledged; kill after %d", len(acked), clients*each, killAfter)
	}
	killAt := killAfter
	d2 := StartDaemon(t, DaemonOptions{Dir: dir, Netns: ns})
	got := mustVsctl(t, d2, "get", "Open_vSwitch", ".", "external_ids")
	missing := 0
	for _, i := range acked {
		if !strings.Contains(got, fmt.Sprintf("k%d=v%d,", i, i)) && !strings.Contains(got, fmt.Sprintf("k%d=v%d}", i, i)) {
			missing++
			if missing < 5 {
				t.Errorf("acknowledged transaction %d lost", i)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged transactions lost", missing, len(acked))
	}
	t.Logf("killed after %d started transactions; %d acknowledged, all present after restart", killAt, len(acked))
	// The restarted daemon keeps working.
	mustVsctl(t, d2, "add-br", "br0")
	tool := testenv.NeedCommand(t, "ovsdb-tool")[0]
	d2.Stop(t)
	if r := Run(t, nil, tool, "db-name", filepath.Join(d2.DBdir, "conf.db")); r.Code != 0 || r.Stdout != "Open_vSwitch\n" {
		t.Errorf("ovsdb-tool db-name on our file: %v", r)
	}
}

// gvs-ctl plays ovs-ctl: start (detached), status, stop.
func TestGvsCtl(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	env := []string{"GVS_RUNDIR=" + dir + "/run", "GVS_DBDIR=" + dir + "/db", "GVS_LOGDIR=" + dir + "/log", "GVSWITCHD=" + Binary()}
	ctl := filepath.Join(root, "scripts", "gvs-ctl")
	r := Run(t, env, ctl, "--system-id=random", "start")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "Starting gvswitchd (pid ") {
		t.Fatalf("start: %v", r)
	}
	t.Cleanup(func() { Run(t, env, ctl, "stop") })
	if r := Run(t, env, ctl, "status"); r.Code != 0 || !strings.HasPrefix(r.Stdout, "gvswitchd is running with pid ") {
		t.Errorf("status: %v", r)
	}
	if r := Vsctl(t, dir+"/run/db.sock", "--timeout=5", "get", "Open_vSwitch", ".", "external_ids:system-id"); r.Code != 0 || len(strings.TrimSpace(r.Stdout)) != 38 {
		t.Errorf("system-id after start: %v", r)
	}
	if r := Run(t, env, ctl, "stop"); r.Code != 0 {
		t.Errorf("stop: %v", r)
	}
	if r := Run(t, env, ctl, "status"); r.Code != 1 || r.Stdout != "gvswitchd is not running\n" {
		t.Errorf("status after stop: %v", r)
	}
}

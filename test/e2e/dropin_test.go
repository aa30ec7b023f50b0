package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gvswitch/internal/testenv"
)

// Drop-in mode: a real ovsdb-server, gvswitchd attached to it where
// ovs-vswitchd would be, the real tools unchanged.
func TestDropInWithRealOVSDBServer(t *testing.T) {
	db := StartOVSDBServer(t)
	ns := NewNetns(t, "dropin")
	d := StartDaemon(t, DaemonOptions{
		Netns:     ns,
		ExtraArgs: []string{"--db=unix:" + db.Sock, "--system-id=random"},
		Env:       []string{"OVS_RUNDIR=" + db.Dir},
	})

	// Plain ovs-appctl (no -t) finds it as ovs-vswitchd.
	appctl := testenv.NeedCommand(t, "ovs-appctl")[0]
	r := Run(t, []string{"OVS_RUNDIR=" + db.Dir}, appctl, "version")
	if r.Code != 0 || !strings.Contains(r.Stdout, "(Open vSwitch) 3.1.0\n") {
		t.Fatalf("ovs-appctl version: %v", r)
	}
	pid, err := os.ReadFile(filepath.Join(db.Dir, "ovs-vswitchd.pid"))
	if err != nil || strings.TrimSpace(string(pid)) == "" {
		t.Fatalf("ovs-vswitchd.pid: %q %v", pid, err)
	}

	// The real ovs-vsctl without --no-wait: each command returns within a
	// second because gvswitchd bumps cur_cfg.
	for _, args := range [][]string{
		{"add-br", "br0"},
		{"set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x2"},
		{"add-port", "br0", "vx0", "--", "set", "Interface", "vx0", "type=vxlan", "options:remote_ip=192.0.2.1"},
		{"del-port", "br0", "vx0"},
		{"del-br", "br0"},
		{"add-br", "br1"},
	} {
		r := Vsctl(t, db.Sock, append([]string{"--timeout=5"}, args...)...)
		if r.Code != 0 {
			t.Fatalf("ovs-vsctl %v: %v\nlog:\n%s", args, r, d.Log())
		}
		checkPrompt(t, d, args, r.Elapsed)
		if args[0] == "add-port" {
			if !strings.Contains(r.Stderr, `Error detected while setting up 'vx0': gvswitch does not support Interface type "vxlan".`) {
				t.Errorf("vxlan: stderr %q", r.Stderr)
			}
		} else if r.Stderr != "" {
			t.Errorf("ovs-vsctl %v: stderr %q", args, r.Stderr)
		}
	}
	if got := Vsctl(t, db.Sock, "get", "Interface", "br1", "ofport").Stdout; got != "65534\n" {
		t.Errorf("br1 ofport %q", got)
	}
	if got := Vsctl(t, db.Sock, "get", "Open_vSwitch", ".", "cur_cfg", "next_cfg").Stdout; len(strings.Fields(got)) != 2 || strings.Fields(got)[0] != strings.Fields(got)[1] {
		t.Errorf("cur_cfg/next_cfg %q", got)
	}
	// exit over unixctl: reply first, then pidfile and sockets are gone.
	r = Run(t, []string{"OVS_RUNDIR=" + db.Dir}, appctl, "exit")
	if r.Code != 0 || r.Stdout != "" {
		t.Errorf("exit: %v", r)
	}
	if !d.Wait(5 * time.Second) {
		t.Fatal("gvswitchd still running 5 s after exit")
	}
	for _, p := range []string{filepath.Join(db.Dir, "ovs-vswitchd.pid"), filepath.Join(d.Rundir, "gvswitchd.pid")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind", p)
		}
	}
	ctls, _ := filepath.Glob(filepath.Join(db.Dir, "*.ctl"))
	for _, c := range ctls {
		if strings.Contains(c, "ovs-vswitchd.") {
			t.Errorf("%s left behind", c)
		}
	}
}

// Drop-in mode survives an ovsdb-server restart: traffic keeps flowing
// while the database is away, and the switch reattaches and keeps
// answering ovs-vsctl.
func TestDropInOVSDBServerRestart(t *testing.T) {
	testenv.NeedCommand(t, "ping")
	d, sw := startSwitch(t, "dbre")
	mustVsctl(t, d, "add-br", "br0")
	var ips []string
	var hosts []string
	for i := 1; i <= 2; i++ {
		h := NewNetns(t, fmt.Sprintf("dbreh%d", i))
		Veth(t, fmt.Sprintf("q%d", i), sw, "eth0", h)
		ip := fmt.Sprintf("10.31.0.%d", i)
		Run(t, nil, "ip", "-n", h, "addr", "add", ip+"/24", "dev", "eth0")
		mustVsctl(t, d, "add-port", "br0", fmt.Sprintf("q%d", i))
		hosts, ips = append(hosts, h), append(ips, ip)
	}
	ping := func(count string) Result {
		return Run(t, nil, "ip", "netns", "exec", hosts[0], "ping", "-c", count, "-i", "0.2", "-W", "2", ips[1])
	}
	if r := ping("2"); r.Code != 0 {
		t.Fatalf("ping before: %v", r)
	}
	db := d.dropInDB
	db.stop()
	if r := ping("3"); r.Code != 0 {
		t.Errorf("ping while ovsdb-server is down: %v", r)
	}
	db.start(t)
	// The daemon reconnects (back-off up to a few seconds) and bumps
	// cur_cfg again, so a waiting ovs-vsctl returns.
	r := d.Vsctl(t, "--timeout=15", "add-port", "br0", "vx1", "--", "set", "Interface", "vx1", "type=vxlan")
	if r.Code != 0 || !strings.Contains(r.Stderr, "does not support Interface type") {
		t.Errorf("after the restart: %v\nlog:\n%s", r, d.Log())
	}
	if r := ping("2"); r.Code != 0 {
		t.Errorf("ping after: %v", r)
	}
	if !strings.Contains(d.Log(), "database connection lost") {
		t.Errorf("no reconnect in the log:\n%s", d.Log())
	}
}

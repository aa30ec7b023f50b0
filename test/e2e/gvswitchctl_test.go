package e2e

// gvswitchctl against gvswitchd (issue 2's "Same for gvswitchctl"): the
// ovs-vsctl lines of SCENARIOS.md sections 2-5 through our client and
// through the real ovs-vsctl, each against its own private gvswitchd, and
// the read-only answers against a real ovsdb-server with the same history.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gvswitch/control/vsctl/vsctltest"
	"gvswitch/internal/testenv"
)

// buildCtl builds cmd/gvswitchctl for one test (go build caches the
// compile: this is a link step).
func buildCtl(t testing.TB) string {
	t.Helper()
	bin, err := BuildCommand(t.TempDir(), "gvswitchctl")
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// withLogdir makes a client's answers independent of the log directory
// of the daemon it talks to: the post-commit interface check names it
// ("The default log directory is ..."), and each daemon has its own.
func withLogdir(c vsctltest.Client, logdir string) vsctltest.Client {
	return func(args ...string) vsctltest.Result {
		r := c(args...)
		r.Stdout = strings.ReplaceAll(r.Stdout, logdir, "LOGDIR")
		r.Stderr = strings.ReplaceAll(r.Stderr, logdir, "LOGDIR")
		return r
	}
}

// settle waits until the daemon behind c has applied the database: every
// Interface row has an ofport (a number, or -1 with an error), which a
// running switch writes for each interface it has configured. With
// --no-wait nothing else says when a change was applied, and read-only
// answers (show prints Interface errors) must not depend on timing.
func settle(t *testing.T, c vsctltest.Client) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := c("--no-wait", "--bare", "--columns=name", "find", "Interface", "ofport=[]")
		if r.Status == 0 && strings.TrimSpace(r.Stdout) == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not configure interfaces %q within 15 s (%v)", strings.Fields(r.Stdout), r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The columns only a running switch writes are masked when gvswitchd's
// database is compared with a bare ovsdb-server's: there is no
// ovs-vswitchd beside that ovsdb-server (at most FakeSwitch, which bumps
// cur_cfg and sets ofport), so they are empty there while gvswitchd fills
// them as ovs-vswitchd would. The mask is what this history shows to
// differ, nothing more:
//
//	show        ovs_version (Open_vSwitch: the switch's version) and
//	            error (Interface: why dpdk0, veth0, vnet0 cannot be opened
//	            on this host) lines are dropped.
//	list port   bond_active_slave (the MAC of the active member of the
//	            balance-slb bond2, bridge.c's port_update_bond_active_slave)
//	            keeps its name, its value becomes <switch>.
//
// Port statistics, status and rstp_* are written by a switch too, but
// both sides print {} for them here, so they are compared as they are.
var (
	showMask = regexp.MustCompile(`(?m)^ +(ovs_version|error): .*\n`)
	listMask = regexp.MustCompile(`(?m)^(bond_active_slave +: ).*$`)
)

func maskSwitchColumns(args []string, s string) string {
	cmd := ""
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			cmd = a
			break
		}
	}
	switch cmd {
	case "show":
		return showMask.ReplaceAllString(s, "")
	case "list":
		return listMask.ReplaceAllString(s, "${1}<switch>")
	}
	return s
}

// readOnly reports whether a scenario step changes nothing (its first
// word is the command, not --no-wait or --timeout).
func readOnly(st vsctltest.Step) bool {
	return !strings.HasPrefix(st.Args[0], "--")
}

// TestGvswitchctlScenariosOnGvswitchd: every ovs-vsctl line of
// SCENARIOS.md sections 2-5, with and without --no-wait, through
// gvswitchctl against one gvswitchd and through the real ovs-vsctl
// against another with the same history, prints the same (stdout, stderr,
// exit status, after UUIDs, program names and log directories are
// normalised). gvswitchctl finds its daemon from GVS_RUNDIR alone. The
// read-only answers (show, list port bond0, get Open_vSwitch .
// other_config, list-br, list-ports, br-to-vlan vlan302, ...) equal what
// the real ovs-vsctl prints against a real ovsdb-server with the same
// history, apart from the columns only a running switch writes
// (see showMask).
func TestGvswitchctlScenariosOnGvswitchd(t *testing.T) {
	testenv.NeedRoot(t)
	ovs := testenv.NeedCommand(t, "ovs-vsctl")[0]
	ctl := buildCtl(t)
	for _, noWait := range []bool{true, false} {
		name := map[bool]string{true: "no-wait", false: "wait"}[noWait]
		t.Run(name, func(t *testing.T) {
			// Own namespaces, where the scenario's veth0 and vnet0 and
			// its NICs (dpdk0, dpdk1) do not exist, as on a host without
			// them (show prints their errors). The kernel bond's members exist (veth pairs, their peers
			// idle), so that bond/show has a bond to show; with the same
			// MACs on both sides (bond2's bond_active_slave is one).
			var ds []*Daemon
			for _, suffix := range []string{"a", "b"} {
				ns := NewNetns(t, "sc"+name[:2]+suffix)
				for i, dev := range []string{"ens1f0", "ens1f1"} {
					Veth(t, dev, ns, dev+"p", ns)
					Run(t, nil, "ip", "-n", ns, "link", "set", dev, "address", fmt.Sprintf("02:00:00:00:f0:%02x", i))
				}
				ds = append(ds, StartDaemon(t, DaemonOptions{Netns: ns}))
			}
			dOVS, dGVS := ds[0], ds[1]
			ref := vsctltest.StartOVSDB(t)
			if !noWait {
				vsctltest.FakeSwitch(t, ovs, ref)
			}
			want := withLogdir(vsctltest.Exec(ovs, "unix:"+dOVS.DB, "OVS_LOGDIR="+dOVS.Logdir), dOVS.Logdir)
			got := withLogdir(vsctltest.Exec(ctl, "", "GVS_RUNDIR="+dGVS.Rundir, "GVS_LOGDIR="+dGVS.Logdir), dGVS.Logdir)
			plain := vsctltest.Exec(ovs, ref.DB())
			progs := []string{"ovs-vsctl", "gvswitchctl"}
			for i, st := range vsctltest.Scenarios(noWait) {
				if readOnly(st) {
					settle(t, want)
					settle(t, got)
				}
				w, g := want(st.Args...), got(st.Args...)
				r := plain(st.Args...)
				for _, x := range []*vsctltest.Result{&w, &g, &r} {
					x.Stdout = vsctltest.Normalize(x.Stdout, st.Sort, progs...)
					x.Stderr = vsctltest.Normalize(x.Stderr, vsctltest.NoSort, progs...)
				}
				if w != g {
					t.Errorf("step %d %q: ovs-vsctl and gvswitchctl on gvswitchd differ:\novs-vsctl   %v\ngvswitchctl %v", i, st.Args, w, g)
				}
				if !readOnly(st) {
					if g.Status != 0 {
						t.Errorf("step %d %q failed: %v\nlog:\n%s", i, st.Args, g, dGVS.Log())
					}
					continue
				}
				r.Stdout = maskSwitchColumns(st.Args, r.Stdout)
				g.Stdout = maskSwitchColumns(st.Args, g.Stdout)
				if g != r {
					t.Errorf("step %d %q: gvswitchctl on gvswitchd and ovs-vsctl on ovsdb-server differ:\novsdb-server %v\ngvswitchd    %v", i, st.Args, r, g)
				}
			}
			// The daemon's control socket, found from GVS_RUNDIR alone,
			// answers as the real ovs-appctl gets it.
			env := []string{"GVS_RUNDIR=" + dGVS.Rundir}
			// bond/show's "next rebalance: N ms" counts down between the
			// two calls.
			rebalance := regexp.MustCompile(`next rebalance: \d+ ms`)
			for _, cmd := range [][]string{{"version"}, {"bond/show"}, {"bond/show", "bond2"}, {"fdb/show", "br2"}} {
				ours := Run(t, env, ctl, append([]string{"appctl"}, cmd...)...)
				real := dGVS.Appctl(t, cmd...)
				ours.Stdout = rebalance.ReplaceAllString(ours.Stdout, "next rebalance: N ms")
				real.Stdout = rebalance.ReplaceAllString(real.Stdout, "next rebalance: N ms")
				if cmd[0] == "fdb/show" {
					// Two calls: traffic may refresh an entry (fdb/show
					// lists least recently used first) or age it a second.
					ours.Stdout, real.Stdout = fdbShowSet(ours.Stdout), fdbShowSet(real.Stdout)
				}
				if ours.Code != 0 || ours.Stdout != real.Stdout || ours.Stderr != "" {
					t.Errorf("gvswitchctl appctl %v: %v; ovs-appctl -t: %v", cmd, ours, real)
				}
			}
			v := Run(t, env, ctl, "appctl", "version")
			if !strings.HasPrefix(v.Stdout, "gvswitchd (Open vSwitch) ") {
				t.Errorf("gvswitchctl appctl version: %v", v)
			}
			bs := Run(t, env, ctl, "appctl", "bond/show").Stdout
			// bond0's members (dpdk0, dpdk1) cannot be opened here, so
			// it is not in the datapath (as with Open vSwitch, whose
			// bridge drops a port left without interfaces).
			for _, want := range []string{"---- bond2 ----\n", "bond_mode: balance-slb\n", "lacp_status: off\n", "member ens1f0: ", "member ens1f1: "} {
				if !strings.Contains(bs, want) {
					t.Errorf("gvswitchctl appctl bond/show lacks %q:\n%s", want, bs)
				}
			}
			if r := Run(t, env, ctl, "appctl", "bond/show", "nosuch"); r.Code != 2 || r.Stderr != "no such bond\ngvswitchctl: appctl: gvswitchd: server returned an error\n" {
				t.Errorf("gvswitchctl appctl bond/show nosuch: %v", r)
			}
			if t.Failed() {
				t.Logf("gvswitchd log:\n%s", dGVS.Log())
			}
		})
	}
}

// fdbShowSet is an fdb/show answer with its entries sorted and their ages
// masked: the set of entries, whatever their order and age.
func fdbShowSet(out string) string {
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) < 2 {
		return out
	}
	age := regexp.MustCompile(`\s+\d+$`)
	body := lines[1:]
	for i, l := range body {
		body[i] = age.ReplaceAllString(l, "  AGE")
	}
	slices.Sort(body)
	return lines[0] + "\n" + strings.Join(body, "\n") + "\n"
}

package server

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"gvswitch/control/ovsdb"
	"gvswitch/control/ovsdb/client"
	"gvswitch/control/vsctl/vsctltest"
	"gvswitch/internal/testenv"
)

// startRealOvsdbServer starts a private real ovsdb-server on a fresh
// database in its own run directory and returns its socket path.
func startRealOvsdbServer(t testing.TB) string {
	t.Helper()
	return vsctltest.StartOVSDB(t).Sock
}

// scenario is SCENARIOS.md sections 2-5 as ovs-vsctl lines (--no-wait
// added to the modifying ones, as in reference/ovsdb/no-vswitchd).
var scenario = [][]string{
	// 2. global options (ovs-ctl start = init)
	{"--no-wait", "init"},
	{"--no-wait", "set", "Open_vSwitch", ".", "other_config:dpdk-init=true"},
	{"--no-wait", "set", "Open_vSwitch", ".", "other_config:dpdk-socket-mem=1024,1024"},
	{"--no-wait", "set", "Open_vSwitch", ".", "other_config:vhost-iommu-support=true"},
	{"--no-wait", "set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x33"},
	{"--no-wait", "get", "Open_vSwitch", ".", "other_config"},
	// 3. userspace bridge, LACP bond, vhost-user port
	{"--no-wait", "add-br", "ovsbr0", "--", "set", "bridge", "ovsbr0", "datapath_type=netdev"},
	{"--no-wait", "add-bond", "ovsbr0", "bond0", "dpdk0", "dpdk1", "vlan_mode=trunk", "trunks=11,300-304",
		"bond_mode=balance-tcp", "lacp=active", "other_config:lacp-time=fast",
		"--", "set", "Interface", "dpdk0", "type=dpdk", "options:dpdk-devargs=0000:08:00.0",
		"--", "set", "Interface", "dpdk1", "type=dpdk", "options:dpdk-devargs=0000:08:00.1"},
	{"--no-wait", "add-port", "ovsbr0", "vhuc0", "vlan_mode=access", "tag=300",
		"--", "set", "Interface", "vhuc0", "type=dpdkvhostuserclient", "options:vhost-server-path=/usr/local/openvswitch/vhuc0"},
	{"show"},
	{"--no-wait", "set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x3"}, // change an existing key
	// 4. kernel-NIC variant on its own bridge, libvirt port, fake bridge
	{"--no-wait", "add-br", "ovsbr1"},
	{"--no-wait", "add-bond", "ovsbr1", "bond1", "ens1f0", "ens1f1"},
	{"--no-wait", "set", "port", "bond1", "bond_mode=balance-slb", "lacp=off"},
	{"--no-wait", "add-br", "vlan302", "ovsbr0", "302"},
	{"--no-wait", "--timeout=5", "--", "--if-exists", "del-port", "vnet0", "--", "add-port", "ovsbr0", "vnet0", "tag=300",
		"--", "set", "Interface", "vnet0", `external-ids:attached-mac="52:54:00:d4:25:2e"`,
		"--", "set", "Interface", "vnet0", `external-ids:iface-id="2a7d1c3e-5b9f-4e21-9c1a-7f3d2e8b6a41"`,
		"--", "set", "Interface", "vnet0", `external-ids:vm-id="8c4f2b1a-3d6e-4f7a-9b2c-1e5d8a7f3c90"`,
		"--", "set", "Interface", "vnet0", "external-ids:iface-status=active"},
	{"--no-wait", "--may-exist", "add-br", "ovsbr0"},
	{"--no-wait", "--if-exists", "del-port", "nosuch"},
	{"--no-wait", "add-port", "vlan302", "veth-lxd0"},
	// 5. checking
	{"list", "port", "bond0"},
	{"--no-wait", "del-port", "ovsbr1", "bond1"},
	{"--no-wait", "del-br", "ovsbr1"},
	{"--no-wait", "add-br", "ovsbr0"}, // fails: already exists
}

// compared are the read-only commands whose output must match.
var compared = [][]string{
	{"show"},
	{"list", "port", "bond0"},
	{"get", "Open_vSwitch", ".", "other_config"},
	{"list-br"},
	{"list-ports", "ovsbr0"},
	{"br-to-vlan", "vlan302"},
	{"list", "interface"},
	{"list", "bridge"},
	{"find", "port", "tag=300"},
}

type vsctlResult struct {
	args   string
	out    string // normalised
	raw    string
	failed bool
}

func runScenario(t *testing.T, sock string) []vsctlResult {
	var res []vsctlResult
	for _, args := range append(append([][]string{}, scenario...), compared...) {
		out, err := vsctl(t, sock, args...)
		res = append(res, vsctlResult{strings.Join(args, " "), normalizeOutput(out), out, err != nil})
	}
	return res
}

// normalizeOutput replaces UUIDs and puts blocks whose order depends on
// UUIDs (rows of "list", ports of "show") in a canonical order.
func normalizeOutput(s string) string {
	s = normalizeUUIDs(s)
	// "list"/"find" output: records separated by blank lines.
	if strings.Contains(s, "\n\n") {
		recs := strings.Split(strings.TrimRight(s, "\n"), "\n\n")
		sort.Strings(recs)
		return strings.Join(recs, "\n\n") + "\n"
	}
	// "show" output: an indented tree; sort siblings.
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 1 && strings.HasPrefix(lines[1], "    ") {
		return canonTree(lines) + "\n"
	}
	return s
}

func indent(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

func canonTree(lines []string) string {
	var build func(i, depth int) ([]string, int)
	build = func(i, depth int) ([]string, int) {
		var blocks []string
		for i < len(lines) && indent(lines[i]) == depth {
			head := lines[i]
			children, next := build(i+1, depth+4)
			block := head
			if len(children) > 0 {
				block += "\n" + strings.Join(children, "\n")
			}
			blocks = append(blocks, block)
			i = next
		}
		// Attribute lines ("type: x") keep their order; child blocks
		// (Bridge/Port/Interface) are sorted.
		sort.SliceStable(blocks, func(a, b int) bool {
			ka, kb := strings.Contains(strings.SplitN(blocks[a], "\n", 2)[0], ": "), strings.Contains(strings.SplitN(blocks[b], "\n", 2)[0], ": ")
			if ka != kb {
				return ka
			}
			if ka {
				return false
			}
			return blocks[a] < blocks[b]
		})
		return blocks, i
	}
	blocks, _ := build(0, 0)
	return strings.Join(blocks, "\n")
}

// TestRealOvsVsctlSameAsOvsdbServer runs SCENARIOS.md sections 2-5
// through the real ovs-vsctl against our server and against a real
// ovsdb-server, and compares every output.
func TestRealOvsVsctlSameAsOvsdbServer(t *testing.T) {
	testenv.NeedCommand(t, "ovs-vsctl")
	oursSock, db := startSocketServer(t)
	realSock := startRealOvsdbServer(t)
	ours := runScenario(t, oursSock)
	theirs := runScenario(t, realSock)
	for i := range ours {
		if ours[i].out != theirs[i].out || ours[i].failed != theirs[i].failed {
			t.Errorf("ovs-vsctl %s\n--- against gvswitch (failed=%v):\n%s--- against ovsdb-server (failed=%v):\n%s",
				ours[i].args, ours[i].failed, ours[i].out, theirs[i].failed, theirs[i].out)
		}
	}
	for i, r := range ours {
		// Only the final duplicate add-br may fail.
		if r.failed != (i == len(scenario)-1) {
			t.Errorf("ovs-vsctl %s: failed=%v\n%s", r.args, r.failed, r.out)
		}
		if i >= len(scenario) {
			t.Logf("ovs-vsctl %s:\n%s", r.args, r.out)
		}
	}
	if show := ours[len(scenario)].out; !strings.Contains(show, "Port bond0") || !strings.Contains(show, "trunks: [11, 300, 301, 302, 303, 304]") {
		t.Errorf("show lacks the bond:\n%s", show)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}

	// The real ovsdb-server's file after the same history (its "_is_diff"
	// records, garbage-collected deletions) replays to the same state:
	// our server on a copy of it answers ovs-vsctl the same way.
	realFile, err := os.ReadFile(filepath.Join(filepath.Dir(realSock), "conf.db"))
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "conf.db")
	os.WriteFile(copyPath, realFile, 0o600)
	rdb, fj, err := ovsdb.OpenFile(copyPath, nil, nil)
	if err != nil {
		t.Fatalf("reading ovsdb-server's file: %v", err)
	}
	defer fj.Close()
	if err := rdb.Check(); err != nil {
		t.Fatal(err)
	}
	srv := New(rdb)
	sock := filepath.Join(filepath.Dir(copyPath), "db.sock")
	l, err := ListenUnix(sock, 0o700)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	for i, args := range compared {
		out, err := vsctl(t, sock, args...)
		// Same rows, same UUIDs: the output must be byte for byte the
		// real server's.
		want := theirs[len(scenario)+i]
		if out != want.raw || err != nil {
			t.Errorf("ovs-vsctl %s on ovsdb-server's replayed file:\n%s\nwant:\n%s", want.args, out, want.raw)
		}
	}
}

// bumpCurCfg plays the switch daemon: whenever next_cfg moves ahead, it
// writes cur_cfg = next_cfg and an ofport for every interface without
// one, in one transaction, through a client replica.
func bumpCurCfg(t *testing.T, sock string) {
	ctx, cancel := context.WithCancel(context.Background())
	c, err := client.Dial(ctx, "unix:"+sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); c.Close() })
	r, err := c.Monitor(ctx, "Open_vSwitch", map[string][]string{
		"Open_vSwitch": {"next_cfg", "cur_cfg"},
		"Interface":    {"ofport"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		ofport := 1
		for ctx.Err() == nil {
			ch := r.Changes()
			var ops []any
			for u, row := range r.Table("Open_vSwitch") {
				next, cur := row["next_cfg"].Keys[0].(int64), row["cur_cfg"].Keys[0].(int64)
				if next > cur {
					ops = append(ops, client.Update("Open_vSwitch", client.WhereUUID(u), map[string]any{"cur_cfg": next}))
				}
			}
			if ops != nil {
				for u, row := range r.Table("Interface") {
					if row["ofport"].Len() == 0 {
						ops = append(ops, client.Update("Interface", client.WhereUUID(u), map[string]any{"ofport": ofport}))
						ofport++
					}
				}
				c.Transact(ctx, "Open_vSwitch", ops...)
			}
			select {
			case <-ch:
			case <-ctx.Done():
			}
		}
	}()
}

// TestRealOvsVsctlWaitsForCurCfg runs ovs-vsctl without --no-wait: it
// returns only when it sees cur_cfg catch up in an update3, which our
// client replica writes (the update3-before-reply ordering at work).
func TestRealOvsVsctlWaitsForCurCfg(t *testing.T) {
	sock, _ := startSocketServer(t)
	if out, err := vsctl(t, sock, "--no-wait", "init"); err != nil {
		t.Fatalf("init: %v %s", err, out)
	}
	bumpCurCfg(t, sock)
	for _, args := range [][]string{
		{"add-br", "ovsbr0", "--", "set", "bridge", "ovsbr0", "datapath_type=netdev"},
		{"add-port", "ovsbr0", "vhuc0", "tag=300"},
		{"--timeout=5", "--", "--if-exists", "del-port", "vnet0", "--", "add-port", "ovsbr0", "vnet0", "tag=300",
			"--", "set", "Interface", "vnet0", "external-ids:iface-status=active"},
		{"del-port", "vhuc0"},
	} {
		start := time.Now()
		out, err := vsctl(t, sock, append([]string{"--timeout=5"}, args...)...)
		if err != nil || out != "" {
			t.Fatalf("ovs-vsctl %s: %v %q", strings.Join(args, " "), err, out)
		}
		// cur_cfg follows next_cfg at once (the monitor update is not
		// held back). On a loaded machine, and under -race, ovs-vsctl
		// alone can take a second: compare with a read-only command.
		if d := time.Since(start); d > time.Second {
			b0 := time.Now()
			vsctl(t, sock, "--no-wait", "get", "Open_vSwitch", ".", "cur_cfg")
			if base := time.Since(b0); d > time.Second+2*base {
				t.Errorf("ovs-vsctl %s took %v (a read-only one %v)", strings.Join(args, " "), d, base)
			}
		}
	}
	out, _ := vsctl(t, sock, "get", "Open_vSwitch", ".", "cur_cfg")
	if strings.TrimSpace(out) != "4" {
		t.Errorf("cur_cfg = %q, want 4", out)
	}
}

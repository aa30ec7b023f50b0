package vsctl_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"gvswitch/control/jsonrpc"
	"gvswitch/control/vsctl/vsctltest"
	"gvswitch/internal/testenv"
)

// summarize describes what a client sent, independent of UUIDs and of the
// (hash) order of operations: the methods in order, the tables and columns
// of the database monitor, and the transact operations as a sorted list.
func summarize(t *testing.T, recs []vsctltest.Record) string {
	t.Helper()
	var sb strings.Builder
	for _, r := range recs {
		if !r.ToServer || r.Msg.Method == "" {
			continue
		}
		var params []json.RawMessage
		_ = json.Unmarshal(r.Msg.Params, &params)
		fmt.Fprintf(&sb, "%s", r.Msg.Method)
		switch r.Msg.Method {
		case "monitor_cond_since", "monitor_cond", "monitor":
			var mon map[string][]struct {
				Columns []string `json:"columns"`
			}
			if len(params) > 2 && json.Unmarshal(params[2], &mon) == nil {
				var tables []string
				for tb, reqs := range mon {
					for _, rq := range reqs {
						cols := append([]string(nil), rq.Columns...)
						sort.Strings(cols)
						tables = append(tables, tb+cols2str(cols))
					}
				}
				sort.Strings(tables)
				fmt.Fprintf(&sb, " %s %s", strings.Trim(string(params[0]), `"`), strings.Join(tables, " "))
			}
		case "transact":
			var ops []string
			for _, p := range params[1:] {
				var op struct {
					Op        string            `json:"op"`
					Table     string            `json:"table"`
					Columns   []string          `json:"columns"`
					Row       map[string]any    `json:"row"`
					Mutations [][]any           `json:"mutations"`
					Comment   string            `json:"comment"`
					Where     []json.RawMessage `json:"where"`
				}
				if err := json.Unmarshal(p, &op); err != nil {
					t.Fatalf("bad op %s", p)
				}
				s := op.Op + " " + op.Table
				switch op.Op {
				case "wait", "select":
					cols := append([]string(nil), op.Columns...)
					sort.Strings(cols)
					s += cols2str(cols) + fmt.Sprintf(" where%d", len(op.Where))
				case "insert", "update":
					var cols []string
					for c, v := range op.Row {
						cols = append(cols, c+"="+canonical(v))
					}
					sort.Strings(cols)
					s += cols2str(cols)
				case "mutate":
					for _, m := range op.Mutations {
						b, _ := json.Marshal(m)
						s += " " + normalizeIDs(string(b))
					}
				case "comment":
					// "ovs-vsctl (invoked by ...): ovs-vsctl ARGS" versus
					// "gvswitchctl: gvswitchctl ARGS": compare ARGS.
					_, args, _ := strings.Cut(op.Comment, "--db=")
					_, args, _ = strings.Cut(args, " ")
					s += " " + args
				}
				ops = append(ops, s)
			}
			sort.Strings(ops)
			fmt.Fprintf(&sb, "\n    %s", strings.Join(ops, "\n    "))
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

func cols2str(cols []string) string { return "[" + strings.Join(cols, ",") + "]" }

func normalizeIDs(s string) string {
	return vsctltest.Normalize(s, vsctltest.NoSort)
}

// TestWireMatchesOVSVsctl checks the protocol sequence: both clients send
// the same methods, monitor the same tables and columns, and send the same
// operations (waits for what they read, inserts, updates, mutates,
// next_cfg increment, comment), or no transaction when nothing changes.
func TestWireMatchesOVSVsctl(t *testing.T) {
	t.Parallel()
	testenv.NeedRoot(t)
	ovs := testenv.NeedCommand(t, "ovs-vsctl")[0]
	a, b := vsctltest.StartOVSDB(t), vsctltest.StartOVSDB(t)
	pa, pb := vsctltest.StartProxy(t, a), vsctltest.StartProxy(t, b)
	bin := buildCtl(t)
	want := vsctltest.Exec(ovs, pa.DB())
	got := vsctltest.Exec(bin, pb.DB())
	vsctltest.FakeSwitch(t, ovs, a)
	vsctltest.FakeSwitch(t, ovs, b)
	lines := [][]string{
		{"--no-wait", "init"},
		{"--no-wait", "set", "Open_vSwitch", ".", "other_config:dpdk-init=true"},
		{"--no-wait", "set", "Open_vSwitch", ".", "other_config:dpdk-init=false"},
		{"--no-wait", "get", "Open_vSwitch", ".", "other_config"},
		{"--timeout=10", "add-br", "ovsbr0", "--", "set", "bridge", "ovsbr0", "datapath_type=netdev"},
		{"--no-wait", "add-bond", "ovsbr0", "bond0", "dpdk0", "dpdk1", "vlan_mode=trunk", "trunks=11,300-304",
			"bond_mode=balance-tcp", "lacp=active", "other_config:lacp-time=fast",
			"--", "set", "Interface", "dpdk0", "type=dpdk", "options:dpdk-devargs=0000:08:00.0",
			"--", "set", "Interface", "dpdk1", "type=dpdk", "options:dpdk-devargs=0000:08:00.1"},
		{"--timeout=10", "add-port", "ovsbr0", "vhuc0", "vlan_mode=access", "tag=300", "--", "set", "Interface", "vhuc0",
			"type=dpdkvhostuserclient", "options:vhost-server-path=/usr/local/openvswitch/vhuc0"},
		{"--no-wait", "add-br", "vlan302", "ovsbr0", "302"},
		{"show"},
		{"list", "port", "bond0"},
		{"list-br"},
		{"--no-wait", "list-ports", "ovsbr0"},
		{"br-to-vlan", "vlan302"},
		{"--timeout=10", "--", "--if-exists", "del-port", "vnet0", "--", "add-port", "ovsbr0", "vnet0", "tag=300",
			"--", "set", "Interface", "vnet0", `external-ids:attached-mac="52:54:00:d4:25:2e"`,
			"--", "set", "Interface", "vnet0", "external-ids:iface-status=active"},
		{"--no-wait", "del-port", "vhuc0"},
		{"--if-exists", "del-port", "nosuch"},
		{"--may-exist", "add-br", "ovsbr0"},
		{"--no-wait", "create", "QoS", "type=linux-htb", "other_config:max-rate=1000000"},
		{"--no-wait", "--all", "destroy", "QoS"},
		{"--no-wait", "remove", "bridge", "ovsbr0", "external_ids", "nosuchkey", "--", "clear", "Bridge", "ovsbr0", "flood_vlans"},
		{"--no-wait", "del-br", "vlan302"},
	}
	for _, args := range lines {
		pa.Reset()
		pb.Reset()
		w, g := want(args...), got(args...)
		if w.Status != g.Status {
			t.Errorf("%q: status %d, want %d\n%s", args, g.Status, w.Status, g.Stderr)
		}
		ws, gs := summarize(t, pa.Records()), summarize(t, pb.Records())
		if ws != gs {
			t.Errorf("%q: protocol differs\nwant:\n%s\ngot:\n%s", args, ws, gs)
		}
	}
}

// TestFallbacks: against a server without _Server or without
// monitor_cond_since / monitor_cond, the client falls back like
// ovs-vsctl (PROTOCOL.md section 4) and still works.
func TestFallbacks(t *testing.T) {
	testenv.NeedRoot(t)
	s := vsctltest.StartOVSDB(t)
	p := vsctltest.StartProxy(t, s)
	bin := buildCtl(t)
	ctl := vsctltest.Exec(bin, p.DB())
	var mu sync.Mutex
	refuse := map[string]bool{}
	p.SetAnswer(func(_ int, m *jsonrpc.Message) *jsonrpc.Message {
		mu.Lock()
		defer mu.Unlock()
		var params []any
		_ = json.Unmarshal(m.Params, &params)
		key := m.Method
		if len(params) > 0 {
			key += " " + fmt.Sprint(params[0])
		}
		if refuse[key] || refuse[m.Method] {
			return vsctltest.ErrorReply(m)
		}
		return nil
	})
	cases := []struct {
		refuse  []string
		methods string
		update  string
	}{
		{nil, "get_schema monitor_cond monitor_cond_since transact", "update3"},
		{[]string{"monitor_cond_since"}, "get_schema monitor_cond monitor_cond_since monitor_cond transact", "update2"},
		{[]string{"get_schema _Server"}, "get_schema get_schema monitor_cond transact", "update2"},
		{[]string{"monitor_cond _Server"}, "get_schema monitor_cond get_schema monitor_cond transact", "update2"},
		{[]string{"get_schema _Server", "monitor_cond"}, "get_schema get_schema monitor_cond monitor transact", "update"},
	}
	for i, c := range cases {
		mu.Lock()
		refuse = map[string]bool{}
		for _, r := range c.refuse {
			refuse[r] = true
		}
		mu.Unlock()
		p.Reset()
		br := fmt.Sprintf("br%d", i)
		if r := ctl("--no-wait", "add-br", br); r.Status != 0 {
			t.Fatalf("refusing %v: add-br: %v", c.refuse, r)
		}
		var methods []string
		sawUpdate := false
		for _, rec := range p.Records() {
			if rec.ToServer {
				methods = append(methods, rec.Msg.Method)
			} else if rec.Msg.Method == c.update {
				sawUpdate = true
			}
		}
		if got := strings.Join(methods, " "); got != c.methods {
			t.Errorf("refusing %v: methods %q, want %q", c.refuse, got, c.methods)
		}
		if !sawUpdate {
			t.Errorf("refusing %v: no %s notification", c.refuse, c.update)
		}
		r := ctl("list-br")
		if !strings.Contains(r.Stdout, br+"\n") {
			t.Errorf("refusing %v: list-br = %q", c.refuse, r.Stdout)
		}
	}
}

// TestRetryAfterConflict: another client changes what the command read
// between its read and its commit; the server fails the "wait" and the
// command is re-run on the new contents, as ovs-vsctl does.
func TestRetryAfterConflict(t *testing.T) {
	testenv.NeedRoot(t)
	ovs := testenv.NeedCommand(t, "ovs-vsctl")[0]
	bin := buildCtl(t)
	for _, prog := range []string{ovs, bin} {
		s := vsctltest.StartOVSDB(t)
		p := vsctltest.StartProxy(t, s)
		direct := vsctltest.Exec(ovs, s.DB())
		if r := direct("--no-wait", "add-br", "br0"); r.Status != 0 {
			t.Fatal(r)
		}
		var raced atomic.Bool
		p.SetBefore(func(_ int, m *jsonrpc.Message) {
			if m.Method == "transact" && raced.CompareAndSwap(false, true) {
				if r := direct("--no-wait", "add-port", "br0", "racer"); r.Status != 0 {
					t.Error(r)
				}
			}
		})
		r := vsctltest.Exec(prog, p.DB())("--no-wait", "add-port", "br0", "p1")
		if r.Status != 0 {
			t.Errorf("%s: %v", prog, r)
		}
		transacts := 0
		for _, rec := range p.Records() {
			if rec.ToServer && rec.Msg.Method == "transact" {
				transacts++
			}
		}
		if transacts != 2 {
			t.Errorf("%s: %d transactions, want 2 (one failed wait, one retry)", prog, transacts)
		}
		if l := direct("list-ports", "br0"); l.Stdout != "p1\nracer\n" {
			t.Errorf("%s: list-ports = %q", prog, l.Stdout)
		}
	}
}

// canonical renders a JSON value with UUIDs normalised and the elements of
// ["set",[...]] sorted, since they come out in UUID order.
func canonical(v any) string {
	if arr, ok := v.([]any); ok && len(arr) == 2 && arr[0] == "set" {
		if elems, ok := arr[1].([]any); ok {
			var parts []string
			for _, e := range elems {
				b, _ := json.Marshal(e)
				parts = append(parts, normalizeIDs(string(b)))
			}
			sort.Strings(parts)
			return `["set",[` + strings.Join(parts, ",") + "]]"
		}
	}
	b, _ := json.Marshal(v)
	return normalizeIDs(string(b))
}

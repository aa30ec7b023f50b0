package ovsdb

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func newVSwitchDB(t testing.TB) *Database {
	t.Helper()
	return NewDatabase(mustSchema(t))
}

// tx runs a transaction given as a JSON array of operations (with %s
// verbs filled from args) and returns the decoded results.
func tx(t testing.TB, db *Database, ops string, args ...any) []map[string]any {
	t.Helper()
	res, err := db.TransactJSON(context.Background(), []byte(fmt.Sprintf(ops, args...)), nil)
	if err != nil {
		t.Fatalf("transact: %v", err)
	}
	var out []map[string]any
	if err := json.Unmarshal(res, &out); err != nil {
		t.Fatalf("results %s: %v", res, err)
	}
	return out
}

// txOK runs a transaction that must succeed and returns its results.
func txOK(t testing.TB, db *Database, ops string, args ...any) []map[string]any {
	t.Helper()
	out := tx(t, db, ops, args...)
	for i, r := range out {
		if r != nil && r["error"] != nil {
			t.Fatalf("op %d failed: %v\nops: %s", i, r, fmt.Sprintf(ops, args...))
		}
	}
	return out
}

func lastError(res []map[string]any) (tag, details string) {
	for _, r := range res {
		if r != nil && r["error"] != nil {
			d, _ := r["details"].(string)
			return r["error"].(string), d
		}
	}
	return "", ""
}

func uuidOf(r map[string]any) string {
	return r["uuid"].([]any)[1].(string)
}

func count(t testing.TB, db *Database, table string) int {
	n := 0
	db.Read(func(v View) { n = v.Count(table) })
	return n
}

func mustCheck(t testing.TB, db *Database) {
	t.Helper()
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// initAndBridge runs what "ovs-vsctl init" and "add-br ovsbr0" send
// (captures 01 and 05) and returns the Open_vSwitch and Bridge UUIDs.
func initAndBridge(t testing.TB, db *Database) (ovs, br string) {
	t.Helper()
	res := txOK(t, db, `[{"op":"wait","table":"Open_vSwitch","where":[],"until":"==","rows":[],"timeout":0},
		{"op":"insert","table":"Open_vSwitch","uuid-name":"row1","row":{}},
		{"op":"comment","comment":"ovs-vsctl init"}]`)
	ovs = uuidOf(res[1])
	res = txOK(t, db, `[{"op":"wait","table":"Open_vSwitch","where":[["_uuid","==",["uuid","%s"]]],"columns":["bridges"],"until":"==","rows":[{"bridges":["set",[]]}],"timeout":0},
		{"op":"update","table":"Open_vSwitch","where":[["_uuid","==",["uuid","%s"]]],"row":{"bridges":["named-uuid","rowbr"]}},
		{"op":"insert","table":"Interface","uuid-name":"rowif","row":{"name":"ovsbr0","type":"internal"}},
		{"op":"insert","table":"Bridge","uuid-name":"rowbr","row":{"name":"ovsbr0","ports":["named-uuid","rowport"],"datapath_type":"netdev"}},
		{"op":"insert","table":"Port","uuid-name":"rowport","row":{"name":"ovsbr0","interfaces":["named-uuid","rowif"]}},
		{"op":"comment","comment":"add-br"}]`, ovs, ovs)
	if len(res) != 6 || res[0] == nil || len(res[0]) != 0 || res[1]["count"].(float64) != 1 {
		t.Fatalf("add-br results = %v", res)
	}
	return ovs, uuidOf(res[3])
}

func TestAddBridgeForwardReferences(t *testing.T) {
	db := newVSwitchDB(t)
	ovs, br := initAndBridge(t, db)
	res := txOK(t, db, `[{"op":"select","table":"Bridge","where":[["name","==","ovsbr0"]],"columns":["_uuid","name","ports","datapath_type"]}]`)
	rows := res[0]["rows"].([]any)
	if len(rows) != 1 {
		t.Fatalf("rows = %v", rows)
	}
	row := rows[0].(map[string]any)
	if row["_uuid"].([]any)[1] != br || row["datapath_type"] != "netdev" {
		t.Errorf("bridge row = %v", row)
	}
	res = txOK(t, db, `[{"op":"select","table":"Open_vSwitch","where":[],"columns":["bridges"]}]`)
	if got := fmt.Sprint(res[0]["rows"]); got != fmt.Sprintf("[map[bridges:[uuid %s]]]", br) {
		t.Errorf("Open_vSwitch.bridges = %s", got)
	}
	_ = ovs
	mustCheck(t, db)
}

func TestGarbageCollectionOnDelPort(t *testing.T) {
	db := newVSwitchDB(t)
	_, br := initAndBridge(t, db)
	res := txOK(t, db, `[{"op":"insert","table":"Interface","uuid-name":"i","row":{"name":"vhuc0","type":"dpdkvhostuserclient"}},
		{"op":"insert","table":"Port","uuid-name":"p","row":{"name":"vhuc0","interfaces":["named-uuid","i"],"tag":300}},
		{"op":"mutate","table":"Bridge","where":[["_uuid","==",["uuid","%s"]]],"mutations":[["ports","insert",["set",[["named-uuid","p"]]]]]}]`, br)
	port := uuidOf(res[1])
	if count(t, db, "Port") != 2 || count(t, db, "Interface") != 2 {
		t.Fatalf("after add-port: %d ports %d interfaces", count(t, db, "Port"), count(t, db, "Interface"))
	}
	// del-port rewrites Bridge.ports without the port and sends no delete
	// (capture 14): the Port and its Interface must be collected.
	txOK(t, db, `[{"op":"mutate","table":"Bridge","where":[["_uuid","==",["uuid","%s"]]],"mutations":[["ports","delete",["uuid","%s"]]]}]`, br, port)
	if count(t, db, "Port") != 1 || count(t, db, "Interface") != 1 {
		t.Fatalf("after del-port: %d ports %d interfaces, want 1 and 1", count(t, db, "Port"), count(t, db, "Interface"))
	}
	// An inserted row nobody references is collected at once.
	txOK(t, db, `[{"op":"insert","table":"Interface","row":{"name":"orphan"}}]`)
	if count(t, db, "Interface") != 1 {
		t.Errorf("unreferenced Interface was kept")
	}
	// Root rows are never collected.
	txOK(t, db, `[{"op":"insert","table":"QoS","row":{"type":"linux-htb"}}]`)
	if count(t, db, "QoS") != 1 {
		t.Errorf("root QoS row was collected")
	}
	// del-br: removing the bridge from Open_vSwitch.bridges collects the
	// bridge, its port and interface.
	txOK(t, db, `[{"op":"update","table":"Open_vSwitch","where":[],"row":{"bridges":["set",[]]}}]`)
	for _, tb := range []string{"Bridge", "Port", "Interface"} {
		if n := count(t, db, tb); n != 0 {
			t.Errorf("after del-br %s has %d rows", tb, n)
		}
	}
	mustCheck(t, db)
}

func TestDuplicateBridgeNameIsConstraintViolation(t *testing.T) {
	db := newVSwitchDB(t)
	_, br := initAndBridge(t, db)
	// Capture E1: --id=@b create Bridge name=br0 -- add Open_vSwitch . bridges @b
	res := tx(t, db, `[{"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":"ovsbr0"}},
		{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["bridges","insert",["set",[["named-uuid","b"]]]]]},
		{"op":"comment","comment":"x"}]`)
	if len(res) != 4 {
		t.Fatalf("want 3 op results + commit error, got %v", res)
	}
	if _, ok := res[0]["uuid"]; !ok || res[1]["count"].(float64) != 1 {
		t.Errorf("op results = %v", res[:3])
	}
	if res[3]["error"] != "constraint violation" {
		t.Fatalf("commit result = %v", res[3])
	}
	details := res[3]["details"].(string)
	want := fmt.Sprintf(`Transaction causes multiple rows in "Bridge" table to have identical values (ovsbr0) for index on column "name".  First row, with UUID %s, existed in the database before this transaction and was not modified by the transaction.  Second row, with UUID %s, was inserted by this transaction.`, br, uuidOf(res[0]))
	if details != want {
		t.Errorf("details:\n got %s\nwant %s", details, want)
	}
	if count(t, db, "Bridge") != 1 {
		t.Errorf("failed transaction left %d bridges", count(t, db, "Bridge"))
	}
	mustCheck(t, db)
}

func TestMapMutations(t *testing.T) {
	db := newVSwitchDB(t)
	initAndBridge(t, db)
	get := func() string {
		res := txOK(t, db, `[{"op":"select","table":"Open_vSwitch","where":[],"columns":["other_config"]}]`)
		b, _ := json.Marshal(res[0]["rows"].([]any)[0].(map[string]any)["other_config"])
		return string(b)
	}
	txOK(t, db, `[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["other_config","insert",["map",[["dpdk-init","true"]]]]]}]`)
	// RFC 7047: map "insert" never overwrites an existing key.
	txOK(t, db, `[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["other_config","insert",["map",[["dpdk-init","false"],["pmd-cpu-mask","0x33"]]]]]}]`)
	if got := get(); got != `["map",[["dpdk-init","true"],["pmd-cpu-mask","0x33"]]]` {
		t.Fatalf("after insert: %s", got)
	}
	// What ovs-vsctl sends to change an existing key (F6): delete, insert.
	txOK(t, db, `[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["other_config","delete",["set",["dpdk-init"]]],["other_config","insert",["map",[["dpdk-init","false"]]]]]}]`)
	if got := get(); got != `["map",[["dpdk-init","false"],["pmd-cpu-mask","0x33"]]]` {
		t.Fatalf("after delete+insert: %s", got)
	}
	// Deleting a pair needs the value to match.
	txOK(t, db, `[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["other_config","delete",["map",[["pmd-cpu-mask","0xff"]]]]]}]`)
	if got := get(); !strings.Contains(got, "pmd-cpu-mask") {
		t.Fatalf("pair with another value was deleted: %s", got)
	}
	txOK(t, db, `[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["other_config","delete",["map",[["pmd-cpu-mask","0x33"]]]]]}]`)
	if got := get(); got != `["map",[["dpdk-init","false"]]]` {
		t.Fatalf("after pair delete: %s", got)
	}
	// next_cfg += 1 then select, as a waiting ovs-vsctl does.
	res := txOK(t, db, `[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]},
		{"op":"select","table":"Open_vSwitch","where":[],"columns":["next_cfg"]}]`)
	if res[0]["count"].(float64) != 1 || fmt.Sprint(res[1]["rows"]) != "[map[next_cfg:1]]" {
		t.Errorf("next_cfg results = %v", res)
	}
	mustCheck(t, db)
}

func TestOperationErrors(t *testing.T) {
	db := newVSwitchDB(t)
	ovs, br := initAndBridge(t, db)
	tests := []struct {
		name, ops, tag, details string
	}{
		{"unknown op", `[{"op":"select","table":"Open_vSwitch","where":[],"columns":["next_cfg"]},{"op":"bogus"}]`,
			"syntax error", `Parsing ovsdb operation 2 of 2 failed: No operation "bogus"`},
		{"unknown table", `[{"op":"select","table":"Nope","where":[]}]`, "syntax error", "Parsing ovsdb operation 1 of 1 failed: No table named Nope."},
		{"unknown column", `[{"op":"insert","table":"Bridge","row":{"name":"x","nosuchcol":1}}]`, "unknown column", "No column nosuchcol in table Bridge."},
		{"missing member", `[{"op":"insert","table":"Bridge"}]`, "syntax error", "Parsing ovsdb operation 1 of 1 failed: Required 'row' member is missing."},
		{"extra member", `[{"op":"delete","table":"Bridge","where":[],"bogus":1}]`, "syntax error", "Parsing ovsdb operation 1 of 1 failed: Member 'bogus' is present but not allowed here."},
		{"wrong type", `[{"op":"insert","table":"Port","row":{"name":"p","tag":"x"}}]`, "syntax error", "expected integer"},
		{"range", `[{"op":"insert","table":"Port","row":{"name":"p","tag":5000}}]`, "constraint violation", "5000 is not in the valid range 0 to 4095 (inclusive)"},
		{"enum", `[{"op":"insert","table":"Port","row":{"name":"p","vlan_mode":"bogus"}}]`, "constraint violation", "bogus is not one of the allowed values ([access, dot1q-tunnel, native-tagged, native-untagged, trunk])"},
		{"immutable", `[{"op":"update","table":"Bridge","where":[],"row":{"name":"x"}}]`, "constraint violation", "Cannot update immutable column name in table Bridge."},
		{"wait", `[{"op":"wait","table":"Open_vSwitch","where":[],"columns":["next_cfg"],"until":"==","rows":[{"next_cfg":99}],"timeout":0}]`,
			"timed out", `"where" clause test failed`},
		{"abort", `[{"op":"abort"}]`, "aborted", "aborted by request"},
		{"assert", `[{"op":"assert","lock":"ovs_vswitchd"}]`, "not owner", "Asserted lock ovs_vswitchd not held."},
		{"dangling strong ref", `[{"op":"update","table":"Bridge","where":[],"row":{"ports":["uuid","11111111-2222-3333-4444-555555555555"]}}]`,
			"referential integrity violation", fmt.Sprintf("Table Bridge column ports row %s references nonexistent row 11111111-2222-3333-4444-555555555555 in table Port.", br)},
		{"delete referenced", `[{"op":"delete","table":"Bridge","where":[]}]`,
			"referential integrity violation", fmt.Sprintf("cannot delete Bridge row %s because of 1 remaining reference(s)", br)},
		{"max rows", `[{"op":"insert","table":"Open_vSwitch","row":{}}]`, "constraint violation",
			`transaction causes "Open_vSwitch" table to contain 2 rows, greater than the schema-defined limit of 1 row(s)`},
		{"division by zero", `[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","/=",0]]}]`, "domain error", "Division by zero."},
		{"overflow", `[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",9223372036854775807]]},{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]}]`,
			"range error", `Result of "+=" operation is out of range.`},
		{"duplicate uuid-name", `[{"op":"insert","table":"QoS","uuid-name":"a","row":{}},{"op":"insert","table":"QoS","uuid-name":"a","row":{}}]`,
			"duplicate uuid-name", `This "uuid-name" appeared on an earlier "insert" operation.`},
		{"not an object", `[5]`, "syntax error", "Parsing ovsdb operation 1 of 1 failed: Object expected."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tx(t, db, "%s", tt.ops)
			tag, details := lastError(res)
			if tag != tt.tag || details != tt.details {
				t.Errorf("got %q %q\nwant %q %q", tag, details, tt.tag, tt.details)
			}
			var ops []any
			json.Unmarshal([]byte(tt.ops), &ops)
			if len(res) < len(ops) {
				t.Errorf("%d results for %d operations", len(res), len(ops))
			}
		})
	}
	// Nothing above may have changed the database.
	res := txOK(t, db, `[{"op":"select","table":"Open_vSwitch","where":[["_uuid","==",["uuid","%s"]]],"columns":["next_cfg","bridges"]}]`, ovs)
	if fmt.Sprint(res[0]["rows"]) != fmt.Sprintf("[map[bridges:[uuid %s] next_cfg:0]]", br) {
		t.Errorf("state changed by failed transactions: %v", res[0]["rows"])
	}
	if count(t, db, "QoS") != 0 || count(t, db, "Port") != 1 {
		t.Errorf("failed transactions left rows behind")
	}
	mustCheck(t, db)
}

func TestAssertWithLock(t *testing.T) {
	db := newVSwitchDB(t)
	res, _ := db.TransactJSON(context.Background(), []byte(`[{"op":"assert","lock":"ovs_vswitchd"},{"op":"comment","comment":"x"}]`),
		&TxnOptions{HoldsLock: func(n string) bool { return n == "ovs_vswitchd" }})
	if string(res) != `[{},{}]` {
		t.Errorf("assert with lock held = %s", res)
	}
}

func TestWeakReferencesRemoved(t *testing.T) {
	db := newVSwitchDB(t)
	_, br := initAndBridge(t, db)
	res := txOK(t, db, `[{"op":"insert","table":"Interface","uuid-name":"i","row":{"name":"p1"}},
		{"op":"insert","table":"Port","uuid-name":"p","row":{"name":"p1","interfaces":["named-uuid","i"]}},
		{"op":"insert","table":"Mirror","uuid-name":"m","row":{"name":"m0","select_src_port":["named-uuid","p"],"select_dst_port":["named-uuid","p"]}},
		{"op":"mutate","table":"Bridge","where":[["_uuid","==",["uuid","%s"]]],"mutations":[["ports","insert",["named-uuid","p"]],["mirrors","insert",["named-uuid","m"]]]}]`, br)
	port := uuidOf(res[1])
	txOK(t, db, `[{"op":"mutate","table":"Bridge","where":[],"mutations":[["ports","delete",["uuid","%s"]]]}]`, port)
	res = txOK(t, db, `[{"op":"select","table":"Mirror","where":[],"columns":["select_src_port","select_dst_port"]}]`)
	if got := fmt.Sprint(res[0]["rows"]); got != "[map[select_dst_port:[set []] select_src_port:[set []]]]" {
		t.Errorf("weak references to the deleted port remain: %s", got)
	}
	// A weak reference to a row that never existed is dropped at commit.
	txOK(t, db, `[{"op":"update","table":"Mirror","where":[],"row":{"select_src_port":["uuid","11111111-2222-3333-4444-555555555555"]}}]`)
	res = txOK(t, db, `[{"op":"select","table":"Mirror","where":[],"columns":["select_src_port"]}]`)
	if got := fmt.Sprint(res[0]["rows"]); got != "[map[select_src_port:[set []]]]" {
		t.Errorf("dangling weak reference kept: %s", got)
	}
	mustCheck(t, db)
}

func TestWaitBlocksUntilChange(t *testing.T) {
	db := newVSwitchDB(t)
	initAndBridge(t, db)
	var wg sync.WaitGroup
	var res json.RawMessage
	wg.Add(1)
	go func() {
		defer wg.Done()
		res, _ = db.TransactJSON(context.Background(), []byte(`[{"op":"wait","table":"Open_vSwitch","where":[],"columns":["cur_cfg"],"until":"==","rows":[{"cur_cfg":1}],"timeout":5000},
			{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",10]]}]`), nil)
	}()
	time.Sleep(50 * time.Millisecond)
	txOK(t, db, `[{"op":"update","table":"Open_vSwitch","where":[],"row":{"cur_cfg":1}}]`)
	wg.Wait()
	if string(res) != `[{},{"count":1}]` {
		t.Fatalf("waiting transaction = %s", res)
	}
	// With a short timeout that expires, the wait fails with "timed out".
	start := time.Now()
	out := tx(t, db, `[{"op":"wait","table":"Open_vSwitch","where":[],"columns":["cur_cfg"],"until":"==","rows":[{"cur_cfg":7}],"timeout":100}]`)
	if tag, details := lastError(out); tag != "timed out" || !strings.HasPrefix(details, `"wait" timed out after`) {
		t.Errorf("expired wait = %v", out)
	}
	// At least the timeout; the upper bound only catches a wait that
	// ignored it (a loaded machine makes it late, never early).
	if d := time.Since(start); d < 100*time.Millisecond || d > 10*time.Second {
		t.Errorf("wait took %v for a 100 ms timeout", d)
	}
	// A cancelled request returns nil.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ops, _ := DecodeJSON([]byte(`[{"op":"wait","table":"Open_vSwitch","where":[],"columns":["cur_cfg"],"until":"==","rows":[{"cur_cfg":7}]}]`))
	if r := db.Transact(ctx, ops.([]any), nil); r != nil {
		t.Errorf("cancelled wait returned %s", r)
	}
}

func TestCommitHookSeesChanges(t *testing.T) {
	db := newVSwitchDB(t)
	var commits []*Commit
	remove := db.AddCommitHook(func(c *Commit) { commits = append(commits, c) })
	initAndBridge(t, db)
	if len(commits) != 2 {
		t.Fatalf("%d commits seen", len(commits))
	}
	c := commits[1]
	tables := map[string]int{}
	for _, ch := range c.Changes {
		tables[ch.Table.Name]++
	}
	if tables["Open_vSwitch"] != 1 || tables["Bridge"] != 1 || tables["Port"] != 1 || tables["Interface"] != 1 {
		t.Errorf("changes = %v", tables)
	}
	if c.Comment != "add-br" {
		t.Errorf("comment = %q", c.Comment)
	}
	// A transaction that changes nothing commits nothing.
	txOK(t, db, `[{"op":"update","table":"Bridge","where":[],"row":{"datapath_type":"netdev"}},{"op":"comment","comment":"noop"}]`)
	if len(commits) != 2 {
		t.Errorf("no-op transaction reached the hooks")
	}
	remove()
	txOK(t, db, `[{"op":"update","table":"Bridge","where":[],"row":{"datapath_type":"system"}}]`)
	if len(commits) != 2 {
		t.Errorf("removed hook still called")
	}
}

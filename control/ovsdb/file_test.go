package ovsdb

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gvswitch/internal/testenv"
)

func TestFilePersistsCommits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "conf.db")
	db, fj, err := OpenFile(path, mustSchema(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	ovs, br := initAndBridge(t, db)
	txOK(t, db, `[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["other_config","insert",["map",[["dpdk-init","true"]]]]]},{"op":"comment","comment":"set dpdk-init"}]`)
	txOK(t, db, `[{"op":"update","table":"Bridge","where":[],"row":{"datapath_type":"system"}}]`)
	// Ephemeral columns are not written.
	txOK(t, db, `[{"op":"update","table":"Bridge","where":[],"row":{"datapath_version":"x"}}]`)
	fj.Close()

	db2, fj2, err := OpenFile(path, mustSchema(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fj2.Close()
	res := txOK(t, db2, `[{"op":"select","table":"Bridge","where":[],"columns":["_uuid","name","datapath_type","ports"]},{"op":"select","table":"Open_vSwitch","where":[],"columns":["_uuid","other_config"]}]`)
	b := res[0]["rows"].([]any)[0].(map[string]any)
	o := res[1]["rows"].([]any)[0].(map[string]any)
	if b["_uuid"].([]any)[1] != br || b["datapath_type"] != "system" || o["_uuid"].([]any)[1] != ovs {
		t.Errorf("replayed state: %v %v", b, o)
	}
	if fmt.Sprint(o["other_config"]) != "[map [[dpdk-init true]]]" {
		t.Errorf("other_config = %v", o["other_config"])
	}
	if count(t, db2, "Port") != 1 || count(t, db2, "Interface") != 1 {
		t.Errorf("rows after replay: %d ports, %d interfaces", count(t, db2, "Port"), count(t, db2, "Interface"))
	}
	mustCheck(t, db2)
	// Still writable after replay.
	txOK(t, db2, `[{"op":"update","table":"Open_vSwitch","where":[],"row":{"cur_cfg":3}}]`)
}

func TestFileCompaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "conf.db")
	db, fj, err := OpenFile(path, mustSchema(t), &FileOptions{CompactRecords: 20, CompactFactor: 2})
	if err != nil {
		t.Fatal(err)
	}
	initAndBridge(t, db)
	for i := 0; i < 200; i++ {
		txOK(t, db, `[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]}]`)
	}
	if n := fj.Records(); n >= 200 {
		t.Errorf("file holds %d records: never compacted", n)
	}
	if err := fj.Compact(); err != nil {
		t.Fatal(err)
	}
	if n := fj.Records(); n != 2 {
		t.Errorf("after Compact: %d records, want schema + snapshot", n)
	}
	fj.Close()
	db2, fj2, err := OpenFile(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fj2.Close()
	res := txOK(t, db2, `[{"op":"select","table":"Open_vSwitch","where":[],"columns":["next_cfg"]}]`)
	if fmt.Sprint(res[0]["rows"]) != "[map[next_cfg:200]]" {
		t.Errorf("after compaction and replay: %v", res[0]["rows"])
	}
	mustCheck(t, db2)
}

// TestRealOvsdbToolReadsOurFile checks our file against the real
// ovsdb-tool: it must parse every record and see the data.
func TestRealOvsdbToolReadsOurFile(t *testing.T) {
	tool := testenv.NeedCommand(t, "ovsdb-tool")[0]
	path := filepath.Join(t.TempDir(), "conf.db")
	db, fj, err := OpenFile(path, mustSchema(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	initAndBridge(t, db)
	txOK(t, db, `[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["other_config","insert",["map",[["pmd-cpu-mask","0x33"]]]]]},{"op":"comment","comment":"ovs-vsctl: set pmd-cpu-mask"}]`)
	fj.Close()

	run := func(args ...string) string {
		out, err := exec.Command(tool, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ovsdb-tool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if v := strings.TrimSpace(run("db-version", path)); v != "8.3.1" {
		t.Errorf("db-version = %q", v)
	}
	if v := strings.TrimSpace(run("db-name", path)); v != "Open_vSwitch" {
		t.Errorf("db-name = %q", v)
	}
	log := run("show-log", "-m", path)
	for _, want := range []string{"record 0:", "record 3:", "ovs-vsctl: set pmd-cpu-mask", `table Bridge insert row "ovsbr0"`} {
		if !strings.Contains(log, want) {
			t.Errorf("show-log lacks %q:\n%s", want, log)
		}
	}
	q := run("query", path, `["Open_vSwitch",{"op":"select","table":"Open_vSwitch","where":[],"columns":["other_config"]}]`)
	if !strings.Contains(q, `"pmd-cpu-mask","0x33"`) {
		t.Errorf("ovsdb-tool query = %s", q)
	}
	// Compacted form too.
	db, fj, err = OpenFile(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := fj.Compact(); err != nil {
		t.Fatal(err)
	}
	fj.Close()
	q = run("query", path, `["Open_vSwitch",{"op":"select","table":"Bridge","where":[],"columns":["name"]}]`)
	if !strings.Contains(q, `"name":"ovsbr0"`) {
		t.Errorf("query after compaction = %s", q)
	}
	_ = db
}

// TestReadFileWrittenByOvsdbTool reads a database created and modified by
// the real tools (including their "_is_diff" records).
func TestReadFileWrittenByOvsdbTool(t *testing.T) {
	tool := testenv.NeedCommand(t, "ovsdb-tool")[0]
	dir := t.TempDir()
	path := filepath.Join(dir, "conf.db")
	schemaPath := filepath.Join(dir, "vswitch.ovsschema")
	os.WriteFile(schemaPath, VSwitchSchema(), 0o644)
	run := func(args ...string) string {
		out, err := exec.Command(tool, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ovsdb-tool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("create", path, schemaPath)
	run("transact", path, `["Open_vSwitch",{"op":"insert","table":"Open_vSwitch","row":{"bridges":["named-uuid","b"],"other_config":["map",[["a","1"],["b","2"]]]}},
		{"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":"br0","ports":["named-uuid","p"]}},
		{"op":"insert","table":"Port","uuid-name":"p","row":{"name":"br0","interfaces":["named-uuid","i"],"trunks":["set",[1,2,3]]}},
		{"op":"insert","table":"Interface","uuid-name":"i","row":{"name":"br0","type":"internal"}}]`)
	run("transact", path, `["Open_vSwitch",{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["other_config","delete",["set",["a"]]],["other_config","insert",["map",[["c","3"]]]],["next_cfg","+=",5]]},
		{"op":"mutate","table":"Port","where":[],"mutations":[["trunks","delete",["set",[2]]],["trunks","insert",["set",[7]]]]}]`)
	db, fj, err := OpenFile(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fj.Close()
	res := txOK(t, db, `[{"op":"select","table":"Open_vSwitch","where":[],"columns":["other_config","next_cfg"]},{"op":"select","table":"Port","where":[],"columns":["trunks","name"]}]`)
	if got := fmt.Sprint(res[0]["rows"]); got != "[map[next_cfg:5 other_config:[map [[b 2] [c 3]]]]]" {
		t.Errorf("Open_vSwitch = %s", got)
	}
	if got := fmt.Sprint(res[1]["rows"]); got != "[map[name:br0 trunks:[set [1 3 7]]]]" {
		t.Errorf("Port = %s", got)
	}
	mustCheck(t, db)
	// And ovsdb-tool still reads the file after we append to it.
	txOK(t, db, `[{"op":"update","table":"Bridge","where":[],"row":{"datapath_type":"netdev"}}]`)
	fj.Close()
	q := run("query", path, `["Open_vSwitch",{"op":"select","table":"Bridge","where":[],"columns":["datapath_type"]}]`)
	if !strings.Contains(q, "netdev") {
		t.Errorf("query = %s", q)
	}
}

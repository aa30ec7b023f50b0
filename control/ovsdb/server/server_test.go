package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gvswitch/control/jsonrpc"
	"gvswitch/control/ovsdb"
)

func newTestServer(t testing.TB) (*Server, *ovsdb.Database) {
	t.Helper()
	s, err := ovsdb.ParseSchema(ovsdb.VSwitchSchema())
	if err != nil {
		t.Fatal(err)
	}
	db := ovsdb.NewDatabase(s)
	srv := New(db)
	t.Cleanup(func() { srv.Close() })
	return srv, db
}

// rawClient speaks raw JSON to a server over net.Pipe.
type rawClient struct {
	t   testing.TB
	c   net.Conn
	rpc *jsonrpc.Conn
}

func dialPipe(t testing.TB, srv *Server) *rawClient {
	a, b := net.Pipe()
	go srv.ServeConn(b)
	t.Cleanup(func() { a.Close() })
	return &rawClient{t: t, c: a, rpc: jsonrpc.NewConn(a)}
}

func (rc *rawClient) send(s string) {
	rc.t.Helper()
	if _, err := rc.c.Write([]byte(s)); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// recv returns the next message re-encoded in our canonical shape.
func (rc *rawClient) recv() string {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	m, err := rc.rpc.Read()
	if err != nil {
		rc.t.Fatalf("read: %v", err)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func (rc *rawClient) call(req string) string {
	rc.t.Helper()
	rc.send(req)
	return rc.recv()
}

// normalizeUUIDs replaces UUIDs by <uuid>.
func normalizeUUIDs(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if i+36 <= len(s) && isUUIDText(s[i:i+36]) {
			b.WriteString("<uuid>")
			i += 36
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

func isUUIDText(s string) bool {
	_, err := ovsdb.ParseUUID(s)
	return err == nil
}

func TestErrorShapesLikeOvsdbServer(t *testing.T) {
	srv, _ := newTestServer(t)
	rc := dialPipe(t, srv)
	// Requests and replies from server-error-shapes.txt (object members in
	// our order; clients parse JSON).
	tests := []struct{ req, want string }{
		{`{"id":1,"method":"nosuchmethod","params":[]}`, `{"id":1,"error":"unknown method"}`},
		{`{"id":2,"method":"get_schema","params":["NoDB"]}`, `{"id":2,"error":{"details":"get_schema request specifies unknown database NoDB","error":"unknown database","syntax":"[\"NoDB\"]"}}`},
		{`{"id":3,"method":"list_dbs","params":[]}`, `{"id":3,"result":["Open_vSwitch","_Server"],"error":null}`},
		{`{"id":4,"method":"echo","params":["x",1]}`, `{"id":4,"result":["x",1],"error":null}`},
		{`{"id":"echo","method":"echo","params":[]}`, `{"id":"echo","result":[],"error":null}`},
		{`{"id":5,"method":"transact","params":["NoDB",{"op":"comment","comment":"x"}]}`, `{"id":5,"error":{"details":"transact request specifies unknown database NoDB","error":"unknown database","syntax":"[\"NoDB\",{\"comment\":\"x\",\"op\":\"comment\"}]"}}`},
		{`{"id":6,"method":"monitor_cond_since","params":["NoDB",["m"],{},null]}`, `{"id":6,"error":{"details":"monitor_cond_since request specifies unknown database NoDB","error":"unknown database","syntax":"[\"NoDB\",[\"m\"],{},null]"}}`},
		{`{"id":8,"method":"set_db_change_aware","params":[true]}`, `{"id":8,"result":{},"error":null}`},
		{`{"id":9,"method":"transact","params":["Open_vSwitch",{"op":"wait","table":"Open_vSwitch","where":[],"columns":["next_cfg"],"until":"==","rows":[{"next_cfg":99}],"timeout":0}]}`,
			`{"id":9,"result":[{"details":"\"where\" clause test failed","error":"timed out"}],"error":null}`},
		{`{"id":10,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"Bridge","row":{"name":"x","nosuchcol":1}}]}`,
			`{"id":10,"result":[{"details":"No column nosuchcol in table Bridge.","error":"unknown column","syntax":"{\"name\":\"x\",\"nosuchcol\":1}"}],"error":null}`},
	}
	for _, tt := range tests {
		if got := rc.call(tt.req); got != tt.want {
			t.Errorf("%s\n got %s\nwant %s", tt.req, got, tt.want)
		}
	}
	if got := rc.call(`{"id":7,"method":"get_server_id","params":[]}`); got != fmt.Sprintf(`{"id":7,"result":"%s","error":null}`, srv.ID()) {
		t.Errorf("get_server_id = %s", got)
	}
}

func TestMonitorFlavoursAndUpdateBeforeReply(t *testing.T) {
	srv, _ := newTestServer(t)
	rc := dialPipe(t, srv)
	res := rc.call(`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"Open_vSwitch","row":{"next_cfg":7,"cur_cfg":7}}]}`)
	if !strings.Contains(res, `"uuid":["uuid",`) {
		t.Fatal(res)
	}
	v1 := normalizeUUIDs(rc.call(`{"id":12,"method":"monitor","params":["Open_vSwitch",null,{"Open_vSwitch":{"columns":["next_cfg","cur_cfg"]}}]}`))
	if v1 != `{"id":12,"result":{"Open_vSwitch":{"<uuid>":{"new":{"cur_cfg":7,"next_cfg":7}}}},"error":null}` {
		t.Errorf("monitor = %s", v1)
	}
	v2 := normalizeUUIDs(rc.call(`{"id":13,"method":"monitor_cond","params":["Open_vSwitch","mc",{"Open_vSwitch":[{"columns":["next_cfg","cur_cfg"]}]}]}`))
	if v2 != `{"id":13,"result":{"Open_vSwitch":{"<uuid>":{"initial":{"cur_cfg":7,"next_cfg":7}}}},"error":null}` {
		t.Errorf("monitor_cond = %s", v2)
	}
	v3 := normalizeUUIDs(rc.call(`{"id":14,"method":"monitor_cond_since","params":["Open_vSwitch",["monid","Open_vSwitch"],{"Open_vSwitch":[{"columns":["next_cfg","cur_cfg","bridges"]}],"Bridge":[{"columns":["name","ports"]}]},"00000000-0000-0000-0000-000000000000"]}`))
	if v3 != `{"id":14,"result":[false,"<uuid>",{"Open_vSwitch":{"<uuid>":{"initial":{"cur_cfg":7,"next_cfg":7}}}}],"error":null}` {
		t.Errorf("monitor_cond_since = %s", v3)
	}
	dup := rc.call(`{"id":15,"method":"monitor_cond","params":["Open_vSwitch","mc",{"Open_vSwitch":[{"columns":["next_cfg"]}]}]}`)
	if dup != `{"id":15,"error":{"details":"duplicate monitor ID","error":"syntax error","syntax":"\"mc\""}}` {
		t.Errorf("duplicate = %s", dup)
	}
	if got := rc.call(`{"id":16,"method":"monitor_cancel","params":["mc"]}`); got != `{"id":16,"result":{},"error":null}` {
		t.Errorf("monitor_cancel = %s", got)
	}
	// A transaction: update (v1) and update3 arrive before the reply.
	rc.send(`{"id":20,"method":"transact","params":["Open_vSwitch",{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]},{"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":"br0"}},{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["bridges","insert",["named-uuid","b"]]]}]}`)
	var msgs []string
	for i := 0; i < 3; i++ {
		msgs = append(msgs, normalizeUUIDs(rc.recv()))
	}
	want := []string{
		`{"id":null,"method":"update","params":[null,{"Open_vSwitch":{"<uuid>":{"old":{"next_cfg":7},"new":{"cur_cfg":7,"next_cfg":8}}}}]}`,
		`{"id":null,"method":"update3","params":[["monid","Open_vSwitch"],"<uuid>",{"Bridge":{"<uuid>":{"insert":{"name":"br0"}}},"Open_vSwitch":{"<uuid>":{"modify":{"bridges":["uuid","<uuid>"],"next_cfg":8}}}}]}`,
		`{"id":20,"result":[{"count":1},{"uuid":["uuid","<uuid>"]},{"count":1}],"error":null}`,
	}
	for i := range want {
		if msgs[i] != want[i] {
			t.Errorf("message %d:\n got %s\nwant %s", i, msgs[i], want[i])
		}
	}
	// Deleting the bridge (garbage collected) shows as delete:null.
	rc.send(`{"id":21,"method":"transact","params":["Open_vSwitch",{"op":"update","table":"Open_vSwitch","where":[],"row":{"bridges":["set",[]]}}]}`)
	got := normalizeUUIDs(rc.recv())
	if got != `{"id":null,"method":"update3","params":[["monid","Open_vSwitch"],"<uuid>",{"Bridge":{"<uuid>":{"delete":null}},"Open_vSwitch":{"<uuid>":{"modify":{"bridges":["uuid","<uuid>"]}}}}]}` {
		t.Errorf("delete update3 = %s", got)
	}
}

func TestServerDatabaseForOvsVsctl(t *testing.T) {
	srv, _ := newTestServer(t)
	rc := dialPipe(t, srv)
	schema := rc.call(`{"id":1,"method":"get_schema","params":["_Server"]}`)
	if !strings.Contains(schema, `"name":"_Server"`) || !strings.Contains(schema, `"version":"1.2.0"`) {
		t.Fatalf("get_schema _Server = %.200s", schema)
	}
	var reply struct {
		Result map[string]map[string]map[string]map[string]any
	}
	raw := rc.call(`{"id":2,"method":"monitor_cond","params":["_Server",["monid","_Server"],{"Database":[{"columns":["name","model","connected","leader","schema","cid","index"]}]}]}`)
	if err := json.Unmarshal([]byte(raw), &reply); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, row := range reply.Result["Database"] {
		init := row["initial"]
		if init["model"] != "standalone" || init["connected"] != true || init["leader"] != true {
			t.Errorf("Database row = %v", init)
		}
		if _, has := init["cid"]; has {
			t.Errorf("empty cid must be omitted: %v", init)
		}
		if init["name"] == "Open_vSwitch" {
			found++
			s, err := ovsdb.ParseSchema([]byte(init["schema"].(string)))
			if err != nil || s.Version != "8.3.1" {
				t.Errorf("schema column does not parse: %v", err)
			}
		}
	}
	if found != 1 || len(reply.Result["Database"]) != 2 {
		t.Errorf("Database rows: %v", raw[:200])
	}
	// _Server is read-only.
	got := rc.call(`{"id":3,"method":"transact","params":["_Server",{"op":"delete","table":"Database","where":[]}]}`)
	if !strings.Contains(got, `"error":"not allowed"`) {
		t.Errorf("write to _Server = %s", got)
	}
}

func TestLocks(t *testing.T) {
	srv, _ := newTestServer(t)
	a, b := dialPipe(t, srv), dialPipe(t, srv)
	if got := a.call(`{"id":1,"method":"lock","params":["ovs_vswitchd"]}`); got != `{"id":1,"result":{"locked":true},"error":null}` {
		t.Fatalf("lock a = %s", got)
	}
	if got := b.call(`{"id":1,"method":"lock","params":["ovs_vswitchd"]}`); got != `{"id":1,"result":{"locked":false},"error":null}` {
		t.Fatalf("lock b = %s", got)
	}
	assert := `{"id":2,"method":"transact","params":["Open_vSwitch",{"op":"assert","lock":"ovs_vswitchd"}]}`
	if got := a.call(assert); got != `{"id":2,"result":[{}],"error":null}` {
		t.Errorf("assert by owner = %s", got)
	}
	if got := b.call(assert); !strings.Contains(got, `"not owner"`) {
		t.Errorf("assert by waiter = %s", got)
	}
	// Unlock hands the lock to the waiter with a "locked" notification.
	if got := a.call(`{"id":3,"method":"unlock","params":["ovs_vswitchd"]}`); got != `{"id":3,"result":{},"error":null}` {
		t.Errorf("unlock = %s", got)
	}
	if got := b.recv(); got != `{"id":null,"method":"locked","params":["ovs_vswitchd"]}` {
		t.Errorf("b got %s", got)
	}
	// Steal takes it back; the victim is told.
	if got := a.call(`{"id":4,"method":"steal","params":["ovs_vswitchd"]}`); got != `{"id":4,"result":{"locked":true},"error":null}` {
		t.Errorf("steal = %s", got)
	}
	if got := b.recv(); got != `{"id":null,"method":"stolen","params":["ovs_vswitchd"]}` {
		t.Errorf("b got %s", got)
	}
	if got := a.call(`{"id":5,"method":"lock","params":["ovs_vswitchd"]}`); !strings.Contains(got, `must issue \"unlock\"`) {
		t.Errorf("double lock = %s", got)
	}
	// A disconnecting owner passes the lock on.
	a.c.Close()
	if got := b.recv(); got != `{"id":null,"method":"locked","params":["ovs_vswitchd"]}` {
		t.Errorf("after owner disconnect b got %s", got)
	}
}

func TestBlockingWaitAndCancel(t *testing.T) {
	srv, _ := newTestServer(t)
	a, b := dialPipe(t, srv), dialPipe(t, srv)
	a.call(`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"Open_vSwitch","row":{}}]}`)
	a.send(`{"id":2,"method":"transact","params":["Open_vSwitch",{"op":"wait","table":"Open_vSwitch","where":[],"columns":["cur_cfg"],"until":"==","rows":[{"cur_cfg":1}],"timeout":10000}]}`)
	// The blocked transaction does not stop the session.
	if got := a.call(`{"id":3,"method":"echo","params":[]}`); got != `{"id":3,"result":[],"error":null}` {
		t.Fatalf("echo while waiting = %s", got)
	}
	b.call(`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"update","table":"Open_vSwitch","where":[],"row":{"cur_cfg":1}}]}`)
	if got := a.recv(); got != `{"id":2,"result":[{}],"error":null}` {
		t.Errorf("wait result = %s", got)
	}
	a.send(`{"id":4,"method":"transact","params":["Open_vSwitch",{"op":"wait","table":"Open_vSwitch","where":[],"columns":["cur_cfg"],"until":"==","rows":[{"cur_cfg":2}]}]}`)
	a.send(`{"id":null,"method":"cancel","params":[4]}`)
	if got := a.recv(); got != `{"id":4,"error":"canceled"}` {
		t.Errorf("cancel = %s", got)
	}
}

func TestUnixSocket(t *testing.T) {
	srv, _ := newTestServer(t)
	path := filepath.Join(t.TempDir(), "db.sock")
	l, err := ListenUnix(path, 0o750)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(`{"id":1,"method":"echo","params":["hi"]}`))
	line, _ := bufio.NewReader(c).ReadString('}')
	if line != `{"id":1,"result":["hi"],"error":null}` {
		t.Errorf("reply = %s", line)
	}
	if _, err := ListenUnix(path, 0o750); err == nil {
		t.Error("second server on a live socket was allowed")
	}
}

// TestRepliesDeliveredAfterHalfClose: a client that writes its requests
// and shuts down its sending half still gets every reply, as from
// ovsdb-server (e.g. a shell pipe into a unix socket).
func TestRepliesDeliveredAfterHalfClose(t *testing.T) {
	srv, _ := newTestServer(t)
	path := filepath.Join(t.TempDir(), "db.sock")
	l, err := ListenUnix(path, 0o700)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(`{"id":1,"method":"list_dbs","params":[]}{"id":2,"method":"echo","params":[2]}`))
	c.(*net.UnixConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	all, _ := io.ReadAll(c)
	if string(all) != `{"id":1,"result":["Open_vSwitch","_Server"],"error":null}{"id":2,"result":[2],"error":null}` {
		t.Errorf("got %q", all)
	}
}

// TestMonitorConditionsAndSelect: "where" limits the rows (a row entering
// or leaving the condition shows as insert or delete) and "select" the
// kinds of change reported.
func TestMonitorConditionsAndSelect(t *testing.T) {
	srv, _ := newTestServer(t)
	w, m := dialPipe(t, srv), dialPipe(t, srv)
	w.call(`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"Open_vSwitch","row":{}},{"op":"insert","table":"QoS","row":{"type":"a"}}]}`)
	got := normalizeUUIDs(m.call(`{"id":1,"method":"monitor_cond","params":["Open_vSwitch","c",{"QoS":[{"columns":["type"],"where":[["type","==","b"]]}]}]}`))
	if got != `{"id":1,"result":{},"error":null}` {
		t.Errorf("initial = %s", got)
	}
	m.call(`{"id":2,"method":"monitor_cond","params":["Open_vSwitch","s",{"Open_vSwitch":[{"columns":["next_cfg"],"select":{"initial":false,"modify":false}}]}]}`)
	w.call(`{"id":2,"method":"transact","params":["Open_vSwitch",{"op":"update","table":"QoS","where":[],"row":{"type":"b"}},{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]}]}`)
	if got := normalizeUUIDs(m.recv()); got != `{"id":null,"method":"update2","params":["c",{"QoS":{"<uuid>":{"insert":{"type":"b"}}}}]}` {
		t.Errorf("row entering the condition: %s", got)
	}
	w.call(`{"id":3,"method":"transact","params":["Open_vSwitch",{"op":"update","table":"QoS","where":[],"row":{"type":"c"}}]}`)
	if got := normalizeUUIDs(m.recv()); got != `{"id":null,"method":"update2","params":["c",{"QoS":{"<uuid>":{"delete":null}}}]}` {
		t.Errorf("row leaving the condition: %s", got)
	}
	// The next_cfg change was not reported (modify not selected): the
	// next message is the reply to this echo.
	if got := m.call(`{"id":4,"method":"echo","params":[]}`); got != `{"id":4,"result":[],"error":null}` {
		t.Errorf("unexpected message %s", got)
	}
}

func TestMonitorCondChange(t *testing.T) {
	srv, _ := newTestServer(t)
	w, m := dialPipe(t, srv), dialPipe(t, srv)
	w.call(`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"QoS","row":{"type":"a"}},{"op":"insert","table":"QoS","row":{"type":"b"}}]}`)
	got := normalizeUUIDs(m.call(`{"id":1,"method":"monitor_cond_since","params":["Open_vSwitch","c",{"QoS":[{"columns":["type"],"where":[["type","==","a"]]}]},"00000000-0000-0000-0000-000000000000"]}`))
	if got != `{"id":1,"result":[false,"<uuid>",{"QoS":{"<uuid>":{"initial":{"type":"a"}}}}],"error":null}` {
		t.Fatalf("initial = %s", got)
	}
	// Switch the condition to type b, under a new monitor id: "a" leaves,
	// "b" enters, in one update3 carrying the new id, then the reply.
	m.send(`{"id":2,"method":"monitor_cond_change","params":["c","c2",{"QoS":[{"where":[["type","==","b"]]}]}]}`)
	upd := m.recv()
	if !strings.HasPrefix(upd, `{"id":null,"method":"update3","params":["c2",`) || strings.Count(upd, `"delete":null`) != 1 || !strings.Contains(upd, `{"insert":{"type":"b"}}`) {
		t.Errorf("update = %s", upd)
	}
	if got := m.recv(); got != `{"id":2,"result":{},"error":null}` {
		t.Errorf("reply = %s", got)
	}
	// Later changes follow the new condition and id.
	w.call(`{"id":2,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"QoS","row":{"type":"a"}},{"op":"insert","table":"QoS","row":{"type":"b"}}]}`)
	if got := normalizeUUIDs(m.recv()); got != `{"id":null,"method":"update3","params":["c2","<uuid>",{"QoS":{"<uuid>":{"insert":{"type":"b"}}}}]}` {
		t.Errorf("after change: %s", got)
	}
	if got := m.call(`{"id":3,"method":"monitor_cond_change","params":["nosuch","x",{}]}`); !strings.Contains(got, "unknown monitor session") {
		t.Errorf("unknown monitor: %s", got)
	}
	if got := m.call(`{"id":4,"method":"monitor_cancel","params":["c2"]}`); got != `{"id":4,"result":{},"error":null}` {
		t.Errorf("cancel new id: %s", got)
	}
}

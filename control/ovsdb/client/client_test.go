package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"gvswitch/control/ovsdb"
	"gvswitch/control/ovsdb/server"
)

func newPair(t testing.TB) (*Client, *ovsdb.Database, *server.Server) {
	t.Helper()
	s, err := ovsdb.ParseSchema(ovsdb.VSwitchSchema())
	if err != nil {
		t.Fatal(err)
	}
	db := ovsdb.NewDatabase(s)
	srv := server.New(db)
	a, b := net.Pipe()
	go srv.ServeConn(b)
	c := NewClient(a)
	t.Cleanup(func() { c.Close(); srv.Close() })
	return c, db, srv
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestTransactAndErrors(t *testing.T) {
	c, _, _ := newPair(t)
	res, err := c.Transact(ctx(t), "Open_vSwitch",
		Insert("Open_vSwitch", "ovs", map[string]any{"bridges": NamedUUID("br")}),
		Insert("Bridge", "br", map[string]any{"name": "br0", "ports": NamedUUID("p")}),
		Insert("Port", "p", map[string]any{"name": "br0", "interfaces": NamedUUID("i")}),
		Insert("Interface", "i", map[string]any{"name": "br0", "type": "internal"}),
		Comment("test"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 5 || res[1].UUID.IsZero() {
		t.Fatalf("results = %+v", res)
	}
	br := res[1].UUID
	res, err = c.Transact(ctx(t), "Open_vSwitch", Select("Bridge", WhereUUID(br), "name", "ports"))
	if err != nil || len(res[0].Rows) != 1 {
		t.Fatalf("select: %v %+v", err, res)
	}
	schema, err := c.GetSchema(ctx(t), "Open_vSwitch")
	if err != nil {
		t.Fatal(err)
	}
	row, err := DecodeRow(schema.Table("Bridge"), res[0].Rows[0])
	if err != nil || row["name"].Strings()[0] != "br0" || row["ports"].Len() != 1 {
		t.Fatalf("decoded row %v %v", row, err)
	}
	// A commit failure is the extra result and the returned error.
	res, err = c.Transact(ctx(t), "Open_vSwitch",
		Insert("Bridge", "b2", map[string]any{"name": "br0"}),
		Mutate("Open_vSwitch", All(), Mutation("bridges", "insert", SetValue(NamedUUID("b2")))))
	var oe *ovsdb.Error
	if !errors.As(err, &oe) || oe.Tag != ovsdb.TagConstraint || len(res) != 3 || res[2].Error == nil {
		t.Errorf("duplicate bridge: %v %+v", err, res)
	}
	// A JSON-RPC level error is an *RPCError.
	_, err = c.Transact(ctx(t), "NoDB", Comment("x"))
	var re *RPCError
	if !errors.As(err, &re) || re.Tag() != "unknown database" {
		t.Errorf("unknown db: %v", err)
	}
	if err := c.Call(ctx(t), "nosuch", []any{}, nil); !errors.As(err, &re) || re.Tag() != "unknown method" {
		t.Errorf("unknown method: %v", err)
	}
	dbs, err := c.ListDBs(ctx(t))
	if err != nil || fmt.Sprint(dbs) != "[Open_vSwitch _Server]" {
		t.Errorf("list_dbs = %v %v", dbs, err)
	}
	if err := c.Echo(ctx(t)); err != nil {
		t.Error(err)
	}
}

func TestDialUnixRelativeToRundir(t *testing.T) {
	s, _ := ovsdb.ParseSchema(ovsdb.VSwitchSchema())
	srv := server.New(ovsdb.NewDatabase(s))
	dir := t.TempDir()
	l, err := server.ListenUnix(filepath.Join(dir, "db.sock"), 0o750)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	c, err := Dial(ctx(t), "unix:db.sock", Rundir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Echo(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := Dial(ctx(t), "bogus"); !errors.Is(err, ErrBadTarget) {
		t.Errorf("bad target: %v", err)
	}
}

// TestReplicaFollowsRandomChanges drives random transactions through one
// client and checks that another client's replica matches the server
// after each, whichever monitor method it uses.
func TestReplicaFollowsRandomChanges(t *testing.T) {
	for _, method := range []string{"monitor_cond_since", "monitor_cond", "monitor"} {
		t.Run(method, func(t *testing.T) {
			w, db, srv := newPair(t)
			a, b := net.Pipe()
			go srv.ServeConn(b)
			var rc *Client
			if method == "monitor_cond_since" {
				rc = NewClient(a)
			} else {
				rc = NewClient(&refusing{Conn: a, refuse: method})
			}
			defer rc.Close()
			_, err := w.Transact(ctx(t), "Open_vSwitch", Insert("Open_vSwitch", "", map[string]any{}))
			if err != nil {
				t.Fatal(err)
			}
			var deltas atomic.Int64
			r, err := rc.Monitor(ctx(t), "Open_vSwitch", map[string][]string{
				"Open_vSwitch": {"bridges", "next_cfg", "other_config"},
				"Bridge":       nil,
				"Port":         {"name", "trunks", "tag"},
			}, &MonitorOptions{OnUpdate: func(*Delta) { deltas.Add(1) }})
			if err != nil {
				t.Fatal(err)
			}
			if r.Method() != method {
				t.Fatalf("replica uses %s, want %s", r.Method(), method)
			}
			rng := rand.New(rand.NewSource(1))
			for i := 0; i < 60; i++ {
				name := fmt.Sprintf("br%d", rng.Intn(5))
				var ops []any
				switch rng.Intn(4) {
				case 0: // add a bridge with a port
					ops = []any{Insert("Bridge", "b", map[string]any{"name": name, "ports": NamedUUID("p"),
						"other_config": MapValue(map[string]string{"k": fmt.Sprint(i)})}),
						Insert("Port", "p", map[string]any{"name": name, "interfaces": NamedUUID("i"), "tag": rng.Intn(4095),
							"trunks": SetValue(rng.Intn(100), 100+rng.Intn(100))}),
						Insert("Interface", "i", map[string]any{"name": name}),
						Mutate("Open_vSwitch", All(), Mutation("bridges", "insert", SetValue(NamedUUID("b"))))}
				case 1: // delete a bridge by name (GC of its port)
					res, _ := w.Transact(ctx(t), "Open_vSwitch", Select("Bridge", []any{Cond("name", "==", name)}, "_uuid"))
					if len(res) == 1 && len(res[0].Rows) == 1 {
						v, _ := ovsdb.DecodeJSON(res[0].Rows[0]["_uuid"])
						ops = []any{Mutate("Open_vSwitch", All(), Mutation("bridges", "delete", v))}
					}
				case 2:
					ops = []any{Mutate("Open_vSwitch", All(), Mutation("next_cfg", "+=", 1)),
						Mutate("Open_vSwitch", All(), Mutation("other_config", "delete", SetValue("a"))),
						Mutate("Open_vSwitch", All(), Mutation("other_config", "insert", MapValue(map[string]string{"a": fmt.Sprint(i)})))}
				case 3:
					ops = []any{Mutate("Port", All(), Mutation("trunks", "insert", SetValue(rng.Intn(200))))}
				}
				if ops != nil {
					w.Transact(ctx(t), "Open_vSwitch", ops...) // may fail (duplicate name): fine
				}
				// The writer's reply came after the update: sync on an echo
				// from the replica's own client, which is queued after it.
				if err := rc.Echo(ctx(t)); err != nil {
					t.Fatal(err)
				}
				compareReplica(t, db, r)
			}
			// Every update reached the callback, in its own goroutine.
			deadline := time.Now().Add(5 * time.Second)
			for deltas.Load() < 2 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if deltas.Load() < 2 {
				t.Errorf("OnUpdate called %d times", deltas.Load())
			}
		})
	}
}

// refusing answers one monitor method with an error on the client side,
// to exercise the fallbacks (as the proxy did in fallback/F1, F2).
type refusing struct {
	net.Conn
	refuse string
}

func (r *refusing) Write(p []byte) (int, error) {
	// Rename the refused methods so that the real server answers
	// "unknown method", as an older ovsdb-server would.
	s := replaceMethod(string(p), "monitor_cond_since")
	if r.refuse == "monitor" {
		s = replaceMethod(s, "monitor_cond")
	}
	_, err := r.Conn.Write([]byte(s))
	return len(p), err
}

func replaceMethod(s, m string) string {
	return stringsReplace(s, `"method":"`+m+`"`, `"method":"x_`+m+`"`)
}

func compareReplica(t *testing.T, db *ovsdb.Database, r *Replica) {
	t.Helper()
	want := map[string]map[ovsdb.UUID]ovsdb.Row{}
	db.Read(func(v ovsdb.View) {
		for table, cols := range r.columns {
			want[table] = map[ovsdb.UUID]ovsdb.Row{}
			v.Rows(table, func(u ovsdb.UUID, fields []ovsdb.Datum) {
				row := ovsdb.Row{}
				for _, c := range cols {
					row[c.Name] = fields[c.Index]
				}
				want[table][u] = row
			})
		}
	})
	for table, rows := range want {
		got := r.Table(table)
		if len(got) != len(rows) {
			t.Fatalf("%s: replica has %d rows, server %d", table, len(got), len(rows))
		}
		for u, row := range rows {
			g := got[u]
			for col, d := range row {
				if !g[col].Equal(d) {
					t.Fatalf("%s %s %s: replica %v, server %v", table, u, col, g[col], d)
				}
			}
		}
	}
}

func TestLockAndNotifications(t *testing.T) {
	a, _, srv := newPair(t)
	p1, p2 := net.Pipe()
	go srv.ServeConn(p2)
	b := NewClient(p1)
	defer b.Close()
	got, err := a.Lock(ctx(t), "ovs_vswitchd")
	if err != nil || !got || !a.HasLock("ovs_vswitchd") {
		t.Fatalf("lock: %v %v", got, err)
	}
	changes := make(chan string, 4)
	b.OnLockChange(func(name string, locked bool) { changes <- fmt.Sprintf("%s %v", name, locked) })
	if got, err := b.Lock(ctx(t), "ovs_vswitchd"); err != nil || got {
		t.Fatalf("second lock: %v %v", got, err)
	}
	if _, err := a.Transact(ctx(t), "Open_vSwitch", Assert("ovs_vswitchd")); err != nil {
		t.Errorf("assert by owner: %v", err)
	}
	if _, err := b.Transact(ctx(t), "Open_vSwitch", Assert("ovs_vswitchd")); ovsdb.ErrorTag(err) != ovsdb.TagNotOwner {
		t.Errorf("assert by waiter: %v", err)
	}
	if err := a.Unlock(ctx(t), "ovs_vswitchd"); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-changes:
		if s != "ovs_vswitchd true" || !b.HasLock("ovs_vswitchd") {
			t.Errorf("notification %q, HasLock %v", s, b.HasLock("ovs_vswitchd"))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no locked notification")
	}
}

func TestDisconnectFailsPendingCalls(t *testing.T) {
	c, db, _ := newPair(t)
	if _, err := c.Transact(ctx(t), "Open_vSwitch", Insert("Open_vSwitch", "", map[string]any{})); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Transact(ctx(t), "Open_vSwitch", Wait("Open_vSwitch", All(), []string{"cur_cfg"}, "==", []map[string]any{{"cur_cfg": 5}}, -1))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	c.conn.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrDisconnected) {
			t.Errorf("pending call error = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pending call not failed")
	}
	if _, err := c.Transact(ctx(t), "Open_vSwitch", Comment("x")); !errors.Is(err, ErrDisconnected) {
		t.Errorf("call after disconnect = %v", err)
	}
	_ = db
}

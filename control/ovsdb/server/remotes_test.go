package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gvswitch/control/jsonrpc"
	"gvswitch/control/ovsdb"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Target
		err  error
	}{
		{"ptcp:6640", Target{Passive: true, Network: "tcp", Address: ":6640"}, nil},
		{"ptcp:0:127.0.0.1", Target{Passive: true, Network: "tcp", Address: "127.0.0.1:0"}, nil},
		{"ptcp:", Target{Passive: true, Network: "tcp", Address: ":6640"}, nil},
		{"ptcp:6641:[::1]", Target{Passive: true, Network: "tcp", Address: "[::1]:6641"}, nil},
		{"punix:/run/x.sock", Target{Passive: true, Network: "unix", Address: "/run/x.sock"}, nil},
		{"unix:db.sock", Target{Network: "unix", Address: "db.sock"}, nil},
		{"tcp:10.0.0.1:6641", Target{Network: "tcp", Address: "10.0.0.1:6641"}, nil},
		{"tcp:10.0.0.1", Target{Network: "tcp", Address: "10.0.0.1:6640"}, nil},
		{"tcp:[::1]:7000", Target{Network: "tcp", Address: "[::1]:7000"}, nil},
		{"tcp:[::1]", Target{Network: "tcp", Address: "[::1]:6640"}, nil},
		{"ssl:10.0.0.1:6640", Target{}, ErrNoSSL},
		{"pssl:6640", Target{}, ErrNoSSL},
		{"ptcp:abc", Target{}, ErrBadTarget},
		{"ptcp:99999", Target{}, ErrBadTarget},
		{"ptcp:6640:notanip", Target{}, ErrBadTarget},
		{"tcp:", Target{}, ErrBadTarget},
		{"tcp:1.2.3.4:0", Target{}, ErrBadTarget},
		{"tcp:1.2.3.4:x", Target{}, ErrBadTarget},
		{"tcp:::1", Target{}, ErrBadTarget},
		{"tcp:[::1", Target{}, ErrBadTarget},
		{"tcp:0]0", Target{}, ErrBadTarget},
		{"tcp:a b:1", Target{}, ErrBadTarget},
		{"tcp:ovsdb.example.com", Target{Network: "tcp", Address: "ovsdb.example.com:6640"}, nil},
		{"tcp:[::1]x", Target{}, ErrBadTarget},
		{"punix:", Target{}, ErrBadTarget},
		{"bogus:x", Target{}, ErrBadTarget},
		{"6640", Target{}, ErrBadTarget},
		{"", Target{}, ErrBadTarget},
	} {
		got, err := ParseTarget(tc.in)
		if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) || got != tc.want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"ptcp:6640:[::1]", "tcp:1.2.3.4:6640", "punix:/x", "ssl:a", "tcp:[::1]:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			return
		}
		if tg.Network == "tcp" {
			if _, _, err := net.SplitHostPort(tg.Address); err != nil {
				t.Errorf("ParseTarget(%q) address %q: %v", s, tg.Address, err)
			}
		}
	})
}

// managerEnv is a server whose remotes come from the Manager table, with
// a fast status refresh.
type managerEnv struct {
	t      *testing.T
	srv    *Server
	db     *ovsdb.Database
	rs     *Remotes
	rundir string
}

func newManagerEnv(t *testing.T, specs ...string) *managerEnv {
	t.Helper()
	srv, db := newTestServer(t)
	if len(specs) == 0 {
		specs = []string{ManagerRemotes}
	}
	rs, err := NewRemotes(srv, db, specs...)
	if err != nil {
		t.Fatal(err)
	}
	e := &managerEnv{t: t, srv: srv, db: db, rs: rs, rundir: t.TempDir()}
	rs.Rundir = e.rundir
	rs.StatusInterval = 50 * time.Millisecond
	e.transact(`[{"op":"insert","table":"Open_vSwitch","row":{}}]`)
	rs.Start()
	t.Cleanup(func() { rs.Close() })
	return e
}

func (e *managerEnv) transact(ops string) {
	e.t.Helper()
	res, err := e.db.TransactJSON(nilCtx(), []byte(ops), nil)
	if err != nil || containsError(res) {
		e.t.Fatalf("transact %s: %v %s", ops, err, res)
	}
}

// setManagers does what ovs-vsctl set-manager does: the Manager rows
// (target plus extra columns, JSON) replace manager_options.
func (e *managerEnv) setManagers(rows ...string) {
	e.t.Helper()
	var ops, refs []string
	for i, row := range rows {
		ops = append(ops, fmt.Sprintf(`{"op":"insert","table":"Manager","uuid-name":"m%d","row":%s}`, i, row))
		refs = append(refs, fmt.Sprintf(`["named-uuid","m%d"]`, i))
	}
	ops = append(ops, fmt.Sprintf(`{"op":"update","table":"Open_vSwitch","where":[],"row":{"manager_options":["set",[%s]]}}`, strings.Join(refs, ",")))
	e.transact("[" + strings.Join(ops, ",") + "]")
}

func managerRow(target string) string { return fmt.Sprintf(`{"target":%q}`, target) }

// status reads a Manager row's is_connected and status columns.
func (e *managerEnv) status(target string) (bool, map[string]string) {
	var connected bool
	var st map[string]string
	e.db.Read(func(v ovsdb.View) {
		ts := e.db.Schema().Table("Manager")
		v.Rows("Manager", func(_ ovsdb.UUID, f []ovsdb.Datum) {
			if f[ts.Column("target").Index].Strings()[0] == target {
				connected = f[ts.Column("is_connected").Index].Keys[0].(bool)
				st = f[ts.Column("status").Index].StringMap()
			}
		})
	})
	return connected, st
}

// waitStatus waits until the row's status satisfies ok.
func (e *managerEnv) waitStatus(target, what string, ok func(bool, map[string]string) bool) map[string]string {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, st := e.status(target)
		if ok(c, st) {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: status never showed %s: is_connected=%v status=%v", target, what, c, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// listDBs sends list_dbs on c and checks the answer.
func listDBs(t *testing.T, c net.Conn) {
	t.Helper()
	rpc := jsonrpc.NewConn(c)
	if err := rpc.Write(jsonrpc.NewRequest(7, "list_dbs", []any{})); err != nil {
		t.Fatalf("list_dbs: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	for {
		m, err := rpc.Read()
		if err != nil {
			t.Fatalf("list_dbs reply: %v", err)
		}
		if m.IsRequest() && m.Method == "echo" {
			continue // an inactivity probe
		}
		var dbs []string
		if string(m.ID) != "7" || json.Unmarshal(m.Result, &dbs) != nil || strings.Join(dbs, " ") != "Open_vSwitch _Server" {
			t.Fatalf("list_dbs reply: id %s result %s error %s", m.ID, m.Result, m.Error)
		}
		return
	}
}

func TestManagerRemotes(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	e := newManagerEnv(t)
	for _, tc := range []struct {
		name, target string
		// want checks the status once the remote is up (or has failed).
		want func(bool, map[string]string) bool
		// dial, when set, connects to the remote to check it serves.
		dial func(st map[string]string) (net.Conn, error)
	}{
		{
			name: "ptcp any port", target: "ptcp:0:127.0.0.1",
			want: func(_ bool, st map[string]string) bool { return st["bound_port"] != "" && st["bound_port"] != "0" },
			dial: func(st map[string]string) (net.Conn, error) {
				return net.Dial("tcp", "127.0.0.1:"+st["bound_port"])
			},
		},
		{
			name: "punix relative to the run directory", target: "punix:mgr.sock",
			want: func(c bool, st map[string]string) bool {
				return !c && st["sec_since_connect"] == "0" && st["bound_port"] == "" && st["last_error"] == ""
			},
			dial: func(map[string]string) (net.Conn, error) {
				return net.Dial("unix", filepath.Join(e.rundir, "mgr.sock"))
			},
		},
		{
			name: "port in use", target: fmt.Sprintf("ptcp:%d:127.0.0.1", busyPort),
			want: func(c bool, st map[string]string) bool { return !c && st["last_error"] == "Address already in use" },
		},
		{
			name: "ssl", target: "ssl:127.0.0.1:6640",
			want: func(c bool, st map[string]string) bool {
				return !c && strings.Contains(st["last_error"], "SSL is not supported")
			},
		},
		{
			name: "pssl", target: "pssl:0",
			want: func(c bool, st map[string]string) bool {
				return !c && strings.Contains(st["last_error"], "SSL is not supported")
			},
		},
		{
			name: "unknown method", target: "bogus:x",
			want: func(c bool, st map[string]string) bool {
				return !c && strings.Contains(st["last_error"], "unknown connection method")
			},
		},
		{
			name: "bad port", target: "ptcp:99999",
			want: func(c bool, st map[string]string) bool {
				return !c && strings.Contains(st["last_error"], `bad port number "99999"`)
			},
		},
		{
			name: "refused", target: fmt.Sprintf("tcp:127.0.0.1:%d", freePort(t)),
			want: func(c bool, st map[string]string) bool {
				return !c && st["state"] == "BACKOFF" && st["last_error"] == "Connection refused"
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.setManagers(managerRow(tc.target))
			st := e.waitStatus(tc.target, tc.name, tc.want)
			if tc.dial != nil {
				c, err := tc.dial(st)
				if err != nil {
					t.Fatalf("dial %s: %v", tc.target, err)
				}
				listDBs(t, c)
				e.waitStatus(tc.target, "is_connected", func(c bool, _ map[string]string) bool { return c })
				c.Close()
				e.waitStatus(tc.target, "not connected", func(c bool, _ map[string]string) bool { return !c })
			}
			// The server still serves whatever happened.
			listDBs(t, dialPipe(t, e.srv).c)
		})
	}
}

// freePort returns a TCP port nobody listens on (for a moment).
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestPortInUseIsRetried(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := busy.Addr().(*net.TCPAddr).Port
	target := fmt.Sprintf("ptcp:%d:127.0.0.1", port)
	e := newManagerEnv(t)
	e.setManagers(managerRow(target))
	e.waitStatus(target, "the bind error", func(_ bool, st map[string]string) bool { return st["last_error"] == "Address already in use" })
	busy.Close()
	st := e.waitStatus(target, "listening", func(_ bool, st map[string]string) bool { return st["last_error"] == "" })
	if st["bound_port"] != strconv.Itoa(port) {
		t.Fatalf("bound_port %q, want %d", st["bound_port"], port)
	}
	c, err := net.Dial("tcp", busy.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	listDBs(t, c)
}

func TestDelManagerClosesRemotes(t *testing.T) {
	e := newManagerEnv(t)
	e.setManagers(managerRow("ptcp:0:127.0.0.1"), managerRow("punix:del.sock"))
	st := e.waitStatus("ptcp:0:127.0.0.1", "bound_port", func(_ bool, st map[string]string) bool { return st["bound_port"] != "" })
	addr := "127.0.0.1:" + st["bound_port"]
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	listDBs(t, c)
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	listDBs(t, c2)
	e.waitStatus("ptcp:0:127.0.0.1", "two connections", func(conn bool, st map[string]string) bool {
		return conn && st["n_connections"] == "2"
	})
	sock := filepath.Join(e.rundir, "del.sock")
	if _, err := os.Stat(sock); err != nil {
		t.Fatal(err)
	}
	e.transact(`[{"op":"update","table":"Open_vSwitch","where":[],"row":{"manager_options":["set",[]]}}]`)
	// The open connection is closed and the port no longer accepts.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after del-manager")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c2, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c2.Close()
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts after del-manager", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		if _, err := os.Stat(sock); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("punix socket %s left behind after del-manager", sock)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ts := e.rs.Targets(); len(ts) != 0 {
		t.Errorf("remotes left: %q", ts)
	}
}

// acceptOne waits for the server to connect to l.
func acceptOne(t *testing.T, l net.Listener) net.Conn {
	t.Helper()
	l.(interface{ SetDeadline(time.Time) error }).SetDeadline(time.Now().Add(10 * time.Second))
	c, err := l.Accept()
	if err != nil {
		t.Fatalf("the server did not connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestActiveManager(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		network, addr string
		target        func(net.Listener) string
	}{
		{"tcp", "127.0.0.1:0", func(l net.Listener) string { return "tcp:" + l.Addr().String() }},
		{"unix", filepath.Join(dir, "manager.sock"), func(net.Listener) string { return "unix:manager.sock" }},
	} {
		t.Run(tc.network, func(t *testing.T) {
			l, err := net.Listen(tc.network, tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			target := tc.target(l)
			e := newManagerEnv(t)
			e.rs.Rundir = dir // relative unix: paths
			e.setManagers(managerRow(target))
			c := acceptOne(t, l)
			listDBs(t, c)
			st := e.waitStatus(target, "ACTIVE", func(c bool, st map[string]string) bool { return c && st["state"] == "ACTIVE" })
			if _, ok := st["sec_since_connect"]; !ok {
				t.Errorf("no sec_since_connect: %v", st)
			}
			if _, ok := st["sec_since_disconnect"]; ok {
				t.Errorf("sec_since_disconnect before any disconnection: %v", st)
			}
			// The manager's locks show in the status.
			rpc := jsonrpc.NewConn(c)
			if err := rpc.Write(jsonrpc.NewRequest(8, "lock", []any{"mgr_lock"})); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if m, err := rpc.Read(); err != nil || string(m.Result) != `{"locked":true}` {
				t.Fatalf("lock: %v %+v", err, m)
			}
			e.waitStatus(target, "locks_held", func(_ bool, st map[string]string) bool { return st["locks_held"] == "mgr_lock" })
			// The manager goes away: the server reconnects after a back-off.
			c.Close()
			start := time.Now()
			c2 := acceptOne(t, l)
			if d := time.Since(start); d < 500*time.Millisecond || d > 5*time.Second {
				t.Errorf("reconnected after %v, want about 1 s", d)
			}
			listDBs(t, c2)
			e.waitStatus(target, "sec_since_disconnect", func(c bool, st map[string]string) bool {
				return c && st["sec_since_disconnect"] != ""
			})
		})
	}
}

// TestMaxBackoff: a manager that hangs up at once is called again after
// 1, 2, 4... seconds, never more than max_backoff apart.
func TestMaxBackoff(t *testing.T) {
	for _, tc := range []struct {
		row      string
		min, max int // connections in 4.5 s
	}{
		{`"max_backoff":1000`, 5, 6},       // 0, 1, 2, 3, 4 s
		{`"max_backoff":["set",[]]`, 3, 3}, // default 8 s: 0, 1, 3 s
	} {
		t.Run(tc.row, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			target := "tcp:" + l.Addr().String()
			e := newManagerEnv(t)
			e.setManagers(fmt.Sprintf(`{"target":%q,%s}`, target, tc.row))
			n := 0
			deadline := time.Now().Add(4500 * time.Millisecond)
			l.(*net.TCPListener).SetDeadline(deadline)
			for {
				c, err := l.Accept()
				if err != nil {
					break
				}
				n++
				c.Close()
			}
			if n < tc.min || n > tc.max {
				t.Errorf("%d connections in 4.5 s, want %d to %d", n, tc.min, tc.max)
			}
		})
	}
}

func TestInactivityProbe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	target := "tcp:" + l.Addr().String()
	e := newManagerEnv(t)
	e.setManagers(fmt.Sprintf(`{"target":%q,"inactivity_probe":1000}`, target))
	for _, tc := range []struct {
		name   string
		answer bool
	}{
		{"answered probes keep the connection", true},
		{"a silent peer is dropped", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := acceptOne(t, l)
			rpc := jsonrpc.NewConn(c)
			start := time.Now()
			probes := 0
			for time.Since(start) < 3500*time.Millisecond {
				c.SetReadDeadline(time.Now().Add(3 * time.Second))
				m, err := rpc.Read()
				if err != nil {
					if tc.answer {
						t.Fatalf("dropped after %v although probes were answered: %v", time.Since(start), err)
					}
					if d := time.Since(start); probes != 1 || d < 1500*time.Millisecond || d > 3500*time.Millisecond {
						t.Fatalf("dropped after %v and %d probes, want one probe and about 2 s", d, probes)
					}
					return
				}
				if !m.IsRequest() || m.Method != "echo" {
					t.Fatalf("unexpected message %+v", m)
				}
				probes++
				if tc.answer {
					rpc.Write(jsonrpc.NewResult(m.ID, []any{}))
				}
			}
			if !tc.answer {
				t.Fatal("a peer that never answers was not dropped")
			}
			if probes < 2 {
				t.Errorf("%d probes in 3.5 s with inactivity_probe=1000", probes)
			}
			c.Close()
		})
	}
}

func TestStaticRemotes(t *testing.T) {
	dir := t.TempDir()
	e := newManagerEnv(t, "punix:"+filepath.Join(dir, "a.sock"), ManagerRemotes)
	c, err := net.Dial("unix", filepath.Join(dir, "a.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	listDBs(t, c)
	// The Manager table is read as well.
	e.setManagers(managerRow("punix:b.sock"))
	e.waitStatus("punix:b.sock", "listening", func(_ bool, st map[string]string) bool { return st["sec_since_connect"] == "0" })
	if got := strings.Join(e.rs.Targets(), " "); got != "punix:"+filepath.Join(dir, "a.sock")+" punix:b.sock" {
		t.Errorf("targets %q", got)
	}

	srv, db := newTestServer(t)
	for _, bad := range []string{
		"db:Nope,Open_vSwitch,manager_options",
		"db:Open_vSwitch,Nope,manager_options",
		"db:Open_vSwitch,Open_vSwitch,nope",
		"db:Open_vSwitch,Open_vSwitch,other_config",
		"db:Open_vSwitch,Open_vSwitch,cur_cfg",
		"db:Open_vSwitch,Open_vSwitch",
		"ptcp:x",
		"ssl:127.0.0.1:6640",
		"nonsense",
	} {
		if _, err := NewRemotes(srv, db, bad); err == nil {
			t.Errorf("NewRemotes(%q) accepted", bad)
		}
	}
}

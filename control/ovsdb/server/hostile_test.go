package server

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gvswitch/control/jsonrpc"
)

// listen serves srv on a unix socket and returns a dial function.
func listen(t testing.TB, srv *Server) func() net.Conn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "db.sock")
	l, err := ListenUnix(path, 0o750)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	return func() net.Conn {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
}

func healthy(t testing.TB, dial func() net.Conn) {
	t.Helper()
	c := dial()
	defer c.Close()
	rc := &rawClient{t: t, c: c, rpc: jsonrpc.NewConn(c)}
	if got := rc.call(`{"id":1,"method":"echo","params":["ok"]}`); got != `{"id":1,"result":["ok"],"error":null}` {
		t.Fatalf("server unhealthy: %s", got)
	}
}

// expectDropped checks that the server closed the connection.
func expectDropped(t testing.TB, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("connection was not dropped")
			}
			return
		}
	}
}

func TestMalformedInputDropsOnlyThatClient(t *testing.T) {
	srv, db := newTestServer(t)
	dial := listen(t, srv)
	bystander := dial()
	brc := &rawClient{t: t, c: bystander, rpc: jsonrpc.NewConn(bystander)}
	brc.call(`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"Open_vSwitch","row":{}}]}`)
	for _, bad := range []string{
		`{"id":1,"method":}`,
		`[1,2,3]`,
		`hello`,
		`{"id":1,"method":3,"params":[]}`,
		`{"id":1,"method":"echo","params":["torn`,
		`{"id":1}`,
	} {
		c := dial()
		c.Write([]byte(bad))
		if strings.HasSuffix(bad, "]") || strings.HasSuffix(bad, "}") || bad == "hello" {
			expectDropped(t, c)
		} else {
			c.Close() // torn message, then hang up
		}
	}
	// Invalid UTF-8 inside a string is not a framing error: it is
	// replaced (encoding/json), and the server answers.
	u := &rawClient{t: t}
	u.c = dial()
	u.rpc = jsonrpc.NewConn(u.c)
	if got := u.call("{\"id\":1,\"method\":\"echo\",\"params\":[\"\xff\xfe\"]}"); !strings.HasPrefix(got, `{"id":1,"result":[`) {
		t.Errorf("invalid UTF-8 echo: %q", got)
	}
	// Requests whose params are wrong get error replies, not drops.
	rc := &rawClient{t: t}
	rc.c = dial()
	rc.rpc = jsonrpc.NewConn(rc.c)
	for _, req := range []string{
		`{"id":1,"method":"transact","params":"x"}`,
		`{"id":2,"method":"transact","params":[5]}`,
		`{"id":3,"method":"monitor","params":["Open_vSwitch"]}`,
		`{"id":4,"method":"monitor_cond","params":["Open_vSwitch","m",{"NoTable":[{}]}]}`,
		`{"id":5,"method":"monitor_cond","params":["Open_vSwitch","m",{"Bridge":[{"columns":["nocol"]}]}]}`,
		`{"id":6,"method":"lock","params":[]}`,
		`{"id":7,"method":"unlock","params":["x"]}`,
		`{"id":8,"method":"monitor_cancel","params":["nosuch"]}`,
		`{"id":9,"method":"get_schema","params":[]}`,
	} {
		if got := rc.call(req); !strings.Contains(got, `"error":{`) || strings.Contains(got, `"result"`) {
			t.Errorf("%s -> %s", req, got)
		}
	}
	for _, req := range []string{
		`{"id":10,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"Bridge","row":{"name":1}}]}`,
		`{"id":11,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"NoTable","row":{}}]}`,
		`{"id":12,"method":"transact","params":["Open_vSwitch",{"op":"select","table":"Bridge","where":[["nocol","==",1]]}]}`,
		`{"id":13,"method":"transact","params":["Open_vSwitch",{"op":"mutate","table":"Bridge","where":[],"mutations":[["name","+=",1]]}]}`,
		`{"id":14,"method":"transact","params":["Open_vSwitch",{"op":"update","table":"Open_vSwitch","where":[],"row":{"bridges":["uuid","nope"]}}]}`,
		`{"id":15,"method":"transact","params":["Open_vSwitch",{"op":"select","table":"Bridge","where":[["name","<",1]]}]}`,
	} {
		if got := rc.call(req); !strings.Contains(got, `"result":[{"`) || !strings.Contains(got, `"error":"`) {
			t.Errorf("%s -> %s", req, got)
		}
	}
	if got := brc.call(`{"id":2,"method":"echo","params":[]}`); got != `{"id":2,"result":[],"error":null}` {
		t.Errorf("bystander: %s", got)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	healthy(t, dial)
}

func TestHugeRequestIsRefused(t *testing.T) {
	srv, _ := newTestServer(t)
	dial := listen(t, srv)
	c := dial()
	go func() {
		// A 64 MiB request: the server must stop reading at the limit.
		c.Write([]byte(`{"id":1,"method":"echo","params":["`))
		chunk := []byte(strings.Repeat("a", 1<<20))
		for i := 0; i < 64; i++ {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
		c.Write([]byte(`"]}`))
	}()
	expectDropped(t, c)
	healthy(t, dial)
}

func TestSlowClientIsDroppedAlone(t *testing.T) {
	srv, db := newTestServer(t)
	srv.QueueLimit = 8
	dial := listen(t, srv)
	slow := dial()
	// Monitor everything, then never read.
	slow.Write([]byte(`{"id":1,"method":"monitor_cond","params":["Open_vSwitch","m",{"Open_vSwitch":[{}]}]}`))
	w := dial()
	wrc := &rawClient{t: t, c: w, rpc: jsonrpc.NewConn(w)}
	wrc.call(`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"Open_vSwitch","row":{}}]}`)
	big := strings.Repeat("x", 16<<10)
	start := time.Now()
	for i := 0; i < 200; i++ {
		got := wrc.call(fmt.Sprintf(`{"id":%d,"method":"transact","params":["Open_vSwitch",{"op":"update","table":"Open_vSwitch","where":[],"row":{"external_ids":["map",[["k","%s%d"]]]}}]}`, i+2, big, i))
		if !strings.Contains(got, `"result":[{"count":1}]`) {
			t.Fatalf("commit %d: %.200s", i, got)
		}
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("commits took %v with a stalled monitor", d)
	}
	expectDropped(t, slow)
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestDisconnectMidTransaction(t *testing.T) {
	srv, db := newTestServer(t)
	dial := listen(t, srv)
	c0 := dial()
	rc := &rawClient{t: t, c: c0, rpc: jsonrpc.NewConn(c0)}
	rc.call(`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"Open_vSwitch","row":{}}]}`)
	for i := 0; i < 50; i++ {
		c := dial()
		// Half a transaction, then hang up.
		req := fmt.Sprintf(`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":"half%d"}},{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["bridges","insert",["named-uuid","b"]]]}]}`, i)
		c.Write([]byte(req[:len(req)/2]))
		c.Close()
		// A whole transaction, then hang up before the reply.
		c = dial()
		c.Write([]byte(strings.Replace(req, "half", "whole", 1)))
		c.Close()
		// A blocking wait, then hang up.
		c = dial()
		c.Write([]byte(`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"wait","table":"Open_vSwitch","where":[],"columns":["cur_cfg"],"until":"==","rows":[{"cur_cfg":99}]}]}`))
		c.Close()
	}
	healthy(t, dial)
	res := rc.call(`{"id":2,"method":"transact","params":["Open_vSwitch",{"op":"select","table":"Bridge","where":[["name","includes","half0"]],"columns":["name"]}]}`)
	if res != `{"id":2,"result":[{"rows":[]}],"error":null}` {
		t.Errorf("a torn transaction was applied: %s", res)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestManyConcurrentClients(t *testing.T) {
	srv, db := newTestServer(t)
	dial := listen(t, srv)
	c0 := dial()
	rc := &rawClient{t: t, c: c0, rpc: jsonrpc.NewConn(c0)}
	rc.call(`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"Open_vSwitch","row":{}}]}`)
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := dial()
			rpc := jsonrpc.NewConn(c)
			send := func(s string) (*jsonrpc.Message, error) {
				if _, err := c.Write([]byte(s)); err != nil {
					return nil, err
				}
				for {
					c.SetReadDeadline(time.Now().Add(30 * time.Second))
					m, err := rpc.Read()
					if err != nil || m.IsReply() {
						return m, err
					}
				}
			}
			if _, err := send(`{"id":1,"method":"monitor_cond","params":["Open_vSwitch","m",{"Bridge":[{"columns":["name"]}]}]}`); err != nil {
				errs <- err
				return
			}
			m, err := send(fmt.Sprintf(`{"id":2,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":"br%d"}},{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["bridges","insert",["named-uuid","b"]]]}]}`, i))
			if err != nil {
				errs <- err
				return
			}
			if !strings.Contains(string(m.Result), `{"count":1}`) {
				errs <- fmt.Errorf("client %d: %s", i, m.Result)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	res := rc.call(`{"id":2,"method":"transact","params":["Open_vSwitch",{"op":"select","table":"Open_vSwitch","where":[],"columns":["bridges"]}]}`)
	if strings.Count(res, `["uuid",`) != n {
		t.Errorf("Open_vSwitch.bridges has %d bridges, want %d", strings.Count(res, `["uuid",`), n)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

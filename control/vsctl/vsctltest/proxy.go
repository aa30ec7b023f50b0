package vsctltest

import (
	"encoding/json"
	"net"
	"path/filepath"
	"sync"
	"testing"

	"gvswitch/control/jsonrpc"
)

// Record is one message seen by a Proxy.
type Record struct {
	Conn     int  // connection number, from 1
	ToServer bool // client -> server
	Msg      *jsonrpc.Message
	Injected bool // answered by the proxy, not the server
}

// Proxy sits between OVSDB clients and a Server, recording every message
// and optionally answering or delaying client requests itself, to observe
// and test a client's protocol behaviour (PROTOCOL.md sections 2-5).
type Proxy struct {
	Sock string

	mu      sync.Mutex
	answer  func(conn int, m *jsonrpc.Message) *jsonrpc.Message
	before  func(conn int, m *jsonrpc.Message)
	records []Record
	nconn   int
}

// DB returns the --db argument that reaches the proxy.
func (p *Proxy) DB() string { return "unix:" + p.Sock }

// Records returns a copy of what has been seen so far.
func (p *Proxy) Records() []Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Record(nil), p.records...)
}

// SetAnswer installs fn to see each client request first; a non-nil reply
// is sent to the client instead of forwarding the request.
func (p *Proxy) SetAnswer(fn func(conn int, m *jsonrpc.Message) *jsonrpc.Message) {
	p.mu.Lock()
	p.answer = fn
	p.mu.Unlock()
}

// SetBefore installs fn to run before each client request is forwarded.
func (p *Proxy) SetBefore(fn func(conn int, m *jsonrpc.Message)) {
	p.mu.Lock()
	p.before = fn
	p.mu.Unlock()
}

func (p *Proxy) hooks() (func(int, *jsonrpc.Message) *jsonrpc.Message, func(int, *jsonrpc.Message)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.answer, p.before
}

// Reset forgets the records.
func (p *Proxy) Reset() {
	p.mu.Lock()
	p.records = nil
	p.mu.Unlock()
}

func (p *Proxy) record(r Record) {
	p.mu.Lock()
	p.records = append(p.records, r)
	p.mu.Unlock()
}

// StartProxy listens on a new socket in s's directory and forwards to s.
func StartProxy(t testing.TB, s *Server) *Proxy {
	t.Helper()
	p := &Proxy{Sock: filepath.Join(s.Dir, "proxy.sock")}
	l, err := net.Listen("unix", p.Sock)
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.nconn++
			n := p.nconn
			p.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.serve(n, c, s.Sock)
			}()
		}
	}()
	return p
}

func (p *Proxy) serve(n int, c net.Conn, server string) {
	defer c.Close()
	sc, err := net.Dial("unix", server)
	if err != nil {
		return
	}
	defer sc.Close()
	client, srv := jsonrpc.NewConn(c), jsonrpc.NewConn(sc)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := srv.Read()
			if err != nil {
				c.Close()
				return
			}
			p.record(Record{Conn: n, Msg: m})
			if client.Write(m) != nil {
				return
			}
		}
	}()
	for {
		m, err := client.Read()
		if err != nil {
			sc.Close()
			break
		}
		p.record(Record{Conn: n, ToServer: true, Msg: m})
		answer, before := p.hooks()
		if answer != nil {
			if r := answer(n, m); r != nil {
				p.record(Record{Conn: n, Msg: r, Injected: true})
				if client.Write(r) != nil {
					break
				}
				continue
			}
		}
		if before != nil {
			before(n, m)
		}
		if srv.Write(m) != nil {
			break
		}
	}
	<-done
}

// ErrorReply returns the reply ovsdb-server gives to an unknown method.
func ErrorReply(req *jsonrpc.Message) *jsonrpc.Message {
	return &jsonrpc.Message{ID: req.ID, Error: json.RawMessage(`"unknown method"`)}
}

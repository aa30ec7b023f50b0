package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"gvswitch/control/jsonrpc"
	"gvswitch/control/ovsdb"
)

var (
	// ErrDisconnected is returned for calls on, or pending on, a client
	// whose connection has closed.
	ErrDisconnected = errors.New("ovsdb client: disconnected")
	// ErrBadTarget is returned by Dial for a target it cannot parse.
	ErrBadTarget = errors.New("ovsdb client: bad target")
)

// RPCError is a JSON-RPC error reply ({"id":N,"error":E}). Reply is E as
// received: a string such as "unknown method", or an OVSDB error object.
type RPCError struct {
	Method string
	Reply  json.RawMessage // the "error" member as received
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("ovsdb client: %s: %s", e.Method, e.Reply)
}

// Tag returns the error string, or the "error" member of an error object.
func (e *RPCError) Tag() string {
	var s string
	if json.Unmarshal(e.Reply, &s) == nil {
		return s
	}
	var oe ovsdb.Error
	if json.Unmarshal(e.Reply, &oe) == nil {
		return oe.Tag
	}
	return ""
}

// Client is a connection to an OVSDB server. All methods are safe for
// concurrent use.
type Client struct {
	conn net.Conn
	rpc  *jsonrpc.Conn

	mu       sync.Mutex
	nextID   int64
	pending  map[string]*call
	monitors map[string]*Replica // by monitor id JSON text
	locks    map[string]bool
	lockCB   func(name string, locked bool)
	err      error
	done     chan struct{}
}

type call struct {
	method  string
	ch      chan *jsonrpc.Message
	onReply func(*jsonrpc.Message) // runs in the reader goroutine
}

// DialOption configures Dial.
type DialOption func(*dialConfig)

type dialConfig struct{ rundir string }

// Rundir makes a relative "unix:NAME" target resolve to DIR/NAME, as
// ovs-vsctl resolves it against $OVS_RUNDIR.
func Rundir(dir string) DialOption { return func(c *dialConfig) { c.rundir = dir } }

// Dial connects to target: "unix:PATH" or "tcp:HOST:PORT".
func Dial(ctx context.Context, target string, opts ...DialOption) (*Client, error) {
	var cfg dialConfig
	for _, o := range opts {
		o(&cfg)
	}
	network, addr, ok := strings.Cut(target, ":")
	if !ok || addr == "" {
		return nil, fmt.Errorf("%w %q", ErrBadTarget, target)
	}
	switch network {
	case "unix":
		if !filepath.IsAbs(addr) && cfg.rundir != "" {
			addr = filepath.Join(cfg.rundir, addr)
		}
	case "tcp":
	default:
		return nil, fmt.Errorf("%w %q (want unix:PATH or tcp:HOST:PORT)", ErrBadTarget, target)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("ovsdb client: %w", err)
	}
	return NewClient(c), nil
}

// NewClient returns a client on an established connection (e.g. one end
// of net.Pipe served by server.ServeConn).
func NewClient(c net.Conn) *Client {
	cl := &Client{conn: c, rpc: jsonrpc.NewConn(c), pending: map[string]*call{},
		monitors: map[string]*Replica{}, locks: map[string]bool{}, done: make(chan struct{})}
	go cl.readLoop()
	return cl
}

// Close closes the connection; pending calls fail with ErrDisconnected.
func (c *Client) Close() error {
	err := c.rpc.Close()
	<-c.done
	return err
}

// Done is closed when the connection is gone.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended (nil while it is up).
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *Client) readLoop() {
	var err error
	for {
		var m *jsonrpc.Message
		m, err = c.rpc.Read()
		if err != nil {
			break
		}
		switch {
		case m.IsReply():
			c.mu.Lock()
			cl := c.pending[string(m.ID)]
			delete(c.pending, string(m.ID))
			c.mu.Unlock()
			if cl != nil {
				if cl.onReply != nil {
					cl.onReply(m)
				}
				cl.ch <- m
			}
		case m.IsRequest() && m.Method == "echo":
			c.rpc.Write(jsonrpc.NewResult(m.ID, m.Params))
		case m.IsRequest():
			c.rpc.Write(jsonrpc.NewError(m.ID, "unknown method"))
		default:
			c.notification(m)
		}
	}
	c.mu.Lock()
	c.err = fmt.Errorf("%w: %v", ErrDisconnected, err)
	pend := c.pending
	c.pending = map[string]*call{}
	mons := c.monitors
	c.mu.Unlock()
	for _, cl := range pend {
		close(cl.ch)
	}
	for _, r := range mons {
		r.disconnected()
	}
	c.rpc.Close()
	close(c.done)
}

func (c *Client) notification(m *jsonrpc.Message) {
	var p []json.RawMessage
	if json.Unmarshal(m.Params, &p) != nil || len(p) == 0 {
		return
	}
	switch m.Method {
	case "update", "update2", "update3":
		c.mu.Lock()
		r := c.monitors[compactJSON(p[0])]
		c.mu.Unlock()
		if r != nil {
			r.notify(m.Method, p)
		}
	case "locked", "stolen":
		var name string
		if json.Unmarshal(p[0], &name) != nil {
			return
		}
		locked := m.Method == "locked"
		c.mu.Lock()
		if _, waiting := c.locks[name]; waiting {
			c.locks[name] = locked
		}
		cb := c.lockCB
		c.mu.Unlock()
		if cb != nil {
			cb(name, locked)
		}
	}
}

func compactJSON(r json.RawMessage) string {
	var v any
	if json.Unmarshal(r, &v) != nil {
		return string(r)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Call sends a request and waits for its reply. result, if not nil,
// receives the decoded result. An error reply is an *RPCError.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	m, err := c.call(ctx, method, params, nil)
	if err != nil {
		return err
	}
	if result != nil {
		if err := json.Unmarshal(m.Result, result); err != nil {
			return fmt.Errorf("ovsdb client: %s: decoding result: %w", method, err)
		}
	}
	return nil
}

func (c *Client) call(ctx context.Context, method string, params any, onReply func(*jsonrpc.Message)) (*jsonrpc.Message, error) {
	if params == nil {
		params = []any{}
	}
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	c.nextID++
	id := strconv.FormatInt(c.nextID, 10)
	cl := &call{method: method, ch: make(chan *jsonrpc.Message, 1), onReply: onReply}
	c.pending[id] = cl
	c.mu.Unlock()
	if err := c.rpc.Write(jsonrpc.NewRequest(json.RawMessage(id), method, params)); err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return nil, fmt.Errorf("ovsdb client: %s: %w", method, err)
	}
	select {
	case m, ok := <-cl.ch:
		if !ok {
			return nil, c.Err()
		}
		if m.IsError() {
			return nil, &RPCError{Method: method, Reply: m.Error}
		}
		return m, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		if method == "transact" {
			// RFC 7047 4.1.4: tell the server to give up too.
			c.rpc.Write(jsonrpc.NewNotification("cancel", []json.RawMessage{json.RawMessage(id)}))
		}
		return nil, ctx.Err()
	}
}

// ListDBs returns the names of the server's databases.
func (c *Client) ListDBs(ctx context.Context) ([]string, error) {
	var names []string
	err := c.Call(ctx, "list_dbs", []any{}, &names)
	return names, err
}

// GetSchema fetches and parses a database's schema.
func (c *Client) GetSchema(ctx context.Context, db string) (*ovsdb.Schema, error) {
	var raw json.RawMessage
	if err := c.Call(ctx, "get_schema", []any{db}, &raw); err != nil {
		return nil, err
	}
	return ovsdb.ParseSchema(raw)
}

// Echo sends an echo request and checks the reply.
func (c *Client) Echo(ctx context.Context) error {
	var out []string
	if err := c.Call(ctx, "echo", []any{"ping"}, &out); err != nil {
		return err
	}
	if len(out) != 1 || out[0] != "ping" {
		return fmt.Errorf("ovsdb client: echo returned %v", out)
	}
	return nil
}

package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"sync"

	"gvswitch/control/ovsdb"
)

// Server serves a set of databases plus _Server. Its zero value is not
// usable; call New.
type Server struct {
	dbs      map[string]*ovsdb.Database
	serverDB *ovsdb.Database
	id       ovsdb.UUID

	// Log receives connection-level events (dropped clients, bad input).
	// Set it before serving; nil discards them.
	Log func(format string, args ...any)
	// QueueLimit is the number of messages a client may have waiting to
	// be written before it is disconnected. Default 1000.
	QueueLimit int

	mu        sync.Mutex
	listeners map[net.Listener]bool
	sessions  map[*session]bool
	closed    bool
	wg        sync.WaitGroup

	locks locks
}

// New returns a server for the given databases (each under its schema's
// name).
func New(dbs ...*ovsdb.Database) *Server {
	s := &Server{dbs: map[string]*ovsdb.Database{}, id: ovsdb.NewUUID(),
		listeners: map[net.Listener]bool{}, sessions: map[*session]bool{}}
	s.locks.m = map[string]*lock{}
	for _, db := range dbs {
		s.dbs[db.Schema().Name] = db
	}
	s.serverDB = newServerDB(dbs)
	return s
}

// newServerDB builds the _Server database: one Database row per served
// database (and one for _Server itself), as a standalone ovsdb-server has.
func newServerDB(dbs []*ovsdb.Database) *ovsdb.Database {
	ss, err := ovsdb.ParseSchema(ovsdb.ServerSchemaJSON())
	if err != nil {
		panic("server: embedded _Server schema: " + err.Error()) // a build defect
	}
	sdb := ovsdb.NewDatabase(ss)
	ops := []any{}
	add := func(name, schema string) {
		ops = append(ops, map[string]any{"op": "insert", "table": "Database", "row": map[string]any{
			"name": name, "model": "standalone", "connected": true, "leader": true, "schema": schema}})
	}
	add("_Server", ss.Compact())
	for _, db := range dbs {
		add(db.Schema().Name, db.Schema().Compact())
	}
	raw, _ := json.Marshal(ops)
	if res, err := sdb.TransactJSON(nilCtx(), raw, nil); err != nil || json.Valid(res) && containsError(res) {
		panic(fmt.Sprintf("server: building _Server: %v %s", err, res))
	}
	return sdb
}

func containsError(res json.RawMessage) bool {
	var rs []map[string]any
	json.Unmarshal(res, &rs)
	for _, r := range rs {
		if r == nil || r["error"] != nil {
			return true
		}
	}
	return false
}

// ID returns the server's UUID (get_server_id).
func (s *Server) ID() ovsdb.UUID { return s.id }

func (s *Server) logf(format string, args ...any) {
	if s.Log != nil {
		s.Log(format, args...)
	}
}

func (s *Server) db(name string) *ovsdb.Database {
	if name == "_Server" {
		return s.serverDB
	}
	return s.dbs[name]
}

func (s *Server) dbNames() []string {
	names := []string{"_Server"}
	for n := range s.dbs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ListenUnix listens on a unix socket at path, replacing a stale socket
// file, and sets the socket's permission bits to mode.
func ListenUnix(path string, mode os.FileMode) (net.Listener, error) {
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSocket != 0 {
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("server: %s is in use by another server", path)
		}
		os.Remove(path)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("server: listen %s: %w", path, err)
	}
	if err := os.Chmod(path, mode); err != nil {
		l.Close()
		return nil, fmt.Errorf("server: chmod %s: %w", path, err)
	}
	return l, nil
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("server: closed")

// Serve accepts connections on l until Close or an accept error.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[l] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("server: accept: %w", err)
		}
		go s.ServeConn(c)
	}
}

// ServeConn serves one client connection (a unix socket, or one end of
// net.Pipe for in-process use) until it closes. It returns at once when
// the server is closed.
func (s *Server) ServeConn(c net.Conn) {
	sess := newSession(s, c)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return
	}
	s.sessions[sess] = true
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	sess.run()
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
}

// Close stops all listeners and disconnects every client, and waits for
// their goroutines to finish.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	for sess := range s.sessions {
		sess.conn.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// rpcError is the body of a JSON-RPC error reply in ovsdb-server's shape.
func rpcError(tag, details string, params json.RawMessage) json.RawMessage {
	e := &ovsdb.Error{Tag: tag, Details: details, Syntax: compact(params)}
	b, _ := e.MarshalJSON()
	return b
}

func compact(r json.RawMessage) string {
	var v any
	if json.Unmarshal(r, &v) != nil {
		return string(r)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

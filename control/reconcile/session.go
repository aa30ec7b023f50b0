package reconcile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"gvswitch/control/jsonrpc"
	"gvswitch/control/ovsdb"
)

// Errors of the database session.
var (
	// ErrClosed: the session's connection is gone.
	ErrClosed = errors.New("reconcile: database connection closed")
	// ErrTxn: the server refused a transaction (wrapped with its error).
	ErrTxn = errors.New("reconcile: transaction failed")
)

// LockName is the OVSDB lock ovs-vswitchd holds; holding it makes sure
// only one switch daemon drives a database.
const LockName = "ovs_vswitchd"

// Tables the daemon monitors (all columns of each).
var monitoredTables = []string{"Open_vSwitch", "Bridge", "Port", "Interface", "Controller"}

// replica is the daemon's copy of the monitored tables.
type replica map[string]map[ovsdb.UUID]ovsdb.Row

// session is the daemon's OVSDB client connection (RFC 7047 section 4):
// requests with their replies, and the "update"/"locked" notifications of
// its monitor and lock. It works the same over net.Pipe to the embedded
// server and over a unix socket to ovsdb-server.
type session struct {
	conn   *jsonrpc.Conn
	schema *ovsdb.Schema

	mu      sync.Mutex
	nextID  int
	pending map[string]chan *jsonrpc.Message
	err     error

	// queued holds monitor updates not yet taken; notify is signalled
	// when it grows. The reader never blocks on the consumer, who may be
	// waiting for a reply that the reader must deliver.
	queued []replica
	notify chan struct{}
	// locked is signalled when a pending lock is granted.
	locked chan struct{}
	done   chan struct{}
}

func newSession(rwc io.ReadWriteCloser) *session {
	s := &session{
		conn:    jsonrpc.NewConn(rwc),
		nextID:  1,
		pending: make(map[string]chan *jsonrpc.Message),
		notify:  make(chan struct{}, 1),
		locked:  make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	go s.readLoop()
	return s
}

func (s *session) readLoop() {
	defer close(s.done)
	for {
		m, err := s.conn.Read()
		if err != nil {
			s.fail(err)
			return
		}
		switch {
		case m.IsReply():
			s.mu.Lock()
			ch := s.pending[string(m.ID)]
			delete(s.pending, string(m.ID))
			s.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		case m.Method == "echo" && m.IsRequest():
			s.conn.Write(jsonrpc.NewResult(m.ID, m.Params))
		case m.Method == "update":
			// params: [monitor id, table-updates] (RFC 7047 4.1.6).
			var p []json.RawMessage
			if json.Unmarshal(m.Params, &p) != nil || len(p) != 2 {
				continue
			}
			u, err := s.decodeUpdates(p[1])
			if err != nil {
				log.Warn("bad monitor update: %v", err)
				continue
			}
			s.mu.Lock()
			s.queued = append(s.queued, u)
			s.mu.Unlock()
			select {
			case s.notify <- struct{}{}:
			default:
			}
		case m.Method == "locked":
			select {
			case s.locked <- struct{}{}:
			default:
			}
		}
	}
}

func (s *session) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = fmt.Errorf("%w: %v", ErrClosed, err)
	}
	for id, ch := range s.pending {
		close(ch)
		delete(s.pending, id)
	}
	s.mu.Unlock()
	s.conn.Close()
}

func (s *session) close() {
	s.fail(io.EOF)
	<-s.done
}

// call sends a request and waits for its reply.
func (s *session) call(method string, params any) (json.RawMessage, error) {
	s.mu.Lock()
	if s.err != nil {
		err := s.err
		s.mu.Unlock()
		return nil, err
	}
	id := s.nextID
	s.nextID++
	ch := make(chan *jsonrpc.Message, 1)
	s.pending[fmt.Sprint(id)] = ch
	s.mu.Unlock()
	if err := s.conn.Write(jsonrpc.NewRequest(id, method, params)); err != nil {
		s.fail(err)
		return nil, s.err
	}
	rep, ok := <-ch
	if !ok {
		return nil, s.err
	}
	if rep.IsError() {
		return nil, fmt.Errorf("%s: %s", method, rep.Error)
	}
	return rep.Result, nil
}

// start runs the opening sequence ovs-vswitchd uses (see
// vswitchd-as-client/summary.txt): get_schema, lock, monitor,
// set_db_change_aware. It returns the initial contents, after the lock is
// held.
func (s *session) start(db string) (replica, error) {
	raw, err := s.call("get_schema", []string{db})
	if err != nil {
		return nil, err
	}
	if s.schema, err = ovsdb.ParseSchema(raw); err != nil {
		return nil, fmt.Errorf("schema of %s: %w", db, err)
	}
	for _, t := range monitoredTables {
		if s.schema.Table(t) == nil {
			return nil, fmt.Errorf("schema of %s has no table %s", db, t)
		}
	}
	raw, err = s.call("lock", []string{LockName})
	if err != nil {
		return nil, err
	}
	var lk struct {
		Locked bool `json:"locked"`
	}
	json.Unmarshal(raw, &lk)
	if !lk.Locked {
		log.Info("waiting for lock %q held by another client (is ovs-vswitchd running?)", LockName)
		select {
		case <-s.locked:
		case <-s.done:
			return nil, s.err
		}
	}
	req := map[string]any{}
	for _, t := range monitoredTables {
		req[t] = map[string]any{"select": map[string]bool{"initial": true, "insert": true, "delete": true, "modify": true}}
	}
	raw, err = s.call("monitor", []any{db, nil, req})
	if err != nil {
		return nil, err
	}
	initial, err := s.decodeUpdates(raw)
	if err != nil {
		return nil, err
	}
	// Not every server knows it (RFC 7047 does not); it only matters
	// for clustered databases.
	s.call("set_db_change_aware", []bool{true})
	return initial, nil
}

// decodeUpdates decodes RFC 7047 <table-updates> into rows; a deleted row
// is a nil Row. Monitor "modify" updates carry every column in "new".
func (s *session) decodeUpdates(raw json.RawMessage) (replica, error) {
	v, err := ovsdb.DecodeJSON(raw)
	if err != nil {
		return nil, err
	}
	tables, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("table-updates is not an object")
	}
	out := replica{}
	for tname, tv := range tables {
		ts := s.schema.Table(tname)
		rows, ok := tv.(map[string]any)
		if ts == nil || !ok {
			continue
		}
		out[tname] = map[ovsdb.UUID]ovsdb.Row{}
		for us, rv := range rows {
			u, err := ovsdb.ParseUUID(us)
			if err != nil {
				return nil, err
			}
			ru, _ := rv.(map[string]any)
			nv, ok := ru["new"]
			if !ok {
				out[tname][u] = nil
				continue
			}
			row, err := ovsdb.RowFromValue(ts, nv, nil)
			if err != nil {
				return nil, fmt.Errorf("%s row %s: %w", tname, us, err)
			}
			out[tname][u] = row
		}
	}
	return out, nil
}

// op is one operation of a transaction, as JSON.
type op map[string]any

// updateOp is an "update" of one row by UUID.
func updateOp(table string, u ovsdb.UUID, row map[string]any) op {
	return op{"op": "update", "table": table,
		"where": []any{[]any{"_uuid", "==", []any{"uuid", u.String()}}}, "row": row}
}

// transact runs ops (plus an assert of our lock, as ovs-vswitchd does) and
// reports the first operation error.
func (s *session) transact(db string, ops []op) error {
	params := make([]any, 0, len(ops)+2)
	params = append(params, db)
	for _, o := range ops {
		params = append(params, o)
	}
	params = append(params, op{"op": "assert", "lock": LockName})
	raw, err := s.call("transact", params)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrTxn, err)
	}
	var results []map[string]any
	if err := json.Unmarshal(raw, &results); err != nil {
		return fmt.Errorf("%w: bad reply: %v", ErrTxn, err)
	}
	var errs []string
	for _, r := range results {
		if e, ok := r["error"]; ok && e != nil {
			errs = append(errs, fmt.Sprintf("%v: %v", e, r["details"]))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrTxn, strings.Join(errs, "; "))
	}
	return nil
}

// takeUpdates returns and clears the queued monitor updates.
func (s *session) takeUpdates() []replica {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queued
	s.queued = nil
	return q
}

// apply merges an update into the replica.
func (r replica) apply(u replica) {
	for t, rows := range u {
		if r[t] == nil {
			r[t] = map[ovsdb.UUID]ovsdb.Row{}
		}
		for id, row := range rows {
			if row == nil {
				delete(r[t], id)
			} else {
				r[t][id] = row
			}
		}
	}
}

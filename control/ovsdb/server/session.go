package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"gvswitch/control/jsonrpc"
	"gvswitch/control/ovsdb"
)

func nilCtx() context.Context { return context.Background() }

// session is one client connection.
type session struct {
	s    *Server
	conn net.Conn
	rpc  *jsonrpc.Conn

	out      chan []byte
	dropOnce sync.Once
	done     chan struct{}
	drain    chan struct{} // closed when the client stopped sending
	wdone    chan struct{} // closed when the writer has exited

	mu       sync.Mutex
	monitors map[string]*monitor // by the monitor id's JSON text
	pending  map[string]context.CancelFunc
	wg       sync.WaitGroup
	ctx      context.Context
	cancel   context.CancelFunc
}

func newSession(s *Server, c net.Conn) *session {
	limit := s.QueueLimit
	if limit <= 0 {
		limit = 1000
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &session{s: s, conn: c, rpc: jsonrpc.NewConn(c), out: make(chan []byte, limit),
		done: make(chan struct{}), drain: make(chan struct{}), wdone: make(chan struct{}), monitors: map[string]*monitor{}, pending: map[string]context.CancelFunc{},
		ctx: ctx, cancel: cancel}
}

// send queues an encoded message without ever blocking. A full queue
// means the client is not keeping up: it is disconnected.
func (ss *session) send(b []byte) {
	select {
	case <-ss.done:
		return
	default:
	}
	select {
	case ss.out <- b:
	default:
		ss.drop(fmt.Errorf("output queue full (%d messages)", cap(ss.out)))
	}
}

func (ss *session) sendMsg(m *jsonrpc.Message) {
	b, err := m.MarshalJSON()
	if err != nil {
		return
	}
	ss.send(b)
}

func (ss *session) drop(why error) {
	ss.dropOnce.Do(func() {
		ss.s.logf("ovsdb server: dropping client %s: %v", ss.conn.RemoteAddr(), why)
		close(ss.done)
		ss.conn.Close()
	})
}

func (ss *session) writer() {
	defer close(ss.wdone)
	for {
		select {
		case b := <-ss.out:
			if _, err := ss.conn.Write(b); err != nil {
				ss.drop(err)
				return
			}
		case <-ss.done:
			return
		case <-ss.drain:
			// The client has stopped sending (it may have shut down only
			// its writing half): deliver what is queued, then stop.
			for {
				select {
				case b := <-ss.out:
					if _, err := ss.conn.Write(b); err != nil {
						return
					}
				default:
					return
				}
			}
		}
	}
}

func (ss *session) run() {
	go ss.writer()
	defer ss.cleanup()
	for {
		m, err := ss.rpc.Read()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				ss.s.logf("ovsdb server: client %s: %v", ss.conn.RemoteAddr(), err)
			}
			return
		}
		ss.dispatch(m)
	}
}

func (ss *session) cleanup() {
	ss.cancel()
	ss.mu.Lock()
	for _, m := range ss.monitors {
		m.remove()
	}
	ss.monitors = map[string]*monitor{}
	ss.mu.Unlock()
	ss.s.locks.unlockAll(ss)
	ss.wg.Wait()
	// Deliver queued replies (bounded in time), then close.
	close(ss.drain)
	ss.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	<-ss.wdone
	ss.dropOnce.Do(func() {
		close(ss.done)
		ss.conn.Close()
	})
}

func (ss *session) reply(id json.RawMessage, result any) {
	ss.sendMsg(jsonrpc.NewResult(id, result))
}

func (ss *session) replyError(id json.RawMessage, e any) {
	ss.sendMsg(jsonrpc.NewError(id, e))
}

// params decodes a request's params as a JSON array.
func params(m *jsonrpc.Message) ([]any, bool) {
	if len(m.Params) == 0 {
		return nil, false
	}
	v, err := ovsdb.DecodeJSON(m.Params)
	if err != nil {
		return nil, false
	}
	a, ok := v.([]any)
	return a, ok
}

func (ss *session) dispatch(m *jsonrpc.Message) {
	if m.IsReply() {
		return // replies to our (echo) requests need nothing
	}
	if m.IsNotification() {
		if m.Method == "cancel" {
			ss.cancelRequest(m)
		}
		return
	}
	switch m.Method {
	case "echo":
		p := m.Params
		if len(p) == 0 {
			p = json.RawMessage("[]")
		}
		ss.reply(m.ID, p)
	case "list_dbs":
		ss.reply(m.ID, ss.s.dbNames())
	case "get_server_id":
		ss.reply(m.ID, ss.s.id.String())
	case "set_db_change_aware":
		ss.reply(m.ID, json.RawMessage("{}"))
	case "get_schema":
		db, _ := ss.lookupDB(m)
		if db == nil {
			return
		}
		ss.reply(m.ID, json.RawMessage(db.Schema().Compact()))
	case "transact":
		ss.transact(m)
	case "cancel":
		ss.cancelRequest(m)
	case "monitor", "monitor_cond", "monitor_cond_since":
		ss.monitor(m)
	case "monitor_cond_change":
		ss.monitorCondChange(m)
	case "monitor_cancel":
		ss.monitorCancel(m)
	case "lock", "steal", "unlock":
		ss.lockMethod(m)
	default:
		ss.replyError(m.ID, "unknown method")
	}
}

// lookupDB decodes the params (once) and returns them with the database
// named by params[0], or replies with the error ovsdb-server sends and
// returns nil.
func (ss *session) lookupDB(m *jsonrpc.Message) (*ovsdb.Database, []any) {
	p, ok := params(m)
	if !ok || len(p) == 0 {
		ss.replyError(m.ID, rpcError(ovsdb.TagSyntax, fmt.Sprintf("%s request: database name expected as first parameter", m.Method), m.Params))
		return nil, nil
	}
	name, ok := p[0].(string)
	if !ok {
		ss.replyError(m.ID, rpcError(ovsdb.TagSyntax, fmt.Sprintf("%s request: database name expected as first parameter", m.Method), m.Params))
		return nil, nil
	}
	db := ss.s.db(name)
	if db == nil {
		ss.replyError(m.ID, rpcError(ovsdb.TagUnknownDatabase, fmt.Sprintf("%s request specifies unknown database %s", m.Method, name), m.Params))
		return nil, nil
	}
	return db, p
}

func (ss *session) holdsLock(name string) bool { return ss.s.locks.owns(ss, name) }

func (ss *session) transact(m *jsonrpc.Message) {
	db, p := ss.lookupDB(m)
	if db == nil {
		return
	}
	ops := p[1:]
	if db == ss.s.serverDB {
		for i, op := range ops {
			o, _ := op.(map[string]any)
			switch o["op"] {
			case "insert", "update", "mutate", "delete":
				res := make([]json.RawMessage, 0, len(ops))
				if i > 0 {
					res = append(res, db.Transact(ss.ctx, ops[:i], nil)...)
				}
				e, _ := (&ovsdb.Error{Tag: "not allowed", Details: fmt.Sprintf("%s operation not allowed on table in reserved database _Server", o["op"])}).MarshalJSON()
				res = append(res, e)
				for len(res) < len(ops) {
					res = append(res, json.RawMessage("null"))
				}
				ss.reply(m.ID, res)
				return
			}
		}
	}
	opts := &ovsdb.TxnOptions{HoldsLock: ss.holdsLock}
	if !mayBlock(ops) {
		res := db.Transact(ss.ctx, ops, opts)
		if res != nil {
			ss.reply(m.ID, res)
		}
		return
	}
	// A "wait" with a timeout may block: run it aside so that this
	// client's later requests (and "cancel") are still served.
	ctx, cancel := context.WithCancel(ss.ctx)
	key := string(m.ID)
	ss.mu.Lock()
	ss.pending[key] = cancel
	ss.mu.Unlock()
	ss.wg.Add(1)
	go func() {
		defer ss.wg.Done()
		defer cancel()
		res := db.Transact(ctx, ops, opts)
		ss.mu.Lock()
		delete(ss.pending, key)
		ss.mu.Unlock()
		if res != nil {
			ss.reply(m.ID, res)
		} else if ss.ctx.Err() == nil {
			ss.replyError(m.ID, "canceled")
		}
	}()
}

// mayBlock reports whether a transaction holds a "wait" that can block.
func mayBlock(ops []any) bool {
	for _, op := range ops {
		o, ok := op.(map[string]any)
		if !ok || o["op"] != "wait" {
			continue
		}
		t, has := o["timeout"].(json.Number)
		if !has || string(t) != "0" {
			return true
		}
	}
	return false
}

// cancelRequest handles "cancel" (RFC 7047 4.1.4): params [id].
func (ss *session) cancelRequest(m *jsonrpc.Message) {
	var p []json.RawMessage
	if json.Unmarshal(m.Params, &p) != nil || len(p) != 1 {
		return
	}
	ss.mu.Lock()
	cancel := ss.pending[string(bytes.TrimSpace(p[0]))]
	ss.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

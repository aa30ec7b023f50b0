package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"

	"gvswitch/control/jsonrpc"
	"gvswitch/control/ovsdb"
)

// RowUpdate is one row changed by an update notification: Old is nil for
// a new row, New nil for a deleted one. Rows hold the monitored columns.
type RowUpdate struct {
	Table    string
	UUID     ovsdb.UUID
	Old, New ovsdb.Row
}

// Delta is one batch of changes applied to a Replica (the initial
// contents, or one notification).
type Delta struct {
	Initial bool
	Rows    []RowUpdate
}

// Replica is a copy of some columns of some tables of a database, kept
// current by a monitor, like the Open vSwitch IDL. Read it with Rows, Row
// and Table (which return copies), and learn of changes with Changes or
// an OnUpdate callback.
type Replica struct {
	c       *Client
	db      string
	schema  *ovsdb.Schema
	monID   json.RawMessage
	method  string // monitor method in use
	columns map[string][]*ovsdb.ColumnSchema

	mu      sync.RWMutex
	tables  map[string]map[ovsdb.UUID]ovsdb.Row
	seq     uint64
	changed chan struct{} // closed and replaced at each update
	gone    bool

	cbMu sync.Mutex
	cbQ  []*Delta
	cbOn bool
	cb   func(*Delta)
}

// MonitorOptions configures Client.Monitor.
type MonitorOptions struct {
	// OnUpdate, if set, is called for every applied update (the initial
	// contents first), one at a time, in order, from a goroutine of the
	// replica's own: it may call the client.
	OnUpdate func(*Delta)
}

// ErrNoMonitor is returned by Monitor when the server refuses every
// monitor method.
var ErrNoMonitor = errors.New("ovsdb client: server refused monitor_cond_since, monitor_cond and monitor")

// Monitor starts a replica of database db. tables maps each table to the
// columns to replicate; a nil slice means all columns, an empty one none
// (rows are still tracked). It tries monitor_cond_since, then
// monitor_cond, then monitor, like the OVS IDL.
func (c *Client) Monitor(ctx context.Context, db string, tables map[string][]string, opts *MonitorOptions) (*Replica, error) {
	schema, err := c.GetSchema(ctx, db)
	if err != nil {
		return nil, err
	}
	r := &Replica{c: c, db: db, schema: schema, columns: map[string][]*ovsdb.ColumnSchema{},
		tables: map[string]map[ovsdb.UUID]ovsdb.Row{}, changed: make(chan struct{})}
	if opts != nil {
		r.cb = opts.OnUpdate
	}
	reqs := map[string]any{}
	for name, cols := range tables {
		ts := schema.Table(name)
		if ts == nil {
			return nil, fmt.Errorf("ovsdb client: monitor: database %s has no table %s", db, name)
		}
		var list []*ovsdb.ColumnSchema
		if cols == nil {
			list = ts.Columns
		} else {
			for _, cn := range cols {
				c := ts.Column(cn)
				if c == nil {
					return nil, fmt.Errorf("ovsdb client: monitor: table %s has no column %s", name, cn)
				}
				list = append(list, c)
			}
		}
		names := make([]string, len(list))
		for i, c := range list {
			names[i] = c.Name
		}
		r.columns[name] = list
		r.tables[name] = map[ovsdb.UUID]ovsdb.Row{}
		reqs[name] = []any{map[string]any{"columns": names}}
	}
	c.mu.Lock()
	c.nextID++
	r.monID, _ = json.Marshal([]any{"monid", db, c.nextID})
	c.monitors[string(r.monID)] = r
	c.mu.Unlock()
	for _, method := range []string{"monitor_cond_since", "monitor_cond", "monitor"} {
		params := []any{db, r.monID, reqs}
		if method == "monitor" {
			// RFC 7047 4.1.5: one request object per table.
			v1 := map[string]any{}
			for name, req := range reqs {
				v1[name] = req.([]any)[0]
			}
			params = []any{db, r.monID, v1}
		}
		if method == "monitor_cond_since" {
			params = append(params, "00000000-0000-0000-0000-000000000000")
		}
		r.method = method
		_, err = c.call(ctx, method, params, func(m *jsonrpc.Message) {
			if !m.IsError() {
				r.applyInitial(method, m.Result)
			}
		})
		if err == nil {
			return r, nil
		}
		var rpcErr *RPCError
		if !errors.As(err, &rpcErr) {
			break
		}
	}
	c.mu.Lock()
	delete(c.monitors, string(r.monID))
	c.mu.Unlock()
	var rpcErr *RPCError
	if errors.As(err, &rpcErr) {
		return nil, fmt.Errorf("%w: %v", ErrNoMonitor, err)
	}
	return nil, err
}

// Method returns the monitor method the server accepted.
func (r *Replica) Method() string { return r.method }

// Schema returns the database schema.
func (r *Replica) Schema() *ovsdb.Schema { return r.schema }

// Close cancels the monitor (the client stays connected).
func (r *Replica) Close(ctx context.Context) error {
	r.c.mu.Lock()
	delete(r.c.monitors, string(r.monID))
	r.c.mu.Unlock()
	var res json.RawMessage
	return r.c.Call(ctx, "monitor_cancel", []any{r.monID}, &res)
}

func (r *Replica) applyInitial(method string, result json.RawMessage) {
	if method == "monitor_cond_since" {
		var parts []json.RawMessage
		if json.Unmarshal(result, &parts) != nil || len(parts) != 3 {
			return
		}
		result = parts[2]
	}
	version := 2
	if method == "monitor" {
		version = 1
	}
	r.apply(version, result, true)
}

func (r *Replica) notify(method string, p []json.RawMessage) {
	switch {
	case method == "update" && len(p) == 2:
		r.apply(1, p[1], false)
	case method == "update2" && len(p) == 2:
		r.apply(2, p[1], false)
	case method == "update3" && len(p) == 3:
		r.apply(2, p[2], false)
	}
}

func (r *Replica) disconnected() {
	r.mu.Lock()
	if !r.gone {
		r.gone = true
		close(r.changed)
	}
	r.mu.Unlock()
}

// apply applies table-updates (version 1) or table-updates2 (version 2).
// It runs in the client's reader goroutine.
func (r *Replica) apply(version int, raw json.RawMessage, initial bool) {
	var tu map[string]map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &tu); err != nil {
		return
	}
	upd := &Delta{Initial: initial}
	r.mu.Lock()
	tableNames := make([]string, 0, len(tu))
	for n := range tu {
		tableNames = append(tableNames, n)
	}
	sort.Strings(tableNames)
	for _, name := range tableNames {
		ts := r.schema.Table(name)
		rows := r.tables[name]
		if ts == nil || rows == nil {
			continue
		}
		for us, ru := range tu[name] {
			u, err := ovsdb.ParseUUID(us)
			if err != nil {
				continue
			}
			old := rows[u]
			var nw ovsdb.Row
			var ok bool
			if version == 1 {
				nw, ok = r.applyV1(ts, old, ru)
			} else {
				nw, ok = r.applyV2(ts, old, ru)
			}
			if !ok {
				continue
			}
			if nw == nil {
				delete(rows, u)
			} else {
				rows[u] = nw
			}
			upd.Rows = append(upd.Rows, RowUpdate{Table: name, UUID: u, Old: old, New: nw})
		}
	}
	r.seq++
	if !r.gone {
		close(r.changed)
		r.changed = make(chan struct{})
	}
	r.mu.Unlock()
	if r.cb != nil {
		r.cbMu.Lock()
		r.cbQ = append(r.cbQ, upd)
		if !r.cbOn {
			r.cbOn = true
			go r.runCallbacks()
		}
		r.cbMu.Unlock()
	}
}

func (r *Replica) runCallbacks() {
	for {
		r.cbMu.Lock()
		if len(r.cbQ) == 0 {
			r.cbOn = false
			r.cbMu.Unlock()
			return
		}
		u := r.cbQ[0]
		r.cbQ = r.cbQ[1:]
		r.cbMu.Unlock()
		r.cb(u)
	}
}

func decodeCols(ts *ovsdb.TableSchema, raw json.RawMessage, diff bool, base ovsdb.Row) (ovsdb.Row, bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil, false
	}
	out := ovsdb.Row{}
	for k, v := range base {
		out[k] = v
	}
	for name, v := range obj {
		c := ts.Column(name)
		if c == nil {
			continue
		}
		dv, err := ovsdb.DecodeJSON(v)
		if err != nil {
			return nil, false
		}
		if diff {
			d, err := ovsdb.DiffFromValue(&c.Type, dv)
			if err != nil {
				return nil, false
			}
			out[name] = ovsdb.ApplyDiff(out[name], d, &c.Type)
			continue
		}
		d, err := ovsdb.DatumFromValue(&c.Type, dv, nil)
		if err != nil {
			return nil, false
		}
		out[name] = d
	}
	return out, true
}

// withDefaults fills the monitored columns missing from row with their
// defaults (update2 leaves default values out).
func (r *Replica) withDefaults(ts *ovsdb.TableSchema, row ovsdb.Row) ovsdb.Row {
	for _, c := range r.columns[ts.Name] {
		if _, ok := row[c.Name]; !ok {
			row[c.Name] = ovsdb.DefaultDatum(&c.Type)
		}
	}
	return row
}

func (r *Replica) applyV2(ts *ovsdb.TableSchema, old ovsdb.Row, ru map[string]json.RawMessage) (ovsdb.Row, bool) {
	if len(ru) != 1 {
		return nil, false
	}
	for kind, v := range ru {
		switch kind {
		case "initial", "insert":
			row, ok := decodeCols(ts, v, false, nil)
			if !ok {
				return nil, false
			}
			return r.withDefaults(ts, row), true
		case "modify":
			if old == nil {
				return nil, false
			}
			return decodeCols(ts, v, true, old)
		case "delete":
			return nil, old != nil
		}
	}
	return nil, false
}

func (r *Replica) applyV1(ts *ovsdb.TableSchema, old ovsdb.Row, ru map[string]json.RawMessage) (ovsdb.Row, bool) {
	nv, hasNew := ru["new"]
	if !hasNew || string(nv) == "null" {
		return nil, old != nil
	}
	row, ok := decodeCols(ts, nv, false, old)
	if !ok {
		return nil, false
	}
	return r.withDefaults(ts, row), true
}

// Row returns a copy of one row, or nil.
func (r *Replica) Row(table string, u ovsdb.UUID) ovsdb.Row {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return copyRow(r.tables[table][u])
}

// Table returns a copy of all rows of a table.
func (r *Replica) Table(table string) map[ovsdb.UUID]ovsdb.Row {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[ovsdb.UUID]ovsdb.Row, len(r.tables[table]))
	for u, row := range r.tables[table] {
		out[u] = copyRow(row)
	}
	return out
}

// Read calls fn with the replica's tables, under a read lock: fn must not
// modify them or keep them after returning.
func (r *Replica) Read(fn func(tables map[string]map[ovsdb.UUID]ovsdb.Row)) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	fn(r.tables)
}

// Changes returns a channel closed at the next applied update (or when
// the connection is lost).
func (r *Replica) Changes() <-chan struct{} {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.changed
}

// WaitFor blocks until cond (called with the replica's tables under a
// read lock) returns true, the connection is lost or ctx is done.
func (r *Replica) WaitFor(ctx context.Context, cond func(tables map[string]map[ovsdb.UUID]ovsdb.Row) bool) error {
	for {
		r.mu.RLock()
		ok, ch, gone := cond(r.tables), r.changed, r.gone
		r.mu.RUnlock()
		if ok {
			return nil
		}
		if gone {
			return r.c.Err()
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func copyRow(row ovsdb.Row) ovsdb.Row {
	if row == nil {
		return nil
	}
	out := make(ovsdb.Row, len(row))
	for k, v := range row {
		out[k] = v
	}
	return out
}

package server

import (
	"encoding/json"
	"fmt"
	"sort"

	"gvswitch/control/internal/ovsjson"
	"gvswitch/control/jsonrpc"
	"gvswitch/control/ovsdb"
)

// zeroTxnID is the last_txn_id a standalone ovsdb-server reports in
// monitor_cond_since replies and update3 notifications (it keeps no
// transaction history).
const zeroTxnID = "00000000-0000-0000-0000-000000000000"

// monitor is one monitor of a session (RFC 7047 4.1.5; ovsdb-server(7)
// monitor_cond and monitor_cond_since).
type monitor struct {
	id      json.RawMessage // changed only under the database lock
	version int             // 1 update, 2 update2, 3 update3
	db      *ovsdb.Database
	tables  []*monTable
	remove  func()
}

type monTable struct {
	ts                              *ovsdb.TableSchema
	cols                            []*ovsdb.ColumnSchema // sorted by name
	initial, insert, delete, modify bool
	where                           *ovsdb.Condition
}

func (ss *session) monitor(m *jsonrpc.Message) {
	db, p := ss.lookupDB(m)
	if db == nil {
		return
	}
	version := map[string]int{"monitor": 1, "monitor_cond": 2, "monitor_cond_since": 3}[m.Method]
	want := 3
	if version == 3 {
		want = 4
	}
	if len(p) != want {
		ss.replyError(m.ID, rpcError(ovsdb.TagSyntax, fmt.Sprintf("%s: invalid parameters", m.Method), m.Params))
		return
	}
	idJSON, _ := json.Marshal(p[1])
	mon := &monitor{id: idJSON, version: version, db: db}
	reqs, ok := p[2].(map[string]any)
	if !ok {
		ss.replyError(m.ID, rpcError(ovsdb.TagSyntax, "monitor requests must be an object", m.Params))
		return
	}
	names := make([]string, 0, len(reqs))
	for n := range reqs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		mt, err := parseMonitorRequest(db, name, reqs[name], version)
		if err != nil {
			ss.replyError(m.ID, err)
			return
		}
		mon.tables = append(mon.tables, mt)
	}
	key := string(idJSON)
	ss.mu.Lock()
	if ss.monitors[key] != nil {
		ss.mu.Unlock()
		ss.replyError(m.ID, rpcError(ovsdb.TagSyntax, "duplicate monitor ID", idJSON))
		return
	}
	ss.monitors[key] = mon
	ss.mu.Unlock()
	// The initial contents and the reply are produced while the database
	// is locked, so every later commit's update follows the reply.
	mon.remove = db.Monitor(func(v ovsdb.View) {
		initial := mon.encodeInitial(v)
		var result any = initial
		if version == 3 {
			result = []any{false, zeroTxnID, initial}
		}
		ss.reply(m.ID, result)
	}, func(c *ovsdb.Commit) {
		if upd := mon.encodeCommit(c); upd != nil {
			ss.sendUpdate(mon, upd)
		}
	})
}

// sendUpdate queues an update notification in the monitor's flavour.
func (ss *session) sendUpdate(mon *monitor, upd json.RawMessage) {
	switch mon.version {
	case 1:
		ss.sendMsg(jsonrpc.NewNotification("update", []json.RawMessage{mon.id, upd}))
	case 2:
		ss.sendMsg(jsonrpc.NewNotification("update2", []json.RawMessage{mon.id, upd}))
	default:
		ss.sendMsg(jsonrpc.NewNotification("update3", []json.RawMessage{mon.id, json.RawMessage(`"` + zeroTxnID + `"`), upd}))
	}
}

// monitorCondChange handles monitor_cond_change (ovsdb-server(7)): params
// [monitor id, new monitor id, {table: [{"where": ...}]}]. The rows that
// enter or leave the new conditions are sent as one update, then the
// reply, as ovsdb-server does.
func (ss *session) monitorCondChange(m *jsonrpc.Message) {
	p, ok := params(m)
	if !ok || len(p) != 3 {
		ss.replyError(m.ID, rpcError(ovsdb.TagSyntax, "invalid parameters", m.Params))
		return
	}
	oldKey := compact(mustJSON(p[0]))
	newID := mustJSON(p[1])
	newKey := compact(newID)
	ss.mu.Lock()
	mon := ss.monitors[oldKey]
	dup := newKey != oldKey && ss.monitors[newKey] != nil
	ss.mu.Unlock()
	if mon == nil || mon.version < 2 {
		ss.replyError(m.ID, rpcError(ovsdb.TagSyntax, "unknown monitor session", mustJSON(p[0])))
		return
	}
	if dup {
		ss.replyError(m.ID, rpcError(ovsdb.TagSyntax, "duplicate monitor ID", newID))
		return
	}
	reqs, ok := p[2].(map[string]any)
	if !ok {
		ss.replyError(m.ID, rpcError(ovsdb.TagSyntax, "monitor-cond-change-requests must be object", nil))
		return
	}
	conds := map[*monTable]*ovsdb.Condition{}
	for name, rv := range reqs {
		var mt *monTable
		for _, t := range mon.tables {
			if t.ts.Name == name {
				mt = t
			}
		}
		if mt == nil {
			ss.replyError(m.ID, rpcError(ovsdb.TagSyntax, fmt.Sprintf("no table named %s in monitor session", name), nil))
			return
		}
		list, ok := rv.([]any)
		if !ok {
			ss.replyError(m.ID, rpcError(ovsdb.TagSyntax, fmt.Sprintf("table %s no monitor-cond-change JSON array", name), nil))
			return
		}
		for _, r := range list {
			req, _ := r.(map[string]any)
			if _, has := req["columns"]; has {
				ss.replyError(m.ID, rpcError(ovsdb.TagSyntax, "changing columns is unsupported", mustJSON(r)))
				return
			}
			var cond *ovsdb.Condition
			if wv, has := req["where"]; has {
				c, err := mon.db.ParseCondition(name, wv)
				if err != nil {
					ss.replyError(m.ID, rpcError(ovsdb.TagSyntax, err.Error(), mustJSON(wv)))
					return
				}
				cond = c
			}
			conds[mt] = cond
		}
	}
	ss.mu.Lock()
	delete(ss.monitors, oldKey)
	ss.monitors[newKey] = mon
	ss.mu.Unlock()
	mon.db.Read(func(v ovsdb.View) {
		mon.id = newID
		var changes []ovsdb.RowChange
		for mt, cond := range conds {
			v.Rows(mt.ts.Name, func(u ovsdb.UUID, fields []ovsdb.Datum) {
				was, is := mt.where.Match(u, fields), cond.Match(u, fields)
				switch {
				case is && !was:
					changes = append(changes, ovsdb.RowChange{Table: mt.ts, UUID: u, New: fields})
				case was && !is:
					changes = append(changes, ovsdb.RowChange{Table: mt.ts, UUID: u, Old: fields})
				}
			})
			mt.where = cond
		}
		// Encode against "match everything" so that the entering rows
		// show as inserts and the leaving ones as deletes.
		saved := map[*monTable]*ovsdb.Condition{}
		for mt := range conds {
			saved[mt], mt.where = mt.where, nil
		}
		upd := mon.encodeCommit(&ovsdb.Commit{Changes: changes})
		for mt, c := range saved {
			mt.where = c
		}
		if upd != nil {
			ss.sendUpdate(mon, upd)
		}
		ss.reply(m.ID, json.RawMessage("{}"))
	})
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func parseMonitorRequest(db *ovsdb.Database, name string, v any, version int) (*monTable, json.RawMessage) {
	ts := db.Schema().Table(name)
	if ts == nil {
		return nil, rpcError(ovsdb.TagSyntax, fmt.Sprintf("no table named %s", name), nil)
	}
	var list []any
	switch r := v.(type) {
	case []any:
		list = r
	case map[string]any:
		list = []any{r}
	default:
		return nil, rpcError(ovsdb.TagSyntax, fmt.Sprintf("monitor request for %s must be an object or array", name), nil)
	}
	mt := &monTable{ts: ts}
	seen := map[string]bool{}
	allCols := false
	for _, rv := range list {
		r, ok := rv.(map[string]any)
		if !ok {
			return nil, rpcError(ovsdb.TagSyntax, fmt.Sprintf("monitor request for %s must be an object", name), nil)
		}
		if cv, has := r["columns"]; has {
			arr, ok := cv.([]any)
			if !ok {
				return nil, rpcError(ovsdb.TagSyntax, "columns must be an array", nil)
			}
			for _, c := range arr {
				cn, _ := c.(string)
				if ts.Column(cn) == nil {
					return nil, rpcError(ovsdb.TagSyntax, fmt.Sprintf("%s is not a valid column name", cn), nil)
				}
				seen[cn] = true
			}
		} else {
			// RFC 7047 4.1.5: no "columns" means all columns.
			allCols = true
		}
		sel := map[string]bool{"initial": true, "insert": true, "delete": true, "modify": true}
		if sv, has := r["select"]; has {
			so, ok := sv.(map[string]any)
			if !ok {
				return nil, rpcError(ovsdb.TagSyntax, "select must be an object", nil)
			}
			for k, b := range so {
				bb, ok := b.(bool)
				if !ok {
					return nil, rpcError(ovsdb.TagSyntax, "select members must be booleans", nil)
				}
				sel[k] = bb
			}
		}
		mt.initial = mt.initial || sel["initial"]
		mt.insert = mt.insert || sel["insert"]
		mt.delete = mt.delete || sel["delete"]
		mt.modify = mt.modify || sel["modify"]
		if wv, has := r["where"]; has && version >= 2 {
			cond, err := db.ParseCondition(name, wv)
			if err != nil {
				e, _ := err.(*ovsdb.Error)
				if e == nil {
					e = &ovsdb.Error{Tag: ovsdb.TagSyntax, Details: err.Error()}
				}
				b, _ := e.MarshalJSON()
				return nil, b
			}
			mt.where = cond
		}
	}
	for _, c := range ts.Columns {
		if allCols || seen[c.Name] {
			mt.cols = append(mt.cols, c)
		}
	}
	return mt, nil
}

// appendCols appends {"col":value,...} for the monitored columns; with
// skipDefault, columns holding their default are left out (update2).
func (mt *monTable) appendCols(b []byte, fields []ovsdb.Datum, skipDefault bool, only []bool) []byte {
	b = append(b, '{')
	n := 0
	for _, c := range mt.cols {
		if only != nil && !only[c.Index] {
			continue
		}
		d := fields[c.Index]
		if skipDefault && ovsdb.IsDefault(d, &c.Type) {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = ovsjson.AppendString(b, c.Name)
		b = append(b, ':')
		b = ovsdb.AppendJSON(b, d, &c.Type)
	}
	return append(b, '}')
}

func (mon *monitor) encodeInitial(v ovsdb.View) json.RawMessage {
	b := []byte{'{'}
	nt := 0
	for _, mt := range mon.tables {
		if !mt.initial {
			continue
		}
		start := len(b)
		if nt > 0 {
			b = append(b, ',')
		}
		b = ovsjson.AppendString(b, mt.ts.Name)
		b = append(b, ":{"...)
		nr := 0
		v.Rows(mt.ts.Name, func(u ovsdb.UUID, fields []ovsdb.Datum) {
			if !mt.where.Match(u, fields) {
				return
			}
			if nr > 0 {
				b = append(b, ',')
			}
			nr++
			b = append(b, '"')
			b = append(b, u.String()...)
			b = append(b, `":`...)
			if mon.version == 1 {
				b = append(b, `{"new":`...)
				b = mt.appendCols(b, fields, false, nil)
			} else {
				b = append(b, `{"initial":`...)
				b = mt.appendCols(b, fields, true, nil)
			}
			b = append(b, '}')
		})
		if nr == 0 {
			b = b[:start]
			continue
		}
		b = append(b, '}')
		nt++
	}
	return append(b, '}')
}

// encodeCommit returns the table-updates (v1) or table-updates2 (v2, v3)
// object for a commit, or nil when nothing monitored changed.
func (mon *monitor) encodeCommit(c *ovsdb.Commit) json.RawMessage {
	var b []byte
	nt := 0
	for _, mt := range mon.tables {
		start := len(b)
		if nt > 0 {
			b = append(b, ',')
		} else {
			b = append(b, '{')
		}
		b = ovsjson.AppendString(b, mt.ts.Name)
		b = append(b, ":{"...)
		nr := 0
		for i := range c.Changes {
			ch := &c.Changes[i]
			if ch.Table != mt.ts {
				continue
			}
			row := mon.encodeRow(mt, ch)
			if row == nil {
				continue
			}
			if nr > 0 {
				b = append(b, ',')
			}
			nr++
			b = append(b, '"')
			b = append(b, ch.UUID.String()...)
			b = append(b, `":`...)
			b = append(b, row...)
		}
		if nr == 0 {
			b = b[:start]
			continue
		}
		b = append(b, '}')
		nt++
	}
	if nt == 0 {
		return nil
	}
	return append(b, '}')
}

func (mon *monitor) encodeRow(mt *monTable, ch *ovsdb.RowChange) []byte {
	oldMatch := ch.Old != nil && mt.where.Match(ch.UUID, ch.Old)
	newMatch := ch.New != nil && mt.where.Match(ch.UUID, ch.New)
	switch {
	case !oldMatch && !newMatch:
		return nil
	case !oldMatch: // insert, or a row entering the condition
		if !mt.insert {
			return nil
		}
		if mon.version == 1 {
			return append(mt.appendCols([]byte(`{"new":`), ch.New, false, nil), '}')
		}
		return append(mt.appendCols([]byte(`{"insert":`), ch.New, true, nil), '}')
	case !newMatch: // delete, or a row leaving the condition
		if !mt.delete {
			return nil
		}
		if mon.version == 1 {
			return append(mt.appendCols([]byte(`{"old":`), ch.Old, false, nil), '}')
		}
		return []byte(`{"delete":null}`)
	}
	if !mt.modify {
		return nil
	}
	changed := false
	for _, c := range mt.cols {
		if ch.Changed[c.Index] {
			changed = true
			break
		}
	}
	if !changed {
		return nil
	}
	if mon.version == 1 {
		b := mt.appendCols([]byte(`{"old":`), ch.Old, false, ch.Changed)
		b = append(b, `,"new":`...)
		b = mt.appendCols(b, ch.New, false, nil)
		return append(b, '}')
	}
	b := []byte(`{"modify":{`)
	n := 0
	for _, c := range mt.cols {
		if !ch.Changed[c.Index] {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = ovsjson.AppendString(b, c.Name)
		b = append(b, ':')
		b = ovsdb.AppendJSON(b, ovsdb.Diff(ch.Old[c.Index], ch.New[c.Index], &c.Type), &c.Type)
	}
	return append(b, "}}"...)
}

func (ss *session) monitorCancel(m *jsonrpc.Message) {
	var p []json.RawMessage
	if json.Unmarshal(m.Params, &p) != nil || len(p) != 1 {
		ss.replyError(m.ID, rpcError(ovsdb.TagSyntax, "monitor_cancel: invalid parameters", m.Params))
		return
	}
	key := compact(p[0])
	ss.mu.Lock()
	mon := ss.monitors[key]
	delete(ss.monitors, key)
	ss.mu.Unlock()
	if mon == nil {
		ss.replyError(m.ID, rpcError("unknown monitor", "unknown monitor", m.Params))
		return
	}
	mon.remove()
	ss.reply(m.ID, json.RawMessage("{}"))
}

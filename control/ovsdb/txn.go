package ovsdb

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gvswitch/control/internal/ovsjson"
)

// TxnOptions carries what a transaction needs from the session running it.
type TxnOptions struct {
	// HoldsLock reports whether the session owns the named lock, for the
	// "assert" operation (RFC 7047 5.2.11). Nil means it holds none.
	HoldsLock func(name string) bool
}

// Transact executes one RFC 7047 "transact" request: ops are the operation
// objects that follow the database name, decoded with DecodeJSON. It
// returns one result per operation (an error object for the one that
// failed, null for those after it), followed by one more error object when
// the commit itself fails (e.g. "constraint violation"), exactly as
// ovsdb-server replies.
//
// A "wait" operation whose condition is false and whose timeout has not
// expired makes Transact block and re-run the whole transaction after each
// commit, until it succeeds, the timeout expires, or ctx is done (the
// result is then nil: the request was cancelled).
func (db *Database) Transact(ctx context.Context, ops []any, opts *TxnOptions) []json.RawMessage {
	if opts == nil {
		opts = &TxnOptions{}
	}
	start := db.now()
	for {
		elapsed := db.now().Sub(start).Milliseconds()
		res, retryAt, changed := db.transactOnce(ops, opts, elapsed, start)
		if res != nil {
			return res
		}
		var timer *time.Timer
		var expired <-chan time.Time
		if !retryAt.IsZero() {
			timer = time.NewTimer(time.Until(retryAt))
			expired = timer.C
		}
		cancelled := false
		select {
		case <-ctx.Done():
			cancelled = true
		case <-changed:
		case <-expired:
		}
		if timer != nil {
			timer.Stop()
		}
		if cancelled {
			return nil
		}
	}
}

// TransactJSON is Transact for a JSON array of operations; it returns the
// JSON array of results.
func (db *Database) TransactJSON(ctx context.Context, opsJSON []byte, opts *TxnOptions) (json.RawMessage, error) {
	v, err := DecodeJSON(opsJSON)
	if err != nil {
		return nil, err
	}
	ops, ok := v.([]any)
	if !ok {
		return nil, syntaxError(v, "array expected")
	}
	return joinResults(db.Transact(ctx, ops, opts)), nil
}

func joinResults(rs []json.RawMessage) json.RawMessage {
	b := []byte{'['}
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	return append(b, ']')
}

var emptyObject = json.RawMessage("{}")
var nullJSON = json.RawMessage("null")

func errorJSON(e *Error) json.RawMessage {
	b, _ := e.MarshalJSON()
	return b
}

// transactOnce runs the transaction once under the lock. It returns the
// results, or nil results, the time to give up waiting and a channel
// closed at the next commit when a wait must be retried.
func (db *Database) transactOnce(ops []any, opts *TxnOptions, elapsed int64, start time.Time) ([]json.RawMessage, time.Time, <-chan struct{}) {
	db.mu.Lock()
	defer db.mu.Unlock()
	x := &txn{db: db, rows: make(map[UUID]*txnRow), symbols: make(map[string]*symbol),
		opts: opts, elapsed: elapsed, timeout: math.MaxInt64}
	results := make([]json.RawMessage, 0, len(ops)+1)
	var failed *Error
	n := len(ops)
	for i, op := range ops {
		p := newOpParser(op, fmt.Sprintf("ovsdb operation %d of %d", i+1, n))
		res, err := x.execute(p)
		if perr := p.finish(); perr != nil {
			err = perr
		}
		if err != nil {
			if _, ok := err.(*notReady); ok {
				deadline := time.Time{}
				if x.timeout != math.MaxInt64 {
					deadline = start.Add(time.Duration(x.timeout) * time.Millisecond)
				}
				return nil, deadline, db.changed
			}
			failed = err.(*Error)
			results = append(results, errorJSON(failed))
			break
		}
		results = append(results, res)
	}
	if failed != nil {
		for len(results) < n {
			results = append(results, nullJSON)
		}
		return results, time.Time{}, nil
	}
	if err := x.commit(); err != nil {
		results = append(results, errorJSON(err))
	}
	return results, time.Time{}, nil
}

// notReady is returned by a "wait" that may succeed later.
type notReady struct{}

func (*notReady) Error() string { return "not ready" }

type symbol struct {
	uuid    UUID
	created bool
}

type txnRow struct {
	t        *table
	uuid     UUID
	old, new *rowData
	nrefs    int
	changed  []bool
	recheck  bool // a weakly referenced row was deleted
	dropped  bool
}

type txn struct {
	db       *Database
	rows     map[UUID]*txnRow
	order    []*txnRow
	symbols  map[string]*symbol
	opts     *TxnOptions
	elapsed  int64
	timeout  int64
	comments []string
}

func (x *txn) resolve(name string, _ *BaseType) (UUID, bool) {
	s := x.symbols[name]
	if s == nil {
		s = &symbol{uuid: NewUUID()}
		x.symbols[name] = s
	}
	return s.uuid, true
}

// row returns the row's current value within the transaction, or nil.
func (x *txn) row(t *table, u UUID) *rowData {
	if tr := x.rows[u]; tr != nil {
		if tr.t != t {
			return nil
		}
		return tr.new
	}
	return t.rows[u]
}

// exists reports whether the named table holds row u in the transaction.
func (x *txn) exists(tableName string, u UUID) bool {
	t := x.db.tables[tableName]
	return t != nil && x.row(t, u) != nil
}

// findOrMake returns the transaction's handle on row u of t, pulling an
// unchanged committed row in; nil if the row does not exist.
func (x *txn) findOrMake(t *table, u UUID) *txnRow {
	if tr := x.rows[u]; tr != nil {
		if tr.t != t {
			return nil
		}
		return tr
	}
	r := t.rows[u]
	if r == nil {
		return nil
	}
	tr := &txnRow{t: t, uuid: u, old: r, new: &rowData{uuid: u, version: r.version, fields: slices.Clone(r.fields)}, nrefs: t.strongIn[u]}
	x.rows[u] = tr
	x.order = append(x.order, tr)
	return tr
}

func (x *txn) table(p *opParser) *table {
	v := p.member("table", mID, false)
	if v == nil {
		return nil
	}
	t := x.db.tables[v.(string)]
	if t == nil {
		p.raise(nil, "No table named %s.", v.(string))
	}
	return t
}

func (x *txn) execute(p *opParser) (json.RawMessage, error) {
	if p.err != nil {
		return nil, p.err
	}
	op, _ := p.member("op", mID, false).(string)
	if p.err != nil {
		return nil, p.err
	}
	var res json.RawMessage
	var err *Error
	p.known = append([]string{"op"}, opMembers[op]...)
	switch op {
	case "insert":
		res, err = x.insert(p)
	case "select":
		res, err = x.selectOp(p)
	case "update":
		res, err = x.update(p)
	case "mutate":
		res, err = x.mutate(p)
	case "delete":
		res, err = x.deleteOp(p)
	case "wait":
		var nr bool
		nr, err = x.wait(p)
		if nr && err == nil && p.finish() == nil {
			return nil, &notReady{}
		}
		res = emptyObject
	case "commit":
		p.member("durable", mBoolean, false)
		res = emptyObject
	case "abort":
		err = &Error{Tag: TagAborted, Details: "aborted by request"}
	case "comment":
		if c, ok := p.member("comment", mString, false).(string); ok {
			x.comments = append(x.comments, c)
		}
		res = emptyObject
	case "assert":
		lock, ok := p.member("lock", mID, false).(string)
		if ok && (x.opts.HoldsLock == nil || !x.opts.HoldsLock(lock)) {
			err = &Error{Tag: TagNotOwner, Details: fmt.Sprintf("Asserted lock %s not held.", lock)}
		}
		res = emptyObject
	default:
		p.raise(nil, "No operation %q", op)
		return nil, p.err
	}
	if p.err != nil {
		return nil, p.err
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// opMembers lists each operation's members (RFC 7047 5.2).
var opMembers = map[string][]string{
	"insert":  {"table", "row", "uuid-name", "uuid"},
	"select":  {"table", "where", "columns"},
	"update":  {"table", "where", "row"},
	"mutate":  {"table", "where", "mutations"},
	"delete":  {"table", "where"},
	"wait":    {"table", "where", "columns", "until", "rows", "timeout"},
	"commit":  {"durable"},
	"abort":   {},
	"comment": {"comment"},
	"assert":  {"lock"},
}

func asError(err error) *Error {
	if err == nil {
		return nil
	}
	if e, ok := err.(*Error); ok {
		return e
	}
	return &Error{Tag: TagSyntax, Details: err.Error()}
}

// parseRow parses an operation's "row" member for table t.
func (x *txn) parseRow(p *opParser, t *table) (map[int]Datum, *Error) {
	v := p.member("row", mObject, false)
	if p.err != nil {
		return nil, p.err
	}
	obj := v.(map[string]any)
	out := make(map[int]Datum, len(obj))
	for name, jv := range obj {
		c := t.s.Column(name)
		if c == nil {
			e := syntaxError(obj, fmt.Sprintf("No column %s in table %s.", name, t.s.Name))
			e.Tag = TagUnknownColumn
			return nil, e
		}
		d, err := DatumFromValue(&c.Type, jv, x.resolve)
		if err != nil {
			return nil, asError(err)
		}
		out[c.Index] = d
	}
	return out, nil
}

func (x *txn) insert(p *opParser) (json.RawMessage, *Error) {
	t := x.table(p)
	uuidStr, hasUUID := p.member("uuid", mString, true).(string)
	name, hasName := p.member("uuid-name", mID, true).(string)
	if p.err != nil {
		return nil, p.err
	}
	var u UUID
	if hasUUID {
		var err error
		if u, err = ParseUUID(uuidStr); err != nil {
			return nil, syntaxError(uuidStr, "bad uuid")
		}
		if x.rows[u] != nil || t.rows[u] != nil {
			e := syntaxError(uuidStr, fmt.Sprintf("This UUID would duplicate a UUID already present within the %q table or deleted from this table within the same transaction.", t.s.Name))
			e.Tag = "duplicate uuid"
			return nil, e
		}
	}
	if hasName {
		s := x.symbols[name]
		if s != nil && s.created {
			e := syntaxError(name, `This "uuid-name" appeared on an earlier "insert" operation.`)
			e.Tag = TagDuplicateUUIDName
			return nil, e
		}
		if s == nil {
			s = &symbol{uuid: NewUUID()}
			x.symbols[name] = s
		}
		if hasUUID {
			s.uuid = u
		} else {
			u = s.uuid
		}
		s.created = true
	} else if !hasUUID {
		u = NewUUID()
	}
	vals, err := x.parseRow(p, t)
	if err != nil {
		return nil, err
	}
	fields := make([]Datum, len(t.s.Columns))
	for _, c := range t.s.Columns {
		if d, ok := vals[c.Index]; ok {
			fields[c.Index] = d
			continue
		}
		fields[c.Index] = DefaultDatum(&c.Type)
		if len(fields[c.Index].Keys) == 1 {
			// A default may break the column's constraints (e.g. an
			// enum without ""): ovsdb-server refuses such inserts.
			if e := CheckAtom(fields[c.Index].Keys[0], c.Type.Key); e != nil {
				return nil, asError(e)
			}
		}
	}
	if x.rows[u] != nil || t.rows[u] != nil {
		// Only possible with a "uuid" given by the client.
		e := syntaxError(uuidStr, fmt.Sprintf("This UUID would duplicate a UUID already present within the %q table or deleted from this table within the same transaction.", t.s.Name))
		e.Tag = "duplicate uuid"
		return nil, e
	}
	tr := &txnRow{t: t, uuid: u, new: &rowData{uuid: u, version: NewUUID(), fields: fields}}
	x.rows[u] = tr
	x.order = append(x.order, tr)
	b := append([]byte(`{"uuid":`), appendAtomJSON(nil, u)...)
	return append(b, '}'), nil
}

// colRef is a column in a condition or column list: an index into
// fields, or one of the implicit columns.
type colRef struct {
	idx  int // >= 0: ColumnSchema.Index; -1: _uuid; -2: _version
	name string
	typ  *ColumnType
}

func (c colRef) get(r *rowData) Datum {
	switch c.idx {
	case -1:
		return Scalar(r.uuid)
	case -2:
		return Scalar(r.version)
	}
	return r.fields[c.idx]
}

func lookupColumn(t *table, name string) (colRef, bool) {
	switch name {
	case "_uuid":
		return colRef{-1, name, &uuidType}, true
	case "_version":
		return colRef{-2, name, &uuidType}, true
	}
	c := t.s.Column(name)
	if c == nil {
		return colRef{}, false
	}
	return colRef{c.Index, name, &c.Type}, true
}

// parseColumns parses an optional "columns" member; absent = all columns
// plus _uuid and _version.
func (x *txn) parseColumns(p *opParser, t *table) ([]colRef, *Error) {
	v := p.member("columns", mArray, true)
	if p.err != nil {
		return nil, p.err
	}
	if v == nil {
		cols := []colRef{{-1, "_uuid", &uuidType}, {-2, "_version", &uuidType}}
		for _, c := range t.s.Columns {
			cols = append(cols, colRef{c.Index, c.Name, &c.Type})
		}
		return cols, nil
	}
	var cols []colRef
	seen := map[string]bool{}
	for _, e := range v.([]any) {
		name, ok := e.(string)
		if !ok {
			return nil, syntaxError(v, "array of column names expected")
		}
		c, ok := lookupColumn(t, name)
		if !ok {
			e := syntaxError(v, fmt.Sprintf("%s is not a valid column name", name))
			e.Tag = TagUnknownColumn
			return nil, e
		}
		if seen[name] {
			return nil, syntaxError(v, fmt.Sprintf("column set contains duplicate column %s", name))
		}
		seen[name] = true
		cols = append(cols, c)
	}
	return cols, nil
}

// query calls fn for each row of t matching the "where" member.
func (x *txn) query(p *opParser, t *table, fn func(u UUID, r *rowData)) *Error {
	v := p.member("where", mArray, false)
	if p.err != nil {
		return p.err
	}
	conds, err := x.parseWhere(t, v.([]any))
	if err != nil {
		return err
	}
	// RFC 7047 5.1: a "_uuid" "==" clause selects at most one row; use it
	// instead of scanning the table.
	for _, c := range conds {
		if c.col.idx == -1 && c.fn == "==" && len(c.arg.Keys) == 1 {
			u := c.arg.Keys[0].(UUID)
			if r := x.row(t, u); r != nil && matchAll(conds, r) {
				fn(u, r)
			}
			return nil
		}
	}
	var matches []*rowData
	for u, r := range t.rows {
		if x.rows[u] != nil {
			continue
		}
		if matchAll(conds, r) {
			matches = append(matches, r)
		}
	}
	for _, tr := range x.order {
		if tr.t == t && tr.new != nil && matchAll(conds, tr.new) {
			matches = append(matches, tr.new)
		}
	}
	slices.SortFunc(matches, func(a, b *rowData) int { return CompareAtoms(a.uuid, b.uuid) })
	for _, r := range matches {
		fn(r.uuid, r)
	}
	return nil
}

func (x *txn) selectOp(p *opParser) (json.RawMessage, *Error) {
	t := x.table(p)
	if p.err != nil {
		return nil, p.err
	}
	cols, err := x.parseColumns(p, t)
	if err != nil {
		return nil, err
	}
	b := []byte(`{"rows":[`)
	n := 0
	qerr := x.query(p, t, func(u UUID, r *rowData) {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = appendProjection(b, cols, r)
	})
	if qerr != nil {
		return nil, qerr
	}
	return append(b, "]}"...), nil
}

func appendProjection(b []byte, cols []colRef, r *rowData) []byte {
	sorted := slices.Clone(cols)
	slices.SortFunc(sorted, func(a, c colRef) int { return strings.Compare(a.name, c.name) })
	b = append(b, '{')
	for i, c := range sorted {
		if i > 0 {
			b = append(b, ',')
		}
		b = ovsjson.AppendString(b, c.name)
		b = append(b, ':')
		b = AppendJSON(b, c.get(r), c.typ)
	}
	return append(b, '}')
}

// modify returns a private, modifiable copy of row u for the transaction.
func (x *txn) modify(t *table, u UUID) *rowData {
	tr := x.findOrMake(t, u)
	return tr.new
}

func countJSON(n int) json.RawMessage {
	return json.RawMessage(`{"count":` + strconv.Itoa(n) + `}`)
}

func (x *txn) update(p *opParser) (json.RawMessage, *Error) {
	t := x.table(p)
	if p.err != nil {
		return nil, p.err
	}
	vals, err := x.parseRow(p, t)
	if err != nil {
		return nil, err
	}
	for idx := range vals {
		c := t.s.Columns[idx]
		if !c.Mutable {
			e := syntaxError(p.obj, fmt.Sprintf("Cannot update immutable column %s in table %s.", c.Name, t.s.Name))
			e.Tag = TagConstraint
			return nil, e
		}
	}
	var uuids []UUID
	if qerr := x.query(p, t, func(u UUID, _ *rowData) { uuids = append(uuids, u) }); qerr != nil {
		return nil, qerr
	}
	for _, u := range uuids {
		r := x.modify(t, u)
		for idx, d := range vals {
			r.fields[idx] = d
		}
	}
	return countJSON(len(uuids)), nil
}

func (x *txn) deleteOp(p *opParser) (json.RawMessage, *Error) {
	t := x.table(p)
	if p.err != nil {
		return nil, p.err
	}
	var uuids []UUID
	if qerr := x.query(p, t, func(u UUID, _ *rowData) { uuids = append(uuids, u) }); qerr != nil {
		return nil, qerr
	}
	for _, u := range uuids {
		if tr := x.rows[u]; tr != nil {
			tr.new = nil
			continue
		}
		tr := x.findOrMake(t, u)
		tr.new = nil
	}
	return countJSON(len(uuids)), nil
}

func (x *txn) mutate(p *opParser) (json.RawMessage, *Error) {
	t := x.table(p)
	if p.err != nil {
		return nil, p.err
	}
	v := p.member("mutations", mArray, false)
	if p.err != nil {
		return nil, p.err
	}
	var muts []mutation
	for _, mv := range v.([]any) {
		m, err := x.parseMutation(t, mv)
		if err != nil {
			return nil, err
		}
		muts = append(muts, m)
	}
	var uuids []UUID
	if qerr := x.query(p, t, func(u UUID, _ *rowData) { uuids = append(uuids, u) }); qerr != nil {
		return nil, qerr
	}
	for _, u := range uuids {
		r := x.modify(t, u)
		for _, m := range muts {
			d, err := m.apply(r.fields[m.col.Index])
			if err != nil {
				return nil, err
			}
			r.fields[m.col.Index] = d
		}
	}
	return countJSON(len(uuids)), nil
}

func (x *txn) wait(p *opParser) (notReady bool, err *Error) {
	timeoutV := p.member("timeout", mInteger, true)
	wherev := p.member("where", mArray, false)
	p.member("columns", mArray, true) // parsed by parseColumns below
	untilV := p.member("until", mString, false)
	rowsV := p.member("rows", mArray, false)
	t := x.table(p)
	if p.err != nil {
		return false, p.err
	}
	conds, err := x.parseWhere(t, wherev.([]any))
	if err != nil {
		return false, err
	}
	cols, err := x.parseColumns(p, t)
	if err != nil {
		return false, err
	}
	if _, given := p.obj["columns"]; !given {
		cols = cols[2:] // no implicit columns in a wait's default set
	}
	timeout := int64(math.MaxInt64)
	if timeoutV != nil {
		n, perr := strconv.ParseInt(string(timeoutV.(json.Number)), 10, 64)
		if perr != nil || n < 0 {
			return false, syntaxError(timeoutV, "timeout must be nonnegative")
		}
		timeout = n
		if n < x.timeout {
			x.timeout = n
		}
	}
	until := untilV.(string)
	if until != "==" && until != "!=" {
		return false, syntaxError(until, `"until" must be "==" or "!="`)
	}
	expected := map[string]bool{}
	for _, rv := range rowsV.([]any) {
		obj, ok := rv.(map[string]any)
		if !ok {
			return false, syntaxError(rv, "row must be a JSON object")
		}
		r := &rowData{fields: make([]Datum, len(t.s.Columns))}
		for name, jv := range obj {
			c, ok := lookupColumn(t, name)
			if !ok {
				e := syntaxError(obj, fmt.Sprintf("No column %s in table %s.", name, t.s.Name))
				e.Tag = TagUnknownColumn
				return false, e
			}
			d, derr := DatumFromValue(c.typ, jv, x.resolve)
			if derr != nil {
				return false, asError(derr)
			}
			switch c.idx {
			case -1:
				r.uuid = d.Keys[0].(UUID)
			case -2:
				r.version = d.Keys[0].(UUID)
			default:
				r.fields[c.idx] = d
			}
		}
		expected[string(appendProjection(nil, cols, r))] = true
	}
	actual := map[string]bool{}
	equal := true
	x.queryConds(t, conds, func(_ UUID, r *rowData) {
		k := string(appendProjection(nil, cols, r))
		actual[k] = true
		if !expected[k] {
			equal = false
		}
	})
	if equal {
		equal = len(actual) == len(expected)
	}
	if (until == "==") != equal {
		if timeoutV != nil && x.elapsed >= timeout {
			if x.elapsed > 0 {
				return false, &Error{Tag: TagTimedOut, Details: fmt.Sprintf(`"wait" timed out after %d ms`, x.elapsed)}
			}
			return false, &Error{Tag: TagTimedOut, Details: `"where" clause test failed`}
		}
		return true, nil
	}
	return false, nil
}

// queryConds is query with parsed conditions.
func (x *txn) queryConds(t *table, conds []clause, fn func(u UUID, r *rowData)) {
	for _, c := range conds {
		if c.col.idx == -1 && c.fn == "==" && len(c.arg.Keys) == 1 {
			u := c.arg.Keys[0].(UUID)
			if r := x.row(t, u); r != nil && matchAll(conds, r) {
				fn(u, r)
			}
			return
		}
	}
	for u, r := range t.rows {
		if x.rows[u] == nil && matchAll(conds, r) {
			fn(u, r)
		}
	}
	for _, tr := range x.order {
		if tr.t == t && tr.new != nil && matchAll(conds, tr.new) {
			fn(tr.uuid, tr.new)
		}
	}
}

package vsctl

import (
	"gvswitch/control/internal/ovsjson"
	"gvswitch/control/ovsdb"
	"sort"
	"strings"
)

// dbRow is one row of the client's replica, with the current transaction's
// changes layered on top (like the Open vSwitch IDL's old/new datums).
type dbRow struct {
	UUID  string
	Table *Table
	old   map[string]Datum // server values of monitored columns; nil if inserted
	new   map[string]Datum // written columns
	// mapOps are partial map updates (RFC 7047 5.1 "mutate" insert/delete)
	// that are sent as mutations and not visible to reads.
	mapOps   map[string]*mapOp
	verify   map[string]bool
	inserted bool
	deleted  bool
	inTxn    bool
	// persist: the insert asks the server to use UUID as the row's UUID
	// ("uuid" member of insert, create --id=UUID).
	persist bool
}

type mapOp struct {
	set Datum // pairs to insert
	del Datum // keys to delete (set of key atoms)
	ins Datum // elements to insert into a set column
}

// replica is the client's replica of the monitored tables and columns.
type replica struct {
	Schema  *Schema
	rows    map[string]map[string]*dbRow // table -> uuid -> row
	monitor map[string]map[string]bool   // table -> monitored columns
	order   map[string]*rowOrder         // table -> IDL iteration order
	txnRows []*dbRow
}

// newReplica returns an empty replica for schema.
func newReplica(s *Schema) *replica {
	return &replica{Schema: s, rows: map[string]map[string]*dbRow{}, monitor: map[string]map[string]bool{}, order: map[string]*rowOrder{}}
}

// AddTable asks for t to be replicated (with no columns yet).
func (db *replica) AddTable(t *Table) {
	if db.monitor[t.Name] == nil {
		db.monitor[t.Name] = map[string]bool{}
	}
}

// AddColumn asks for column c of t to be replicated, and for the tables
// it refers to (with no columns), as the Open vSwitch IDL does.
func (db *replica) AddColumn(t *Table, c *Column) {
	db.AddTable(t)
	db.monitor[t.Name][c.Name] = true
	for _, b := range []*BaseType{c.Type.Key, c.Type.Value} {
		if b != nil && b.RefTable != "" {
			if rt := db.Schema.Table(b.RefTable); rt != nil {
				db.AddTable(rt)
			}
		}
	}
}

// Monitored reports whether t.c is replicated.
func (db *replica) Monitored(t *Table, c *Column) bool { return db.monitor[t.Name][c.Name] }

// Rows returns the visible rows of t in the order the Open vSwitch IDL
// iterates them (see rowOrder).
func (db *replica) Rows(t *Table) []*dbRow {
	m := db.rows[t.Name]
	out := make([]*dbRow, 0, len(m))
	seen := make(map[string]bool, len(m))
	if o := db.order[t.Name]; o != nil {
		for _, u := range o.keys() {
			if r := m[u]; r != nil && !r.deleted {
				out = append(out, r)
				seen[u] = true
			}
		}
	}
	var rest []*dbRow
	for u, r := range m {
		if !r.deleted && !seen[u] {
			rest = append(rest, r)
		}
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].UUID < rest[j].UUID })
	return append(out, rest...)
}

// place records that the IDL put row uuid of table in its hash table.
func (db *replica) place(table, uuid string) {
	o := db.order[table]
	if o == nil {
		o = newRowOrder()
		db.order[table] = o
	}
	o.insert(uuid, uuidHash(uuid))
}

// unplace undoes place.
func (db *replica) unplace(table, uuid string) {
	if o := db.order[table]; o != nil {
		o.remove(uuid)
	}
}

// placeRefs places the rows r refers to, as the IDL creates placeholder
// rows for the targets of references when it parses a row's columns.
func (db *replica) placeRefs(r *dbRow) {
	for _, c := range r.Table.Columns {
		d, ok := r.old[c.Name]
		if !ok {
			continue
		}
		if b := c.Type.Key; b.RefTable != "" {
			for _, k := range d.Keys {
				db.place(b.RefTable, atomUUID(k))
			}
		}
		if b := c.Type.Value; b != nil && b.RefTable != "" {
			for _, v := range d.Values {
				db.place(b.RefTable, atomUUID(v))
			}
		}
	}
}

// Get returns the visible row of t with this UUID, or nil.
func (db *replica) Get(t *Table, uuid string) *dbRow {
	r := db.rows[t.Name][uuid]
	if r == nil || r.deleted {
		return nil
	}
	return r
}

// Read returns the value of column c as the transaction sees it.
func (r *dbRow) Read(c *Column) Datum {
	if d, ok := r.new[c.Name]; ok {
		return d
	}
	if d, ok := r.old[c.Name]; ok {
		return d
	}
	return ovsdb.DefaultDatum(&c.Type)
}

// ReadName returns the column named name (which must exist).
func (r *dbRow) ReadName(name string) Datum { return r.Read(r.Table.Column(name)) }

// Str returns a scalar string column's value, "" when empty.
func (r *dbRow) Str(name string) string {
	d := r.ReadName(name)
	if len(d.Keys) == 0 {
		return ""
	}
	return atomStr(d.Keys[0])
}

func (db *replica) touch(r *dbRow) {
	if !r.inTxn {
		r.inTxn = true
		db.txnRows = append(db.txnRows, r)
	}
}

// Write sets column c of r to d in the current transaction.
func (db *replica) Write(r *dbRow, c *Column, d Datum) {
	db.touch(r)
	if r.new == nil {
		r.new = map[string]Datum{}
	}
	r.new[c.Name] = d
}

// WriteName is Write by column name.
func (db *replica) WriteName(r *dbRow, name string, d Datum) { db.Write(r, r.Table.Column(name), d) }

// SetMapKey records a partial map update "c:key=value" (a delete of the key
// if the transaction sees it, then an insert), like the IDL's
// write_partial_map.
func (db *replica) SetMapKey(r *dbRow, c *Column, key, value Atom) {
	db.touch(r)
	if r.mapOps == nil {
		r.mapOps = map[string]*mapOp{}
	}
	op := r.mapOps[c.Name]
	if op == nil {
		op = &mapOp{set: Datum{Values: []Atom{}}}
		r.mapOps[c.Name] = op
	}
	cur := r.Read(c)
	if find(cur, key) >= 0 && find(op.del, key) < 0 {
		op.del.Keys = append(op.del.Keys, key)
		sortDatum(&op.del)
	}
	if i := find(op.set, key); i >= 0 {
		op.set.Values[i] = value
		return
	}
	op.set.Keys = append(op.set.Keys, key)
	op.set.Values = append(op.set.Values, value)
	sortDatum(&op.set)
}

// DeleteMapKey records a partial map update deleting key (an RFC 7047
// 5.1 "delete" mutation).
func (db *replica) DeleteMapKey(r *dbRow, c *Column, key Atom) {
	db.touch(r)
	if r.mapOps == nil {
		r.mapOps = map[string]*mapOp{}
	}
	op := r.mapOps[c.Name]
	if op == nil {
		op = &mapOp{set: Datum{Values: []Atom{}}}
		r.mapOps[c.Name] = op
	}
	if find(op.del, key) < 0 {
		op.del.Keys = append(op.del.Keys, key)
		sortDatum(&op.del)
	}
}

// AddToSet records a partial set update (an RFC 7047 5.1 "insert"
// mutation of keys), like the IDL's write_partial_set: the server checks
// the column's type and size.
func (db *replica) AddToSet(r *dbRow, c *Column, keys []Atom) {
	db.touch(r)
	if r.mapOps == nil {
		r.mapOps = map[string]*mapOp{}
	}
	op := r.mapOps[c.Name]
	if op == nil {
		op = &mapOp{set: Datum{Values: []Atom{}}}
		r.mapOps[c.Name] = op
	}
	op.ins.Keys = append(op.ins.Keys, keys...)
}

// Verify records that the transaction depends on r's column c staying as
// read (an RFC 7047 5.2.6 "wait" operation at commit).
func (db *replica) Verify(r *dbRow, c *Column) {
	if r.inserted || r.old == nil {
		return
	}
	db.touch(r)
	if r.verify == nil {
		r.verify = map[string]bool{}
	}
	r.verify[c.Name] = true
}

// VerifyName is Verify by column name.
func (db *replica) VerifyName(r *dbRow, name string) { db.Verify(r, r.Table.Column(name)) }

// Insert adds a new row to t in the current transaction. uuid may be ""
// for a fresh one.
func (db *replica) Insert(t *Table, uuid string) *dbRow {
	if uuid == "" {
		uuid = newUUID()
	}
	uuid = strings.ToLower(uuid)
	r := &dbRow{UUID: uuid, Table: t, inserted: true, new: map[string]Datum{}}
	if db.rows[t.Name] == nil {
		db.rows[t.Name] = map[string]*dbRow{}
	}
	db.rows[t.Name][uuid] = r
	db.place(t.Name, uuid)
	db.touch(r)
	return r
}

// Delete removes r in the current transaction.
func (db *replica) Delete(r *dbRow) {
	db.touch(r)
	r.deleted = true
	if r.inserted {
		delete(db.rows[r.Table.Name], r.UUID)
		db.unplace(r.Table.Name, r.UUID)
	}
}

// Abort discards the current transaction's changes.
func (db *replica) Abort() {
	for _, r := range db.txnRows {
		r.new, r.mapOps, r.verify, r.inTxn = nil, nil, nil, false
		r.deleted = false
		if r.inserted {
			delete(db.rows[r.Table.Name], r.UUID)
			db.unplace(r.Table.Name, r.UUID)
		}
	}
	db.txnRows = nil
}

// newUUID returns a random (version 4) UUID in text form.
func newUUID() string { return ovsdb.NewUUID().String() }

// rowName is the "uuid-name" of an inserted row (as ovs-vsctl names them).
func rowName(uuid string) string { return "row" + strings.ReplaceAll(uuid, "-", "_") }

// txnOps builds the operations of the current transaction (RFC 7047 5.2)
// and reports whether anything would change. The increment of
// Open_vSwitch.next_cfg and the comment are added by the caller.
func (db *replica) txnOps() (ops [][]byte, anyUpdates bool) {
	inserted := map[string]bool{}
	for _, r := range db.txnRows {
		if r.inserted && !r.deleted && !r.persist {
			inserted[r.UUID] = true
		}
	}
	named := func(u string) string {
		if inserted[u] {
			return rowName(u)
		}
		return ""
	}
	where := func(r *dbRow) []byte {
		b := []byte(`[["_uuid","==",`)
		b = appendAtomJSON(b, uuidAtom(r.UUID), named)
		return append(b, "]]"...)
	}
	for _, r := range db.txnRows {
		if len(r.verify) == 0 || r.deleted && r.inserted {
			continue
		}
		cols := make([]string, 0, len(r.verify))
		for c := range r.verify {
			cols = append(cols, c)
		}
		sort.Strings(cols)
		b := []byte(`{"op":"wait","table":`)
		b = ovsjson.AppendString(b, r.Table.Name)
		b = append(b, `,"timeout":0,"where":`...)
		b = append(b, where(r)...)
		b = append(b, `,"until":"==","columns":[`...)
		for i, c := range cols {
			if i > 0 {
				b = append(b, ',')
			}
			b = ovsjson.AppendString(b, c)
		}
		b = append(b, `],"rows":[{`...)
		for i, c := range cols {
			if i > 0 {
				b = append(b, ',')
			}
			col := r.Table.Column(c)
			old, ok := r.old[c]
			if !ok {
				old = ovsdb.DefaultDatum(&col.Type)
			}
			b = ovsjson.AppendString(b, c)
			b = append(b, ':')
			b = AppendJSON(b, &col.Type, old, nil)
		}
		b = append(b, "}]}"...)
		ops = append(ops, b)
	}
	// Single-row tables: check the table is still empty when inserting its
	// row (the IDL does this for "maxRows": 1 root tables).
	for _, name := range db.Schema.TableNames() {
		t := db.Schema.Table(name)
		if t.MaxRows != 1 {
			continue
		}
		initial, final := 0, 0
		for _, r := range db.rows[t.Name] {
			if !r.inserted {
				initial++
			}
			if !r.deleted {
				final++
			}
		}
		if initial == 0 && final == 1 {
			b := []byte(`{"op":"wait","table":`)
			b = ovsjson.AppendString(b, t.Name)
			b = append(b, `,"where":[],"timeout":0,"until":"==","rows":[]}`...)
			ops = append(ops, b)
		}
	}
	for _, r := range db.txnRows {
		t := r.Table
		switch {
		case r.deleted:
			if !r.inserted && t.IsRoot {
				b := []byte(`{"op":"delete","table":`)
				b = ovsjson.AppendString(b, t.Name)
				b = append(b, `,"where":`...)
				b = append(b, where(r)...)
				b = append(b, '}')
				ops = append(ops, b)
				anyUpdates = true
			}
			continue
		case r.inserted || len(r.new) > 0:
			var b []byte
			if r.inserted {
				b = []byte(`{"op":"insert","table":`)
				b = ovsjson.AppendString(b, t.Name)
				if r.persist {
					b = append(b, `,"uuid":`...)
					b = ovsjson.AppendString(b, r.UUID)
				} else {
					b = append(b, `,"uuid-name":`...)
					b = ovsjson.AppendString(b, rowName(r.UUID))
				}
				anyUpdates = true
			} else {
				b = []byte(`{"op":"update","table":`)
				b = ovsjson.AppendString(b, t.Name)
				b = append(b, `,"where":`...)
				b = append(b, where(r)...)
			}
			b = append(b, `,"row":{`...)
			cols := make([]string, 0, len(r.new))
			for c := range r.new {
				cols = append(cols, c)
			}
			sort.Strings(cols)
			n := 0
			for _, c := range cols {
				col := t.Column(c)
				d := r.new[c]
				if r.inserted && isDefault(&col.Type, d) {
					continue
				}
				if !r.inserted {
					old, ok := r.old[c]
					if !ok {
						old = ovsdb.DefaultDatum(&col.Type)
					}
					if !Equal(old, d) {
						anyUpdates = true
					}
				}
				if n > 0 {
					b = append(b, ',')
				}
				n++
				b = ovsjson.AppendString(b, c)
				b = append(b, ':')
				b = AppendJSON(b, &col.Type, d, named)
			}
			b = append(b, "}}"...)
			if r.inserted || n > 0 {
				ops = append(ops, b)
			}
		}
		if len(r.mapOps) > 0 {
			cols := make([]string, 0, len(r.mapOps))
			for c := range r.mapOps {
				cols = append(cols, c)
			}
			sort.Strings(cols)
			b := []byte(`{"op":"mutate","table":`)
			b = ovsjson.AppendString(b, t.Name)
			b = append(b, `,"where":`...)
			b = append(b, where(r)...)
			b = append(b, `,"mutations":[`...)
			n := 0
			for _, c := range cols {
				col := t.Column(c)
				op := r.mapOps[c]
				if len(op.del.Keys) > 0 {
					if n > 0 {
						b = append(b, ',')
					}
					n++
					b = append(b, '[')
					b = ovsjson.AppendString(b, c)
					b = append(b, `,"delete",`...)
					b = appendSetJSON(b, idlOrder(op.del), named)
					b = append(b, ']')
				}
				if len(op.set.Keys) > 0 {
					if n > 0 {
						b = append(b, ',')
					}
					n++
					b = append(b, '[')
					b = ovsjson.AppendString(b, c)
					b = append(b, `,"insert",`...)
					b = AppendJSON(b, &col.Type, idlOrder(op.set), named)
					b = append(b, ']')
				}
				if len(op.ins.Keys) > 0 {
					if n > 0 {
						b = append(b, ',')
					}
					n++
					b = append(b, '[')
					b = ovsjson.AppendString(b, c)
					b = append(b, `,"insert",`...)
					b = appendSetJSON(b, idlOrder(op.ins), named)
					b = append(b, ']')
				}
			}
			b = append(b, "]}"...)
			if n > 0 {
				ops = append(ops, b)
				anyUpdates = true
			}
		}
	}
	return ops, anyUpdates
}

func sortStrings(s []string) { sort.Strings(s) }

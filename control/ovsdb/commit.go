package ovsdb

import (
	"fmt"
	"slices"
	"strings"
)

// commit runs the commit-time checks in ovsdb-server's order (determine
// changes, reference counts, garbage collection, maxRows, weak references,
// index uniqueness), then journals and applies the transaction and runs
// the commit hooks. A returned error leaves the database unchanged.
func (x *txn) commit() *Error {
	x.determineChanges()
	if err := x.updateRefCounts(); err != nil {
		return err
	}
	for i := 0; i < len(x.order); i++ {
		tr := x.order[i]
		if tr.new != nil && tr.nrefs == 0 && !tr.t.s.IsRoot {
			x.deleteGarbage(tr)
		}
	}
	if err := x.checkMaxRows(); err != nil {
		return err
	}
	if err := x.assessWeakRefs(); err != nil {
		return err
	}
	x.determineChanges()
	if err := x.checkIndexes(); err != nil {
		return err
	}
	changes, versions := x.changes()
	if len(changes) == 0 {
		return nil
	}
	c := &Commit{Changes: changes, Comment: strings.Join(x.comments, "\n"), Date: x.db.now()}
	if rec := EncodeRecord(c); x.db.journal != nil && rec != nil {
		if err := x.db.journal.Append(rec); err != nil {
			return &Error{Tag: TagIO, Details: fmt.Sprintf("writing transaction failed: %v", err)}
		}
	}
	x.db.apply(changes, versions)
	for _, tr := range x.order {
		if tr.dropped {
			continue
		}
		if tr.new != nil {
			tr.t.strongIn[tr.uuid] = tr.nrefs
		}
	}
	x.db.runHooks(c)
	if fj, ok := x.db.journal.(*FileJournal); ok {
		fj.afterCommit()
	}
	return nil
}

func (db *Database) runHooks(c *Commit) {
	ids := make([]int, 0, len(db.hooks))
	for id := range db.hooks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		db.hooks[id](c)
	}
	close(db.changed)
	db.changed = make(chan struct{})
}

// determineChanges marks changed columns and drops rows that a
// transaction modified back to their committed value.
func (x *txn) determineChanges() {
	for _, tr := range x.order {
		if tr.dropped {
			continue
		}
		n := len(tr.t.s.Columns)
		tr.changed = make([]bool, n)
		switch {
		case tr.old != nil && tr.new != nil:
			any := false
			for i := 0; i < n; i++ {
				if !tr.old.fields[i].Equal(tr.new.fields[i]) {
					tr.changed[i] = true
					any = true
				}
			}
			if !any && !tr.recheck && tr.nrefs == tr.t.strongIn[tr.uuid] {
				tr.dropped = true
				delete(x.rows, tr.uuid)
			}
		case tr.old == nil && tr.new == nil:
			// Inserted and deleted (or collected) in the same transaction.
			tr.dropped = true
			delete(x.rows, tr.uuid)
		default:
			for i := range tr.changed {
				tr.changed[i] = true
			}
		}
	}
}

// refDeltas returns, for the strong references in column c, how many
// references each target gains (positive) or loses (negative) going from
// old to new. Self-references do not count.
func refDeltas(self UUID, c *ColumnSchema, old, new []Datum, deltas map[UUID]int) {
	count := func(fields []Datum, sign int) {
		if fields == nil {
			return
		}
		d := fields[c.Index]
		if k := c.Type.Key; k.RefTable != "" && k.RefType == Strong {
			for _, a := range d.Keys {
				if u := a.(UUID); u != self {
					deltas[u] += sign
				}
			}
		}
		if v := c.Type.Value; v != nil && v.RefTable != "" && v.RefType == Strong {
			for _, a := range d.Values {
				if u := a.(UUID); u != self {
					deltas[u] += sign
				}
			}
		}
	}
	count(old, -1)
	count(new, +1)
}

func hasStrongRefs(c *ColumnSchema) bool {
	k, v := c.Type.Key, c.Type.Value
	return (k.RefTable != "" && k.RefType == Strong) || (v != nil && v.RefTable != "" && v.RefType == Strong)
}

func hasWeakRefs(c *ColumnSchema) bool {
	k, v := c.Type.Key, c.Type.Value
	return (k.RefTable != "" && k.RefType == Weak) || (v != nil && v.RefTable != "" && v.RefType == Weak)
}

func refTableOf(c *ColumnSchema) string {
	if c.Type.Key.RefTable != "" {
		return c.Type.Key.RefTable
	}
	return c.Type.Value.RefTable
}

func (x *txn) updateRefCounts() *Error {
	n := len(x.order) // rows pulled in below carry no changes of their own
	for i := 0; i < n; i++ {
		tr := x.order[i]
		if tr.dropped {
			continue
		}
		for _, c := range tr.t.s.Columns {
			if !tr.changed[c.Index] || !hasStrongRefs(c) {
				continue
			}
			deltas := map[UUID]int{}
			var oldF, newF []Datum
			if tr.old != nil {
				oldF = tr.old.fields
			}
			if tr.new != nil {
				newF = tr.new.fields
			}
			refDeltas(tr.uuid, c, oldF, newF, deltas)
			targets := make([]UUID, 0, len(deltas))
			for u, d := range deltas {
				if d != 0 {
					targets = append(targets, u)
				}
			}
			slices.SortFunc(targets, func(a, b UUID) int { return CompareAtoms(a, b) })
			for _, u := range targets {
				refTable := refTableOf(c)
				target := x.findOrMake(x.db.tables[refTable], u)
				if target == nil {
					if deltas[u] < 0 {
						continue // the committed state cannot hold dangling strong refs
					}
					return &Error{Tag: TagReferentialIntegrity, Details: fmt.Sprintf(
						"Table %s column %s row %s references nonexistent row %s in table %s.",
						tr.t.s.Name, c.Name, tr.uuid, u, refTable)}
				}
				target.nrefs += deltas[u]
			}
		}
	}
	for _, tr := range x.order {
		if !tr.dropped && tr.old != nil && tr.new == nil && tr.nrefs > 0 {
			return &Error{Tag: TagReferentialIntegrity, Details: fmt.Sprintf(
				"cannot delete %s row %s because of %d remaining reference(s)", tr.t.s.Name, tr.uuid, tr.nrefs)}
		}
	}
	return nil
}

// deleteGarbage deletes an unreferenced non-root row and releases its own
// strong references, collecting what that leaves unreferenced.
func (x *txn) deleteGarbage(tr *txnRow) {
	if tr.t.s.IsRoot || tr.new == nil {
		return
	}
	fields := tr.new.fields
	tr.new = nil
	for _, c := range tr.t.s.Columns {
		if !hasStrongRefs(c) {
			continue
		}
		deltas := map[UUID]int{}
		refDeltas(tr.uuid, c, fields, nil, deltas)
		for u, d := range deltas {
			target := x.findOrMake(x.db.tables[refTableOf(c)], u)
			if target == nil {
				continue
			}
			target.nrefs += d
			if target.nrefs == 0 && target.new != nil {
				x.deleteGarbage(target)
			}
		}
	}
}

func (x *txn) checkMaxRows() *Error {
	delta := map[*table]int{}
	for _, tr := range x.order {
		if tr.dropped {
			continue
		}
		switch {
		case tr.old == nil && tr.new != nil:
			delta[tr.t]++
		case tr.old != nil && tr.new == nil:
			delta[tr.t]--
		}
	}
	for t, d := range delta {
		if n := len(t.rows) + d; t.s.MaxRows > 0 && n > t.s.MaxRows {
			return &Error{Tag: TagConstraint, Details: fmt.Sprintf(
				"transaction causes %q table to contain %d rows, greater than the schema-defined limit of %d row(s)",
				t.s.Name, n, t.s.MaxRows)}
		}
	}
	return nil
}

// assessWeakRefs removes weak references to rows that do not exist after
// the transaction (RFC 7047 3.2 "refType": weak).
func (x *txn) assessWeakRefs() *Error {
	for i := 0; i < len(x.order); i++ {
		tr := x.order[i]
		if tr.dropped || tr.old == nil || tr.new != nil {
			continue
		}
		for src := range x.db.weakIn[tr.uuid] {
			if s := x.findOrMake(src.t, src.u); s != nil && s.new != nil {
				s.recheck = true
			}
		}
	}
	for _, tr := range x.order {
		if tr.dropped || tr.new == nil {
			continue
		}
		for _, c := range tr.t.s.Columns {
			if !hasWeakRefs(c) || !(tr.recheck || tr.old == nil || (tr.changed != nil && tr.changed[c.Index])) {
				continue
			}
			d := tr.new.fields[c.Index]
			kRef := c.Type.Key.RefTable != "" && c.Type.Key.RefType == Weak
			vRef := c.Type.Value != nil && c.Type.Value.RefTable != "" && c.Type.Value.RefType == Weak
			var out Datum
			if c.Type.IsMap() {
				out.Values = []Atom{}
			}
			removed := 0
			for j, k := range d.Keys {
				ok := !kRef || x.exists(c.Type.Key.RefTable, k.(UUID))
				if ok && vRef {
					ok = x.exists(c.Type.Value.RefTable, d.Values[j].(UUID))
				}
				if !ok {
					removed++
					continue
				}
				out.Keys = append(out.Keys, k)
				if c.Type.IsMap() {
					out.Values = append(out.Values, d.Values[j])
				}
			}
			if removed == 0 {
				continue
			}
			tr.new.fields[c.Index] = out
			if len(out.Keys) < c.Type.Min {
				inserted := ""
				if tr.old == nil {
					inserted = "(inserted within this transaction) "
				}
				return &Error{Tag: TagConstraint, Details: fmt.Sprintf(
					"Deletion of %d weak reference(s) to deleted (or never-existing) rows from column %q in %q row %s %scaused this column to become empty, but constraints on this column disallow an empty column.",
					removed, c.Name, tr.t.s.Name, tr.uuid, inserted)}
			}
		}
	}
	return nil
}

func (x *txn) checkIndexes() *Error {
	type key struct {
		t *table
		i int
		k string
	}
	local := map[key]*txnRow{}
	for _, tr := range x.order {
		if tr.dropped || tr.new == nil {
			continue
		}
		for i, cols := range tr.t.s.Indexes {
			k := indexKey(cols, tr.new.fields)
			if other := local[key{tr.t, i, k}]; other != nil {
				return indexError(tr.t, cols, other, tr)
			}
			if owner, ok := tr.t.indexes[i][k]; ok && owner != tr.uuid && x.rows[owner] == nil {
				return indexError(tr.t, cols, &txnRow{t: tr.t, uuid: owner, old: tr.t.rows[owner], new: tr.t.rows[owner], dropped: true}, tr)
			}
			local[key{tr.t, i, k}] = tr
		}
	}
	return nil
}

func indexError(t *table, cols []*ColumnSchema, a, b *txnRow) *Error {
	var vals, names []string
	for _, c := range cols {
		vals = append(vals, a.new.fields[c.Index].String())
		names = append(names, fmt.Sprintf("%q", c.Name))
	}
	colDesc := "column " + names[0]
	if len(names) > 1 {
		colDesc = "columns " + strings.Join(names, ", ")
	}
	describe := func(title string, r *txnRow) string {
		s := fmt.Sprintf("%s row, with UUID %s, ", title, r.uuid)
		switch {
		case r.dropped:
			return s + "existed in the database before this transaction and was not modified by the transaction."
		case r.old == nil:
			return s + "was inserted by this transaction."
		}
		same := true
		for _, c := range cols {
			if !r.old.fields[c.Index].Equal(r.new.fields[c.Index]) {
				same = false
			}
		}
		if same {
			return s + "existed in the database before this transaction, which modified some of the row's columns but not any columns in this index."
		}
		var old []string
		for _, c := range cols {
			old = append(old, r.old.fields[c.Index].String())
		}
		return s + "had the following index values before the transaction: " + strings.Join(old, ", ") + "."
	}
	return &Error{Tag: TagConstraint, Details: fmt.Sprintf(
		"Transaction causes multiple rows in %q table to have identical values (%s) for index on %s.  %s  %s",
		t.s.Name, strings.Join(vals, ", "), colDesc, describe("First", a), describe("Second", b))}
}

// changes lists the rows the transaction really changes, with fresh
// _version UUIDs for modified rows.
func (x *txn) changes() ([]RowChange, map[UUID]UUID) {
	var out []RowChange
	versions := map[UUID]UUID{}
	for _, tr := range x.order {
		if tr.dropped {
			continue
		}
		ch := RowChange{Table: tr.t.s, UUID: tr.uuid, Changed: tr.changed}
		if tr.old != nil {
			ch.Old = tr.old.fields
		}
		if tr.new != nil {
			ch.New = tr.new.fields
			versions[tr.uuid] = tr.new.version
			if tr.old != nil {
				if !slices.Contains(tr.changed, true) {
					// Only its reference count changed: nothing to log.
					continue
				}
				versions[tr.uuid] = NewUUID()
			}
		}
		out = append(out, ch)
	}
	return out, versions
}

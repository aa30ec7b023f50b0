package ovsdb

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Database is an in-memory OVSDB database with one schema. Transactions
// (Transact) are executed one at a time, atomically, with the commit-time
// checks of ovsdb-server: referential integrity, garbage collection of
// unreferenced non-root rows, weak reference removal, maxRows and unique
// indexes. A Journal, when set, receives every committed change before it
// becomes visible; commit hooks see every change after that, in order.
//
// All methods are safe for concurrent use.
type Database struct {
	schema *Schema

	mu      sync.Mutex
	tables  map[string]*table
	weakIn  map[UUID]map[rowRef]int // target row → rows holding a weak reference to it
	hooks   map[int]func(*Commit)
	nextID  int
	changed chan struct{} // closed and replaced at every commit
	journal Journal
	now     func() time.Time
}

// rowRef names a row of a table.
type rowRef struct {
	t *table
	u UUID
}

type table struct {
	s        *TableSchema
	rows     map[UUID]*rowData
	strongIn map[UUID]int // incoming strong references, self-references excluded
	indexes  []map[string]UUID
}

// rowData is one committed (immutable) or transaction-private row.
type rowData struct {
	uuid, version UUID
	fields        []Datum // by ColumnSchema.Index
}

// Journal receives each commit as the RFC 7047-style JSON text of an
// Open vSwitch database file record; Append must make it durable before
// returning. An error aborts the commit.
type Journal interface {
	Append(record []byte) error
}

// RowChange is one row changed by a commit. Old is nil for an inserted row,
// New nil for a deleted one; both are indexed by ColumnSchema.Index and
// must not be modified. Changed[i] tells whether column i differs.
type RowChange struct {
	Table   *TableSchema
	UUID    UUID
	Old     []Datum
	New     []Datum
	Changed []bool
}

// Commit describes one committed transaction.
type Commit struct {
	Changes []RowChange
	Comment string
	Date    time.Time
}

// ErrUnknownTable is wrapped by Database methods given a table name the
// schema does not have.
var ErrUnknownTable = errors.New("unknown table")

// NewDatabase returns an empty database for the schema.
func NewDatabase(s *Schema) *Database {
	db := &Database{schema: s, tables: make(map[string]*table, len(s.Tables)),
		weakIn: make(map[UUID]map[rowRef]int), hooks: make(map[int]func(*Commit)),
		changed: make(chan struct{}), now: time.Now}
	for name, ts := range s.Tables {
		t := &table{s: ts, rows: make(map[UUID]*rowData), strongIn: make(map[UUID]int)}
		for range ts.Indexes {
			t.indexes = append(t.indexes, make(map[string]UUID))
		}
		db.tables[name] = t
	}
	return db
}

// Schema returns the database's schema.
func (db *Database) Schema() *Schema { return db.schema }

// SetJournal makes every later commit go to j before it is applied.
func (db *Database) SetJournal(j Journal) {
	db.mu.Lock()
	db.journal = j
	db.mu.Unlock()
}

// AddCommitHook registers fn to be called after every commit, while the
// database is locked (fn must not call back into the database, and must
// not block). It returns a function that removes the hook.
func (db *Database) AddCommitHook(fn func(*Commit)) (remove func()) {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.addHookLocked(fn)
}

// addHookLocked registers hook; db.mu is held. It returns the function
// that removes it.
func (db *Database) addHookLocked(hook func(*Commit)) (remove func()) {
	id := db.nextID
	db.nextID++
	db.hooks[id] = hook
	return func() {
		db.mu.Lock()
		delete(db.hooks, id)
		db.mu.Unlock()
	}
}

// View is a read-only view of the committed state, valid only inside the
// callback it is passed to.
type View struct{ db *Database }

// Rows calls fn for every row of the table, in UUID order. fields is
// indexed by ColumnSchema.Index and must not be modified.
func (v View) Rows(tableName string, fn func(uuid UUID, fields []Datum)) error {
	t := v.db.tables[tableName]
	if t == nil {
		return fmt.Errorf("%w %s", ErrUnknownTable, tableName)
	}
	for _, u := range sortedUUIDs(t.rows) {
		fn(u, t.rows[u].fields)
	}
	return nil
}

// Row returns the fields of one row, or nil.
func (v View) Row(tableName string, uuid UUID) []Datum {
	t := v.db.tables[tableName]
	if t == nil {
		return nil
	}
	if r := t.rows[uuid]; r != nil {
		return r.fields
	}
	return nil
}

// Count returns the number of rows in the table.
func (v View) Count(tableName string) int {
	if t := v.db.tables[tableName]; t != nil {
		return len(t.rows)
	}
	return 0
}

func sortedUUIDs(m map[UUID]*rowData) []UUID {
	us := make([]UUID, 0, len(m))
	for u := range m {
		us = append(us, u)
	}
	sort.Slice(us, func(i, j int) bool { return CompareAtoms(us[i], us[j]) < 0 })
	return us
}

// Read calls fn with a consistent view of the committed state.
func (db *Database) Read(fn func(View)) {
	db.mu.Lock()
	defer db.mu.Unlock()
	fn(View{db})
}

// Monitor atomically calls initial with the current state and registers
// hook for every later commit, so that no change falls between the two.
func (db *Database) Monitor(initial func(View), hook func(*Commit)) (remove func()) {
	db.mu.Lock()
	defer db.mu.Unlock()
	initial(View{db})
	return db.addHookLocked(hook)
}

// changedChan returns a channel closed at the next commit.
func (db *Database) changedChan() <-chan struct{} {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.changed
}

// indexKey encodes the values of an index's columns.
func indexKey(cols []*ColumnSchema, fields []Datum) string {
	var b []byte
	for _, c := range cols {
		b = AppendJSON(b, fields[c.Index], &c.Type)
		b = append(b, 0)
	}
	return string(b)
}

// refsOf calls fn for every reference held in fields whose base type is
// of the given kind.
func refsOf(ts *TableSchema, fields []Datum, kind RefType, fn func(c *ColumnSchema, target string, u UUID)) {
	for _, c := range ts.Columns {
		k, v := c.Type.Key, c.Type.Value
		if k.RefTable != "" && k.RefType == kind {
			for _, a := range fields[c.Index].Keys {
				fn(c, k.RefTable, a.(UUID))
			}
		}
		if v != nil && v.RefTable != "" && v.RefType == kind {
			for _, a := range fields[c.Index].Values {
				fn(c, v.RefTable, a.(UUID))
			}
		}
	}
}

// apply makes a precommitted change set the committed state.
func (db *Database) apply(changes []RowChange, versions map[UUID]UUID) {
	for _, ch := range changes {
		t := db.tables[ch.Table.Name]
		if ch.Old != nil {
			for i, cols := range t.s.Indexes {
				k := indexKey(cols, ch.Old)
				if t.indexes[i][k] == ch.UUID {
					delete(t.indexes[i], k)
				}
			}
			refsOf(t.s, ch.Old, Weak, func(_ *ColumnSchema, _ string, u UUID) {
				if m := db.weakIn[u]; m != nil {
					r := rowRef{t, ch.UUID}
					if m[r]--; m[r] <= 0 {
						delete(m, r)
					}
					if len(m) == 0 {
						delete(db.weakIn, u)
					}
				}
			})
		}
	}
	for _, ch := range changes {
		t := db.tables[ch.Table.Name]
		if ch.New == nil {
			delete(t.rows, ch.UUID)
			delete(t.strongIn, ch.UUID)
			continue
		}
		t.rows[ch.UUID] = &rowData{uuid: ch.UUID, version: versions[ch.UUID], fields: ch.New}
		for i, cols := range t.s.Indexes {
			t.indexes[i][indexKey(cols, ch.New)] = ch.UUID
		}
		refsOf(t.s, ch.New, Weak, func(_ *ColumnSchema, _ string, u UUID) {
			m := db.weakIn[u]
			if m == nil {
				m = make(map[rowRef]int)
				db.weakIn[u] = m
			}
			m[rowRef{t, ch.UUID}]++
		})
	}
}

// Check verifies the database's invariants: every strong and weak
// reference points at an existing row of the right table, reference counts
// and index maps match the rows, indexes are unique, no table exceeds
// maxRows, every value satisfies its column's type and constraints, and
// every non-root row is referenced (garbage collection is complete).
func (db *Database) Check() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	var errs []string
	fail := func(format string, args ...any) {
		if len(errs) < 20 {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	strong := make(map[UUID]int)
	weak := make(map[UUID]map[rowRef]int)
	for _, name := range db.schema.TableNames() {
		t := db.tables[name]
		if t.s.MaxRows > 0 && len(t.rows) > t.s.MaxRows {
			fail("table %s has %d rows, maxRows %d", name, len(t.rows), t.s.MaxRows)
		}
		for u, r := range t.rows {
			if r.uuid != u {
				fail("%s row %s stored under %s", name, r.uuid, u)
			}
			if len(r.fields) != len(t.s.Columns) {
				fail("%s row %s has %d fields", name, u, len(r.fields))
				continue
			}
			for _, c := range t.s.Columns {
				if err := checkDatum(r.fields[c.Index], &c.Type); err != nil {
					fail("%s row %s column %s: %v", name, u, c.Name, err)
				}
			}
			refsOf(t.s, r.fields, Strong, func(c *ColumnSchema, target string, v UUID) {
				if db.tables[target].rows[v] == nil {
					fail("%s row %s column %s: strong reference to missing %s row %s", name, u, c.Name, target, v)
				}
				if v != u {
					strong[v]++
				}
			})
			refsOf(t.s, r.fields, Weak, func(c *ColumnSchema, target string, v UUID) {
				if db.tables[target].rows[v] == nil {
					fail("%s row %s column %s: weak reference to missing %s row %s", name, u, c.Name, target, v)
				}
				if weak[v] == nil {
					weak[v] = make(map[rowRef]int)
				}
				weak[v][rowRef{t, u}]++
			})
		}
		for i, cols := range t.s.Indexes {
			seen := make(map[string]UUID)
			for u, r := range t.rows {
				k := indexKey(cols, r.fields)
				if o, dup := seen[k]; dup {
					fail("%s rows %s and %s duplicate index %d", name, o, u, i)
				}
				seen[k] = u
				if t.indexes[i][k] != u {
					fail("%s row %s missing from index %d", name, u, i)
				}
			}
			if len(seen) != len(t.indexes[i]) {
				fail("%s index %d has %d entries for %d rows", name, i, len(t.indexes[i]), len(seen))
			}
		}
	}
	for _, name := range db.schema.TableNames() {
		t := db.tables[name]
		for u := range t.rows {
			if t.strongIn[u] != strong[u] {
				fail("%s row %s reference count %d, actual %d", name, u, t.strongIn[u], strong[u])
			}
			if !t.s.IsRoot && strong[u] == 0 {
				fail("%s row %s is not referenced (garbage not collected)", name, u)
			}
		}
		for u, n := range t.strongIn {
			if t.rows[u] == nil && n != 0 {
				fail("%s reference count kept for missing row %s", name, u)
			}
		}
	}
	for u, m := range weak {
		for r, n := range m {
			if db.weakIn[u][r] != n {
				fail("weak reference index wrong for %s from %s", u, r.u)
			}
		}
	}
	for u, m := range db.weakIn {
		if len(m) != len(weak[u]) {
			fail("weak reference index has stale entries for %s", u)
		}
	}
	if errs != nil {
		return fmt.Errorf("ovsdb: database check failed: %s", strings.Join(errs, "; "))
	}
	return nil
}

// checkDatum checks an already-decoded datum against its type.
func checkDatum(d Datum, t *ColumnType) error {
	if len(d.Keys) < t.Min || len(d.Keys) > t.Max {
		return fmt.Errorf("%d elements, type allows %d to %s", len(d.Keys), t.Min, maxString(t.Max))
	}
	if t.IsMap() != (d.Values != nil) || (t.IsMap() && len(d.Values) != len(d.Keys)) {
		return fmt.Errorf("map/set shape mismatch")
	}
	for i, k := range d.Keys {
		if err := CheckAtom(k, t.Key); err != nil {
			return err
		}
		if i > 0 && CompareAtoms(d.Keys[i-1], k) >= 0 {
			return fmt.Errorf("keys not sorted and unique")
		}
	}
	for _, v := range d.Values {
		if err := CheckAtom(v, t.Value); err != nil {
			return err
		}
	}
	return nil
}

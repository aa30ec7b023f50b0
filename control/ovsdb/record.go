package ovsdb

import (
	"fmt"
	"slices"
	"sort"
	"strconv"

	"gvswitch/control/internal/ovsjson"
)

// EncodeRecord returns the body of the Open vSwitch database file record
// for a commit (ovsdb/file.c): {"<table>":{"<uuid>":<row>|null,...},
// "_date":<ms>,"_comment":"..."}. Inserted rows carry their non-default
// columns, modified rows their changed columns (whole values, no
// "_is_diff"), deleted rows null. Ephemeral columns are not written. It
// returns nil when nothing persistent changed.
func EncodeRecord(c *Commit) []byte {
	byTable := map[string][]RowChange{}
	for _, ch := range c.Changes {
		byTable[ch.Table.Name] = append(byTable[ch.Table.Name], ch)
	}
	names := make([]string, 0, len(byTable))
	for n := range byTable {
		names = append(names, n)
	}
	sort.Strings(names)
	b := []byte{'{'}
	wrote := false
	for _, name := range names {
		start := len(b)
		if wrote {
			b = append(b, ',')
		}
		b = ovsjson.AppendString(b, name)
		b = append(b, ":{"...)
		rows := 0
		for _, ch := range byTable[name] {
			mark := len(b)
			if rows > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = ch.UUID.appendTo(b)
			b = append(b, `":`...)
			if ch.New == nil {
				b = append(b, "null"...)
				rows++
				continue
			}
			b = append(b, '{')
			cols := 0
			for _, col := range ch.Table.Columns {
				if col.Ephemeral {
					continue
				}
				d := ch.New[col.Index]
				if ch.Old == nil && IsDefault(d, &col.Type) || ch.Old != nil && !ch.Changed[col.Index] {
					continue
				}
				if cols > 0 {
					b = append(b, ',')
				}
				cols++
				b = ovsjson.AppendString(b, col.Name)
				b = append(b, ':')
				b = AppendJSON(b, d, &col.Type)
			}
			if ch.Old != nil && cols == 0 {
				b = b[:mark] // only ephemeral columns changed
				continue
			}
			b = append(b, '}')
			rows++
		}
		if rows == 0 {
			b = b[:start]
			continue
		}
		b = append(b, '}')
		wrote = true
	}
	if !wrote {
		return nil
	}
	if c.Comment != "" {
		b = append(b, `,"_comment":`...)
		b = ovsjson.AppendString(b, c.Comment)
	}
	b = append(b, `,"_date":`...)
	b = strconv.AppendInt(b, c.Date.UnixMilli(), 10)
	return append(b, '}')
}

// ApplyRecord applies one transaction record of an Open vSwitch database
// file (as written by EncodeRecord, or by ovsdb-server, including
// "_is_diff" records) to the committed state, without running commit
// hooks or the journal. It is for replaying a file at start-up. The record
// is checked for shape and types; a bad record leaves the database
// unchanged.
func (db *Database) ApplyRecord(rec []byte) error {
	v, err := DecodeJSON(rec)
	if err != nil {
		return err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return syntaxError(v, "transaction record must be a JSON object")
	}
	isDiff, _ := obj["_is_diff"].(bool)
	db.mu.Lock()
	defer db.mu.Unlock()
	var changes []RowChange
	seen := map[UUID]bool{}
	tableNames := make([]string, 0, len(obj))
	for name := range obj {
		tableNames = append(tableNames, name)
	}
	sort.Strings(tableNames)
	for _, name := range tableNames {
		if name == "_date" || name == "_comment" || name == "_is_diff" {
			continue
		}
		t := db.tables[name]
		if t == nil {
			return &Error{Tag: TagUnknownTable, Details: fmt.Sprintf("No table named %s.", name)}
		}
		rows, ok := obj[name].(map[string]any)
		if !ok {
			return syntaxError(obj[name], "table must be a JSON object")
		}
		for us, rv := range rows {
			u, err := ParseUUID(us)
			if err != nil {
				return syntaxError(us, err.Error())
			}
			if seen[u] {
				return syntaxError(us, "row appears twice in one transaction")
			}
			seen[u] = true
			old := t.rows[u]
			ch := RowChange{Table: t.s, UUID: u, Changed: make([]bool, len(t.s.Columns))}
			if old != nil {
				ch.Old = old.fields
			}
			if rv == nil {
				if old == nil {
					return &Error{Tag: TagSyntax, Details: fmt.Sprintf("transaction deletes row %s that does not exist", u)}
				}
				for i := range ch.Changed {
					ch.Changed[i] = true
				}
				changes = append(changes, ch)
				continue
			}
			cols, ok := rv.(map[string]any)
			if !ok {
				return syntaxError(rv, "row must be JSON object")
			}
			var fields []Datum
			if old != nil {
				fields = slices.Clone(old.fields)
			} else {
				fields = make([]Datum, len(t.s.Columns))
				for _, c := range t.s.Columns {
					fields[c.Index] = DefaultDatum(&c.Type)
				}
			}
			for cname, cv := range cols {
				c := t.s.Column(cname)
				if c == nil {
					e := syntaxError(cols, fmt.Sprintf("No column %s in table %s.", cname, name))
					e.Tag = TagUnknownColumn
					return e
				}
				if isDiff && old != nil {
					d, err := DiffFromValue(&c.Type, cv)
					if err != nil {
						return err
					}
					fields[c.Index] = ApplyDiff(fields[c.Index], d, &c.Type)
				} else {
					d, err := DatumFromValue(&c.Type, cv, nil)
					if err != nil {
						return err
					}
					fields[c.Index] = d
				}
			}
			for _, c := range t.s.Columns {
				if old == nil || !old.fields[c.Index].Equal(fields[c.Index]) {
					ch.Changed[c.Index] = true
				}
			}
			ch.New = fields
			changes = append(changes, ch)
		}
	}
	// Reference counts follow the changes.
	versions := map[UUID]UUID{}
	for _, ch := range changes {
		if ch.New != nil {
			versions[ch.UUID] = NewUUID()
		}
		for _, c := range ch.Table.Columns {
			if !hasStrongRefs(c) {
				continue
			}
			deltas := map[UUID]int{}
			refDeltas(ch.UUID, c, ch.Old, ch.New, deltas)
			target := db.tables[refTableOf(c)]
			for u, d := range deltas {
				if n := target.strongIn[u] + d; n != 0 {
					target.strongIn[u] = n
				} else {
					delete(target.strongIn, u)
				}
			}
		}
	}
	db.apply(changes, versions)
	for _, ch := range changes {
		if ch.New == nil {
			// A deleted row keeps no count, even if it was referenced.
			delete(db.tables[ch.Table.Name].strongIn, ch.UUID)
		}
	}
	return nil
}

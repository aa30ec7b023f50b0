package ovsdb

import (
	"fmt"
	"strings"
)

// clause is one parsed RFC 7047 5.1 <condition>.
type clause struct {
	col colRef
	fn  string // "<" "<=" "==" "!=" ">=" ">" "includes" "excludes" "true" "false"
	arg Datum
}

func (x *txn) parseWhere(t *table, v []any) ([]clause, *Error) {
	out := make([]clause, 0, len(v))
	for _, cv := range v {
		c, err := parseClause(t, cv, x.resolve)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func parseClause(t *table, v any, names NameResolver) (clause, *Error) {
	if b, ok := v.(bool); ok {
		if b {
			return clause{fn: "true"}, nil
		}
		return clause{fn: "false"}, nil
	}
	arr, ok := v.([]any)
	if !ok || len(arr) != 3 {
		return clause{}, syntaxError(v, "Parse error in condition.")
	}
	name, ok1 := arr[0].(string)
	fn, ok2 := arr[1].(string)
	if !ok1 || !ok2 {
		return clause{}, syntaxError(v, "Parse error in condition.")
	}
	col, ok := lookupColumn(t, name)
	if !ok {
		e := syntaxError(v, fmt.Sprintf("No column %s in table %s.", name, t.s.Name))
		e.Tag = TagUnknownColumn
		return clause{}, e
	}
	typ := *col.typ
	switch fn {
	case "<", "<=", ">", ">=":
		if typ.IsMap() || typ.Max != 1 || (typ.Key.Type != TypeInteger && typ.Key.Type != TypeReal) {
			return clause{}, syntaxError(v, fmt.Sprintf("Type mismatch: %q operator may not be applied to column %s of type %s.", fn, name, typeEnglish(col.typ)))
		}
		typ.Min = 1
	case "==", "!=":
	case "excludes":
		if !col.typ.IsScalar() {
			typ.Min, typ.Max = 0, Unlimited
		}
	case "includes":
		if !col.typ.IsScalar() {
			typ.Min = 0
		}
	default:
		e := syntaxError(fn, fmt.Sprintf("unknown function %s", fn))
		e.Tag = "unknown function"
		return clause{}, e
	}
	d, err := DatumFromValue(&typ, arr[2], names)
	if err != nil {
		return clause{}, asError(err)
	}
	return clause{col: col, fn: fn, arg: d}, nil
}

func typeEnglish(t *ColumnType) string {
	if t.IsScalar() {
		return t.Key.Type.String()
	}
	// ovsdb-server's wording: "set of up to 4096 integers", "set of 1 or
	// more uuids", "map of (string, string) pairs".
	var sb strings.Builder
	if t.IsMap() {
		sb.WriteString("map")
	} else {
		sb.WriteString("set")
	}
	switch {
	case t.Max == Unlimited && t.Min > 0:
		fmt.Fprintf(&sb, " of %d or more", t.Min)
	case t.Max == Unlimited:
		sb.WriteString(" of")
	case t.Min > 0:
		fmt.Fprintf(&sb, " of %d to %d", t.Min, t.Max)
	default:
		fmt.Fprintf(&sb, " of up to %d", t.Max)
	}
	if t.IsMap() {
		fmt.Fprintf(&sb, " (%s, %s) pairs", t.Key.Type, t.Value.Type)
	} else {
		fmt.Fprintf(&sb, " %ss", t.Key.Type)
	}
	return sb.String()
}

func matchAll(cs []clause, r *rowData) bool {
	for i := range cs {
		if !cs[i].match(r) {
			return false
		}
	}
	return true
}

func (c *clause) match(r *rowData) bool {
	switch c.fn {
	case "true":
		return true
	case "false":
		return false
	}
	v := c.col.get(r)
	switch c.fn {
	case "==":
		return v.Equal(c.arg)
	case "!=":
		return !v.Equal(c.arg)
	case "includes":
		return includes(v, c.arg)
	case "excludes":
		return excludes(v, c.arg)
	}
	if len(v.Keys) == 0 {
		return false
	}
	cmp := CompareAtoms(v.Keys[0], c.arg.Keys[0])
	switch c.fn {
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	default:
		return cmp >= 0
	}
}

// includes reports whether every element (pair) of sub is in d.
func includes(d, sub Datum) bool {
	for i, k := range sub.Keys {
		j, ok := d.Find(k)
		if !ok {
			return false
		}
		if sub.Values != nil && (j >= len(d.Values) || CompareAtoms(d.Values[j], sub.Values[i]) != 0) {
			return false
		}
	}
	return true
}

// excludes reports whether no element (pair) of sub is in d.
func excludes(d, sub Datum) bool {
	for i, k := range sub.Keys {
		j, ok := d.Find(k)
		if !ok {
			continue
		}
		if sub.Values == nil || (j < len(d.Values) && CompareAtoms(d.Values[j], sub.Values[i]) == 0) {
			return false
		}
	}
	return true
}

// Condition is a parsed "where" clause list (RFC 7047 5.1 <condition>s),
// for monitor_cond and other users outside transactions.
type Condition struct {
	t       *table
	clauses []clause
}

// ParseCondition parses a JSON array of conditions (decoded with
// DecodeJSON) for a table of db. Named UUIDs are not allowed.
func (db *Database) ParseCondition(tableName string, v any) (*Condition, error) {
	t := db.tables[tableName]
	if t == nil {
		return nil, fmt.Errorf("%w %s", ErrUnknownTable, tableName)
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, syntaxError(v, "array of conditions expected")
	}
	c := &Condition{t: t}
	for _, cv := range arr {
		cl, err := parseClause(t, cv, nil)
		if err != nil {
			return nil, err
		}
		c.clauses = append(c.clauses, cl)
	}
	return c, nil
}

// Match reports whether the row (fields indexed by ColumnSchema.Index)
// satisfies every clause. A nil Condition matches everything.
func (c *Condition) Match(uuid UUID, fields []Datum) bool {
	if c == nil {
		return true
	}
	return matchAll(c.clauses, &rowData{uuid: uuid, fields: fields})
}

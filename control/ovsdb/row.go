package ovsdb

import (
	"fmt"
	"sort"

	"gvswitch/control/internal/ovsjson"
)

// Row is some or all columns of one row, by column name. The implicit
// columns "_uuid" and "_version" appear only where a reply carries them.
type Row map[string]Datum

// RowFromValue converts a decoded JSON object {"column": <value>, ...} to
// a Row of table t. Unknown columns are an *Error with tag
// "unknown column" (the details name the column and table as
// ovsdb-server does).
func RowFromValue(t *TableSchema, v any, names NameResolver) (Row, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, syntaxError(v, "row must be a JSON object")
	}
	r := make(Row, len(obj))
	for name, jv := range obj {
		if name == "_uuid" || name == "_version" {
			d, err := DatumFromValue(&ColumnType{Key: &BaseType{Type: TypeUUID}, Min: 1, Max: 1}, jv, nil)
			if err != nil {
				return nil, err
			}
			r[name] = d
			continue
		}
		c := t.Column(name)
		if c == nil {
			e := syntaxError(obj, fmt.Sprintf("No column %s in table %s.", name, t.Name))
			e.Tag = TagUnknownColumn
			return nil, e
		}
		d, err := DatumFromValue(&c.Type, jv, names)
		if err != nil {
			return nil, err
		}
		r[name] = d
	}
	return r, nil
}

// AppendRowJSON appends r as a JSON object with columns in name order,
// each encoded against t's column type. Columns t does not know are
// skipped, except _uuid and _version.
func AppendRowJSON(b []byte, r Row, t *TableSchema) []byte {
	names := make([]string, 0, len(r))
	for n := range r {
		names = append(names, n)
	}
	sort.Strings(names)
	b = append(b, '{')
	first := true
	for _, n := range names {
		var ct *ColumnType
		if n == "_uuid" || n == "_version" {
			ct = &uuidType
		} else if c := t.Column(n); c != nil {
			ct = &c.Type
		} else {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = ovsjson.AppendString(b, n)
		b = append(b, ':')
		b = AppendJSON(b, r[n], ct)
	}
	return append(b, '}')
}

var uuidType = ColumnType{Key: &BaseType{Type: TypeUUID}, Min: 1, Max: 1}

package ovsdb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

type jsonNumber = json.Number

// DecodeJSON decodes a JSON text into the generic form the *FromValue
// functions take: objects as map[string]any, arrays as []any, numbers as
// json.Number (so integers and reals stay distinct, as RFC 7047 needs).
func DecodeJSON(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, &Error{Tag: TagSyntax, Details: err.Error()}
	}
	if d.More() {
		return nil, &Error{Tag: TagSyntax, Details: "trailing data after JSON value"}
	}
	return v, nil
}

// Datum is the value of one column: a set of atoms, or a map when Values
// is used (RFC 7047 5.1). Keys are sorted (CompareAtoms) and unique, and
// Values[i] belongs to Keys[i]. A scalar is a one-element set. The zero
// Datum is the empty set (or empty map).
type Datum struct {
	Keys   []Atom
	Values []Atom
}

// Scalar returns the one-element datum {a}.
func Scalar(a Atom) Datum { return Datum{Keys: []Atom{a}} }

// Set returns the set of the given atoms, sorted, duplicates dropped.
func Set(atoms ...Atom) Datum {
	d := Datum{Keys: slices.Clone(atoms)}
	d.normalize(false)
	return d
}

// Map returns the map with the given pairs; on duplicate keys the last
// pair wins.
func Map[K comparable, V any](m map[K]V) Datum {
	var d Datum
	for k, v := range m {
		d.Keys = append(d.Keys, toAtom(k))
		d.Values = append(d.Values, toAtom(v))
	}
	if d.Keys == nil {
		d.Values = []Atom{}
	}
	d.normalize(true)
	return d
}

func toAtom(v any) Atom {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case float32:
		return float64(x)
	}
	return v
}

// normalize sorts and de-duplicates. For maps the last pair of a key wins.
func (d *Datum) normalize(isMap bool) {
	n := len(d.Keys)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return CompareAtoms(d.Keys[a], d.Keys[b]) })
	keys := make([]Atom, 0, n)
	var vals []Atom
	if isMap {
		vals = make([]Atom, 0, n)
	}
	for _, i := range idx {
		if len(keys) > 0 && CompareAtoms(keys[len(keys)-1], d.Keys[i]) == 0 {
			if isMap {
				vals[len(vals)-1] = d.Values[i]
			}
			continue
		}
		keys = append(keys, d.Keys[i])
		if isMap {
			vals = append(vals, d.Values[i])
		}
	}
	d.Keys, d.Values = keys, vals
}

// Len returns the number of elements (pairs for a map).
func (d Datum) Len() int { return len(d.Keys) }

// Find returns the index of key in d.
func (d Datum) Find(key Atom) (int, bool) { return findAtom(d.Keys, key) }

func findAtom(keys []Atom, key Atom) (int, bool) {
	return slices.BinarySearchFunc(keys, key, CompareAtoms)
}

// Lookup returns the value for key in a map datum.
func (d Datum) Lookup(key Atom) (Atom, bool) {
	i, ok := d.Find(key)
	if !ok || i >= len(d.Values) {
		return nil, false
	}
	return d.Values[i], true
}

// Equal reports whether d and o hold the same elements.
func (d Datum) Equal(o Datum) bool {
	if len(d.Keys) != len(o.Keys) || len(d.Values) != len(o.Values) {
		return false
	}
	for i := range d.Keys {
		if CompareAtoms(d.Keys[i], o.Keys[i]) != 0 {
			return false
		}
	}
	for i := range d.Values {
		if CompareAtoms(d.Values[i], o.Values[i]) != 0 {
			return false
		}
	}
	return true
}

// Clone returns a copy sharing no slices with d.
func (d Datum) Clone() Datum {
	return Datum{Keys: slices.Clone(d.Keys), Values: slices.Clone(d.Values)}
}

// Strings returns the string keys of d (for string sets and scalars).
func (d Datum) Strings() []string { return keysOf[string](d) }

// UUIDs returns the UUID keys of d.
func (d Datum) UUIDs() []UUID { return keysOf[UUID](d) }

// keysOf returns the keys of d that are of atom type T, in order.
func keysOf[T Atom](d Datum) []T {
	out := make([]T, 0, len(d.Keys))
	for _, k := range d.Keys {
		if v, ok := k.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// StringMap returns a string→string map datum as a Go map.
func (d Datum) StringMap() map[string]string {
	m := make(map[string]string, len(d.Keys))
	for i, k := range d.Keys {
		ks, ok1 := k.(string)
		if i >= len(d.Values) {
			break
		}
		vs, ok2 := d.Values[i].(string)
		if ok1 && ok2 {
			m[ks] = vs
		}
	}
	return m
}

// DefaultDatum returns the default value of a column of type t: min
// default atoms (RFC 7047 5.1), i.e. an empty set/map or one 0/""/false.
func DefaultDatum(t *ColumnType) Datum {
	if t.Min == 0 {
		if t.IsMap() {
			return Datum{Values: []Atom{}}
		}
		return Datum{}
	}
	d := Datum{Keys: []Atom{DefaultAtom(t.Key.Type)}}
	if t.IsMap() {
		d.Values = []Atom{DefaultAtom(t.Value.Type)}
	}
	return d
}

// IsDefault reports whether d equals the default of t.
func IsDefault(d Datum, t *ColumnType) bool {
	if t.Min == 0 {
		return len(d.Keys) == 0
	}
	return d.Equal(DefaultDatum(t))
}

// AppendJSON appends the RFC 7047 5.1 JSON form of d for a column of type
// t: a map as ["map",[[k,v],...]], a one-element set as its bare atom,
// other sets as ["set",[...]].
func AppendJSON(b []byte, d Datum, t *ColumnType) []byte {
	if t.IsMap() {
		b = append(b, `["map",[`...)
		for i := range d.Keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = appendAtomJSON(b, d.Keys[i])
			b = append(b, ',')
			if i < len(d.Values) {
				b = appendAtomJSON(b, d.Values[i])
			} else {
				b = append(b, "null"...)
			}
			b = append(b, ']')
		}
		return append(b, "]]"...)
	}
	if len(d.Keys) == 1 {
		return appendAtomJSON(b, d.Keys[0])
	}
	b = append(b, `["set",[`...)
	for i, k := range d.Keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendAtomJSON(b, k)
	}
	return append(b, "]]"...)
}

// JSON returns AppendJSON(nil, d, t) as a json.RawMessage.
func (d Datum) JSON(t *ColumnType) json.RawMessage { return AppendJSON(nil, d, t) }

// ParseDatum parses the JSON text of a datum of type t (no named-uuids).
func ParseDatum(t *ColumnType, data []byte) (Datum, error) {
	v, err := DecodeJSON(data)
	if err != nil {
		return Datum{}, err
	}
	return DatumFromValue(t, v, nil)
}

// DatumFromValue converts a decoded JSON value (see DecodeJSON) to a datum
// of type t, checking atom types, constraints and the number of elements.
// Errors are *Error: "syntax error" for shapes and types, "constraint
// violation" for values outside the column's constraints.
func DatumFromValue(t *ColumnType, v any, names NameResolver) (Datum, error) {
	return datumFromValue(t, v, names, true)
}

// datumFromValue is DatumFromValue; checkSize false skips the min/max
// element count check (mutation arguments and "where" values are not
// column values).
func datumFromValue(t *ColumnType, v any, names NameResolver, checkSize bool) (Datum, error) {
	arr, isArr := v.([]any)
	class := ""
	if isArr && len(arr) > 0 {
		class, _ = arr[0].(string)
	}
	if !t.IsMap() && class != "set" {
		a, err := AtomFromValue(t.Key, v, names)
		if err != nil {
			return Datum{}, err
		}
		return Datum{Keys: []Atom{a}}, nil
	}
	want := "set"
	if t.IsMap() {
		want = "map"
	}
	inner, ok := []any(nil), false
	if isArr && len(arr) == 2 && class == want {
		inner, ok = arr[1].([]any)
	}
	if !ok {
		return Datum{}, syntaxError(v, fmt.Sprintf(`expected ["%s", <array>]`, want))
	}
	n := len(inner)
	if checkSize && (n < t.Min || n > t.Max) {
		if t.Min == 1 && t.Max == 1 {
			return Datum{}, syntaxError(v, fmt.Sprintf("%s must have exactly one member but %d are present", want, n))
		}
		return Datum{}, syntaxError(v, fmt.Sprintf("%s must have %d to %s members but %d are present", want, t.Min, maxString(t.Max), n))
	}
	d := Datum{Keys: make([]Atom, 0, n)}
	if t.IsMap() {
		d.Values = make([]Atom, 0, n)
	}
	for _, e := range inner {
		kv := e
		var vv any
		if t.IsMap() {
			pair, ok := e.([]any)
			if !ok || len(pair) != 2 {
				return Datum{}, syntaxError(e, "expected 2-element array")
			}
			kv, vv = pair[0], pair[1]
		}
		k, err := AtomFromValue(t.Key, kv, names)
		if err != nil {
			return Datum{}, err
		}
		d.Keys = append(d.Keys, k)
		if t.IsMap() {
			val, err := AtomFromValue(t.Value, vv, names)
			if err != nil {
				return Datum{}, err
			}
			d.Values = append(d.Values, val)
		}
	}
	if t.IsMap() {
		if sortPairs(&d) {
			return Datum{}, &Error{Tag: TagOVSDB, Details: "map contains duplicate key"}
		}
		return d, nil
	}
	slices.SortStableFunc(d.Keys, CompareAtoms)
	for i := 1; i < len(d.Keys); i++ {
		if CompareAtoms(d.Keys[i-1], d.Keys[i]) == 0 {
			return Datum{}, &Error{Tag: TagOVSDB, Details: "set contains duplicate"}
		}
	}
	return d, nil
}

// sortPairs sorts a map datum by key and reports a duplicate key.
func sortPairs(d *Datum) bool {
	idx := make([]int, len(d.Keys))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return CompareAtoms(d.Keys[a], d.Keys[b]) })
	keys := make([]Atom, len(idx))
	vals := make([]Atom, len(idx))
	for j, i := range idx {
		keys[j], vals[j] = d.Keys[i], d.Values[i]
	}
	d.Keys, d.Values = keys, vals
	for i := 1; i < len(keys); i++ {
		if CompareAtoms(keys[i-1], keys[i]) == 0 {
			return true
		}
	}
	return false
}

func maxString(m int) string {
	if m == Unlimited {
		return "unlimited"
	}
	return fmt.Sprint(m)
}

// String formats d like ovs-vsctl's "list" output: [a, b], {k=v, ...}.
func (d Datum) String() string {
	var b bytes.Buffer
	if d.Values != nil {
		b.WriteByte('{')
		for i := range d.Keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(AtomString(d.Keys[i]))
			b.WriteByte('=')
			b.WriteString(AtomString(d.Values[i]))
		}
		b.WriteByte('}')
		return b.String()
	}
	if len(d.Keys) == 1 {
		return AtomString(d.Keys[0])
	}
	b.WriteByte('[')
	for i, k := range d.Keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(AtomString(k))
	}
	b.WriteByte(']')
	return b.String()
}

package vsctl

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"gvswitch/control/internal/ovsjson"
	"gvswitch/control/ovsdb"
)

// The database types are control/ovsdb's; these aliases keep the command
// code short.
type (
	Atom     = ovsdb.Atom
	Datum    = ovsdb.Datum
	Type     = ovsdb.ColumnType
	BaseType = ovsdb.BaseType
	Column   = ovsdb.ColumnSchema
	Table    = ovsdb.TableSchema
	Schema   = ovsdb.Schema
)

// isMap reports whether t is a map type.
func isMap(t *Type) bool { return t.Value != nil }

// uuidAtom converts a row UUID in text form to an atom.
func uuidAtom(s string) Atom {
	u, err := ovsdb.ParseUUID(s)
	if err != nil {
		return ovsdb.UUID{}
	}
	return u
}

// atomUUID returns the text of a UUID atom ("" for other atoms).
func atomUUID(a Atom) string {
	if u, ok := a.(ovsdb.UUID); ok {
		return u.String()
	}
	return ""
}

func atomStr(a Atom) string { s, _ := a.(string); return s }
func atomInt(a Atom) int64  { i, _ := a.(int64); return i }
func atomBool(a Atom) bool  { b, _ := a.(bool); return b }

// find returns the index of key k in d, or -1.
func find(d Datum, k Atom) int {
	if i, ok := d.Find(k); ok {
		return i
	}
	return -1
}

type datumSorter struct{ d *Datum }

func (s datumSorter) Len() int           { return len(s.d.Keys) }
func (s datumSorter) Less(i, j int) bool { return ovsdb.CompareAtoms(s.d.Keys[i], s.d.Keys[j]) < 0 }
func (s datumSorter) Swap(i, j int) {
	s.d.Keys[i], s.d.Keys[j] = s.d.Keys[j], s.d.Keys[i]
	if s.d.Values != nil {
		s.d.Values[i], s.d.Values[j] = s.d.Values[j], s.d.Values[i]
	}
}

// sortDatum sorts d by key and reports whether it contained duplicate keys.
func sortDatum(d *Datum) (dup bool) {
	sort.Stable(datumSorter{d})
	for i := 1; i < len(d.Keys); i++ {
		if ovsdb.CompareAtoms(d.Keys[i-1], d.Keys[i]) == 0 {
			return true
		}
	}
	return false
}

// Equal reports whether a and b hold the same elements.
func Equal(a, b Datum) bool { return compareDatum(a, b) == 0 }

// compareDatum orders datums like ovsdb_datum_compare_3way: by size first,
// then element by element, keys before values.
func compareDatum(a, b Datum) int {
	if len(a.Keys) != len(b.Keys) {
		if len(a.Keys) < len(b.Keys) {
			return -1
		}
		return 1
	}
	for i := range a.Keys {
		if c := ovsdb.CompareAtoms(a.Keys[i], b.Keys[i]); c != 0 {
			return c
		}
	}
	for i := range a.Values {
		if i < len(b.Values) {
			if c := ovsdb.CompareAtoms(a.Values[i], b.Values[i]); c != 0 {
				return c
			}
		}
	}
	return 0
}

// includesAll reports whether every element of a is in b.
func includesAll(t *Type, a, b Datum) bool {
	for i := range a.Keys {
		j := find(b, a.Keys[i])
		if j < 0 {
			return false
		}
		if isMap(t) && ovsdb.CompareAtoms(a.Values[i], b.Values[j]) != 0 {
			return false
		}
	}
	return true
}

// union adds to a the elements of b whose keys a lacks.
func union(t *Type, a Datum, b Datum) Datum {
	out := a.Clone()
	if isMap(t) && out.Values == nil {
		out.Values = []Atom{}
	}
	for i := range b.Keys {
		if find(a, b.Keys[i]) >= 0 {
			continue
		}
		out.Keys = append(out.Keys, b.Keys[i])
		if isMap(t) {
			out.Values = append(out.Values, b.Values[i])
		}
	}
	sortDatum(&out)
	return out
}

// subtract removes from a the elements of b; b may be a set of keys (bIsMap
// false) when a is a map, which removes by key.
func subtract(t *Type, a Datum, b Datum, bIsMap bool) Datum {
	out := Datum{}
	if isMap(t) {
		out.Values = []Atom{}
	}
	for i := range a.Keys {
		j := find(b, a.Keys[i])
		if j >= 0 && (!isMap(t) || !bIsMap || ovsdb.CompareAtoms(a.Values[i], b.Values[j]) == 0) {
			continue
		}
		out.Keys = append(out.Keys, a.Keys[i])
		if isMap(t) {
			out.Values = append(out.Values, a.Values[i])
		}
	}
	return out
}

// isDefault reports whether d equals the column default (RFC 7047 5.1).
func isDefault(t *Type, d Datum) bool { return ovsdb.IsDefault(d, t) }

// ---- JSON (RFC 7047 section 5.1) ----

// AppendJSON appends the RFC 7047 <value> encoding of d. rowName, when not
// nil, maps a UUID to a "named-uuid" name for rows inserted in the current
// transaction.
func AppendJSON(b []byte, t *Type, d Datum, rowName func(string) string) []byte {
	if isMap(t) {
		b = append(b, `["map",[`...)
		for i := range d.Keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = appendAtomJSON(b, d.Keys[i], rowName)
			b = append(b, ',')
			b = appendAtomJSON(b, d.Values[i], rowName)
			b = append(b, ']')
		}
		return append(b, "]]"...)
	}
	if len(d.Keys) == 1 {
		return appendAtomJSON(b, d.Keys[0], rowName)
	}
	return appendSetJSON(b, d, rowName)
}

// appendSetJSON always uses the ["set",[...]] form.
func appendSetJSON(b []byte, d Datum, rowName func(string) string) []byte {
	b = append(b, `["set",[`...)
	for i := range d.Keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendAtomJSON(b, d.Keys[i], rowName)
	}
	return append(b, "]]"...)
}

func appendAtomJSON(b []byte, a Atom, rowName func(string) string) []byte {
	switch x := a.(type) {
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return appendReal(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case string:
		return ovsjson.AppendString(b, x)
	case ovsdb.UUID:
		s := x.String()
		if rowName != nil {
			if n := rowName(s); n != "" {
				b = append(b, `["named-uuid",`...)
				b = ovsjson.AppendString(b, n)
				return append(b, ']')
			}
		}
		b = append(b, `["uuid",`...)
		b = ovsjson.AppendString(b, s)
		return append(b, ']')
	}
	return append(b, "null"...)
}

// appendReal formats like C's "%.15g" (DBL_DIG significant digits).
func appendReal(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, "0"...)
	}
	return append(b, formatG15(f)...)
}

// formatG15 mimics printf("%.15g").
func formatG15(f float64) string {
	if f == 0 {
		if math.Signbit(f) {
			return "-0"
		}
		return "0"
	}
	s := strconv.FormatFloat(f, 'e', 14, 64)
	i := strings.IndexByte(s, 'e')
	exp, _ := strconv.Atoi(s[i+1:])
	if exp < -4 || exp >= 15 {
		mant := s[:i]
		if strings.Contains(mant, ".") {
			mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
		}
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		es := strconv.Itoa(exp)
		if len(es) < 2 {
			es = "0" + es
		}
		return mant + "e" + sign + es
	}
	out := strconv.FormatFloat(f, 'f', 14-exp, 64)
	if strings.Contains(out, ".") {
		out = strings.TrimRight(strings.TrimRight(out, "0"), ".")
	}
	return out
}

// ---- text syntax (ovs-vsctl(8) "Database Values") ----

// FormatDatum renders d the way ovs-vsctl prints a value: brackets for
// sets that may hold more than one element or are empty, braces for maps,
// strings quoted only when needed.
func FormatDatum(t *Type, d Datum) string {
	var sb strings.Builder
	m := isMap(t)
	brackets := t.Max > 1 || len(d.Keys) == 0
	if brackets {
		if m {
			sb.WriteByte('{')
		} else {
			sb.WriteByte('[')
		}
	}
	for i := range d.Keys {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(FormatAtom(d.Keys[i]))
		if m {
			sb.WriteByte('=')
			sb.WriteString(FormatAtom(d.Values[i]))
		}
	}
	if brackets {
		if m {
			sb.WriteByte('}')
		} else {
			sb.WriteByte(']')
		}
	}
	return sb.String()
}

// FormatAtom renders one atom as ovs-vsctl does.
func FormatAtom(a Atom) string {
	switch x := a.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return formatG15(x)
	case bool:
		return strconv.FormatBool(x)
	case string:
		return ovsdb.AtomString(x) // quoted only when needed
	case ovsdb.UUID:
		return x.String()
	}
	return ""
}

// FormatBare renders d for --data=bare: atoms separated by spaces,
// strings unquoted.
func FormatBare(t *Type, d Datum) string {
	var sb strings.Builder
	bare := func(a Atom) string {
		if s, ok := a.(string); ok {
			return s
		}
		return FormatAtom(a)
	}
	for i := range d.Keys {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(bare(d.Keys[i]))
		if isMap(t) {
			sb.WriteByte('=')
			sb.WriteString(bare(d.Values[i]))
		}
	}
	return sb.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isUUID reports whether s is a UUID in RFC 4122 text form (either case).
func isUUID(s string) bool {
	_, err := ovsdb.ParseUUID(s)
	return err == nil
}

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

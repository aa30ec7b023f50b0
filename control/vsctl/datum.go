package vsctl

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Atom is one OVSDB atomic value. Which field is meaningful depends on the
// AtomicType it is used with; a UUID is kept in Str in canonical lower-case
// text form.
type Atom struct {
	Int  int64
	Real float64
	Bool bool
	Str  string
}

// Datum is a column value: a sorted set of keys, with matching values for a
// map (RFC 7047 section 5.1). A scalar is a one-element set.
type Datum struct {
	Keys   []Atom
	Values []Atom // nil unless the type is a map
}

// Len returns the number of elements.
func (d *Datum) Len() int { return len(d.Keys) }

// Clone returns a deep-enough copy (atoms are values).
func (d Datum) Clone() Datum {
	c := Datum{Keys: append([]Atom(nil), d.Keys...)}
	if d.Values != nil {
		c.Values = append([]Atom(nil), d.Values...)
	}
	return c
}

func compareAtom(t AtomicType, a, b Atom) int {
	switch t {
	case Integer:
		switch {
		case a.Int < b.Int:
			return -1
		case a.Int > b.Int:
			return 1
		}
		return 0
	case Real:
		switch {
		case a.Real < b.Real:
			return -1
		case a.Real > b.Real:
			return 1
		}
		return 0
	case Boolean:
		switch {
		case a.Bool == b.Bool:
			return 0
		case !a.Bool:
			return -1
		}
		return 1
	default:
		// Strings compare bytewise (strcmp); UUIDs compare by their four
		// 32-bit words, which for canonical hex text is the same order.
		return strings.Compare(a.Str, b.Str)
	}
}

// Find returns the index of key k in d, or -1.
func (d *Datum) Find(t AtomicType, k Atom) int {
	i := sort.Search(len(d.Keys), func(i int) bool { return compareAtom(t, d.Keys[i], k) >= 0 })
	if i < len(d.Keys) && compareAtom(t, d.Keys[i], k) == 0 {
		return i
	}
	return -1
}

type datumSorter struct {
	d *Datum
	t AtomicType
}

func (s datumSorter) Len() int { return len(s.d.Keys) }
func (s datumSorter) Less(i, j int) bool {
	return compareAtom(s.t, s.d.Keys[i], s.d.Keys[j]) < 0
}
func (s datumSorter) Swap(i, j int) {
	s.d.Keys[i], s.d.Keys[j] = s.d.Keys[j], s.d.Keys[i]
	if s.d.Values != nil {
		s.d.Values[i], s.d.Values[j] = s.d.Values[j], s.d.Values[i]
	}
}

// sortDatum sorts d by key and reports whether it contained duplicate keys.
func sortDatum(t *Type, d *Datum) (dup bool) {
	sort.Stable(datumSorter{d, t.Key.Type})
	for i := 1; i < len(d.Keys); i++ {
		if compareAtom(t.Key.Type, d.Keys[i-1], d.Keys[i]) == 0 {
			return true
		}
	}
	return false
}

// sortUnique sorts d and drops later duplicates of a key (first wins, the
// way ovsdb_datum_sort_unique keeps one).
func sortUnique(t *Type, d *Datum) {
	sort.Stable(datumSorter{d, t.Key.Type})
	n := 0
	for i := range d.Keys {
		if n > 0 && compareAtom(t.Key.Type, d.Keys[n-1], d.Keys[i]) == 0 {
			continue
		}
		d.Keys[n] = d.Keys[i]
		if d.Values != nil {
			d.Values[n] = d.Values[i]
		}
		n++
	}
	d.Keys = d.Keys[:n]
	if d.Values != nil {
		d.Values = d.Values[:n]
	}
}

// Equal reports whether a and b hold the same elements.
func Equal(t *Type, a, b Datum) bool { return compareDatum(t, a, b) == 0 }

// compareDatum orders datums like ovsdb_datum_compare_3way: by size first,
// then element by element, keys before values.
func compareDatum(t *Type, a, b Datum) int {
	if len(a.Keys) != len(b.Keys) {
		if len(a.Keys) < len(b.Keys) {
			return -1
		}
		return 1
	}
	for i := range a.Keys {
		if c := compareAtom(t.Key.Type, a.Keys[i], b.Keys[i]); c != 0 {
			return c
		}
	}
	if t.IsMap() {
		for i := range a.Values {
			if c := compareAtom(t.Value.Type, a.Values[i], b.Values[i]); c != 0 {
				return c
			}
		}
	}
	return 0
}

// includesAll reports whether every element of a is in b.
func includesAll(t *Type, a, b Datum) bool {
	for i := range a.Keys {
		j := b.Find(t.Key.Type, a.Keys[i])
		if j < 0 {
			return false
		}
		if t.IsMap() && compareAtom(t.Value.Type, a.Values[i], b.Values[j]) != 0 {
			return false
		}
	}
	return true
}

// union adds to a the elements of b whose keys a lacks.
func union(t *Type, a Datum, b Datum) Datum {
	out := a.Clone()
	for i := range b.Keys {
		if a.Find(t.Key.Type, b.Keys[i]) >= 0 {
			continue
		}
		out.Keys = append(out.Keys, b.Keys[i])
		if t.IsMap() {
			out.Values = append(out.Values, b.Values[i])
		}
	}
	sortDatum(t, &out)
	return out
}

// subtract removes from a the elements of b; b may be a set of keys (bIsMap
// false) when a is a map, which removes by key.
func subtract(t *Type, a Datum, b Datum, bIsMap bool) Datum {
	out := Datum{}
	if t.IsMap() {
		out.Values = []Atom{}
	}
	for i := range a.Keys {
		j := b.Find(t.Key.Type, a.Keys[i])
		if j >= 0 && (!t.IsMap() || !bIsMap || compareAtom(t.Value.Type, a.Values[i], b.Values[j]) == 0) {
			continue
		}
		out.Keys = append(out.Keys, a.Keys[i])
		if t.IsMap() {
			out.Values = append(out.Values, a.Values[i])
		}
	}
	return out
}

// DefaultDatum returns the default value of a column of type t (RFC 7047
// section 5.2.1: 0, 0.0, false, "", the all-zero UUID, or empty).
func DefaultDatum(t *Type) Datum {
	d := Datum{}
	if t.IsMap() {
		d.Values = []Atom{}
	}
	if t.Min == 0 {
		return d
	}
	d.Keys = []Atom{defaultAtom(t.Key.Type)}
	if t.IsMap() {
		d.Values = []Atom{defaultAtom(t.Value.Type)}
	}
	return d
}

func defaultAtom(t AtomicType) Atom {
	if t == UUID {
		return Atom{Str: "00000000-0000-0000-0000-000000000000"}
	}
	return Atom{}
}

// IsDefault reports whether d equals the column default.
func IsDefault(t *Type, d Datum) bool { return Equal(t, d, DefaultDatum(t)) }

// ---- JSON (RFC 7047 section 5.1) ----

// DatumFromJSON decodes a <value> decoded with json.Decoder.UseNumber.
// named maps "named-uuid" names to UUIDs; nil rejects them.
func DatumFromJSON(t *Type, v any, named map[string]string) (Datum, error) {
	d := Datum{}
	if t.IsMap() {
		d.Values = []Atom{}
		arr, ok := v.([]any)
		if !ok || len(arr) != 2 || arr[0] != "map" {
			return d, fmt.Errorf("%w: expected map, got %s", ErrSyntax, compactJSON(v))
		}
		pairs, ok := arr[1].([]any)
		if !ok {
			return d, fmt.Errorf("%w: bad map %s", ErrSyntax, compactJSON(v))
		}
		for _, p := range pairs {
			pa, ok := p.([]any)
			if !ok || len(pa) != 2 {
				return d, fmt.Errorf("%w: bad map pair %s", ErrSyntax, compactJSON(p))
			}
			k, err := atomFromJSON(t.Key.Type, pa[0], named)
			if err != nil {
				return d, err
			}
			val, err := atomFromJSON(t.Value.Type, pa[1], named)
			if err != nil {
				return d, err
			}
			d.Keys = append(d.Keys, k)
			d.Values = append(d.Values, val)
		}
		sortUnique(t, &d)
		return d, nil
	}
	if arr, ok := v.([]any); ok && len(arr) == 2 && arr[0] == "set" {
		elems, ok := arr[1].([]any)
		if !ok {
			return d, fmt.Errorf("%w: bad set %s", ErrSyntax, compactJSON(v))
		}
		for _, e := range elems {
			a, err := atomFromJSON(t.Key.Type, e, named)
			if err != nil {
				return d, err
			}
			d.Keys = append(d.Keys, a)
		}
		sortUnique(t, &d)
		return d, nil
	}
	a, err := atomFromJSON(t.Key.Type, v, named)
	if err != nil {
		return d, err
	}
	d.Keys = []Atom{a}
	return d, nil
}

func atomFromJSON(t AtomicType, v any, named map[string]string) (Atom, error) {
	switch t {
	case Integer:
		if n, ok := v.(json.Number); ok {
			i, err := strconv.ParseInt(string(n), 10, 64)
			if err == nil {
				return Atom{Int: i}, nil
			}
		}
	case Real:
		if n, ok := v.(json.Number); ok {
			f, err := strconv.ParseFloat(string(n), 64)
			if err == nil {
				return Atom{Real: f}, nil
			}
		}
	case Boolean:
		if b, ok := v.(bool); ok {
			return Atom{Bool: b}, nil
		}
	case String:
		if s, ok := v.(string); ok {
			return Atom{Str: s}, nil
		}
	case UUID:
		if arr, ok := v.([]any); ok && len(arr) == 2 {
			s, _ := arr[1].(string)
			switch arr[0] {
			case "uuid":
				if isUUID(s) {
					return Atom{Str: strings.ToLower(s)}, nil
				}
			case "named-uuid":
				if u, ok := named[s]; ok {
					return Atom{Str: u}, nil
				}
			}
		}
	}
	return Atom{}, fmt.Errorf("%w: expected %s, got %s", ErrSyntax, t, compactJSON(v))
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

// AppendJSON appends the RFC 7047 <value> encoding of d. rowName, when not
// nil, maps a UUID to a "named-uuid" name for rows inserted in the current
// transaction.
func AppendJSON(b []byte, t *Type, d Datum, rowName func(string) string) []byte {
	if t.IsMap() {
		b = append(b, `["map",[`...)
		for i := range d.Keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = appendAtomJSON(b, t.Key.Type, d.Keys[i], rowName)
			b = append(b, ',')
			b = appendAtomJSON(b, t.Value.Type, d.Values[i], rowName)
			b = append(b, ']')
		}
		return append(b, "]]"...)
	}
	if len(d.Keys) == 1 {
		return appendAtomJSON(b, t.Key.Type, d.Keys[0], rowName)
	}
	b = append(b, `["set",[`...)
	for i := range d.Keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendAtomJSON(b, t.Key.Type, d.Keys[i], rowName)
	}
	return append(b, "]]"...)
}

func appendAtomJSON(b []byte, t AtomicType, a Atom, rowName func(string) string) []byte {
	switch t {
	case Integer:
		return strconv.AppendInt(b, a.Int, 10)
	case Real:
		return appendReal(b, a.Real)
	case Boolean:
		return strconv.AppendBool(b, a.Bool)
	case String:
		return appendJSONString(b, a.Str)
	case UUID:
		if rowName != nil {
			if n := rowName(a.Str); n != "" {
				b = append(b, `["named-uuid",`...)
				b = appendJSONString(b, n)
				return append(b, ']')
			}
		}
		b = append(b, `["uuid",`...)
		b = appendJSONString(b, a.Str)
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
	exp := int(math.Floor(math.Log10(math.Abs(f))))
	// Round to 15 significant digits first, which may bump the exponent.
	s := strconv.FormatFloat(f, 'e', 14, 64)
	if i := strings.IndexByte(s, 'e'); i >= 0 {
		exp, _ = strconv.Atoi(s[i+1:])
	}
	if exp < -4 || exp >= 15 {
		mant := s[:strings.IndexByte(s, 'e')]
		if strings.Contains(mant, ".") {
			mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
		}
		sign := "+"
		if exp < 0 {
			sign = "-"
			exp = -exp
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

// appendJSONString escapes s the way the Open vSwitch JSON serializer does:
// only '"', '\\' and control characters; everything else is copied as is.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			b = append(b, '\\', '"')
		case c == '\\':
			b = append(b, '\\', '\\')
		case c >= ' ':
			b = append(b, c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, fmt.Sprintf(`\u%04x`, c)...)
		}
	}
	return append(b, '"')
}

// ---- text syntax (ovs-vsctl(8) "Database Values") ----

// String renders d the way ovs-vsctl prints a value: brackets for sets that
// may hold more than one element or are empty, braces for maps, strings
// quoted only when needed.
func (d Datum) String(t *Type) string {
	var sb strings.Builder
	writeDatum(&sb, t, d)
	return sb.String()
}

func writeDatum(sb *strings.Builder, t *Type, d Datum) {
	isMap := t.IsMap()
	brackets := t.Max > 1 || len(d.Keys) == 0
	if brackets {
		if isMap {
			sb.WriteByte('{')
		} else {
			sb.WriteByte('[')
		}
	}
	for i := range d.Keys {
		if i > 0 {
			sb.WriteString(", ")
		}
		writeAtom(sb, t.Key.Type, d.Keys[i])
		if isMap {
			sb.WriteByte('=')
			writeAtom(sb, t.Value.Type, d.Values[i])
		}
	}
	if brackets {
		if isMap {
			sb.WriteByte('}')
		} else {
			sb.WriteByte(']')
		}
	}
}

// AtomString renders one atom as ovs-vsctl does.
func AtomString(t AtomicType, a Atom) string {
	var sb strings.Builder
	writeAtom(&sb, t, a)
	return sb.String()
}

func writeAtom(sb *strings.Builder, t AtomicType, a Atom) {
	switch t {
	case Integer:
		sb.WriteString(strconv.FormatInt(a.Int, 10))
	case Real:
		sb.WriteString(formatG15(a.Real))
	case Boolean:
		sb.WriteString(strconv.FormatBool(a.Bool))
	case String:
		if stringNeedsQuotes(a.Str) {
			sb.Write(appendJSONString(nil, a.Str))
		} else {
			sb.WriteString(a.Str)
		}
	case UUID:
		sb.WriteString(a.Str)
	}
}

// Bare renders d for --data=bare: atoms separated by spaces, strings
// unquoted.
func (d Datum) Bare(t *Type) string {
	var sb strings.Builder
	for i := range d.Keys {
		if i > 0 {
			sb.WriteByte(' ')
		}
		writeBare(&sb, t.Key.Type, d.Keys[i])
		if t.IsMap() {
			sb.WriteByte('=')
			writeBare(&sb, t.Value.Type, d.Values[i])
		}
	}
	return sb.String()
}

func writeBare(sb *strings.Builder, t AtomicType, a Atom) {
	if t == String {
		sb.WriteString(a.Str)
		return
	}
	writeAtom(sb, t, a)
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// stringNeedsQuotes: a string prints bare only if it looks like an
// identifier (letter or '_' first, then letters, digits, '_', '-', '.') and
// is not "true", "false" or a UUID.
func stringNeedsQuotes(s string) bool {
	if s == "" {
		return true
	}
	if c := s[0]; !isAlpha(c) && c != '_' {
		return true
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '_' && c != '-' && c != '.' {
			return true
		}
	}
	return s == "true" || s == "false" || isUUID(s)
}

// isUUID reports whether s is a UUID in RFC 4122 text form (either case).
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

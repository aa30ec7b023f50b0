package vsctl

import (
	"fmt"
	"gvswitch/control/ovsdb"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxRangeSize bounds an integer range "a-b" in a value, as ovs-vsctl does.
const maxRangeSize = 4096

// Symbols resolves "@name" row references in values (ovs-vsctl(8) "--id").
type Symbols interface {
	// Ref returns the UUID bound to name, creating an unbound symbol with
	// a fresh UUID if needed, and records the kind of reference.
	Ref(name string, base *BaseType) string
}

// isDelim reports whether c ends a token in the value syntax.
func isDelim(c byte) bool { return strings.IndexByte(":=, []{}!<>", c) >= 0 }

// parseToken reads one token from s: up to the first delimiter not inside
// double quotes; a backslash escapes the next character (and is kept inside
// quotes). It returns the token and the rest of s.
func parseToken(s string) (tok, rest string, err error) {
	var out strings.Builder
	inQuotes := false
	i := 0
	for i < len(s) {
		c := s[i]
		i++
		if c == '\\' {
			if inQuotes {
				out.WriteByte('\\')
			}
			if i >= len(s) {
				return "", "", valueErrorf("%s: backslash at end of argument", s)
			}
			out.WriteByte(s[i])
			i++
		} else if !inQuotes && isDelim(c) {
			i--
			break
		} else {
			out.WriteByte(c)
			if c == '"' {
				inQuotes = !inQuotes
			}
		}
	}
	if inQuotes {
		return "", "", valueErrorf("%s: quoted string extends past end of argument", s)
	}
	return out.String(), s[i:], nil
}

// parseAtom converts one token to an atom of base's type and checks the
// constraints. When rangeOK and the type is integer, "a-b" yields the range
// end in end (isRange=true).
func parseAtom(base *BaseType, s string, syms Symbols, rangeOK bool) (a Atom, end int64, isRange bool, err error) {
	switch base.Type {
	case ovsdb.TypeInteger:
		if rangeOK {
			if lo, hi, ok := parseIntRange(s); ok {
				if hi < lo {
					return nil, 0, false, valueErrorf("\"%s\" is not a valid range. Range end cannot be before start.", s)
				}
				a, end, isRange = lo, hi, true
				break
			}
		}
		v, ok := parseInt(s)
		if !ok {
			return nil, 0, false, valueErrorf("\"%s\" is not a valid integer or range", s)
		}
		a = v
	case ovsdb.TypeReal:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil && !isRangeErr(err) || s == "" {
			return nil, 0, false, valueErrorf("\"%s\" is not a valid real number", s)
		}
		if v == 0 {
			v = 0
		}
		a = v
	case ovsdb.TypeBoolean:
		switch s {
		case "true", "yes", "on", "1":
			a = true
		case "false", "no", "off", "0":
			a = false
		default:
			return nil, 0, false, valueErrorf("\"%s\" is not a valid boolean (use \"true\" or \"false\")", s)
		}
	case ovsdb.TypeString:
		switch {
		case s == "":
			return nil, 0, false, valueErrorf("An empty string is not valid as input; use \"\" to represent the empty string")
		case s[0] == '"':
			if len(s) < 2 || s[len(s)-1] != '"' {
				return nil, 0, false, valueErrorf("%s: missing quote at end of quoted string", s)
			}
			u, msg := unescapeJSON(s[1 : len(s)-1])
			if msg != "" {
				return nil, 0, false, valueErrorf("%s: %s", s, msg)
			}
			a = u
		default:
			a = s
		}
	case ovsdb.TypeUUID:
		switch {
		case strings.HasPrefix(s, "@") && syms != nil:
			a = uuidAtom(syms.Ref(s, base))
		case isUUID(s):
			a = uuidAtom(s)
		default:
			return nil, 0, false, valueErrorf("\"%s\" is not a valid UUID", s)
		}
	default:
		return nil, 0, false, valueErrorf("cannot parse a value of type %s", base.Type)
	}
	if err := checkConstraints(base, a); err != nil {
		return nil, 0, false, err
	}
	if isRange {
		lo := a.(int64)
		if base.Enum != nil {
			for i := lo + 1; i <= end; i++ {
				if err := checkConstraints(base, i); err != nil {
					return nil, 0, false, err
				}
				if i == math.MaxInt64 {
					break
				}
			}
		} else if err := checkConstraints(base, end); err != nil {
			return nil, 0, false, err
		}
		if uint64(end)-uint64(lo) >= maxRangeSize {
			return nil, 0, false, valueErrorf("constraint violation: Range \"%d-%d\" is too big. Maximum allowed size is %d.", lo, end, maxRangeSize)
		}
	}
	return a, end, isRange, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// parseInt accepts what strtoll(s, 10) accepts with nothing left over.
func parseInt(s string) (int64, bool) {
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	if t == "" {
		return 0, false
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// parseIntRange accepts "A-B" where both are integers.
func parseIntRange(s string) (lo, hi int64, ok bool) {
	for i := 1; i < len(s); i++ {
		if s[i] == '-' && s[i-1] != '-' {
			l, ok1 := parseInt(s[:i])
			h, ok2 := parseInt(s[i+1:])
			if ok1 && ok2 {
				return l, h, true
			}
		}
	}
	return 0, 0, false
}

// unescapeJSON decodes the inside of a JSON string literal; msg is non-empty
// on error with the wording the OVS JSON library uses.
func unescapeJSON(in string) (string, string) {
	var out strings.Builder
	for i := 0; i < len(in); {
		c := in[i]
		if c == '"' {
			return "", "quoted string may not include unescaped \""
		}
		if c != '\\' {
			out.WriteByte(c)
			i++
			continue
		}
		i++
		if i >= len(in) {
			return "", "quoted string may not end with backslash"
		}
		e := in[i]
		i++
		switch e {
		case '"', '\\', '/':
			out.WriteByte(e)
		case 'b':
			out.WriteByte('\b')
		case 'f':
			out.WriteByte('\f')
		case 'n':
			out.WriteByte('\n')
		case 'r':
			out.WriteByte('\r')
		case 't':
			out.WriteByte('\t')
		case 'u':
			c0, msg := hex4(in[i:])
			if msg != "" {
				return "", msg
			}
			i += 4
			if !utf16.IsSurrogate(rune(c0)) || c0 >= 0xdc00 {
				out.WriteRune(rune(c0))
				break
			}
			if i+2 > len(in) || in[i] != '\\' || in[i+1] != 'u' {
				return "", "malformed escaped surrogate pair"
			}
			i += 2
			c1, msg := hex4(in[i:])
			if msg != "" {
				return "", msg
			}
			i += 4
			if c1 < 0xdc00 || c1 > 0xdfff {
				return "", "second half of escaped surrogate pair is not trailing surrogate"
			}
			out.WriteRune(utf16.DecodeRune(rune(c0), rune(c1)))
		default:
			return "", fmt.Sprintf("bad escape \\%c", e)
		}
	}
	return out.String(), ""
}

func hex4(s string) (int, string) {
	if len(s) < 4 {
		return 0, "quoted string ends within \\u escape"
	}
	v, err := strconv.ParseUint(s[:4], 16, 32)
	if err != nil || strings.ContainsAny(s[:4], "+-") {
		return 0, "malformed \\u escape"
	}
	if v == 0 {
		return 0, "null bytes not supported in quoted strings"
	}
	return int(v), ""
}

// checkConstraints applies a base type's enum, range and length limits,
// with ovsdb-server's wording (RFC 7047 section 3.2 <base-type>).
func checkConstraints(base *BaseType, a Atom) error {
	if base.Enum != nil {
		if _, ok := (Datum{Keys: base.Enum}).Find(a); !ok {
			et := Type{Key: &BaseType{Type: base.Type}, Min: 1, Max: math.MaxInt}
			return valueErrorf("constraint violation: %s is not one of the allowed values (%s)",
				FormatAtom(a), FormatDatum(&et, Datum{Keys: base.Enum}))
		}
	}
	switch x := a.(type) {
	case int64:
		if x >= base.MinInteger && x <= base.MaxInteger {
			return nil
		}
		if base.MinInteger != math.MinInt64 {
			if base.MaxInteger != math.MaxInt64 {
				return valueErrorf("constraint violation: %d is not in the valid range %d to %d (inclusive)", x, base.MinInteger, base.MaxInteger)
			}
			return valueErrorf("constraint violation: %d is less than minimum allowed value %d", x, base.MinInteger)
		}
		return valueErrorf("constraint violation: %d is greater than maximum allowed value %d", x, base.MaxInteger)
	case float64:
		if x >= base.MinReal && x <= base.MaxReal {
			return nil
		}
		if base.MinReal != -math.MaxFloat64 {
			if base.MaxReal != math.MaxFloat64 {
				return valueErrorf("constraint violation: %s is not in the valid range %s to %s (inclusive)", formatG15(x), formatG15(base.MinReal), formatG15(base.MaxReal))
			}
			return valueErrorf("constraint violation: %s is less than minimum allowed value %s", formatG15(x), formatG15(base.MinReal))
		}
		return valueErrorf("constraint violation: %s is greater than maximum allowed value %s", formatG15(x), formatG15(base.MaxReal))
	case string:
		if !utf8.ValidString(x) {
			return valueErrorf("constraint violation: not a valid UTF-8 string: invalid UTF-8 sequence")
		}
		n := utf8.RuneCountInString(x)
		if n < base.MinLength {
			return valueErrorf("constraint violation: \"%s\" length %d is less than minimum allowed length %d", x, n, base.MinLength)
		}
		if n > base.MaxLength {
			return valueErrorf("constraint violation: \"%s\" length %d is greater than maximum allowed length %d", x, n, base.MaxLength)
		}
	}
	return nil
}

// ParseAtom parses a single atom in ovs-vsctl syntax (a key or a map value).
func ParseAtom(base *BaseType, s string, syms Symbols) (Atom, error) {
	s = cutNUL(s)
	a, _, _, err := parseAtom(base, s, syms, false)
	return a, err
}

func skipSpaces(s string) string { return strings.TrimLeft(s, " \t\n\v\f\r") }

// typeEnglish describes t in words for error messages.
func typeEnglish(t *Type) string {
	if t.IsScalar() {
		return t.Key.Type.String()
	}
	var sb strings.Builder
	if isMap(t) {
		sb.WriteString("map")
	} else {
		sb.WriteString("set")
	}
	switch {
	case t.Max == math.MaxInt && t.Min > 0:
		fmt.Fprintf(&sb, " of %d or more", t.Min)
	case t.Max == math.MaxInt:
		sb.WriteString(" of")
	case t.Min > 0:
		fmt.Fprintf(&sb, " of %d to %d", t.Min, t.Max)
	default:
		fmt.Fprintf(&sb, " of up to %d", t.Max)
	}
	if isMap(t) {
		fmt.Fprintf(&sb, " (%s, %s) pairs", t.Key.Type, t.Value.Type)
	} else {
		fmt.Fprintf(&sb, " %ss", t.Key.Type)
	}
	return sb.String()
}

// ParseDatum parses a column value in ovs-vsctl syntax (ovs-vsctl(8)
// "Database Values"): atoms or key=value pairs separated by commas or
// spaces, optionally in [] (sets) or {} (maps), integer ranges "a-b" in
// integer sets. The result is sorted and checked against t's size limits.
func ParseDatum(t *Type, s string, syms Symbols) (Datum, error) {
	s = cutNUL(s)
	mapType := isMap(t)
	d := Datum{}
	if mapType {
		d.Values = []Atom{}
	}
	open, close := byte('['), byte(']')
	if mapType {
		open, close = '{', '}'
	}
	p := skipSpaces(s)
	var endDelim byte
	switch {
	case len(p) > 0 && p[0] == open:
		endDelim = close
		p = skipSpaces(p[1:])
	case p == "":
		if mapType {
			return Datum{}, valueErrorf("use \"{}\" to specify the empty map")
		}
		return Datum{}, valueErrorf("use \"[]\" to specify the empty set")
	}
	for len(p) > 0 && p[0] != endDelim {
		if isDelim(p[0]) {
			return Datum{}, valueErrorf("%s: unexpected \"%c\" parsing %s", s, p[0], typeEnglish(t))
		}
		start := p
		tok, rest, err := parseToken(p)
		if err != nil {
			return Datum{}, err
		}
		p = rest
		key, end, isRange, err := parseAtom(t.Key, tok, syms, true)
		if err != nil {
			return Datum{}, err
		}
		var val Atom
		if mapType {
			p = skipSpaces(p)
			if len(p) == 0 || p[0] != '=' {
				c := byte(0)
				if len(p) > 0 {
					c = p[0]
				}
				if c == 0 {
					// C's "%c" of NUL ends the message there.
					return Datum{}, valueErrorf("%s: syntax error at \"", start)
				}
				return Datum{}, valueErrorf("%s: syntax error at \"%c\" expecting \"=\"", start, c)
			}
			p = skipSpaces(p[1:])
			vtok, rest, err := parseToken(p)
			if err != nil {
				return Datum{}, err
			}
			p = rest
			if val, err = ParseAtom(t.Value, vtok, syms); err != nil {
				return Datum{}, err
			}
		}
		if isRange {
			for i := key.(int64); ; i++ {
				d.Keys = append(d.Keys, i)
				if mapType {
					d.Values = append(d.Values, val)
				}
				if i == end {
					break
				}
			}
		} else {
			d.Keys = append(d.Keys, key)
			if mapType {
				d.Values = append(d.Values, val)
			}
		}
		p = skipSpaces(p)
		if len(p) > 0 && p[0] == ',' {
			p = skipSpaces(p[1:])
		}
	}
	if endDelim == 0 && len(p) != 0 || endDelim != 0 && len(p) == 0 {
		return Datum{}, valueErrorf("%s: missing \"%s\" at end of data", s, cString(endDelim))
	}
	if endDelim != 0 {
		p = skipSpaces(p[1:])
		if p != "" {
			return Datum{}, valueErrorf("%s: trailing garbage after \"%c\"", s, endDelim)
		}
	}
	what := "value(s)"
	if mapType {
		what = "pair(s)"
	}
	if len(d.Keys) < t.Min {
		return Datum{}, valueErrorf("%s: %d %s specified but the minimum number is %d", s, len(d.Keys), what, t.Min)
	}
	if len(d.Keys) > t.Max {
		return Datum{}, valueErrorf("%s: %d %s specified but the maximum number is %d", s, len(d.Keys), what, uint32Max(t.Max))
	}
	if sortDatum(&d) {
		if mapType {
			return Datum{}, valueErrorf("%s: map contains duplicate key", s)
		}
		return Datum{}, valueErrorf("%s: set contains duplicate value", s)
	}
	return d, nil
}

// uint32Max prints "unlimited" the way C prints UINT_MAX.
func uint32Max(n int) int {
	if n == math.MaxInt {
		return math.MaxUint32
	}
	return n
}

// cString renders a byte as printf("%c") would; NUL prints nothing.
func cString(c byte) string {
	if c == 0 {
		return ""
	}
	return string([]byte{c})
}

// cutNUL ends s at its first NUL byte: command-line arguments are C
// strings, so nothing after a NUL can reach ovs-vsctl's parser.
func cutNUL(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

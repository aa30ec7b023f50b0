package ovsdb

import (
	"cmp"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"gvswitch/control/internal/ovsjson"
)

// Atom is one OVSDB atomic value. Its dynamic type is always one of int64
// (integer), float64 (real), bool (boolean), string (string) or UUID (uuid),
// matching the column's AtomicType.
type Atom any

// DefaultAtom returns the default value of an atomic type (RFC 7047 5.1:
// 0, 0.0, false, "", all-zero UUID).
func DefaultAtom(t AtomicType) Atom {
	switch t {
	case TypeInteger:
		return int64(0)
	case TypeReal:
		return float64(0)
	case TypeBoolean:
		return false
	case TypeString:
		return ""
	default:
		return UUID{}
	}
}

// CompareAtoms orders two atoms of the same type the way Open vSwitch does:
// numerically, false before true, strings byte-wise, UUIDs as their text.
// Atoms of different types are ordered by type.
func CompareAtoms(a, b Atom) int {
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, y)
		}
	case float64:
		if y, ok := b.(float64); ok {
			return cmp.Compare(x, y)
		}
	case bool:
		if y, ok := b.(bool); ok {
			switch {
			case x == y:
				return 0
			case !x:
				return -1
			default:
				return 1
			}
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case UUID:
		if y, ok := b.(UUID); ok {
			for i := range x {
				if x[i] != y[i] {
					return cmp.Compare(x[i], y[i])
				}
			}
			return 0
		}
	}
	return cmp.Compare(atomRank(a), atomRank(b))
}

func atomRank(a Atom) int {
	switch a.(type) {
	case int64:
		return 1
	case float64:
		return 2
	case bool:
		return 3
	case string:
		return 4
	case UUID:
		return 5
	}
	return 6
}

// atomMatches reports whether a's dynamic type is t.
func atomMatches(a Atom, t AtomicType) bool {
	switch a.(type) {
	case int64:
		return t == TypeInteger
	case float64:
		return t == TypeReal
	case bool:
		return t == TypeBoolean
	case string:
		return t == TypeString
	case UUID:
		return t == TypeUUID
	}
	return false
}

// CheckAtom checks a against the constraints of bt (type, enum, ranges,
// lengths). Reference targets are checked at commit, not here. The error
// is an *Error with tag "constraint violation" (or "syntax error" for a
// wrong type).
func CheckAtom(a Atom, bt *BaseType) error {
	if !atomMatches(a, bt.Type) {
		return &Error{Tag: TagSyntax, Details: fmt.Sprintf("expected %s", bt.Type)}
	}
	if bt.Enum != nil {
		if _, ok := findAtom(bt.Enum, a); !ok {
			return &Error{Tag: TagConstraint, Details: fmt.Sprintf(
				"%s is not one of the allowed values (%s)", AtomString(a), enumString(bt.Enum))}
		}
		return nil
	}
	switch x := a.(type) {
	case int64:
		if x >= bt.MinInteger && x <= bt.MaxInteger {
			return nil
		}
		switch {
		case bt.MinInteger != math.MinInt64 && bt.MaxInteger != math.MaxInt64:
			return &Error{Tag: TagConstraint, Details: fmt.Sprintf("%d is not in the valid range %d to %d (inclusive)", x, bt.MinInteger, bt.MaxInteger)}
		case bt.MinInteger != math.MinInt64:
			return &Error{Tag: TagConstraint, Details: fmt.Sprintf("%d is less than minimum allowed value %d", x, bt.MinInteger)}
		default:
			return &Error{Tag: TagConstraint, Details: fmt.Sprintf("%d is greater than maximum allowed value %d", x, bt.MaxInteger)}
		}
	case float64:
		if x >= bt.MinReal && x <= bt.MaxReal {
			return nil
		}
		switch {
		case bt.MinReal != -math.MaxFloat64 && bt.MaxReal != math.MaxFloat64:
			return &Error{Tag: TagConstraint, Details: fmt.Sprintf("%.15g is not in the valid range %.15g to %.15g (inclusive)", x, bt.MinReal, bt.MaxReal)}
		case bt.MinReal != -math.MaxFloat64:
			return &Error{Tag: TagConstraint, Details: fmt.Sprintf("%.15g is less than minimum allowed value %.15g", x, bt.MinReal)}
		default:
			return &Error{Tag: TagConstraint, Details: fmt.Sprintf("%.15g is greater than maximum allowed value %.15g", x, bt.MaxReal)}
		}
	case string:
		if !utf8.ValidString(x) {
			return &Error{Tag: TagConstraint, Details: "not a valid UTF-8 string"}
		}
		n := utf8.RuneCountInString(x)
		if n < bt.MinLength {
			return &Error{Tag: TagConstraint, Details: fmt.Sprintf("%q length %d is less than minimum allowed length %d", x, n, bt.MinLength)}
		}
		if n > bt.MaxLength {
			return &Error{Tag: TagConstraint, Details: fmt.Sprintf("%q length %d is greater than maximum allowed length %d", x, n, bt.MaxLength)}
		}
	}
	return nil
}

func enumString(enum []Atom) string {
	parts := make([]string, len(enum))
	for i, a := range enum {
		parts[i] = AtomString(a)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// AtomString formats a in the ovs-vsctl/ovsdb-tool style: numbers and
// booleans bare, UUIDs bare, strings bare when they cannot be mistaken for
// anything else and quoted otherwise.
func AtomString(a Atom) string {
	switch x := a.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case UUID:
		return x.String()
	case string:
		if stringNeedsQuotes(x) {
			return string(ovsjson.AppendString(nil, x))
		}
		return x
	}
	return fmt.Sprint(a)
}

// stringNeedsQuotes mirrors Open vSwitch's rule: quote unless the string
// is an identifier-like token that does not parse as another atom type.
func stringNeedsQuotes(s string) bool {
	if s == "" || s == "true" || s == "false" {
		return true
	}
	c := s[0]
	if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || c == '.' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return true
		}
	}
	return isUUID(s)
}

// appendAtomJSON appends the RFC 7047 5.1 JSON form of a.
func appendAtomJSON(b []byte, a Atom) []byte {
	switch x := a.(type) {
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return append(b, '0')
		}
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.AppendFloat(b, x, 'f', 1, 64)
		}
		return strconv.AppendFloat(b, x, 'g', 17, 64)
	case bool:
		return strconv.AppendBool(b, x)
	case string:
		return ovsjson.AppendString(b, x)
	case UUID:
		b = append(b, `["uuid","`...)
		b = x.appendTo(b)
		return append(b, `"]`...)
	}
	return append(b, "null"...)
}

// NameResolver maps a "named-uuid" (RFC 7047 5.1) to the UUID it stands
// for within one transaction. It returns false for names it cannot
// resolve. A nil NameResolver refuses every named-uuid.
type NameResolver func(name string, bt *BaseType) (UUID, bool)

// AtomFromValue converts a decoded JSON value (as produced by DecodeJSON:
// json.Number, string, bool, []any, map[string]any) to an atom of bt's
// type, and checks bt's constraints.
func AtomFromValue(bt *BaseType, v any, names NameResolver) (Atom, error) {
	a, err := atomFromValue(bt, v, names)
	if err != nil {
		return nil, err
	}
	if err := CheckAtom(a, bt); err != nil {
		return nil, err
	}
	return a, nil
}

func atomFromValue(bt *BaseType, v any, names NameResolver) (Atom, error) {
	switch bt.Type {
	case TypeInteger:
		if n, ok := v.(jsonNumber); ok && isIntegerLiteral(string(n)) {
			i, err := strconv.ParseInt(string(n), 10, 64)
			if err != nil {
				return nil, syntaxError(v, "integer out of range")
			}
			return i, nil
		}
	case TypeReal:
		if n, ok := v.(jsonNumber); ok {
			f, err := strconv.ParseFloat(string(n), 64)
			if err != nil {
				return nil, syntaxError(v, "real out of range")
			}
			return f, nil
		}
	case TypeBoolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case TypeString:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case TypeUUID:
		arr, ok := v.([]any)
		if ok && len(arr) == 2 {
			tag, _ := arr[0].(string)
			s, sok := arr[1].(string)
			switch {
			case tag == "uuid" && sok:
				u, err := ParseUUID(s)
				if err != nil {
					return nil, syntaxError(v, fmt.Sprintf("%q is not a valid UUID", s))
				}
				return u, nil
			case tag == "named-uuid" && sok && names != nil:
				if !isID(s) {
					return nil, syntaxError(v, "named-uuid string is not a valid <id>")
				}
				if u, ok := names(s, bt); ok {
					return u, nil
				}
				return nil, syntaxError(v, fmt.Sprintf("named-uuid %s is not defined", s))
			}
		}
		return nil, syntaxError(v, `expected ["uuid", <string>]`)
	}
	return nil, syntaxError(v, "expected "+bt.Type.String())
}

func isIntegerLiteral(s string) bool {
	return !strings.ContainsAny(s, ".eE")
}

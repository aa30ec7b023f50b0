package ovsdb

import (
	"fmt"
	"math"
	"slices"
)

// mutation is one parsed RFC 7047 5.1 <mutation>.
type mutation struct {
	col      *ColumnSchema
	mutator  string
	arg      Datum
	keysOnly bool // map "delete" given a set of keys
}

func (x *txn) parseMutation(t *table, v any) (mutation, *Error) {
	arr, ok := v.([]any)
	if !ok || len(arr) != 3 {
		return mutation{}, syntaxError(v, "Parse error in mutation.")
	}
	name, ok1 := arr[0].(string)
	mut, ok2 := arr[1].(string)
	if !ok1 || !ok2 {
		return mutation{}, syntaxError(v, "Parse error in mutation.")
	}
	c := t.s.Column(name)
	if c == nil {
		e := syntaxError(v, fmt.Sprintf("No column %s in table %s.", name, t.s.Name))
		e.Tag = TagUnknownColumn
		return mutation{}, e
	}
	if !c.Mutable {
		e := syntaxError(v, fmt.Sprintf("Cannot mutate immutable column %s in table %s.", name, t.s.Name))
		e.Tag = TagConstraint
		return mutation{}, e
	}
	m := mutation{col: c, mutator: mut}
	mismatch := func() (mutation, *Error) {
		return mutation{}, syntaxError(v, fmt.Sprintf("Type mismatch: %q operator may not be applied to column %s of type %s.", mut, name, typeEnglish(&c.Type)))
	}
	switch mut {
	case "+=", "-=", "*=", "/=", "%=":
		if c.Type.IsMap() || (c.Type.Key.Type != TypeInteger && c.Type.Key.Type != TypeReal) ||
			(mut == "%=" && c.Type.Key.Type == TypeReal) {
			return mismatch()
		}
		// The argument is one unconstrained atom of the key type.
		bt := &BaseType{Type: c.Type.Key.Type, MinInteger: math.MinInt64, MaxInteger: math.MaxInt64,
			MinReal: -math.MaxFloat64, MaxReal: math.MaxFloat64, MaxLength: math.MaxInt}
		d, err := DatumFromValue(&ColumnType{Key: bt, Min: 1, Max: 1}, arr[2], x.resolve)
		if err != nil {
			return mutation{}, asError(err)
		}
		m.arg = d
	case "insert", "delete":
		if c.Type.IsScalar() {
			return mismatch()
		}
		typ := c.Type
		typ.Min = 0
		if mut == "delete" {
			typ.Max = Unlimited
		}
		d, err := DatumFromValue(&typ, arr[2], x.resolve)
		if err != nil && c.Type.IsMap() && mut == "delete" {
			// RFC 7047 5.1: map "delete" also takes a set of keys.
			keys := ColumnType{Key: c.Type.Key, Min: 0, Max: Unlimited}
			d, err = DatumFromValue(&keys, arr[2], x.resolve)
			m.keysOnly = true
		}
		if err != nil {
			return mutation{}, asError(err)
		}
		m.arg = d
	default:
		e := syntaxError(mut, fmt.Sprintf("Unknown mutator %q", mut))
		e.Tag = "unknown mutator"
		return mutation{}, e
	}
	return m, nil
}

// apply returns d mutated; d itself is not modified.
func (m *mutation) apply(d Datum) (Datum, *Error) {
	t := &m.col.Type
	switch m.mutator {
	case "insert":
		out := d.Clone()
		if t.IsMap() && out.Values == nil {
			out.Values = []Atom{}
		}
		for i, k := range m.arg.Keys {
			j, found := findAtom(out.Keys, k)
			if found {
				// RFC 7047 5.1: for maps, "insert" never replaces the
				// value of an existing key.
				continue
			}
			out.Keys = slices.Insert(out.Keys, j, k)
			if t.IsMap() {
				out.Values = slices.Insert(out.Values, j, m.arg.Values[i])
			}
		}
		return out, checkCount(out, t)
	case "delete":
		out := d.Clone()
		if t.IsMap() && out.Values == nil {
			out.Values = []Atom{}
		}
		for i, k := range m.arg.Keys {
			j, found := findAtom(out.Keys, k)
			if !found {
				continue
			}
			if t.IsMap() && !m.keysOnly && CompareAtoms(out.Values[j], m.arg.Values[i]) != 0 {
				continue // a pair is deleted only if the value matches too
			}
			out.Keys = slices.Delete(out.Keys, j, j+1)
			if t.IsMap() {
				out.Values = slices.Delete(out.Values, j, j+1)
			}
		}
		return out, checkCount(out, t)
	}
	out := Datum{Keys: make([]Atom, len(d.Keys))}
	for i, k := range d.Keys {
		r, err := arith(m.mutator, k, m.arg.Keys[0])
		if err != nil {
			return Datum{}, err
		}
		if e := CheckAtom(r, t.Key); e != nil {
			return Datum{}, asError(e)
		}
		out.Keys[i] = r
	}
	slices.SortFunc(out.Keys, CompareAtoms)
	for i := 1; i < len(out.Keys); i++ {
		if CompareAtoms(out.Keys[i-1], out.Keys[i]) == 0 {
			return Datum{}, &Error{Tag: TagConstraint, Details: fmt.Sprintf("Result of %q operation contains duplicates.", m.mutator)}
		}
	}
	return out, nil
}

func checkCount(d Datum, t *ColumnType) *Error {
	if len(d.Keys) < t.Min || len(d.Keys) > t.Max {
		return &Error{Tag: TagConstraint, Details: fmt.Sprintf("Attempted to store %d elements in %s.", len(d.Keys), typeEnglish(t))}
	}
	return nil
}

func arith(op string, a, b Atom) (Atom, *Error) {
	rangeErr := &Error{Tag: TagRange, Details: fmt.Sprintf("Result of %q operation is out of range.", op)}
	if x, ok := a.(int64); ok {
		y := b.(int64)
		switch op {
		case "+=":
			s := x + y
			if (x > 0 && y > 0 && s < 0) || (x < 0 && y < 0 && s >= 0) {
				return nil, rangeErr
			}
			return s, nil
		case "-=":
			s := x - y
			if (x >= 0 && y < 0 && s < 0) || (x < 0 && y > 0 && s >= 0) {
				return nil, rangeErr
			}
			return s, nil
		case "*=":
			r := x * y
			if x != 0 && (r/x != y || (x == -1 && y == math.MinInt64)) {
				return nil, rangeErr
			}
			return r, nil
		case "/=", "%=":
			if y == 0 {
				return nil, &Error{Tag: TagDomain, Details: "Division by zero."}
			}
			if x == math.MinInt64 && y == -1 {
				return nil, rangeErr
			}
			if op == "/=" {
				return x / y, nil
			}
			return x % y, nil
		}
	}
	x, y := a.(float64), b.(float64)
	var r float64
	switch op {
	case "+=":
		r = x + y
	case "-=":
		r = x - y
	case "*=":
		r = x * y
	case "/=":
		if y == 0 {
			return nil, &Error{Tag: TagDomain, Details: "Division by zero."}
		}
		r = x / y
	}
	if math.IsInf(r, 0) || math.IsNaN(r) {
		return nil, rangeErr
	}
	return r, nil
}

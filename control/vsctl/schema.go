package vsctl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// AtomicType is an OVSDB atomic type (RFC 7047 section 3.2 <atomic-type>).
type AtomicType int

// The atomic types, in the order OVSDB compares them. Void marks the absent
// value type of a set column.
const (
	Void AtomicType = iota
	Integer
	Real
	Boolean
	String
	UUID
)

var atomicNames = [...]string{"void", "integer", "real", "boolean", "string", "uuid"}

func (t AtomicType) String() string {
	if t < 0 || int(t) >= len(atomicNames) {
		return "invalid"
	}
	return atomicNames[t]
}

func parseAtomicType(s string) (AtomicType, error) {
	for i, n := range atomicNames {
		if i > 0 && n == s {
			return AtomicType(i), nil
		}
	}
	return Void, fmt.Errorf("%w: unknown atomic type %q", ErrSchema, s)
}

// BaseType is the type of a key or value with its constraints
// (RFC 7047 section 3.2 <base-type>).
type BaseType struct {
	Type             AtomicType
	Enum             *Datum // a set of allowed atoms, or nil
	MinInt, MaxInt   int64
	MinReal, MaxReal float64
	MinLen, MaxLen   int
	RefTable         string
	Weak             bool // refType "weak"
}

// Type is a column type (RFC 7047 section 3.2 <type>).
type Type struct {
	Key   BaseType
	Value BaseType // Value.Type == Void for sets
	Min   int
	Max   int // math.MaxInt for "unlimited"
}

// IsMap reports whether t is a map type.
func (t *Type) IsMap() bool { return t.Value.Type != Void }

// IsScalar reports whether t holds exactly one atom.
func (t *Type) IsScalar() bool { return t.Min == 1 && t.Max == 1 && !t.IsMap() }

// Column is one column of a table.
type Column struct {
	Name      string
	Type      Type
	Mutable   bool
	Ephemeral bool
}

// Table is one table of a schema; Columns are sorted by name, as the
// Open vSwitch IDL orders them.
type Table struct {
	Name    string
	Columns []*Column
	IsRoot  bool
	MaxRows int
	Indexes [][]string
	byName  map[string]*Column
}

// Column returns the column with exactly this name, or nil.
func (t *Table) Column(name string) *Column { return t.byName[name] }

// Schema is a database schema; Tables are sorted by name.
type Schema struct {
	Name    string
	Version string
	Tables  []*Table
	byName  map[string]*Table
}

// Table returns the table with exactly this name, or nil.
func (s *Schema) Table(name string) *Table { return s.byName[name] }

type jsonSchema struct {
	Name    string                     `json:"name"`
	Version string                     `json:"version"`
	Tables  map[string]json.RawMessage `json:"tables"`
}

type jsonTable struct {
	Columns map[string]json.RawMessage `json:"columns"`
	IsRoot  bool                       `json:"isRoot"`
	MaxRows int                        `json:"maxRows"`
	Indexes [][]string                 `json:"indexes"`
}

type jsonColumn struct {
	Type      json.RawMessage `json:"type"`
	Mutable   *bool           `json:"mutable"`
	Ephemeral bool            `json:"ephemeral"`
}

// ParseSchema parses a database schema (RFC 7047 section 3.2).
func ParseSchema(data []byte) (*Schema, error) {
	var js jsonSchema
	if err := json.Unmarshal(data, &js); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSchema, err)
	}
	s := &Schema{Name: js.Name, Version: js.Version, byName: map[string]*Table{}}
	for name, raw := range js.Tables {
		var jt jsonTable
		if err := json.Unmarshal(raw, &jt); err != nil {
			return nil, fmt.Errorf("%w: table %s: %v", ErrSchema, name, err)
		}
		t := &Table{Name: name, IsRoot: jt.IsRoot, MaxRows: jt.MaxRows, Indexes: jt.Indexes, byName: map[string]*Column{}}
		for cname, craw := range jt.Columns {
			var jc jsonColumn
			if err := json.Unmarshal(craw, &jc); err != nil {
				return nil, fmt.Errorf("%w: column %s.%s: %v", ErrSchema, name, cname, err)
			}
			typ, err := parseType(jc.Type)
			if err != nil {
				return nil, fmt.Errorf("column %s.%s: %w", name, cname, err)
			}
			c := &Column{Name: cname, Type: typ, Mutable: jc.Mutable == nil || *jc.Mutable, Ephemeral: jc.Ephemeral}
			t.Columns = append(t.Columns, c)
			t.byName[cname] = c
		}
		sort.Slice(t.Columns, func(i, j int) bool { return t.Columns[i].Name < t.Columns[j].Name })
		s.Tables = append(s.Tables, t)
		s.byName[name] = t
	}
	sort.Slice(s.Tables, func(i, j int) bool { return s.Tables[i].Name < s.Tables[j].Name })
	return s, nil
}

func parseType(raw json.RawMessage) (Type, error) {
	var t Type
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		kb, err := parseBaseType(raw)
		if err != nil {
			return t, err
		}
		return Type{Key: kb, Min: 1, Max: 1}, nil
	}
	var jt struct {
		Key   json.RawMessage `json:"key"`
		Value json.RawMessage `json:"value"`
		Min   *int            `json:"min"`
		Max   json.RawMessage `json:"max"`
	}
	if err := json.Unmarshal(raw, &jt); err != nil {
		return t, fmt.Errorf("%w: type: %v", ErrSchema, err)
	}
	var err error
	if t.Key, err = parseBaseType(jt.Key); err != nil {
		return t, err
	}
	if jt.Value != nil {
		if t.Value, err = parseBaseType(jt.Value); err != nil {
			return t, err
		}
	}
	t.Min, t.Max = 1, 1
	if jt.Min != nil {
		t.Min = *jt.Min
	}
	if jt.Max != nil {
		var n int
		var s string
		if json.Unmarshal(jt.Max, &s) == nil && s == "unlimited" {
			t.Max = math.MaxInt
		} else if err := json.Unmarshal(jt.Max, &n); err == nil {
			t.Max = n
		} else {
			return t, fmt.Errorf("%w: bad max %s", ErrSchema, jt.Max)
		}
	}
	return t, nil
}

func parseBaseType(raw json.RawMessage) (BaseType, error) {
	b := BaseType{MinInt: math.MinInt64, MaxInt: math.MaxInt64, MinReal: -math.MaxFloat64, MaxReal: math.MaxFloat64, MaxLen: math.MaxInt}
	var name string
	if json.Unmarshal(raw, &name) == nil {
		var err error
		b.Type, err = parseAtomicType(name)
		return b, err
	}
	var jb struct {
		Type       string          `json:"type"`
		Enum       json.RawMessage `json:"enum"`
		MinInteger *int64          `json:"minInteger"`
		MaxInteger *int64          `json:"maxInteger"`
		MinReal    *float64        `json:"minReal"`
		MaxReal    *float64        `json:"maxReal"`
		MinLength  *int            `json:"minLength"`
		MaxLength  *int            `json:"maxLength"`
		RefTable   string          `json:"refTable"`
		RefType    string          `json:"refType"`
	}
	if err := json.Unmarshal(raw, &jb); err != nil {
		return b, fmt.Errorf("%w: base type: %v", ErrSchema, err)
	}
	var err error
	if b.Type, err = parseAtomicType(jb.Type); err != nil {
		return b, err
	}
	if jb.MinInteger != nil {
		b.MinInt = *jb.MinInteger
	}
	if jb.MaxInteger != nil {
		b.MaxInt = *jb.MaxInteger
	}
	if jb.MinReal != nil {
		b.MinReal = *jb.MinReal
	}
	if jb.MaxReal != nil {
		b.MaxReal = *jb.MaxReal
	}
	if jb.MinLength != nil {
		b.MinLen = *jb.MinLength
	}
	if jb.MaxLength != nil {
		b.MaxLen = *jb.MaxLength
	}
	b.RefTable = jb.RefTable
	b.Weak = jb.RefType == "weak"
	if jb.Enum != nil {
		et := Type{Key: BaseType{Type: b.Type, MinInt: math.MinInt64, MaxInt: math.MaxInt64, MinReal: -math.MaxFloat64, MaxReal: math.MaxFloat64, MaxLen: math.MaxInt}, Min: 0, Max: math.MaxInt}
		var v any
		dec := json.NewDecoder(bytes.NewReader(jb.Enum))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return b, fmt.Errorf("%w: enum: %v", ErrSchema, err)
		}
		d, err := DatumFromJSON(&et, v, nil)
		if err != nil {
			return b, fmt.Errorf("%w: enum: %v", ErrSchema, err)
		}
		b.Enum = &d
	}
	return b, nil
}

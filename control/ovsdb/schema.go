package ovsdb

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
)

//go:embed vswitch.ovsschema
var vswitchSchema []byte

//go:embed server.ovsschema
var serverSchema []byte

// VSwitchSchema returns the bytes of the Open vSwitch database schema
// (Open_vSwitch 8.3.1, from Open vSwitch 3.1.0; see NOTICE).
func VSwitchSchema() []byte { return bytes.Clone(vswitchSchema) }

// ServerSchemaJSON returns the bytes of the _Server database schema (1.2.0).
func ServerSchemaJSON() []byte { return bytes.Clone(serverSchema) }

// AtomicType is one of the five RFC 7047 atomic types.
type AtomicType int

// The atomic types (RFC 7047 section 3.2 <atomic-type>).
const (
	TypeInteger AtomicType = iota + 1
	TypeReal
	TypeBoolean
	TypeString
	TypeUUID
)

var atomicTypeNames = map[string]AtomicType{
	"integer": TypeInteger, "real": TypeReal, "boolean": TypeBoolean,
	"string": TypeString, "uuid": TypeUUID,
}

func (t AtomicType) String() string {
	for n, v := range atomicTypeNames {
		if v == t {
			return n
		}
	}
	return fmt.Sprintf("AtomicType(%d)", int(t))
}

// RefType says whether a reference keeps its target alive (RFC 7047 3.2).
type RefType int

// Reference kinds.
const (
	Strong RefType = iota
	Weak
)

// Unlimited is ColumnType.Max for "max":"unlimited".
const Unlimited = math.MaxInt

// BaseType is an RFC 7047 <base-type>: an atomic type plus constraints.
type BaseType struct {
	Type AtomicType
	// Enum, when not nil, lists the only allowed values (sorted).
	Enum []Atom
	// Integer and real ranges; defaults are the widest possible.
	MinInteger, MaxInteger int64
	MinReal, MaxReal       float64
	// String length limits in characters (Unicode code points).
	MinLength, MaxLength int
	// RefTable names the table a uuid refers to ("" = not a reference).
	RefTable string
	RefType  RefType
}

// ColumnType is an RFC 7047 <type>: Value is nil for sets and scalars.
type ColumnType struct {
	Key, Value *BaseType
	Min, Max   int // Max may be Unlimited
}

// IsMap reports whether t is a map type.
func (t *ColumnType) IsMap() bool { return t.Value != nil }

// IsScalar reports whether t holds exactly one atom.
func (t *ColumnType) IsScalar() bool { return t.Value == nil && t.Min == 1 && t.Max == 1 }

// IsOptional reports whether t holds zero or one atom.
func (t *ColumnType) IsOptional() bool { return t.Value == nil && t.Min == 0 && t.Max == 1 }

// ColumnSchema describes one column.
type ColumnSchema struct {
	Name      string
	Type      ColumnType
	Ephemeral bool // not written to disk
	Mutable   bool // may be changed after insert
	Index     int  // position in TableSchema.Columns
}

// TableSchema describes one table. Columns are sorted by name.
type TableSchema struct {
	Name    string
	Columns []*ColumnSchema
	byName  map[string]*ColumnSchema
	MaxRows int // 0 = unlimited
	IsRoot  bool
	Indexes [][]*ColumnSchema
}

// Column returns the named column, or nil. It does not know the implicit
// columns _uuid and _version.
func (t *TableSchema) Column(name string) *ColumnSchema { return t.byName[name] }

// Schema is a database schema (RFC 7047 section 3.2).
type Schema struct {
	Name    string
	Version string
	Cksum   string
	Tables  map[string]*TableSchema
	// Raw is the schema text it was parsed from.
	Raw json.RawMessage

	compactOnce sync.Once
	compact     string
}

// Table returns the named table, or nil.
func (s *Schema) Table(name string) *TableSchema { return s.Tables[name] }

// TableNames returns the table names, sorted.
func (s *Schema) TableNames() []string {
	names := make([]string, 0, len(s.Tables))
	for n := range s.Tables {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Compact returns the schema as a compact JSON text (what the _Server
// database's "schema" column holds).
func (s *Schema) Compact() string {
	s.compactOnce.Do(func() {
		var b bytes.Buffer
		if err := json.Compact(&b, s.Raw); err != nil {
			s.compact = string(s.Raw)
			return
		}
		s.compact = b.String()
	})
	return s.compact
}

// ParseSchema parses an .ovsschema text. Errors are *Error with tag
// "syntax error" naming what is wrong.
func ParseSchema(data []byte) (*Schema, error) {
	var raw struct {
		Name    *string                     `json:"name"`
		Version string                      `json:"version"`
		Cksum   string                      `json:"cksum"`
		Tables  map[string]*json.RawMessage `json:"tables"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, &Error{Tag: TagSyntax, Details: "schema: " + err.Error()}
	}
	if raw.Name == nil || !isID(*raw.Name) {
		return nil, &Error{Tag: TagSyntax, Details: "schema: missing or invalid \"name\""}
	}
	if raw.Tables == nil {
		return nil, &Error{Tag: TagSyntax, Details: "schema: missing \"tables\""}
	}
	s := &Schema{Name: *raw.Name, Version: raw.Version, Cksum: raw.Cksum,
		Tables: make(map[string]*TableSchema, len(raw.Tables)), Raw: bytes.Clone(data)}
	for name, tj := range raw.Tables {
		if !isID(name) || strings.HasPrefix(name, "_") {
			return nil, &Error{Tag: TagSyntax, Details: fmt.Sprintf("schema: invalid table name %q", name)}
		}
		if tj == nil {
			return nil, &Error{Tag: TagSyntax, Details: fmt.Sprintf("schema: table %s is null", name)}
		}
		t, err := parseTable(name, *tj)
		if err != nil {
			return nil, err
		}
		s.Tables[name] = t
	}
	// Check references point at existing tables.
	root := 0
	for _, t := range s.Tables {
		if t.IsRoot {
			root++
		}
		for _, c := range t.Columns {
			for _, bt := range []*BaseType{c.Type.Key, c.Type.Value} {
				if bt != nil && bt.RefTable != "" && s.Tables[bt.RefTable] == nil {
					return nil, &Error{Tag: TagSyntax, Details: fmt.Sprintf(
						"schema: column %s.%s refers to undefined table %s", t.Name, c.Name, bt.RefTable)}
				}
			}
		}
	}
	// Schemas written before "isRoot" existed have no root set: every
	// table is then a root, so nothing is garbage collected.
	if root == 0 {
		for _, t := range s.Tables {
			t.IsRoot = true
		}
	}
	return s, nil
}

func isID(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func parseTable(name string, data []byte) (*TableSchema, error) {
	var raw struct {
		Columns map[string]json.RawMessage `json:"columns"`
		MaxRows *int                       `json:"maxRows"`
		IsRoot  bool                       `json:"isRoot"`
		Indexes [][]string                 `json:"indexes"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, &Error{Tag: TagSyntax, Details: fmt.Sprintf("schema: table %s: %v", name, err)}
	}
	if len(raw.Columns) == 0 {
		return nil, &Error{Tag: TagSyntax, Details: fmt.Sprintf("schema: table %s has no columns", name)}
	}
	t := &TableSchema{Name: name, IsRoot: raw.IsRoot, byName: make(map[string]*ColumnSchema, len(raw.Columns))}
	if raw.MaxRows != nil {
		if *raw.MaxRows < 1 {
			return nil, &Error{Tag: TagSyntax, Details: fmt.Sprintf("schema: table %s: maxRows must be at least 1", name)}
		}
		t.MaxRows = *raw.MaxRows
	}
	for cname, cj := range raw.Columns {
		if !isID(cname) || strings.HasPrefix(cname, "_") {
			return nil, &Error{Tag: TagSyntax, Details: fmt.Sprintf("schema: table %s: invalid column name %q", name, cname)}
		}
		c, err := parseColumn(cname, cj)
		if err != nil {
			return nil, &Error{Tag: TagSyntax, Details: fmt.Sprintf("schema: column %s.%s: %v", name, cname, err)}
		}
		t.Columns = append(t.Columns, c)
		t.byName[cname] = c
	}
	sort.Slice(t.Columns, func(i, j int) bool { return t.Columns[i].Name < t.Columns[j].Name })
	for i, c := range t.Columns {
		c.Index = i
	}
	for _, idx := range raw.Indexes {
		if len(idx) == 0 {
			return nil, &Error{Tag: TagSyntax, Details: fmt.Sprintf("schema: table %s: empty index", name)}
		}
		cols := make([]*ColumnSchema, 0, len(idx))
		for _, cn := range idx {
			c := t.byName[cn]
			if c == nil {
				return nil, &Error{Tag: TagSyntax, Details: fmt.Sprintf("schema: table %s: index names unknown column %s", name, cn)}
			}
			if c.Ephemeral {
				return nil, &Error{Tag: TagSyntax, Details: fmt.Sprintf("schema: table %s: ephemeral column %s may not be indexed", name, cn)}
			}
			cols = append(cols, c)
		}
		t.Indexes = append(t.Indexes, cols)
	}
	return t, nil
}

func parseColumn(name string, data []byte) (*ColumnSchema, error) {
	var raw struct {
		Type      json.RawMessage `json:"type"`
		Ephemeral bool            `json:"ephemeral"`
		Mutable   *bool           `json:"mutable"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	if raw.Type == nil {
		return nil, fmt.Errorf("missing \"type\"")
	}
	ct, err := ParseColumnType(raw.Type)
	if err != nil {
		return nil, err
	}
	c := &ColumnSchema{Name: name, Type: *ct, Ephemeral: raw.Ephemeral, Mutable: true}
	if raw.Mutable != nil {
		c.Mutable = *raw.Mutable
	}
	return c, nil
}

// ParseColumnType parses an RFC 7047 <type>: an atomic type name or
// {"key":..., "value":..., "min":n, "max":n|"unlimited"}.
func ParseColumnType(data []byte) (*ColumnType, error) {
	var name string
	if json.Unmarshal(data, &name) == nil {
		bt, err := parseBaseType(data)
		if err != nil {
			return nil, err
		}
		return &ColumnType{Key: bt, Min: 1, Max: 1}, nil
	}
	var raw struct {
		Key   json.RawMessage `json:"key"`
		Value json.RawMessage `json:"value"`
		Min   *int            `json:"min"`
		Max   json.RawMessage `json:"max"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("type: %v", err)
	}
	if raw.Key == nil {
		return nil, fmt.Errorf("type: missing \"key\"")
	}
	t := &ColumnType{Min: 1, Max: 1}
	var err error
	if t.Key, err = parseBaseType(raw.Key); err != nil {
		return nil, err
	}
	if raw.Value != nil {
		if t.Value, err = parseBaseType(raw.Value); err != nil {
			return nil, err
		}
	}
	if raw.Min != nil {
		t.Min = *raw.Min
	}
	if raw.Max != nil {
		var s string
		var n int
		switch {
		case json.Unmarshal(raw.Max, &s) == nil && s == "unlimited":
			t.Max = Unlimited
		case json.Unmarshal(raw.Max, &n) == nil:
			t.Max = n
		default:
			return nil, fmt.Errorf("type: bad \"max\" %s", raw.Max)
		}
	}
	if t.Min < 0 || t.Min > 1 || t.Max < 1 || t.Min > t.Max {
		return nil, fmt.Errorf("type: ill-formed ovsdb type (min %d, max %d)", t.Min, t.Max)
	}
	return t, nil
}

func parseBaseType(data []byte) (*BaseType, error) {
	bt := &BaseType{MinInteger: math.MinInt64, MaxInteger: math.MaxInt64,
		MinReal: -math.MaxFloat64, MaxReal: math.MaxFloat64, MaxLength: math.MaxInt}
	var name string
	if json.Unmarshal(data, &name) == nil {
		t, ok := atomicTypeNames[name]
		if !ok {
			return nil, fmt.Errorf("unknown atomic type %q", name)
		}
		bt.Type = t
		return bt, nil
	}
	var raw struct {
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
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("base type: %v", err)
	}
	t, ok := atomicTypeNames[raw.Type]
	if !ok {
		return nil, fmt.Errorf("unknown atomic type %q", raw.Type)
	}
	bt.Type = t
	if raw.MinInteger != nil {
		bt.MinInteger = *raw.MinInteger
	}
	if raw.MaxInteger != nil {
		bt.MaxInteger = *raw.MaxInteger
	}
	if raw.MinReal != nil {
		bt.MinReal = *raw.MinReal
	}
	if raw.MaxReal != nil {
		bt.MaxReal = *raw.MaxReal
	}
	if raw.MinLength != nil {
		bt.MinLength = *raw.MinLength
	}
	if raw.MaxLength != nil {
		bt.MaxLength = *raw.MaxLength
	}
	if bt.MinInteger > bt.MaxInteger || bt.MinReal > bt.MaxReal || bt.MinLength > bt.MaxLength {
		return nil, fmt.Errorf("base type: minimum exceeds maximum")
	}
	if raw.RefTable != "" {
		if t != TypeUUID {
			return nil, fmt.Errorf("refTable on a %s", t)
		}
		bt.RefTable = raw.RefTable
		switch raw.RefType {
		case "", "strong":
		case "weak":
			bt.RefType = Weak
		default:
			return nil, fmt.Errorf("refType must be \"strong\" or \"weak\", not %q", raw.RefType)
		}
	}
	if raw.Enum != nil {
		et := &ColumnType{Key: &BaseType{Type: t, MinInteger: math.MinInt64, MaxInteger: math.MaxInt64,
			MinReal: -math.MaxFloat64, MaxReal: math.MaxFloat64, MaxLength: math.MaxInt}, Min: 0, Max: Unlimited}
		d, err := ParseDatum(et, raw.Enum)
		if err != nil {
			return nil, fmt.Errorf("enum: %v", err)
		}
		bt.Enum = d.Keys
		if bt.Enum == nil {
			bt.Enum = []Atom{}
		}
	}
	return bt, nil
}

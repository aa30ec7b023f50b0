package ovsdb

import (
	"errors"
	"strings"
	"testing"
)

func mustSchema(t testing.TB) *Schema {
	t.Helper()
	s, err := ParseSchema(VSwitchSchema())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseVSwitchSchema(t *testing.T) {
	s := mustSchema(t)
	if s.Name != "Open_vSwitch" || s.Version != "8.3.1" || s.Cksum != "3012963480 26720" {
		t.Fatalf("name/version/cksum = %q %q %q", s.Name, s.Version, s.Cksum)
	}
	// Facts from schema-version.txt in the reference captures.
	roots := []string{}
	for _, n := range s.TableNames() {
		if s.Table(n).IsRoot {
			roots = append(roots, n)
		}
	}
	if got := strings.Join(roots, ","); got != "Flow_Sample_Collector_Set,Open_vSwitch,QoS,Queue" {
		t.Errorf("root tables = %s", got)
	}
	if s.Table("Open_vSwitch").MaxRows != 1 || s.Table("SSL").MaxRows != 1 || s.Table("Bridge").MaxRows != 0 {
		t.Errorf("maxRows wrong")
	}
	br := s.Table("Bridge")
	if len(br.Indexes) != 1 || br.Indexes[0][0].Name != "name" {
		t.Errorf("Bridge indexes = %v", br.Indexes)
	}
	if c := br.Column("name"); c == nil || c.Mutable {
		t.Errorf("Bridge.name should be immutable: %+v", c)
	}
	ports := br.Column("ports")
	if ports.Type.Key.RefTable != "Port" || ports.Type.Key.RefType != Strong || ports.Type.Max != Unlimited || ports.Type.Min != 0 {
		t.Errorf("Bridge.ports type = %+v %+v", ports.Type, ports.Type.Key)
	}
	mirrors := s.Table("Mirror").Column("select_src_port")
	if mirrors.Type.Key.RefType != Weak {
		t.Errorf("Mirror.select_src_port should be a weak reference")
	}
	tag := s.Table("Port").Column("tag")
	if tag.Type.Min != 0 || tag.Type.Max != 1 || tag.Type.Key.MinInteger != 0 || tag.Type.Key.MaxInteger != 4095 {
		t.Errorf("Port.tag type = %+v %+v", tag.Type, tag.Type.Key)
	}
	vm := s.Table("Port").Column("vlan_mode")
	if len(vm.Type.Key.Enum) != 5 {
		t.Errorf("vlan_mode enum = %v", vm.Type.Key.Enum)
	}
	if st := s.Table("Interface").Column("status"); !st.Type.IsMap() {
		t.Errorf("Interface.status should be a map")
	}
	// Columns are sorted and indexed.
	for i, c := range br.Columns {
		if c.Index != i || (i > 0 && br.Columns[i-1].Name >= c.Name) {
			t.Fatalf("column order broken at %d", i)
		}
	}
}

func TestParseServerSchemaAllRoot(t *testing.T) {
	s, err := ParseSchema(ServerSchemaJSON())
	if err != nil {
		t.Fatal(err)
	}
	if !s.Table("Database").IsRoot {
		t.Error("a schema with no isRoot must make every table a root")
	}
}

func TestParseSchemaErrors(t *testing.T) {
	tests := []string{
		`{}`,
		`{"name":"x"}`,
		`{"name":"x","tables":{"T":{"columns":{}}}}`,
		`{"name":"x","tables":{"T":{"columns":{"a":{"type":"nosuch"}}}}}`,
		`{"name":"x","tables":{"T":{"columns":{"a":{"type":{"key":{"type":"uuid","refTable":"Nope"}}}}}}}`,
		`{"name":"x","tables":{"T":{"columns":{"a":{"type":{"key":"integer","min":2,"max":1}}}}}}`,
		`{"name":"x","tables":{"T":{"columns":{"a":{"type":"integer"}},"indexes":[["b"]]}}}`,
		`{"name":"x","tables":{"T":{"columns":{"_a":{"type":"integer"}}}}}`,
		`not json`,
	}
	for _, in := range tests {
		_, err := ParseSchema([]byte(in))
		var e *Error
		if !errors.As(err, &e) || e.Tag != TagSyntax {
			t.Errorf("ParseSchema(%s) = %v, want a syntax error", in, err)
		}
	}
}

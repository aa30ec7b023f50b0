package ovsdb

import (
	"errors"
	"testing"
)

func colType(t testing.TB, s *Schema, table, col string) *ColumnType {
	t.Helper()
	c := s.Table(table).Column(col)
	if c == nil {
		t.Fatalf("no column %s.%s", table, col)
	}
	return &c.Type
}

func TestDatumRoundTrip(t *testing.T) {
	s := mustSchema(t)
	tests := []struct {
		table, col, in, out string
	}{
		{"Port", "trunks", `["set",[304,11,300]]`, `["set",[11,300,304]]`},
		{"Port", "trunks", `["set",[300]]`, `300`},
		{"Port", "trunks", `["set",[]]`, `["set",[]]`},
		{"Port", "tag", `300`, `300`},
		{"Port", "name", `"bond0"`, `"bond0"`},
		{"Port", "other_config", `["map",[["lacp-time","fast"],["bond-detect-mode","miimon"]]]`, `["map",[["bond-detect-mode","miimon"],["lacp-time","fast"]]]`},
		{"Port", "interfaces", `["uuid","c91852f9-c2c9-4bcb-9c92-b17194085e58"]`, `["uuid","c91852f9-c2c9-4bcb-9c92-b17194085e58"]`},
		{"Bridge", "ports", `["set",[["uuid","ffffffff-c2c9-4bcb-9c92-b17194085e58"],["uuid","00000000-c2c9-4bcb-9c92-b17194085e58"]]]`,
			`["set",[["uuid","00000000-c2c9-4bcb-9c92-b17194085e58"],["uuid","ffffffff-c2c9-4bcb-9c92-b17194085e58"]]]`},
		{"Open_vSwitch", "cur_cfg", `7`, `7`},
		{"Interface", "ofport", `["set",[]]`, `["set",[]]`},
		{"Port", "vlan_mode", `"access"`, `"access"`},
		{"Interface", "external_ids", `["map",[["attached-mac","52:54:00:d4:25:2e"],["x","a\"b\\c\n"]]]`, `["map",[["attached-mac","52:54:00:d4:25:2e"],["x","a\"b\\c\n"]]]`},
		{"Interface", "link_speed", `["set",[10000000000]]`, `10000000000`},
		{"Queue", "dscp", `63`, `63`},
		{"Bridge", "stp_enable", `true`, `true`},
	}
	for _, tt := range tests {
		ct := colType(t, s, tt.table, tt.col)
		d, err := ParseDatum(ct, []byte(tt.in))
		if err != nil {
			t.Errorf("%s.%s %s: %v", tt.table, tt.col, tt.in, err)
			continue
		}
		if got := string(d.JSON(ct)); got != tt.out {
			t.Errorf("%s.%s %s: encoded %s, want %s", tt.table, tt.col, tt.in, got, tt.out)
		}
	}
}

func TestDatumErrors(t *testing.T) {
	s := mustSchema(t)
	tests := []struct {
		table, col, in, tag string
	}{
		{"Port", "tag", `5000`, TagConstraint},
		{"Port", "tag", `-1`, TagConstraint},
		{"Port", "tag", `"x"`, TagSyntax},
		{"Port", "tag", `1.5`, TagSyntax},
		{"Port", "tag", `["set",[1,2]]`, TagSyntax}, // max 1
		{"Port", "trunks", `["set",[1,1]]`, TagOVSDB},
		{"Port", "vlan_mode", `"bogus"`, TagConstraint},
		{"Port", "name", `["set",[]]`, TagSyntax}, // min 1
		{"Port", "other_config", `["set",[]]`, TagSyntax},
		{"Port", "other_config", `["map",[["a"]]]`, TagSyntax},
		{"Port", "other_config", `["map",[["a","1"],["a","2"]]]`, TagOVSDB},
		{"Port", "interfaces", `["uuid","nope"]`, TagSyntax},
		{"Port", "interfaces", `["named-uuid","x"]`, TagSyntax}, // no resolver
		{"Bridge", "stp_enable", `1`, TagSyntax},
		{"Queue", "dscp", `64`, TagConstraint},
	}
	for _, tt := range tests {
		ct := colType(t, s, tt.table, tt.col)
		_, err := ParseDatum(ct, []byte(tt.in))
		var e *Error
		if !errors.As(err, &e) || e.Tag != tt.tag {
			t.Errorf("%s.%s %s: error %v, want tag %q", tt.table, tt.col, tt.in, err, tt.tag)
		}
	}
	// The wording users see for a range violation.
	_, err := ParseDatum(colType(t, s, "Port", "tag"), []byte(`5000`))
	if err.Error() != "constraint violation: 5000 is not in the valid range 0 to 4095 (inclusive)" {
		t.Errorf("range message = %q", err)
	}
}

func TestNamedUUIDResolution(t *testing.T) {
	s := mustSchema(t)
	ct := colType(t, s, "Bridge", "ports")
	want := NewUUID()
	var sawRef *BaseType
	d, err := DatumFromValue(ct, mustDecode(t, `["set",[["named-uuid","row1"]]]`), func(name string, bt *BaseType) (UUID, bool) {
		sawRef = bt
		return want, name == "row1"
	})
	if err != nil || d.Len() != 1 || d.Keys[0] != want {
		t.Fatalf("got %v %v", d, err)
	}
	if sawRef.RefTable != "Port" {
		t.Errorf("resolver saw base type %+v", sawRef)
	}
}

func mustDecode(t testing.TB, s string) any {
	v, err := DecodeJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCompareAtomsUUIDMatchesText(t *testing.T) {
	for i := 0; i < 200; i++ {
		a, b := NewUUID(), NewUUID()
		c1 := CompareAtoms(a, b)
		c2 := 0
		switch {
		case a.String() < b.String():
			c2 = -1
		case a.String() > b.String():
			c2 = 1
		}
		if c1 != c2 {
			t.Fatalf("%s vs %s: %d != %d", a, b, c1, c2)
		}
		if u, err := ParseUUID(a.String()); err != nil || u != a {
			t.Fatalf("ParseUUID round trip %s: %v %v", a, u, err)
		}
	}
}

func TestDatumString(t *testing.T) {
	if got := Set(int64(304), int64(11)).String(); got != "[11, 304]" {
		t.Errorf("set = %s", got)
	}
	if got := Map(map[string]string{"b": "x y", "a": "1"}).String(); got != `{a="1", b="x y"}` {
		t.Errorf("map = %s", got)
	}
}

func FuzzDatum(f *testing.F) {
	s := mustSchema(f)
	cols := []*ColumnType{
		colType(f, s, "Port", "trunks"), colType(f, s, "Port", "tag"), colType(f, s, "Port", "other_config"),
		colType(f, s, "Bridge", "ports"), colType(f, s, "Port", "vlan_mode"), colType(f, s, "Interface", "link_speed"),
		colType(f, s, "Queue", "dscp"), colType(f, s, "Bridge", "stp_enable"), colType(f, s, "Interface", "bfd_status"),
	}
	for i, seed := range []string{`["set",[304,11,300]]`, `300`, `["map",[["a","b"]]]`, `["uuid","c91852f9-c2c9-4bcb-9c92-b17194085e58"]`,
		`"access"`, `["set",[1e3]]`, `1.5`, `true`, `["map",[]]`, `["named-uuid","x"]`, `[`} {
		f.Add(uint8(i), []byte(seed))
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		ct := cols[int(which)%len(cols)]
		d, err := ParseDatum(ct, data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is not an *Error: %v", err)
			}
			return
		}
		// Whatever parses re-encodes to the same datum.
		enc := d.JSON(ct)
		d2, err := ParseDatum(ct, enc)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", enc, err)
		}
		if !d.Equal(d2) {
			t.Fatalf("round trip changed %s -> %s", data, enc)
		}
	})
}

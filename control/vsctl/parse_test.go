package vsctl

import (
	"errors"
	"strings"
	"testing"
)

func mustSchema(t testing.TB) *Schema {
	t.Helper()
	s, err := VSwitchSchema()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func colType(t testing.TB, table, col string) *Type {
	t.Helper()
	c := mustSchema(t).Table(table).Column(col)
	if c == nil {
		t.Fatalf("no column %s.%s", table, col)
	}
	return &c.Type
}

func TestParseDatum(t *testing.T) {
	cases := []struct {
		table, col, in string
		want           string // String() of the result, or the error text
		wantErr        bool
	}{
		{"Port", "trunks", "11,300-304", "[11, 300, 301, 302, 303, 304]", false},
		{"Port", "trunks", "[1, 2 3]", "[1, 2, 3]", false},
		{"Port", "trunks", "[]", "[]", false},
		{"Port", "trunks", "", `use "[]" to specify the empty set`, true},
		{"Port", "trunks", "5-1", `"5-1" is not a valid range. Range end cannot be before start.`, true},
		{"Port", "trunks", "4096", "constraint violation: 4096 is not in the valid range 0 to 4095 (inclusive)", true},
		{"Port", "trunks", "1,1", "1,1: set contains duplicate value", true},
		{"Port", "trunks", "[1", `[1: missing "]" at end of data`, true},
		{"Port", "trunks", "[1] x", `[1] x: trailing garbage after "]"`, true},
		{"Port", "tag", "7", "7", false},
		{"Port", "tag", "1,2", "1,2: 2 value(s) specified but the maximum number is 1", true},
		{"Port", "tag", "x", `"x" is not a valid integer or range`, true},
		{"Port", "vlan_mode", "trunk", "trunk", false},
		{"Port", "vlan_mode", "bogus", "constraint violation: bogus is not one of the allowed values ([access, dot1q-tunnel, native-tagged, native-untagged, trunk])", true},
		{"Bridge", "external_ids", "{a=1, b=\"x y\"}", `{a="1", b="x y"}`, false},
		{"Bridge", "external_ids", "a=1 b=2", `{a="1", b="2"}`, false},
		{"Bridge", "external_ids", "{}", "{}", false},
		{"Bridge", "external_ids", "", `use "{}" to specify the empty map`, true},
		{"Bridge", "external_ids", "a", `a: syntax error at "`, true},
		{"Bridge", "external_ids", "a=1,a=2", "a=1,a=2: map contains duplicate key", true},
		{"Bridge", "external_ids", `k="a\"b\\c\u00e9"`, `{k="a\"b\\cé"}`, false},
		{"Bridge", "external_ids", `k="unterminated`, `"unterminated: quoted string extends past end of argument`, true},
		{"Bridge", "external_ids", `k=a\,b`, `{k="a,b"}`, false},
		{"Bridge", "name", `""`, `""`, false},
		{"Bridge", "name", `br-0.x_y`, `br-0.x_y`, false},
		{"Bridge", "name", `true`, `"true"`, false},
		{"Bridge", "stp_enable", "yes", "true", false},
		{"Bridge", "stp_enable", "maybe", `"maybe" is not a valid boolean (use "true" or "false")`, true},
		{"Bridge", "ports", "[]", "[]", false},
		{"Bridge", "ports", "zz", `"zz" is not a valid UUID`, true},
		{"Interface", "ingress_policing_burst", "-1", "constraint violation: -1 is less than minimum allowed value 0", true},
		{"Bridge", "flood_vlans", "{1}", `{1}: unexpected "{" parsing set of up to 4096 integers`, true},
	}
	for _, c := range cases {
		typ := colType(t, c.table, c.col)
		d, err := ParseDatum(typ, c.in, nil)
		if c.wantErr {
			if err != nil && !errors.Is(err, ErrBadValue) {
				t.Errorf("%s.%s %q: error %v does not match ErrBadValue", c.table, c.col, c.in, err)
			}
			if err == nil || err.Error() != c.want {
				t.Errorf("%s.%s %q: error %v, want %q", c.table, c.col, c.in, err, c.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s.%s %q: %v", c.table, c.col, c.in, err)
			continue
		}
		if got := FormatDatum(typ, d); got != c.want {
			t.Errorf("%s.%s %q = %s, want %s", c.table, c.col, c.in, got, c.want)
		}
	}
}

func TestScoreMatch(t *testing.T) {
	s := mustSchema(t)
	for in, want := range map[string]string{"br": "Bridge", "open": "Open_vSwitch", "PORT": "Port", "qos": "QoS", "open-vswitch": "Open_vSwitch", "flow_s": "Flow_Sample_Collector_Set"} {
		tb, err := getTable(s, in)
		if err != nil || tb.Name != want {
			t.Errorf("getTable(%q) = %v, %v; want %s", in, tb, err, want)
		}
	}
	if _, err := getTable(s, "f"); err == nil || !strings.Contains(err.Error(), "matches multiple table names") {
		t.Errorf("getTable(f) error = %v", err)
	}
	if _, err := getTable(s, "nosuch"); err == nil || err.Error() != `unknown table "nosuch"` {
		t.Errorf("getTable(nosuch) error = %v", err)
	}
}

func TestParseCommands(t *testing.T) {
	cases := []struct {
		line string
		err  string
		n    int
	}{
		{"--no-wait add-br br0 -- set bridge br0 datapath_type=netdev", "", 2},
		{"--timeout=5 -- --if-exists del-port vnet0 -- add-port ovsbr0 vnet0 tag=300", "", 2},
		{"--may-exist add-br br0", "", 1},
		{"add-br", "'add-br' command requires at least 1 arguments", 0},
		{"list-br x", "'list-br' command takes at most 0 arguments", 0},
		{"list-br --if-exists", "'list-br' command takes at most 0 arguments (note that options must precede command names and follow a \"--\" argument)", 0},
		{"--if-exists list-br", "'list-br' command has no '--if-exists' option", 0},
		{"-- --id get bridge x", "missing argument to '--id' option on 'get' command", 0},
		{"-- --if-exists=1 del-br x", "'--if-exists' option on 'del-br' does not accept an argument", 0},
		{"frob", "unknown command 'frob'; use --help for help", 0},
		{"--", "missing command name (use --help for help)", 0},
		{"--bogus list-br", "unrecognized option '--bogus'", 0},
		{"--no-w list-br", "", 1},
		{"--no list-br", "option '--no' is ambiguous; possibilities: '--no-syslog' '--no-wait' '--no-leader-only' '--no-shuffle-remotes' '--no-headings'", 0},
	}
	for _, c := range cases {
		parsed, rest, err := getopt(strings.Fields(c.line), allOptions())
		var cmds []*command
		if err == nil {
			var local []parsedOption
			for _, p := range parsed {
				if p.opt.local {
					local = append(local, p)
				}
			}
			cmds, err = parseCommands(rest, local)
		}
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%q: %v", c.line, err)
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("%q: error %v, want %q", c.line, err, c.err)
		case c.err == "" && len(cmds) != c.n:
			t.Errorf("%q: %d commands, want %d", c.line, len(cmds), c.n)
		}
	}
}

// FuzzParseDatum: any input either fails cleanly or yields a value whose
// printed form parses back to the same value.
func FuzzParseDatum(f *testing.F) {
	for _, s := range []string{"11,300-304", "[]", "{}", "{a=1, b=\"x y\"}", `k="a\"b"`, "1-4095", "[1", "a=", `"\u00e9"`, "true", "-5--3", "@x", "{a=b}}", `\`} {
		f.Add(s)
	}
	s, err := VSwitchSchema()
	if err != nil {
		f.Fatal(err)
	}
	types := []*Type{
		&s.Table("Port").Column("trunks").Type,
		&s.Table("Port").Column("tag").Type,
		&s.Table("Port").Column("vlan_mode").Type,
		&s.Table("Bridge").Column("external_ids").Type,
		&s.Table("Bridge").Column("stp_enable").Type,
		&s.Table("Bridge").Column("ports").Type,
		&s.Table("Interface").Column("bfd_status").Type,
		&s.Table("QoS").Column("queues").Type,
		&s.Table("Interface").Column("statistics").Type,
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, typ := range types {
			d, err := ParseDatum(typ, in, newSymtab())
			if err != nil {
				continue
			}
			text := FormatDatum(typ, d)
			d2, err := ParseDatum(typ, text, nil)
			if err != nil {
				// Printed UUIDs of "@name" symbols are real UUIDs, so
				// they parse; anything else must round-trip.
				t.Fatalf("%q parsed as %s which does not parse back: %v", in, text, err)
			}
			if !Equal(d, d2) {
				t.Fatalf("%q: %s reparsed as %s", in, text, FormatDatum(typ, d2))
			}
			_ = FormatBare(typ, d)
			_ = AppendJSON(nil, typ, d, nil)
		}
	})
}

// FuzzCommandLine: option and command parsing never panics and either
// fails with a message or yields commands with their argument counts in
// range.
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{
		"--no-wait\x00add-br\x00br0\x00--\x00set\x00bridge\x00br0\x00datapath_type=netdev",
		"--timeout=5\x00--\x00--if-exists\x00del-port\x00vnet0",
		"-vt5\x00list-br", "--\x00--", "--id=@x\x00create\x00qos", "-\x00x", "--format\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		parsed, rest, err := getopt(args, allOptions())
		if err != nil {
			return
		}
		var local []parsedOption
		for _, p := range parsed {
			if p.opt.local {
				local = append(local, p)
			}
		}
		cmds, err := parseCommands(rest, local)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		for _, c := range cmds {
			n := len(c.argv) - 1
			if n < c.syntax.minArgs || n > c.syntax.maxArgs {
				t.Fatalf("%q: %d arguments accepted for %s", line, n, c.syntax.name)
			}
		}
	})
}

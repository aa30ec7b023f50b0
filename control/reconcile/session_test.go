package reconcile

import (
	"testing"

	"gvswitch/control/ovsdb"
	"gvswitch/control/ovsdb/client"
)

func TestConfigChanged(t *testing.T) {
	str := func(s string) ovsdb.Datum { return ovsdb.Datum{Keys: []ovsdb.Atom{s}} }
	num := func(n int64) ovsdb.Datum { return ovsdb.Datum{Keys: []ovsdb.Atom{n}} }
	iface := ovsdb.Row{"name": str("p0"), "type": str(""), "ofport": num(1), "link_state": str("up")}
	with := func(r ovsdb.Row, col string, d ovsdb.Datum) ovsdb.Row {
		out := ovsdb.Row{}
		for k, v := range r {
			out[k] = v
		}
		out[col] = d
		return out
	}
	root := ovsdb.Row{"next_cfg": num(3), "cur_cfg": num(2)}
	for _, c := range []struct {
		name string
		rows []client.RowUpdate
		want bool
	}{
		{"interface inserted", []client.RowUpdate{{Table: "Interface", New: iface}}, true},
		{"interface deleted", []client.RowUpdate{{Table: "Interface", Old: iface}}, true},
		{"ofport and link_state written", []client.RowUpdate{{Table: "Interface", Old: iface,
			New: with(with(iface, "ofport", num(2)), "link_state", str("down"))}}, false},
		{"cur_cfg caught up", []client.RowUpdate{{Table: "Open_vSwitch", Old: root, New: with(root, "cur_cfg", num(3))}}, false},
		{"next_cfg bumped", []client.RowUpdate{{Table: "Open_vSwitch", Old: root, New: with(root, "next_cfg", num(4))}}, true},
		{"type changed", []client.RowUpdate{{Table: "Interface", Old: iface, New: with(iface, "type", str("internal"))}}, true},
		{"a column appeared", []client.RowUpdate{{Table: "Interface", Old: iface, New: with(iface, "mtu_request", num(9000))}}, true},
		{"status and configuration in one update", []client.RowUpdate{
			{Table: "Open_vSwitch", Old: root, New: with(root, "cur_cfg", num(3))},
			{Table: "Interface", Old: iface, New: with(iface, "name", str("p1"))}}, true},
		{"the same name in another table is configuration", []client.RowUpdate{{Table: "Port",
			Old: ovsdb.Row{"status": str("a")}, New: ovsdb.Row{"status": str("b")}}}, true},
	} {
		if got := configChanged(&client.Delta{Rows: c.rows}); got != c.want {
			t.Errorf("%s: configChanged = %v, want %v", c.name, got, c.want)
		}
	}
	if !configChanged(&client.Delta{Initial: true}) {
		t.Error("the initial contents are not a configuration change")
	}
}

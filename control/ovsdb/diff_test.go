package ovsdb

import (
	"math/rand"
	"testing"
)

// TestDiffRoundTrip: applying Diff(old, new) to old gives new, for sets,
// maps and single-element columns (the update2 and _is_diff contract).
func TestDiffRoundTrip(t *testing.T) {
	s := mustSchema(t)
	types := []*ColumnType{
		colType(t, s, "Port", "trunks"),          // set of integers
		colType(t, s, "Port", "other_config"),    // string map
		colType(t, s, "Port", "tag"),             // optional integer
		colType(t, s, "Port", "name"),            // scalar string
		colType(t, s, "Bridge", "flow_tables"),   // integer → uuid map
		colType(t, s, "Open_vSwitch", "bridges"), // set of uuids
	}
	rng := rand.New(rand.NewSource(7))
	uuids := []UUID{NewUUID(), NewUUID(), NewUUID(), NewUUID()}
	atom := func(bt *BaseType) Atom {
		switch bt.Type {
		case TypeInteger:
			return int64(rng.Intn(6))
		case TypeString:
			return string(rune('a' + rng.Intn(4)))
		default:
			return uuids[rng.Intn(len(uuids))]
		}
	}
	random := func(ct *ColumnType) Datum {
		n := ct.Min + rng.Intn(min(ct.Max, 5)-ct.Min+1)
		var d Datum
		for i := 0; i < n; i++ {
			d.Keys = append(d.Keys, atom(ct.Key))
			if ct.IsMap() {
				d.Values = append(d.Values, atom(ct.Value))
			}
		}
		d.normalize(ct.IsMap())
		if len(d.Keys) < ct.Min {
			return DefaultDatum(ct)
		}
		return d
	}
	for i := 0; i < 2000; i++ {
		ct := types[i%len(types)]
		old, new := random(ct), random(ct)
		diff := Diff(old, new, ct)
		if got := ApplyDiff(old, diff, ct); !got.Equal(new) {
			t.Fatalf("%s: ApplyDiff(%v, Diff=%v) = %v, want %v", typeEnglish(ct), old, diff, got, new)
		}
		// The diff survives its JSON encoding.
		v, err := DecodeJSON(AppendJSON(nil, diff, ct))
		if err != nil {
			t.Fatal(err)
		}
		back, err := DiffFromValue(ct, v)
		if err != nil || !back.Equal(diff) {
			t.Fatalf("diff %v did not survive JSON: %v %v", diff, back, err)
		}
	}
	// The PROTOCOL.md example: fb=2 -> fb=3 is sent as the new pair.
	ct := colType(t, s, "Port", "other_config")
	d := Diff(Map(map[string]string{"fb": "2", "x": "1"}), Map(map[string]string{"fb": "3", "x": "1"}), ct)
	if got := string(d.JSON(ct)); got != `["map",[["fb","3"]]]` {
		t.Errorf("map diff = %s", got)
	}
}

func TestConditions(t *testing.T) {
	db := newVSwitchDB(t)
	initAndBridge(t, db)
	txOK(t, db, `[{"op":"insert","table":"Port","uuid-name":"p","row":{"name":"a","trunks":["set",[1,2,3]],"tag":5,"other_config":["map",[["k","v"],["k2","v2"]]],"interfaces":["named-uuid","i"]}},
		{"op":"insert","table":"Interface","uuid-name":"i","row":{"name":"a"}},
		{"op":"mutate","table":"Bridge","where":[],"mutations":[["ports","insert",["named-uuid","p"]]]}]`)
	tests := []struct {
		where string
		n     int
	}{
		{`[["trunks","includes",["set",[1,3]]]]`, 1},
		{`[["trunks","includes",["set",[1,4]]]]`, 0},
		{`[["trunks","excludes",["set",[4,5]]]]`, 2}, // the bridge's port has no trunks
		{`[["trunks","excludes",["set",[3]]]]`, 1},
		{`[["tag","<",6]]`, 1},
		{`[["tag",">=",6]]`, 0},
		{`[["tag","==",["set",[]]]]`, 1},
		{`[["other_config","includes",["map",[["k","v"]]]]]`, 1},
		{`[["other_config","includes",["map",[["k","x"]]]]]`, 0},
		{`[["other_config","excludes",["map",[["k","x"]]]]]`, 2},
		{`[["name","!=","a"]]`, 1},
		{`[true]`, 2},
		{`[false]`, 0},
	}
	for _, tt := range tests {
		res := txOK(t, db, `[{"op":"select","table":"Port","where":%s,"columns":["name"]}]`, tt.where)
		if n := len(res[0]["rows"].([]any)); n != tt.n {
			t.Errorf("where %s: %d rows, want %d", tt.where, n, tt.n)
		}
	}
}

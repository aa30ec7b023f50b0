package reconcile

import (
	"encoding/json"
	"testing"

	"gvswitch/control/ovsdb"
)

func testSession(t testing.TB) *session {
	schema, err := ovsdb.ParseSchema(ovsdb.VSwitchSchema())
	if err != nil {
		t.Fatal(err)
	}
	return &session{schema: schema}
}

func TestDecodeUpdates(t *testing.T) {
	s := testSession(t)
	u, err := s.decodeUpdates(json.RawMessage(`{
		"Bridge":{"5b3d9a4e-8d6f-4c41-9b7a-2f1e3d4c5b6a":{"new":{"name":"br0","ports":["set",[]]}},
		          "6c4e0b5f-9e7a-4d52-8c8b-3a2f4e5d6c7b":{"old":{"name":"gone"}}},
		"NoSuchTable":{"x":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	r := replica{}
	r.apply(u)
	if len(r["Bridge"]) != 1 {
		t.Fatalf("rows: %v", r["Bridge"])
	}
	for _, row := range r["Bridge"] {
		if str(row["name"]) != "br0" {
			t.Errorf("name %q", str(row["name"]))
		}
	}
	for _, bad := range []string{`[]`, `{"Bridge":{"not-a-uuid":{"new":{}}}}`, `{"Bridge":{"5b3d9a4e-8d6f-4c41-9b7a-2f1e3d4c5b6a":{"new":{"name":7}}}}`} {
		if _, err := s.decodeUpdates(json.RawMessage(bad)); err == nil {
			t.Errorf("decodeUpdates(%s) accepted", bad)
		}
	}
}

// FuzzDecodeUpdates feeds arbitrary monitor updates to the decoder the
// daemon applies to its replica: errors, never panics.
func FuzzDecodeUpdates(f *testing.F) {
	f.Add([]byte(`{"Interface":{"5b3d9a4e-8d6f-4c41-9b7a-2f1e3d4c5b6a":{"new":{"name":"p1","ofport":3,"options":["map",[["a","b"]]]}}}}`))
	f.Add([]byte(`{"Open_vSwitch":{"5b3d9a4e-8d6f-4c41-9b7a-2f1e3d4c5b6a":{"new":{"next_cfg":9,"bridges":["set",[["uuid","6c4e0b5f-9e7a-4d52-8c8b-3a2f4e5d6c7b"]]]}}}}`))
	f.Add([]byte(`{"Port":{"5b3d9a4e-8d6f-4c41-9b7a-2f1e3d4c5b6a":null}}`))
	s := testSession(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		u, err := s.decodeUpdates(in)
		if err == nil {
			r := replica{}
			r.apply(u)
		}
	})
}

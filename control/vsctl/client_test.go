package vsctl

import (
	"encoding/json"
	"testing"
)

func fuzzClient(t testing.TB) *client {
	s := mustSchema(t)
	db := newReplica(s)
	for _, tn := range s.TableNames() {
		tb := s.Table(tn)
		for _, c := range tb.Columns {
			db.AddColumn(tb, c)
		}
	}
	return &client{db: db, updateMethod: "update3"}
}

// TestApplyUpdates checks that table-updates2 notifications (initial,
// insert, modify diffs, delete) keep the replica equal to the server's
// rows.
func TestApplyUpdates(t *testing.T) {
	c := fuzzClient(t)
	br := "11111111-0000-0000-0000-000000000001"
	p1 := "22222222-0000-0000-0000-000000000001"
	p2 := "22222222-0000-0000-0000-000000000002"
	c.applyV2(json.RawMessage(`{"Bridge":{"`+br+`":{"initial":{"name":"br0","ports":["uuid","`+p1+`"],"external_ids":["map",[["a","1"],["b","2"]]]}}}}`), true)
	c.applyV2(json.RawMessage(`{"Bridge":{"`+br+`":{"modify":{"ports":["uuid","`+p2+`"],"external_ids":["map",[["a","1"],["b","3"],["c","4"]]],"datapath_type":"netdev"}}}}`), false)
	tb := c.db.Schema.Table("Bridge")
	r := c.db.Get(tb, br)
	if r == nil {
		t.Fatal("bridge row missing")
	}
	if got := FormatDatum(&tb.Column("ports").Type, r.ReadName("ports")); got != "["+p1+", "+p2+"]" {
		t.Errorf("ports = %s", got)
	}
	// Map diff: a=1 again removes a, b=3 replaces b=2, c=4 is added.
	if got := FormatDatum(&tb.Column("external_ids").Type, r.ReadName("external_ids")); got != `{b="3", c="4"}` {
		t.Errorf("external_ids = %s", got)
	}
	if got := r.Str("datapath_type"); got != "netdev" {
		t.Errorf("datapath_type = %q", got)
	}
	c.applyV2(json.RawMessage(`{"Bridge":{"`+br+`":{"modify":{"ports":["uuid","`+p1+`"]}}}}`), false)
	if got := FormatDatum(&tb.Column("ports").Type, r.ReadName("ports")); got != "["+p2+"]" {
		t.Errorf("ports after removing p1 = %s", got)
	}
	c.applyV2(json.RawMessage(`{"Bridge":{"`+br+`":{"delete":null}}}`), false)
	if c.db.Get(tb, br) != nil || len(c.db.Rows(tb)) != 0 {
		t.Error("deleted row still visible")
	}
}

// FuzzApplyUpdates: whatever a server sends as table updates, the client
// neither panics nor keeps rows it cannot list.
func FuzzApplyUpdates(f *testing.F) {
	for _, s := range []string{
		`{"Bridge":{"11111111-0000-0000-0000-000000000001":{"initial":{"name":"br0","ports":["set",[["uuid","22222222-0000-0000-0000-000000000001"]]]}}}}`,
		`{"Port":{"22222222-0000-0000-0000-000000000001":{"modify":{"tag":5,"trunks":["set",[1,2]]}}}}`,
		`{"Interface":{"x":{"insert":{}}}}`, `{"Bridge":{"11111111-0000-0000-0000-000000000001":{"delete":null}}}`,
		`{"Open_vSwitch":{"33333333-0000-0000-0000-000000000001":{"new":{"cur_cfg":3}}}}`, `[]`, `{"Bridge":[1]}`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c := fuzzClient(t)
		c.applyV2(body, true)
		c.applyV2(body, false)
		c.applyV1(body)
		for _, tn := range c.db.Schema.TableNames() {
			tb := c.db.Schema.Table(tn)
			for _, r := range c.db.Rows(tb) {
				for _, col := range tb.Columns {
					_ = FormatDatum(&col.Type, r.Read(col))
				}
			}
		}
	})
}

package ovsdb

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkTransactAddDelPort measures the engine alone: one add-port and
// one del-port transaction per iteration, shaped like ovs-vsctl's (wait,
// insert with named-uuid references, update of Bridge.ports, garbage
// collection on delete), in memory and with the journal file.
func BenchmarkTransactAddDelPort(b *testing.B) {
	for _, withFile := range []bool{false, true} {
		name := "memory"
		if withFile {
			name = "file"
		}
		b.Run(name, func(b *testing.B) {
			var db *Database
			if withFile {
				var fj *FileJournal
				var err error
				db, fj, err = OpenFile(filepath.Join(b.TempDir(), "conf.db"), mustSchema(b), nil)
				if err != nil {
					b.Fatal(err)
				}
				defer fj.Close()
			} else {
				db = newVSwitchDB(b)
			}
			_, br := initAndBridge(b, db)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, _ := db.TransactJSON(ctx, []byte(fmt.Sprintf(`[
					{"op":"insert","table":"Interface","uuid-name":"i","row":{"name":"p%d"}},
					{"op":"insert","table":"Port","uuid-name":"p","row":{"name":"p%d","interfaces":["named-uuid","i"],"tag":300}},
					{"op":"mutate","table":"Bridge","where":[["_uuid","==",["uuid","%s"]]],"mutations":[["ports","insert",["named-uuid","p"]]]},
					{"op":"comment","comment":"add-port"}]`, i, i, br)), nil)
				var out []map[string]any
				if json.Unmarshal(res, &out) != nil || len(out) != 4 || out[1]["uuid"] == nil {
					b.Fatalf("add-port: %s", res)
				}
				port := out[1]["uuid"].([]any)[1].(string)
				res, _ = db.TransactJSON(ctx, []byte(fmt.Sprintf(`[
					{"op":"mutate","table":"Bridge","where":[["_uuid","==",["uuid","%s"]]],"mutations":[["ports","delete",["uuid","%s"]]]},
					{"op":"comment","comment":"del-port"}]`, br, port)), nil)
				if string(res) != `[{"count":1},{}]` {
					b.Fatalf("del-port: %s", res)
				}
			}
			if n := count(b, db, "Port"); n != 1 {
				b.Fatalf("%d ports left", n)
			}
		})
	}
}

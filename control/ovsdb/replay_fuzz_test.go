package ovsdb

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"gvswitch/control/ovsdb/journal"
)

var replaySeeds = []string{
	`{"Open_vSwitch":{"209b6fb4-fce6-45b9-8fec-af0ad77a7618":{"next_cfg":1}},"_date":1}`,
	`{"Open_vSwitch":{"209b6fb4-fce6-45b9-8fec-af0ad77a7618":{"bridges":["uuid","e867a336-a01a-4b58-9be7-6fb60d433284"]}},"Bridge":{"e867a336-a01a-4b58-9be7-6fb60d433284":{"name":"br0"}}}`,
	`{"Bridge":{"e867a336-a01a-4b58-9be7-6fb60d433284":null}}`,
	`{"Open_vSwitch":{"209b6fb4-fce6-45b9-8fec-af0ad77a7618":{"other_config":["map",[["a","b"]]]}},"_is_diff":true}`,
	`{"Nope":{}}`,
	`[]`,
}

// FuzzReplay feeds arbitrary bytes to journal replay: the record reader,
// then ApplyRecord for every record it accepts. Nothing may crash, a
// rejected record must leave the database unchanged, and the database
// must keep working.
func FuzzReplay(f *testing.F) {
	schema := mustSchema(f)
	for _, s := range replaySeeds {
		f.Add(journal.Encode([]byte(s)))
		f.Add(append(journal.Encode([]byte(replaySeeds[1])), journal.Encode([]byte(s))...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		db := NewDatabase(schema)
		rd := journal.NewReader(bytes.NewReader(data))
		for rd.Next() {
			before := snapshotRecords(db)
			if err := db.ApplyRecord(rd.Record()); err != nil {
				if after := snapshotRecords(db); !bytes.Equal(bytes.Join(before, nil), bytes.Join(after, nil)) {
					t.Fatalf("rejected record %q changed the database", rd.Record())
				}
			}
		}
		tx(t, db, `[{"op":"insert","table":"Open_vSwitch","row":{}}]`)
	})
}

// TestOpenFileSurvivesBadTails: OpenFile on a file whose tail is any of
// the seeds, whole or cut, never fails and leaves a usable database.
func TestOpenFileSurvivesBadTails(t *testing.T) {
	schema := mustSchema(t)
	head := journal.Encode([]byte(schema.Compact()))
	dir := t.TempDir()
	for _, s := range replaySeeds {
		rec := journal.Encode([]byte(s))
		for _, tail := range [][]byte{rec, rec[:len(rec)/2], []byte(s)} {
			path := filepath.Join(dir, "conf.db")
			os.WriteFile(path, append(append([]byte{}, head...), tail...), 0o644)
			db, fj, err := OpenFile(path, nil, nil)
			if err != nil {
				t.Fatalf("tail %q: %v", tail, err)
			}
			tx(t, db, `[{"op":"insert","table":"QoS","row":{}}]`)
			fj.Close()
		}
	}
}

package ovsdb

import (
	"bytes"
	"fmt"
	"strconv"

	"gvswitch/control/internal/ovsjson"
	"gvswitch/control/ovsdb/journal"
)

// FileOptions tunes a database kept in a file.
type FileOptions struct {
	// Log receives warnings (a dropped torn record, a failed compaction).
	Log func(format string, args ...any)
	// CompactRecords and CompactFactor: the file is compacted after a
	// commit when it holds at least CompactRecords records and has grown
	// to CompactFactor times its size after the last compaction.
	// Defaults: 1000 and 4.
	CompactRecords int
	CompactFactor  int64
}

// OpenFile opens the database kept in an Open vSwitch standalone database
// file at path, replaying its transactions, or creates the file with
// schema s when it does not exist. An existing file's own schema is used
// (as ovsdb-server does). Every later commit is appended to the file and
// fsync'd before the commit becomes visible. Close the returned closer to
// close the file.
func OpenFile(path string, s *Schema, opts *FileOptions) (*Database, *FileJournal, error) {
	if opts == nil {
		opts = &FileOptions{}
	}
	logf := opts.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	var initial []byte
	if s != nil {
		initial = []byte(s.Compact())
	}
	f, records, err := journal.Open(path, initial, logf)
	if err != nil {
		return nil, nil, err
	}
	fs, err := ParseSchema(records[0])
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("ovsdb: %s: schema record: %w", path, err)
	}
	db := NewDatabase(fs)
	for i, rec := range records[1:] {
		if err := db.ApplyRecord(rec); err != nil {
			// A record with a good checksum but bad content: keep what
			// came before it, like a torn tail.
			logf("ovsdb: %s: record %d cannot be replayed (%v); dropping it and %d later record(s)", path, i+2, err, len(records)-2-i)
			db2, err2 := replaySome(fs, records[1:i+1])
			if err2 != nil {
				f.Close()
				return nil, nil, err2
			}
			db = db2
			if err := f.Replace(append([][]byte{records[0]}, snapshotRecords(db)...)); err != nil {
				f.Close()
				return nil, nil, err
			}
			break
		}
	}
	if err := db.Check(); err != nil {
		logf("ovsdb: %s: %v", path, err)
	}
	fj := &FileJournal{f: f, db: db, schemaRec: records[0], opts: *opts, log: logf}
	if fj.opts.CompactRecords <= 0 {
		fj.opts.CompactRecords = 1000
	}
	if fj.opts.CompactFactor <= 0 {
		fj.opts.CompactFactor = 4
	}
	fj.baseSize = f.Size()
	db.SetJournal(fj)
	return db, fj, nil
}

func replaySome(s *Schema, recs [][]byte) (*Database, error) {
	db := NewDatabase(s)
	for _, r := range recs {
		if err := db.ApplyRecord(r); err != nil {
			return nil, err
		}
	}
	return db, nil
}

// FileJournal is the Journal of a database kept in a file.
type FileJournal struct {
	f         *journal.File
	db        *Database
	schemaRec []byte
	opts      FileOptions
	log       func(string, ...any)
	baseSize  int64
}

// Append implements Journal.
func (fj *FileJournal) Append(rec []byte) error { return fj.f.Append(rec) }

// afterCommit compacts the file when it has grown enough. It runs with
// the database locked, after the commit is applied.
func (fj *FileJournal) afterCommit() {
	if fj.f.Records() < fj.opts.CompactRecords || fj.f.Size() < fj.opts.CompactFactor*fj.baseSize {
		return
	}
	if err := fj.compactLocked(); err != nil {
		fj.log("ovsdb: compacting %s failed: %v", fj.f.Path(), err)
	}
}

// Compact rewrites the file as the schema and one snapshot record.
func (fj *FileJournal) Compact() error {
	fj.db.mu.Lock()
	defer fj.db.mu.Unlock()
	return fj.compactLocked()
}

func (fj *FileJournal) compactLocked() error {
	recs := append([][]byte{fj.schemaRec}, snapshotRecords(fj.db)...)
	if err := fj.f.Replace(recs); err != nil {
		return err
	}
	fj.baseSize = fj.f.Size()
	return nil
}

// Records returns how many records the file holds.
func (fj *FileJournal) Records() int { return fj.f.Records() }

// Close closes the file; later commits fail with an I/O error.
func (fj *FileJournal) Close() error { return fj.f.Close() }

// snapshotRecords returns the whole committed state as one transaction
// record (none for an empty database). The database must be locked.
func snapshotRecords(db *Database) [][]byte {
	b := []byte{'{'}
	n := 0
	for _, name := range db.schema.TableNames() {
		t := db.tables[name]
		if len(t.rows) == 0 {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = ovsjson.AppendString(b, name)
		b = append(b, ":{"...)
		for i, u := range sortedUUIDs(t.rows) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = u.appendTo(b)
			b = append(b, `":{`...)
			cols := 0
			for _, c := range t.s.Columns {
				d := t.rows[u].fields[c.Index]
				if c.Ephemeral || IsDefault(d, &c.Type) {
					continue
				}
				if cols > 0 {
					b = append(b, ',')
				}
				cols++
				b = ovsjson.AppendString(b, c.Name)
				b = append(b, ':')
				b = AppendJSON(b, d, &c.Type)
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	if n == 0 {
		return nil
	}
	b = append(b, `,"_comment":"compacting database online","_date":`...)
	b = strconv.AppendInt(b, db.now().UnixMilli(), 10)
	b = append(b, '}')
	return [][]byte{bytes.Clone(b)}
}

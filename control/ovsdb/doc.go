// Package ovsdb is the Open vSwitch database (RFC 7047) data model and
// engine: schemas, typed values, and the transactional in-memory database
// that ovsdb-server provides, with the semantics ovs-vsctl and ovs-vswitchd
// rely on.
//
// # Values
//
// A [Schema] (parsed by [ParseSchema]; [VSwitchSchema] is the embedded
// Open_vSwitch 8.3.1 schema) gives every column a [ColumnType]. A column's
// value is a [Datum]: a sorted set of [Atom]s, or a map when Values is set.
// Atoms are plain Go values: int64, float64, bool, string or [UUID].
// [DatumFromValue] and [ParseDatum] decode the RFC 7047 section 5.1 JSON
// notation against a column type and check constraints; [AppendJSON]
// encodes it back. Every failure is an [*Error] carrying the same "error"
// tag ovsdb-server would send ("syntax error", "constraint violation",
// "unknown column", ...).
//
//	schema, _ := ovsdb.ParseSchema(ovsdb.VSwitchSchema())
//	col := schema.Table("Port").Column("trunks")
//	d, err := ovsdb.ParseDatum(&col.Type, []byte(`["set",[11,300]]`))
//	// d.Keys == []ovsdb.Atom{int64(11), int64(300)}
//	// ovsdb.ParseDatum(&col.Type, []byte(`5000`)) fails:
//	// constraint violation: 5000 is not in the valid range 0 to 4095 (inclusive)
//
// # Database
//
// A [Database] holds the rows of one schema in memory. [Database.Transact]
// executes the operations of an RFC 7047 "transact" request atomically and
// returns exactly the results ovsdb-server would: one per operation, an
// error object for the one that failed, and one more error object when
// the commit itself is refused. Commit-time rules are ovsdb-server's:
// named-uuid forward references, reference counting with garbage
// collection of unreferenced non-root rows, removal of weak references to
// deleted rows, maxRows, unique indexes. "wait" operations with a timeout
// block until another commit satisfies them.
//
// [OpenFile] keeps a database in an Open vSwitch standalone database file
// (readable by ovsdb-tool): it replays the file, dropping a torn tail,
// appends every commit and syncs it before the commit is visible, and
// compacts the file as it grows. [Database.AddCommitHook] and
// [Database.Monitor] see every commit, in order, while the database is
// locked; [Database.Check] verifies every invariant (references, counts,
// indexes, constraints).
//
//	db, fj, err := ovsdb.OpenFile("/var/lib/gvswitch/conf.db", schema, nil)
//	if err != nil {
//		return err
//	}
//	defer fj.Close()
//	res, err := db.TransactJSON(ctx, []byte(`[{"op":"insert","table":"Open_vSwitch","row":{}}]`), nil)
//	// res: [{"uuid":["uuid","..."]}]
//
// Sub-packages: server (the JSON-RPC server), client (client and
// monitored replica), journal (the on-disk file format).
package ovsdb

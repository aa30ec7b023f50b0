// Package journal reads and writes the Open vSwitch standalone database
// file format (ovsdb(5), "Standalone Database File Format"; Open vSwitch
// ovsdb/log.c): a sequence of records, each
//
//	OVSDB JSON <length> <sha1>\n<length bytes: a JSON object and a newline>
//
// where <sha1> is the lower-case hex SHA-1 of those length bytes. The first
// record is the database schema; each later one a committed transaction.
// Files it writes are read by the real ovsdb-tool and ovsdb-server, and it
// reads theirs.
//
// Open scans the whole file. A record that is torn (a crash in the middle
// of a write: short header, short body) or corrupt (bad header, SHA-1
// mismatch, not JSON) ends the readable log: it is reported through the
// logger, never as an error, and the file is truncated to the end of the
// last good record so that later appends follow it. Append writes one
// record and fsyncs before returning. Replace atomically swaps the file
// for a compacted one (write a temporary file, fsync, rename, fsync the
// directory).
package journal

// Package server serves OVSDB databases over JSON-RPC (RFC 7047 section 4)
// the way ovsdb-server does, so that the real ovs-vsctl, ovs-vswitchd and
// OVS IDL clients work against it unchanged.
//
// Methods: list_dbs, get_schema, transact, cancel, monitor (update),
// monitor_cond (update2), monitor_cond_since (update3),
// monitor_cond_change, monitor_cancel, lock/steal/unlock (locked/stolen notifications), echo,
// set_db_change_aware, get_server_id. A read-only _Server database
// describes the served databases (its Database table holds each one's
// schema as a JSON string), as ovs-vsctl expects.
//
// Ordering: the update notifications caused by a transaction are queued to
// every monitoring client while the commit holds the database lock, before
// the transact reply is queued, so a client always sees the update3 before
// its reply (PROTOCOL.md section 2).
//
// Each client has its own reader and writer goroutines and a bounded
// output queue; a client that does not read its updates fast enough is
// disconnected alone, and never delays a commit or another client.
//
// Remotes opens the listeners and outgoing connections ovsdb-server's
// --remote options and the Manager table name (ptcp:, punix:, tcp:,
// unix:, db:DB,TABLE,COLUMN), follows the database as it changes, and
// writes the Manager rows' is_connected and status back.
//
//	db, fj, _ := ovsdb.OpenFile("/var/lib/gvswitch/conf.db", schema, nil)
//	defer fj.Close()
//	srv := server.New(db)
//	l, _ := server.ListenUnix("/var/run/gvswitch/db.sock", 0o750)
//	go srv.Serve(l)
//	defer srv.Close()
//	rs, _ := server.NewRemotes(srv, db, server.ManagerRemotes)
//	rs.Start()
//	defer rs.Close()
package server

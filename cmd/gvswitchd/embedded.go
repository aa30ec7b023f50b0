package main

import (
	"fmt"
	"io"
	"net"
	"path/filepath"

	"gvswitch/control/ovsdb"
	"gvswitch/control/ovsdb/server"
	"gvswitch/control/unixctl/vlog"
)

// embeddedDB is the database gvswitchd serves itself: <dbdir>/conf.db
// (Open vSwitch's standalone file format, so ovsdb-tool reads it), served
// on <rundir>/db.sock to ovs-vsctl and to the switch itself over net.Pipe.
type embeddedDB struct {
	srv     *server.Server
	journal io.Closer
}

func startEmbeddedDB(c *config) (*embeddedDB, error) {
	dbLog := vlog.Module("ovsdb_server")
	schema, err := ovsdb.ParseSchema(ovsdb.VSwitchSchema())
	if err != nil {
		return nil, fmt.Errorf("embedded schema: %w", err)
	}
	path := filepath.Join(c.dbdir, "conf.db")
	db, fj, err := ovsdb.OpenFile(path, schema, &ovsdb.FileOptions{Log: dbLog.Warn})
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	if err := db.Check(); err != nil {
		// Refuse to serve a database that breaks its own constraints.
		fj.Close()
		return nil, fmt.Errorf("database %s fails its consistency check: %w", path, err)
	}
	srv := server.New(db)
	srv.Log = dbLog.Dbg
	sock := filepath.Join(c.rundir, "db.sock")
	l, err := server.ListenUnix(sock, 0o750)
	if err != nil {
		fj.Close()
		return nil, err
	}
	go srv.Serve(l)
	dbLog.Info("%s: serving %s on %s", path, schema.Name, sock)
	return &embeddedDB{srv: srv, journal: fj}, nil
}

// Dial connects the switch to its own database in-process.
func (e *embeddedDB) Dial() (net.Conn, error) {
	a, b := net.Pipe()
	go e.srv.ServeConn(b)
	return a, nil
}

// Close stops serving (removing db.sock) and closes the file.
func (e *embeddedDB) Close() error {
	e.srv.Close()
	return e.journal.Close()
}

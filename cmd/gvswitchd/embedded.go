package main

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"

	"gvswitch/control/ovsdb"
	"gvswitch/control/ovsdb/server"
	"gvswitch/control/unixctl/vlog"
)

// embeddedDB is the database gvswitchd serves itself: <dbdir>/conf.db
// (Open vSwitch's standalone file format, so ovsdb-tool reads it), served
// on <rundir>/db.sock to ovs-vsctl and to the switch itself over net.Pipe,
// and on the --remote options (by default the Manager table's targets,
// as ovs-ctl starts ovsdb-server).
type embeddedDB struct {
	srv     *server.Server
	remotes *server.Remotes
	journal io.Closer
}

// remoteList is the repeatable --remote option.
type remoteList []string

func (r *remoteList) String() string     { return strings.Join(*r, " ") }
func (r *remoteList) Set(v string) error { *r = append(*r, v); return nil }

// checkRemote checks a --remote option before anything starts.
func checkRemote(spec string) error {
	schema, err := ovsdb.ParseSchema(ovsdb.VSwitchSchema())
	if err != nil {
		return err
	}
	return server.CheckRemote(schema, spec)
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
	specs := c.remotes
	if len(specs) == 0 {
		specs = []string{server.ManagerRemotes}
	}
	remotes, err := server.NewRemotes(srv, db, specs...)
	if err != nil {
		srv.Close()
		fj.Close()
		return nil, err
	}
	remotes.Rundir = c.rundir
	remotes.Log = dbLog.Slog()
	remotes.Start()
	return &embeddedDB{srv: srv, remotes: remotes, journal: fj}, nil
}

// Dial connects the switch to its own database in-process.
func (e *embeddedDB) Dial() (net.Conn, error) {
	a, b := net.Pipe()
	go e.srv.ServeConn(b)
	return a, nil
}

// Close stops serving (removing db.sock) and closes the file.
func (e *embeddedDB) Close() error {
	e.remotes.Close()
	e.srv.Close()
	return e.journal.Close()
}

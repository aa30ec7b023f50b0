package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"gvswitch/control/ovsdb"
)

// ManagerRemotes is the remote spec that serves the targets of the
// Manager table rows Open_vSwitch.manager_options points to (what ovs-ctl
// gives ovsdb-server, and ovs-vsctl set-manager configures).
const ManagerRemotes = "db:Open_vSwitch,Open_vSwitch,manager_options"

// dbSource is a "db:DB,TABLE,COLUMN" remote spec: the targets are the
// strings in COLUMN of every TABLE row, or, when COLUMN holds references,
// the "target" columns of the rows it references (whose status and
// is_connected columns are then kept up to date).
type dbSource struct {
	spec   string
	table  *ovsdb.TableSchema
	column *ovsdb.ColumnSchema
	ref    *ovsdb.TableSchema // referenced table, or nil for string targets
}

// Remotes serves a Server on the remotes a list of specs names, as
// ovsdb-server's --remote options do: targets (see ParseTarget), and
// "db:DB,TABLE,COLUMN" specs read from the database, reconciled at every
// commit. It writes each served Manager-like row's is_connected and status
// columns back (state, sec_since_connect, sec_since_disconnect,
// last_error, bound_port, n_connections, locks_held, locks_waiting).
//
// Set the exported fields before Start.
type Remotes struct {
	// Rundir is where relative punix: and unix: paths are; empty: the
	// current directory.
	Rundir string
	// Log receives remote events (listening, connecting, errors); nil
	// discards them.
	Log *slog.Logger
	// StatusInterval is how often the status columns are refreshed;
	// default 2.5 s, as ovsdb-server.
	StatusInterval time.Duration

	srv     *Server
	db      *ovsdb.Database
	static  []string
	sources []dbSource

	mu      sync.Mutex
	remotes map[string]*remote
	started bool
	closed  bool

	reconf chan struct{}
	kick   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	unhook func()
}

// NewRemotes checks the specs and returns Remotes that serve srv on them
// once started. db is the database db: specs refer to; it must be one of
// those srv serves. An error wraps ErrBadTarget or ErrNoSSL for a bad
// target, or names what a db: spec lacks.
func NewRemotes(srv *Server, db *ovsdb.Database, specs ...string) (*Remotes, error) {
	r := &Remotes{srv: srv, db: db, remotes: map[string]*remote{},
		reconf: make(chan struct{}, 1), kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, spec := range specs {
		src, isDB, err := parseSpec(db.Schema(), spec)
		switch {
		case err != nil:
			return nil, err
		case isDB:
			r.sources = append(r.sources, src)
		default:
			r.static = append(r.static, spec)
		}
	}
	return r, nil
}

// CheckRemote reports what is wrong with a remote spec for a database of
// schema s, as NewRemotes would.
func CheckRemote(s *ovsdb.Schema, spec string) error {
	_, _, err := parseSpec(s, spec)
	return err
}

func parseSpec(s *ovsdb.Schema, spec string) (dbSource, bool, error) {
	if rest, ok := strings.CutPrefix(spec, "db:"); ok {
		src, err := parseDBSource(s, spec, rest)
		return src, true, err
	}
	if _, err := ParseTarget(spec); err != nil {
		return dbSource{}, false, err
	}
	return dbSource{}, false, nil
}

func parseDBSource(s *ovsdb.Schema, spec, rest string) (dbSource, error) {
	parts := strings.Split(rest, ",")
	if len(parts) != 3 {
		return dbSource{}, fmt.Errorf("%s: expected db:DATABASE,TABLE,COLUMN", spec)
	}
	if parts[0] != s.Name {
		return dbSource{}, fmt.Errorf("%s: no database named %s", spec, parts[0])
	}
	t := s.Table(parts[1])
	if t == nil {
		return dbSource{}, fmt.Errorf("%s: no table named %s", spec, parts[1])
	}
	c := t.Column(parts[2])
	if c == nil {
		return dbSource{}, fmt.Errorf("%s: table %s has no column %s", spec, parts[1], parts[2])
	}
	src := dbSource{spec: spec, table: t, column: c}
	switch {
	case c.Type.IsMap():
		return dbSource{}, fmt.Errorf("%s: column %s is a map", spec, parts[2])
	case c.Type.Key.Type == ovsdb.TypeString:
	case c.Type.Key.Type == ovsdb.TypeUUID && c.Type.Key.RefTable != "":
		src.ref = s.Table(c.Type.Key.RefTable)
		if tc := src.ref.Column("target"); tc == nil || tc.Type.Key.Type != ovsdb.TypeString {
			return dbSource{}, fmt.Errorf("%s: table %s has no target column", spec, src.ref.Name)
		}
	default:
		return dbSource{}, fmt.Errorf("%s: column %s holds neither strings nor references", spec, parts[2])
	}
	return src, nil
}

func (r *Remotes) logger() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return r.Log
}

// Start opens the remotes and keeps them in line with the database until
// Close.
func (r *Remotes) Start() {
	if r.StatusInterval <= 0 {
		r.StatusInterval = 2500 * time.Millisecond
	}
	r.mu.Lock()
	r.started = true
	r.mu.Unlock()
	if len(r.sources) > 0 {
		r.unhook = r.db.AddCommitHook(func(*ovsdb.Commit) {
			select {
			case r.reconf <- struct{}{}:
			default:
			}
		})
	}
	r.reconcile()
	go r.run()
}

func (r *Remotes) run() {
	defer close(r.done)
	tick := time.NewTicker(r.StatusInterval)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-r.reconf:
			r.reconcile()
		case <-r.kick:
			r.writeStatus()
		case <-tick.C:
			r.writeStatus()
		}
	}
}

// kickStatus asks for a status write soon (coalesced).
func (r *Remotes) kickStatus() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Close closes every listener and connection the remotes opened. The
// status columns keep their last values, as when ovsdb-server exits.
func (r *Remotes) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	started := r.started
	r.mu.Unlock()
	if r.unhook != nil {
		r.unhook()
	}
	close(r.stop)
	if started {
		<-r.done
	}
	r.mu.Lock()
	rms := r.remotes
	r.remotes = map[string]*remote{}
	r.mu.Unlock()
	for _, rm := range rms {
		rm.close()
	}
	return nil
}

// desired reads the targets the specs name now, with each one's options.
func (r *Remotes) desired() map[string]remoteOptions {
	want := map[string]remoteOptions{}
	add := func(target string, o remoteOptions) {
		if _, dup := want[target]; !dup {
			want[target] = o
		}
	}
	for _, t := range r.static {
		add(t, defaultOptions(t))
	}
	if len(r.sources) == 0 {
		return want
	}
	r.db.Read(func(v ovsdb.View) {
		for _, src := range r.sources {
			v.Rows(src.table.Name, func(_ ovsdb.UUID, f []ovsdb.Datum) {
				d := f[src.column.Index]
				if src.ref == nil {
					for _, t := range d.Strings() {
						add(t, defaultOptions(t))
					}
					return
				}
				for _, u := range d.UUIDs() {
					row := v.Row(src.ref.Name, u)
					if row == nil {
						continue
					}
					target, o := rowOptions(src.ref, row)
					add(target, o)
				}
			})
		}
	})
	return want
}

func defaultOptions(target string) remoteOptions {
	o := remoteOptions{maxBackoff: DefaultMaxBackoff}
	if t, err := ParseTarget(target); err == nil && t.needsProbes() {
		o.probe = DefaultInactivityProbe
	}
	return o
}

// rowOptions reads a Manager-like row's target, max_backoff and
// inactivity_probe (milliseconds; probes of less than a second are made
// a second, 0 disables them).
func rowOptions(t *ovsdb.TableSchema, row []ovsdb.Datum) (string, remoteOptions) {
	target := ""
	if ts := row[t.Column("target").Index].Strings(); len(ts) == 1 {
		target = ts[0]
	}
	o := defaultOptions(target)
	intCol := func(name string) (int64, bool) {
		c := t.Column(name)
		if c == nil || c.Type.Key.Type != ovsdb.TypeInteger {
			return 0, false
		}
		d := row[c.Index]
		if d.Len() != 1 {
			return 0, false
		}
		n, ok := d.Keys[0].(int64)
		return n, ok
	}
	if ms, ok := intCol("max_backoff"); ok && ms > 0 {
		o.maxBackoff = max(time.Duration(ms)*time.Millisecond, minBackoff)
	}
	if ms, ok := intCol("inactivity_probe"); ok {
		switch {
		case ms <= 0:
			o.probe = 0
		default:
			o.probe = max(time.Duration(ms)*time.Millisecond, time.Second)
		}
	}
	return target, o
}

// reconcile opens the remotes wanted and not open, closes those no longer
// wanted, and updates the options of the others.
func (r *Remotes) reconcile() {
	want := r.desired()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	var gone []*remote
	changed := false
	for target, rm := range r.remotes {
		if _, ok := want[target]; !ok {
			gone = append(gone, rm)
			delete(r.remotes, target)
			changed = true
		}
	}
	var fresh []*remote
	for target, o := range want {
		if rm := r.remotes[target]; rm != nil {
			rm.setOptions(o)
			continue
		}
		rm := &remote{rs: r, target: target, opts: o, stop: make(chan struct{}), done: make(chan struct{})}
		rm.t, rm.bad = ParseTarget(target)
		r.remotes[target] = rm
		fresh = append(fresh, rm)
		changed = true
	}
	r.mu.Unlock()
	for _, rm := range gone {
		r.logger().Info(fmt.Sprintf("%s: remote removed", rm.target))
		rm.close()
	}
	sort.Slice(fresh, func(i, j int) bool { return fresh[i].target < fresh[j].target })
	for _, rm := range fresh {
		rm.start()
	}
	if changed {
		r.kickStatus()
	}
}

// Targets returns the targets being served, sorted.
func (r *Remotes) Targets() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ts := make([]string, 0, len(r.remotes))
	for t := range r.remotes {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

// statusRow is a Manager-like row whose status columns are written.
type statusRow struct {
	table              *ovsdb.TableSchema
	uuid               ovsdb.UUID
	target             string
	connCol, statusCol *ovsdb.ColumnSchema
	oldConn, oldStatus ovsdb.Datum
}

// writeStatus writes is_connected and status into every row a db: spec
// with references points to, in one transaction of the rows that changed.
func (r *Remotes) writeStatus() {
	var rows []statusRow
	r.db.Read(func(v ovsdb.View) {
		for _, src := range r.sources {
			if src.ref == nil {
				continue
			}
			connCol, statusCol := src.ref.Column("is_connected"), src.ref.Column("status")
			if connCol == nil || statusCol == nil || !statusCol.Type.IsMap() {
				continue
			}
			v.Rows(src.table.Name, func(_ ovsdb.UUID, f []ovsdb.Datum) {
				for _, u := range f[src.column.Index].UUIDs() {
					if row := v.Row(src.ref.Name, u); row != nil {
						target, _ := rowOptions(src.ref, row)
						rows = append(rows, statusRow{src.ref, u, target, connCol, statusCol, row[connCol.Index], row[statusCol.Index]})
					}
				}
			})
		}
	})
	now := time.Now()
	var ops []any
	for _, sr := range rows {
		r.mu.Lock()
		rm := r.remotes[sr.target]
		r.mu.Unlock()
		// ovsdb-server writes a zeroed status for a target it does not serve.
		connected, st := false, map[string]string{"sec_since_connect": "0", "sec_since_disconnect": "0"}
		if rm != nil {
			connected, st = rm.status(now)
		}
		newConn, newStatus := ovsdb.Scalar(connected), ovsdb.Map(st)
		if sr.oldConn.Equal(newConn) && sr.oldStatus.Equal(newStatus) {
			continue
		}
		ops = append(ops, map[string]any{
			"op": "update", "table": sr.table.Name,
			"where": []any{[]any{"_uuid", "==", []any{"uuid", sr.uuid.String()}}},
			"row": map[string]any{
				"is_connected": json.RawMessage(newConn.JSON(&sr.connCol.Type)),
				"status":       json.RawMessage(newStatus.JSON(&sr.statusCol.Type)),
			},
		})
	}
	if len(ops) == 0 {
		return
	}
	raw, err := json.Marshal(ops)
	if err != nil {
		return
	}
	res, err := r.db.TransactJSON(context.Background(), raw, nil)
	if err != nil || containsError(res) {
		r.logger().Debug(fmt.Sprintf("writing remote status: %v %s", err, res))
	}
}

package vsctl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gvswitch/control/jsonrpc"
	"gvswitch/control/ovsdb"
)

// dbName is the database ovs-vsctl works on.
const dbName = "Open_vSwitch"

// client is one OVSDB session, following the message sequence of the
// Open vSwitch client library (PROTOCOL.md section 2): get_schema _Server,
// monitor_cond on _Server, monitor_cond_since on the database, transact;
// with the fallbacks of section 4 when the server lacks a method.
type client struct {
	conn   *jsonrpc.Conn
	nc     net.Conn
	nextID int
	db     *replica
	// updateMethod is the notification that carries our monitor's updates.
	updateMethod string
	monID        json.RawMessage
	seqno        int // bumped by every update that changes the replica
	remote       remote
	// trace logs like ovs-vsctl's vlog (the runner's log); name is the
	// --db value that names the session in its messages.
	trace func(module, level, format string, args ...any)
	name  string
	// csNext is the client state change ovs-vsctl's ovsdb_cs module
	// logs after sending the next request ("" for none).
	csNext string
}

// logf traces through c.trace, if set.
func (c *client) logf(module, level, format string, args ...any) {
	if c.trace != nil {
		c.trace(module, level, format, args...)
	}
}

// traceMessage logs a JSON-RPC message the way ovs-vsctl's jsonrpc module
// does at DBG ("send request, method=..., params=..., id=...").
func (c *client) traceMessage(dir string, m *jsonrpc.Message) {
	if c.trace == nil {
		return
	}
	var sb strings.Builder
	switch {
	case m.IsRequest():
		fmt.Fprintf(&sb, "%s request, method=%s, params=%s, id=%s", dir, ovsJSON(mustJSON(m.Method)), ovsJSON(m.Params), ovsJSON(m.ID))
	case m.IsNotification():
		fmt.Fprintf(&sb, "%s notification, method=%s, params=%s", dir, ovsJSON(mustJSON(m.Method)), ovsJSON(m.Params))
	case m.IsError():
		fmt.Fprintf(&sb, "%s error, error=%s, id=%s", dir, ovsJSON(m.Error), ovsJSON(m.ID))
	default:
		fmt.Fprintf(&sb, "%s reply, result=%s, id=%s", dir, ovsJSON(m.Result), ovsJSON(m.ID))
	}
	c.logf("jsonrpc", "DBG", "%s: %s", c.name, sb.String())
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// reconnect drops the session and the replica's rows, then connects and
// monitors again, retrying until it succeeds.
func (c *client) reconnect() error {
	c.nc.Close()
	for {
		nc, err := dial(c.remote, true, time.Time{})
		if err != nil {
			return err
		}
		c.nc, c.conn, c.nextID = nc, jsonrpc.NewConn(nc), 0
		c.db.rows = map[string]map[string]*dbRow{}
		c.db.order = map[string]*rowOrder{}
		if err := c.connect(); err == nil {
			c.seqno++
			return nil
		}
		nc.Close()
		time.Sleep(100 * time.Millisecond)
	}
}

// remote is where the database is: one or more endpoints, tried in turn
// (a --db value may list several, separated by commas).
type remote struct{ endpoints []endpoint }

// endpoint is one connection method: network "unix" or "tcp" with an
// address, passive (listen and wait for the server to connect, "punix:"
// and "ptcp:"), or an error every attempt reports (a method gvswitchctl
// cannot use).
type endpoint struct {
	network, addr string
	passive       bool
	err           error
}

// The errors ovs-vsctl's stream library reports for methods it does not
// know and for SSL without keys.
var (
	errNoMethod = syscall.EAFNOSUPPORT
	errNoSSL    = syscall.ENOPROTOOPT
)

// resolveDB parses a --db value: a comma-separated list of "unix:PATH" (a
// relative PATH is taken relative to rundir, as ovs-vsctl does),
// "tcp:HOST[:PORT]" (port 6640 by default), or their passive forms
// "punix:PATH" and "ptcp:[PORT][:HOST]". logf receives the log lines
// ovs-vsctl prints while parsing ("stream", "socket_util", ... modules).
func resolveDB(db, rundir string, logf func(module, level, format string, args ...any)) remote {
	var rm remote
	for _, name := range strings.Split(db, ",") {
		rm.endpoints = append(rm.endpoints, parseEndpoint(name, rundir, logf))
	}
	return rm
}

func parseEndpoint(name, rundir string, logf func(module, level, format string, args ...any)) endpoint {
	method, arg, _ := strings.Cut(name, ":")
	switch method {
	case "unix", "punix":
		if !filepath.IsAbs(arg) {
			arg = filepath.Join(rundir, arg)
		}
		return endpoint{network: "unix", addr: arg, passive: method == "punix"}
	case "tcp":
		host, port, hasPort := strings.Cut(arg, ":")
		if strings.HasPrefix(arg, "[") {
			if end := strings.Index(arg, "]"); end >= 0 {
				host = arg[1:end]
				port, hasPort = strings.CutPrefix(arg[end+1:], ":")
			}
		}
		if !hasPort {
			logf("stream", "WARN", "The default OVSDB port number has changed from 6632 to 6640")
			port = "6640"
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			logf("socket_util", "ERR", "%s: bad port number \"%s\"", arg, port)
			logf("stream_tcp", "ERR", "%s: connect: %s", name, errnoText(errNoMethod))
			return endpoint{err: errNoMethod}
		}
		if host == "" {
			full := name
			if !hasPort {
				full += ":" + port
			}
			logf("stream_tcp", "ERR", "%s: connect: %s", full, errnoText(errNoMethod))
			return endpoint{err: errNoMethod}
		}
		return endpoint{network: "tcp", addr: net.JoinHostPort(host, port)}
	case "ptcp":
		port, host, _ := strings.Cut(arg, ":")
		return endpoint{network: "tcp", addr: net.JoinHostPort(host, port), passive: true}
	case "ssl":
		// gvswitchctl has no SSL; ovs-vsctl without keys fails the same way.
		logf("stream_ssl", "ERR", "Private key must be configured to use SSL")
		logf("stream_ssl", "ERR", "Certificate must be configured to use SSL")
		logf("stream_ssl", "ERR", "CA certificate must be configured to use SSL")
		return endpoint{err: errNoSSL}
	}
	return endpoint{err: errNoMethod}
}

// dial connects to the first endpoint that answers, retrying all of them
// with retry until deadline (none when zero); the error is the last
// attempt's.
func dial(rm remote, retry bool, deadline time.Time) (net.Conn, error) {
	for {
		var err error
		for _, ep := range rm.endpoints {
			var c net.Conn
			c, err = ep.connect()
			if err == nil {
				return c, nil
			}
		}
		if !retry {
			return nil, err
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// connect dials an active endpoint, or listens on a passive one and
// waits for the server to connect.
func (ep endpoint) connect() (net.Conn, error) {
	if ep.err != nil {
		return nil, ep.err
	}
	if !ep.passive {
		return net.Dial(ep.network, ep.addr)
	}
	if ep.network == "unix" {
		os.Remove(ep.addr)
	}
	l, err := net.Listen(ep.network, ep.addr)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	return l.Accept()
}

// errnoText renders a dial error like ovs_retval_to_string (strerror).
func errnoText(err error) string {
	var se syscall.Errno
	if errors.As(err, &se) {
		s := se.Error()
		if s != "" {
			return strings.ToUpper(s[:1]) + s[1:]
		}
	}
	if os.IsNotExist(err) {
		return "No such file or directory"
	}
	return err.Error()
}

func (c *client) call(method string, params ...any) (*jsonrpc.Message, error) {
	c.nextID++
	id := c.nextID
	p, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	m := &jsonrpc.Message{ID: json.RawMessage(strconv.Itoa(id)), Method: method, Params: p}
	c.traceMessage("send", m)
	if err := c.conn.Write(m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConnection, err)
	}
	if c.csNext != "" {
		c.logf("ovsdb_cs", "DBG", "%s: %s", c.name, c.csNext)
		c.csNext = ""
	}
	for {
		r, err := c.conn.Read()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConnection, err)
		}
		c.traceMessage("received", r)
		if r.IsNotification() || r.IsRequest() {
			c.handle(r)
			continue
		}
		if string(bytes.TrimSpace(r.ID)) == strconv.Itoa(id) {
			return r, nil
		}
	}
}

// handle applies an update notification to the replica and answers echo.
func (c *client) handle(m *jsonrpc.Message) {
	if m.IsRequest() && m.Method == "echo" {
		reply := &jsonrpc.Message{ID: m.ID, Result: m.Params}
		c.traceMessage("send", reply)
		_ = c.conn.Write(reply)
		return
	}
	if m.Method != c.updateMethod {
		return
	}
	var params []json.RawMessage
	if err := json.Unmarshal(m.Params, &params); err != nil || len(params) < 2 {
		return
	}
	if !jsonEqual(params[0], c.monID) {
		return
	}
	body := params[len(params)-1]
	if c.updateMethod == "update" {
		c.applyV1(body)
	} else {
		c.applyV2(body, false)
	}
}

// wait blocks until the next update arrives (or the connection fails).
func (c *client) waitUpdate() error {
	seq := c.seqno
	for c.seqno == seq {
		r, err := c.conn.Read()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrConnection, err)
		}
		c.traceMessage("received", r)
		c.handle(r)
	}
	return nil
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return compactJSON(x) == compactJSON(y)
}

func decodeUseNumber(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// connect runs the session set-up: schema discovery and the monitor of
// every table and column the commands asked for.
func (c *client) connect() error {
	useServer := true
	c.csNext = "SERVER_SCHEMA_REQUESTED -> SERVER_SCHEMA_REQUESTED at ../lib/ovsdb-cs.c:423"
	r, err := c.call("get_schema", "_Server")
	if err != nil {
		return err
	}
	if r.IsError() {
		useServer = false
	}
	if useServer {
		req := map[string]any{"Database": []any{map[string]any{"columns": []string{"name", "model", "connected", "leader", "schema", "cid", "index"}}}}
		c.csNext = "SERVER_SCHEMA_REQUESTED -> SERVER_MONITOR_REQUESTED at ../lib/ovsdb-cs.c:456"
		r, err = c.call("monitor_cond", "_Server", []string{"monid", "_Server"}, req)
		if err != nil {
			return err
		}
		if r.IsError() {
			useServer = false
		}
	}
	if !useServer {
		if _, err := c.call("get_schema", dbName); err != nil {
			return err
		}
	}
	mon := map[string]any{}
	for t, cols := range c.db.monitor {
		list := make([]string, 0, len(cols))
		for col := range cols {
			list = append(list, col)
		}
		sortStrings(list)
		mon[t] = []any{map[string]any{"columns": list}}
	}
	c.monID = json.RawMessage(`["monid","Open_vSwitch"]`)
	methods := []string{"monitor_cond", "monitor"}
	if useServer {
		methods = []string{"monitor_cond_since", "monitor_cond", "monitor"}
	}
	for _, method := range methods {
		params := []any{dbName, []string{"monid", dbName}, mon}
		if method == "monitor_cond_since" {
			params = append(params, "00000000-0000-0000-0000-000000000000")
			c.csNext = "SERVER_MONITOR_REQUESTED -> DATA_MONITOR_COND_SINCE_REQUESTED at ../lib/ovsdb-cs.c:2014"
		}
		r, err = c.call(method, params...)
		if err != nil {
			return err
		}
		if r.IsError() {
			continue
		}
		switch method {
		case "monitor_cond_since":
			c.updateMethod = "update3"
			var res []json.RawMessage
			if json.Unmarshal(r.Result, &res) != nil || len(res) != 3 {
				return fmt.Errorf("%w: bad monitor_cond_since reply format", ErrConnection)
			}
			c.applyV2(res[2], true)
			c.logf("ovsdb_cs", "DBG", "%s: DATA_MONITOR_COND_SINCE_REQUESTED -> MONITORING at ../lib/ovsdb-cs.c:496", c.name)
		case "monitor_cond":
			c.updateMethod = "update2"
			c.applyV2(r.Result, true)
		default:
			c.updateMethod = "update"
			c.applyV1(r.Result)
		}
		return nil
	}
	return fmt.Errorf("%w: server refused every monitor method", ErrConnection)
}

func (c *client) rowFor(t *Table, uuid string) *dbRow {
	rows := c.db.rows[t.Name]
	if rows == nil {
		rows = map[string]*dbRow{}
		c.db.rows[t.Name] = rows
	}
	r := rows[uuid]
	if r == nil {
		r = &dbRow{UUID: uuid, Table: t, old: map[string]Datum{}}
		rows[uuid] = r
	}
	return r
}

func (c *client) setColumns(r *dbRow, cols map[string]any, diff bool) {
	for name, v := range cols {
		col := r.Table.Column(name)
		if col == nil || !c.db.monitor[r.Table.Name][name] {
			continue
		}
		var d Datum
		var err error
		if diff {
			// A diff may exceed the column's size limits (RFC 7047 does
			// not bound it); decode it as an unlimited set or map.
			dt := col.Type
			dt.Min, dt.Max = 0, ovsdb.Unlimited
			if d, err = ovsdb.DatumFromValue(&dt, v, nil); err != nil {
				continue
			}
			// Diff against the server's value, not the current
			// transaction's view of the row.
			old, ok := r.old[name]
			if !ok {
				old = ovsdb.DefaultDatum(&col.Type)
			}
			d = applyDiff(&col.Type, old, d)
		} else if d, err = ovsdb.DatumFromValue(&col.Type, v, nil); err != nil {
			continue
		}
		r.old[name] = d
	}
}

// applyDiff applies an RFC 7047 "update2" modify diff to old (section
// 4.1.14 of the ovsdb-server(7) extension): scalars are replaced, set
// elements toggled, map pairs added, removed or replaced.
func applyDiff(t *Type, old, diff Datum) Datum {
	if t.Max == 1 && !isMap(t) {
		return diff
	}
	out := old.Clone()
	if isMap(t) && out.Values == nil {
		out.Values = []Atom{}
	}
	for i, k := range diff.Keys {
		j := find(out, k)
		if isMap(t) {
			if j >= 0 {
				if ovsdb.CompareAtoms(out.Values[j], diff.Values[i]) == 0 {
					out.Keys = append(out.Keys[:j], out.Keys[j+1:]...)
					out.Values = append(out.Values[:j], out.Values[j+1:]...)
				} else {
					out.Values[j] = diff.Values[i]
				}
				continue
			}
			out.Keys = append(out.Keys, k)
			out.Values = append(out.Values, diff.Values[i])
		} else {
			if j >= 0 {
				out.Keys = append(out.Keys[:j], out.Keys[j+1:]...)
				continue
			}
			out.Keys = append(out.Keys, k)
		}
		sortDatum(&out)
	}
	return out
}

// rowUpdates walks a <table-updates> object in the order the Open vSwitch
// library processes it (tables, then rows, each in JSON-object iteration
// order; see rowOrder) and calls fn for each row update.
func rowUpdates(body json.RawMessage, fn func(table, uuid string, up map[string]any)) {
	var tables map[string]json.RawMessage
	if json.Unmarshal(body, &tables) != nil {
		return
	}
	for _, tname := range objectOrder(body) {
		traw := tables[tname]
		v, err := decodeUseNumber(traw)
		if err != nil {
			continue
		}
		rows, _ := v.(map[string]any)
		for _, uuid := range objectOrder(traw) {
			up, _ := rows[uuid].(map[string]any)
			fn(tname, strings.ToLower(uuid), up)
		}
	}
}

func (c *client) applyV2(body json.RawMessage, initial bool) {
	rowUpdates(body, func(tname, uuid string, up map[string]any) {
		t := c.db.Schema.Table(tname)
		if t == nil || !isUUID(uuid) {
			return
		}
		for kind, colsV := range up {
			cols, _ := colsV.(map[string]any)
			switch kind {
			case "initial", "insert":
				r := c.rowFor(t, uuid)
				r.old = map[string]Datum{}
				c.db.place(tname, uuid)
				c.setColumns(r, cols, false)
				c.db.placeRefs(r)
			case "modify":
				r := c.rowFor(t, uuid)
				c.setColumns(r, cols, true)
				c.db.placeRefs(r)
			case "delete":
				delete(c.db.rows[tname], uuid)
				c.db.unplace(tname, uuid)
			}
		}
	})
	c.seqno++
}

func (c *client) applyV1(body json.RawMessage) {
	rowUpdates(body, func(tname, uuid string, up map[string]any) {
		t := c.db.Schema.Table(tname)
		if t == nil || !isUUID(uuid) {
			return
		}
		if nw, ok := up["new"].(map[string]any); ok {
			r := c.rowFor(t, uuid)
			c.db.place(tname, uuid)
			c.setColumns(r, nw, false)
			c.db.placeRefs(r)
		} else {
			delete(c.db.rows[tname], uuid)
			c.db.unplace(tname, uuid)
		}
	})
	c.seqno++
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

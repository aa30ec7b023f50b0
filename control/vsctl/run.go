package vsctl

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gvswitch/control/internal/ovsjson"
	"gvswitch/control/jsonrpc"
	"gvswitch/control/ovsdb"
	"gvswitch/internal/ovshash"
)

// Version is printed by --version.
const Version = "3.1.0"

// Env names the environment Main reads; tests override it.
type Env struct {
	RunDir string // default socket directory ($GVS_RUNDIR or /var/run/gvswitch)
	LogDir string // printed by the post-commit interface check
	// Comment is the text before ": <argv>" in the transaction's comment
	// operation, e.g. "gvswitchctl".
	Comment string
	// Argv0 is the program name as invoked, used by option-parsing
	// errors (as getopt_long prints them); defaults to the prog name.
	Argv0 string
	// FatalSignals makes SIGINT, SIGTERM and SIGHUP end the process the
	// way ovs-vsctl's fatal-signal handler does (a warning, then death by
	// the same signal). For programs, not for tests calling MainEnv.
	FatalSignals bool
}

// DefaultEnv reads GVS_RUNDIR and GVS_LOGDIR.
func DefaultEnv() Env {
	e := Env{RunDir: "/var/run/gvswitch", LogDir: "/var/log/gvswitch", FatalSignals: true}
	if v := os.Getenv("GVS_RUNDIR"); v != "" {
		e.RunDir = v
	}
	if v := os.Getenv("GVS_LOGDIR"); v != "" {
		e.LogDir = v
	}
	return e
}

var (
	schemaOnce sync.Once
	vswitch    *Schema
	schemaErr  error
)

// VSwitchSchema returns the Open_vSwitch schema the commands are checked
// against (control/ovsdb embeds it).
func VSwitchSchema() (*Schema, error) {
	schemaOnce.Do(func() { vswitch, schemaErr = ovsdb.ParseSchema(ovsdb.VSwitchSchema()) })
	return vswitch, schemaErr
}

// runner holds one invocation's state.
type runner struct {
	prog    string
	env     Env
	stdout  io.Writer
	stderr  io.Writer
	db      string
	noWait  bool
	dryRun  bool
	oneline bool
	retry   bool
	timeout int
	style   tableStyle
	logSeq  int
	// sslErrors is the OpenSSL error queue checkSSLOption imitates.
	sslErrors []string
	vlog      *vlog
	anyRW     bool
	args      string // the escaped command line, for the comment
	realUUID  map[string]string
	mu        sync.Mutex
}

// Main runs the ovs-vsctl command language with args (without the program
// name) and returns the exit status. prog prefixes error messages.
func Main(prog string, args []string, stdout, stderr io.Writer) int {
	return MainEnv(prog, args, stdout, stderr, DefaultEnv())
}

// MainEnv is Main with an explicit environment.
func MainEnv(prog string, args []string, stdout, stderr io.Writer, env Env) int {
	r := &runner{prog: prog, env: env, stdout: stdout, stderr: stderr, style: defaultStyle, vlog: newVlog()}
	if r.env.Comment == "" {
		r.env.Comment = prog
	}
	status, err := r.main(args)
	if err != nil {
		var fe *fatalError
		var ge *getoptError
		var es exitStatus
		switch {
		case errors.As(err, &es):
			return int(es)
		case errors.As(err, &ge):
			// getopt_long names the program as invoked (argv[0]).
			argv0 := env.Argv0
			if argv0 == "" {
				argv0 = prog
			}
			fmt.Fprintf(stderr, "%s: %s\n", argv0, ge.msg)
			return 1
		case errors.As(err, &fe):
			fmt.Fprintf(stderr, "%s: %s\n", prog, fe.msg)
			return fe.status
		default:
			fmt.Fprintf(stderr, "%s: %v\n", prog, err)
			return 1
		}
	}
	return status
}

// traceConnectFailure logs a failed connection the way ovs-vsctl's
// reconnect state machine does at -v: a unix socket fails while
// connecting, a TCP connection once the connect completes, an unknown
// method before any state change.
func (r *runner) traceConnectFailure(rm remote, err error) {
	ep := rm.endpoints[len(rm.endpoints)-1]
	cs := func() {
		r.log("ovsdb_cs", "DBG", "%s: SERVER_SCHEMA_REQUESTED -> SERVER_SCHEMA_REQUESTED at ../lib/ovsdb-cs.c:423", r.db)
	}
	failed := func() {
		r.log("reconnect", "INFO", "%s: connection attempt failed (%s)", r.db, errnoText(err))
		r.log("reconnect", "DBG", "%s: entering BACKOFF", r.db)
	}
	if ep.err == nil && ep.network == "unix" && !ep.passive {
		r.log("stream_unix", "DBG", "%s: connection failed (%s)", ep.addr, errnoText(err))
	}
	r.log("reconnect", "INFO", "%s: connecting...", r.db)
	r.log("reconnect", "DBG", "%s: entering CONNECTING", r.db)
	if ep.err == nil && ep.network == "tcp" {
		cs()
		failed()
		return
	}
	failed()
	cs()
}

// argv0 is the program name as invoked.
func (r *runner) argv0() string {
	if r.env.Argv0 != "" {
		return r.env.Argv0
	}
	return r.prog
}

// parentName is the command name of the parent process (the "comm" field
// of /proc/PPID/stat), which ovs-vsctl names in its transaction comment.
func parentName() string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", os.Getppid()))
	if err != nil {
		return "unknown"
	}
	s := string(b)
	i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if i < 0 || j < i {
		return "unknown"
	}
	return s[i+1 : j]
}

// checkSSLOption reports an SSL option's file or protocol list that
// ovs-vsctl's SSL library would reject when it loads it at start-up (it
// logs the error and goes on). gvswitchctl has no SSL, so it only checks
// what can be checked without a TLS library: that files can be opened
// and protocol names are known.
func (r *runner) checkSSLOption(name, arg string) {
	if name == "ssl-protocols" {
		for _, p := range strings.FieldsFunc(arg, func(c rune) bool { return c == ',' || c == ' ' }) {
			switch p {
			case "TLSv1", "TLSv1.1", "TLSv1.2":
			default:
				r.log("stream_ssl", "ERR", "%s: SSL protocol not recognized", p)
				return
			}
		}
		return
	}
	f, err := os.Open(arg)
	if err == nil {
		f.Close()
		return
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return
	}
	// OpenSSL queues a failed file load as a system error ("error:800000NN:
	// system library::TEXT") followed by the BIO and SSL layers' own; each
	// log line takes the oldest error queued, so a second failure prints
	// what the first one left.
	r.sslErrors = append(r.sslErrors, fmt.Sprintf("error:%08X:system library::%s", 0x80000000|uint32(errno), errnoText(err)),
		"error:10080002:BIO routines::system lib")
	if name != "ca-cert" {
		r.sslErrors = append(r.sslErrors, "error:0A080002:SSL routines::system lib")
	}
	lib := r.sslErrors[0]
	r.sslErrors = r.sslErrors[1:]
	switch name {
	case "private-key":
		r.log("stream_ssl", "ERR", "SSL_use_PrivateKey_file: %s", lib)
	case "certificate":
		r.log("stream_ssl", "ERR", "SSL_use_certificate_file: %s", lib)
	case "ca-cert":
		r.log("stream_ssl", "ERR", "failed to load client certificates from %s: %s", arg, lib)
	case "peer-ca-cert":
		r.log("stream_ssl", "ERR", "failed to open %s for reading: %s", arg, errnoText(err))
	}
}

// logWarn prints a console log line the way ovs-vsctl's vlog does.
func (r *runner) logWarn(module, format string, args ...any) {
	r.log(module, "WARN", format, args...)
}

// log prints a console log line at level ("WARN", "ERR", "DBG", ...) if
// -v/--verbose lets module log at that level on the console.
func (r *runner) log(module, level, format string, args ...any) {
	if !r.vlog.enabled(module, strings.ToLower(level)) {
		return
	}
	r.mu.Lock()
	r.logSeq++
	seq := r.logSeq
	r.mu.Unlock()
	fmt.Fprintf(r.stderr, "%s|%05d|%s|%s|%s\n", time.Now().UTC().Format("2006-01-02T15:04:05Z"), seq, module, level, fmt.Sprintf(format, args...))
}

func (r *runner) main(args []string) (int, error) {
	schema, err := VSwitchSchema()
	if err != nil {
		return 1, err
	}
	parsed, rest, err := getopt(args, allOptions())
	if err != nil {
		return 1, err
	}
	var local []parsedOption
	for _, p := range parsed {
		o := p.opt
		if o.local {
			// ovs-vsctl's duplicate check here never fires (it looks the
			// name up without its "--"), so repeats are accepted.
			local = append(local, p)
			continue
		}
		switch o.name {
		case "db":
			r.db = p.arg
		case "no-wait":
			r.noWait = true
		case "dry-run":
			r.dryRun = true
		case "oneline":
			r.oneline = true
		case "retry":
			r.retry = true
		case "timeout":
			n, err := strconv.ParseUint(p.arg, 10, 32)
			if err != nil || n == 0 {
				return 1, fatalf("value %s on -t or --timeout is invalid", p.arg)
			}
			r.timeout = int(n)
		case "help":
			r.usage()
			return 0, nil
		case "commands", "options":
			if o.name == "commands" {
				r.printCommands()
			} else {
				r.printOptions()
			}
			return 0, nil
		case "version":
			fmt.Fprintf(r.stdout, "%s (gvswitch) %s\nDB Schema %s\n", r.prog, Version, schema.Version)
			return 0, nil
		case "format":
			switch p.arg {
			case "table":
				r.style.format = formatTable
			case "list":
				r.style.format = formatList
			case "html":
				r.style.format = formatHTML
			case "csv":
				r.style.format = formatCSV
			case "json":
				r.style.format = formatJSON
			default:
				return 1, fatalf("unknown output format \"%s\"", p.arg)
			}
		case "data":
			switch p.arg {
			case "string":
				r.style.cell = cellString
			case "bare":
				r.style.cell = cellBare
			case "json":
				r.style.cell = cellJSON
			default:
				return 1, fatalf("unknown data format \"%s\"", p.arg)
			}
		case "no-headings":
			r.style.headings = false
		case "pretty":
			r.style.pretty = true
		case "bare":
			r.style.format, r.style.cell, r.style.headings = formatList, cellBare, false
		case "max-column-width":
			r.style.maxWidth = int(atoi(p.arg))
		case "verbose":
			if err := r.vlog.set(p.arg); err != nil {
				return 1, fatalf("%v", err)
			}
		case "no-syslog":
			r.vlog.syslog = 0
		case "private-key", "certificate", "ca-cert", "peer-ca-cert", "ssl-protocols":
			r.checkSSLOption(o.name, p.arg)
		}
	}
	if r.db == "" {
		r.db = "unix:" + r.env.RunDir + "/db.sock"
	}
	r.args = processEscapeArgs(args)
	cmds, err := parseCommands(rest, local)
	if err != nil {
		return 1, err
	}
	for _, c := range cmds {
		if c.syntax.mode == readWrite {
			r.anyRW = true
		}
	}
	// ovs-vsctl logs "Called as ..." first: at INFO when a command may
	// write (to syslog, which numbers the message even when the console
	// does not show it), otherwise at DBG.
	calledAs := "DBG"
	if r.anyRW {
		calledAs = "INFO"
	}
	if r.vlog.enabled("vsctl", calledAs) {
		r.log("vsctl", calledAs, "Called as %s %s", r.argv0(), r.args)
	} else if levelRank(calledAs) <= r.vlog.syslog {
		r.logSeq++
	}
	if r.timeout > 0 {
		t := time.AfterFunc(time.Duration(r.timeout)*time.Second, func() { r.die(syscall.SIGALRM) })
		defer t.Stop()
	}
	if r.env.FatalSignals {
		sigs := make(chan os.Signal, 1)
		for _, s := range []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
			// Like ovs-vsctl, leave a signal ignored if it was ignored
			// at start (a background job's SIGINT).
			if !signal.Ignored(s) {
				signal.Notify(sigs, s)
			}
		}
		defer signal.Stop(sigs)
		go func() {
			if s, ok := (<-sigs).(syscall.Signal); ok {
				r.die(s)
			}
		}()
	}

	db := newReplica(schema)
	db.AddTable(schema.Table("Open_vSwitch"))
	if !r.noWait {
		db.AddColumn(schema.Table("Open_vSwitch"), schema.Table("Open_vSwitch").Column("cur_cfg"))
	}
	for _, c := range cmds {
		if c.syntax.pre == nil {
			continue
		}
		ctx := r.newContext(db, c, nil, nil, false)
		if err := c.syntax.pre(ctx); err != nil {
			return 1, err
		}
	}

	rm := resolveDB(r.db, r.env.RunDir, r.log)
	r.log("reconnect", "DBG", "%s: entering BACKOFF", r.db)
	nc, err := dial(rm, r.retry, time.Time{})
	if err != nil {
		r.traceConnectFailure(rm, err)
		return 1, fatalf("%s: database connection failed (%s)", r.db, errnoText(err))
	}
	r.log("reconnect", "INFO", "%s: connecting...", r.db)
	r.log("reconnect", "DBG", "%s: entering CONNECTING", r.db)
	r.log("ovsdb_cs", "DBG", "%s: SERVER_SCHEMA_REQUESTED -> SERVER_SCHEMA_REQUESTED at ../lib/ovsdb-cs.c:423", r.db)
	r.log("reconnect", "INFO", "%s: connected", r.db)
	r.log("reconnect", "DBG", "%s: entering ACTIVE", r.db)
	cl := &client{conn: jsonrpc.NewConn(nc), nc: nc, db: db, remote: rm, trace: r.log, name: r.db}
	defer func() { cl.nc.Close() }()
	if err := cl.connect(); err != nil {
		return 1, fatalf("%s: database connection failed (%v)", r.db, err)
	}
	for {
		// As in ovs-vsctl's main loop: a failed attempt is retried at once
		// if the replica changed meanwhile (the update that explains a
		// failed "wait" arrives before the transact reply), otherwise
		// after the next change.
		seq := cl.seqno
		done, status, err := r.do(cl, cmds)
		if err != nil {
			return 1, err
		}
		if done {
			return status, nil
		}
		if cl.seqno != seq {
			continue
		}
		if err := cl.waitUpdate(); err != nil {
			return 1, fatalf("%s: database connection failed (%v)", r.db, err)
		}
	}
}

// die ends the program the way ovs-vsctl's fatal-signal handler does
// (--timeout's SIGALRM included): a warning, then death by the same signal,
// so that a shell sees status 128+N.
func (r *runner) die(sig syscall.Signal) {
	name := sig.String()
	if name != "" {
		name = strings.ToUpper(name[:1]) + name[1:]
	}
	r.logWarn("fatal_signal", "terminating with signal %d (%s)", int(sig), name)
	signal.Reset(sig)
	_ = syscall.Kill(os.Getpid(), sig)
	time.Sleep(time.Second)
	os.Exit(128 + int(sig))
}

func (r *runner) newContext(db *replica, c *command, ovs *dbRow, st *symtab, last bool) *context {
	return &context{db: db, cmd: c, argv: c.argv, ovs: ovs, symtab: st, last: last, out: &c.output, warn: r.logWarn, stdoutTTY: isTerminal(r.stdout)}
}

// do runs the commands once against the replica and commits (do_vsctl).
// done=false means "wait for the database to change and try again".
func (r *runner) do(cl *client, cmds []*command) (done bool, status int, err error) {
	db := cl.db
	defer db.Abort()
	ovsTable := db.Schema.Table("Open_vSwitch")
	var ovs *dbRow
	if rows := db.Rows(ovsTable); len(rows) > 0 {
		ovs = rows[0]
	} else {
		ovs = db.Insert(ovsTable, "")
	}
	st := newSymtab()
	var newIfs []string
	var cache *vsCache
	for i, c := range cmds {
		c.output.Reset()
		c.table = nil
		ctx := r.newContext(db, c, ovs, st, i == len(cmds)-1)
		ctx.newIfs = &newIfs
		ctx.cache = cache
		if c.syntax.run != nil {
			if err := c.syntax.run(ctx); err != nil {
				if errors.Is(err, errTryAgain) {
					return false, 0, nil
				}
				return true, 1, err
			}
		}
		cache = ctx.cache
	}
	for _, name := range st.order {
		sym := st.m[name]
		if !sym.created {
			return true, 1, fatalf("row id \"%s\" is referenced but never created (e.g. with \"-- --id=%s create ...\")", name, name)
		}
		if !sym.strongRef {
			if !sym.weakRef {
				r.logWarn("vsctl", "row id \"%s\" was created but no reference to it was inserted, so it will not actually appear in the database", name)
			} else {
				r.logWarn("vsctl", "row id \"%s\" was created but only a weak reference to it was inserted, so it will not actually appear in the database", name)
			}
		}
	}

	ops, anyUpdates := db.txnOps()
	changed := anyUpdates
	var nextCfg int64
	r.realUUID = map[string]string{}
	if anyUpdates {
		incIndex := -1
		if !r.noWait {
			w := []byte(`[["_uuid","==",`)
			if ovs.inserted {
				w = append(w, `["named-uuid",`...)
				w = ovsjson.AppendString(w, rowName(ovs.UUID))
				w = append(w, ']')
			} else {
				w = append(w, `["uuid",`...)
				w = ovsjson.AppendString(w, ovs.UUID)
				w = append(w, ']')
			}
			w = append(w, "]]"...)
			incIndex = len(ops)
			ops = append(ops,
				[]byte(`{"op":"mutate","table":"Open_vSwitch","where":`+string(w)+`,"mutations":[["next_cfg","+=",1]]}`),
				[]byte(`{"op":"select","table":"Open_vSwitch","where":`+string(w)+`,"columns":["next_cfg"]}`))
		}
		comment := ovsjson.AppendString([]byte(`{"op":"comment","comment":`), r.env.Comment+" (invoked by "+parentName()+"): "+r.argv0()+" "+r.args)
		ops = append(ops, append(comment, '}'))
		if r.dryRun {
			ops = append(ops, []byte(`{"op":"abort"}`))
		}
		params := make([]json.RawMessage, 0, len(ops)+1)
		params = append(params, json.RawMessage(`"Open_vSwitch"`))
		for _, op := range ops {
			params = append(params, json.RawMessage(op))
		}
		reply, err := cl.call("transact", toAny(params)...)
		if err != nil {
			return true, 1, fatalf("%s: database connection failed (%v)", r.db, err)
		}
		if reply.IsError() {
			return true, 1, fatalf("transaction error: %s", compactRaw(reply.Error))
		}
		var results []json.RawMessage
		if err := json.Unmarshal(reply.Result, &results); err != nil {
			return true, 1, fatalf("transaction error: reply is not an array")
		}
		inserted := insertOrder(db)
		for i, res := range results {
			var obj map[string]json.RawMessage
			if string(res) == "null" {
				return false, 0, nil
			}
			if err := json.Unmarshal(res, &obj); err != nil {
				return true, 1, fatalf("transaction error: %s", compactRaw(res))
			}
			if e, ok := obj["error"]; ok {
				var tag string
				_ = json.Unmarshal(e, &tag)
				switch tag {
				case "timed out":
					return false, 0, nil
				case "aborted":
					continue
				}
				msg := sortedJSON(res)
				r.logWarn("ovsdb_idl", "transaction error: %s", msg)
				return true, 1, fatalf("transaction error: %s", msg)
			}
			if u, ok := obj["uuid"]; ok && i < len(ops) {
				var pair []string
				if json.Unmarshal(u, &pair) == nil && len(pair) == 2 {
					if dummy, ok := inserted[i]; ok {
						r.realUUID[dummy] = pair[1]
					}
				}
			}
			if incIndex >= 0 && i == incIndex+1 {
				var sel struct {
					Rows []map[string]int64 `json:"rows"`
				}
				if json.Unmarshal(res, &sel) == nil && len(sel.Rows) == 1 {
					nextCfg = sel.Rows[0]["next_cfg"]
				}
			}
		}
	}
	for _, c := range cmds {
		if c.syntax.post != nil {
			ctx := r.newContext(db, c, ovs, st, false)
			ctx.realUUIDs = r.realUUID
			if err := c.syntax.post(ctx); err != nil {
				return true, 1, err
			}
		}
	}
	p := &printer{style: r.style, first: true}
	for _, c := range cmds {
		switch {
		case c.table != nil:
			io.WriteString(r.stdout, p.print(c.table))
		case r.oneline:
			s := strings.TrimSuffix(c.output.String(), "\n")
			s = strings.ReplaceAll(s, "\\", "\\\\")
			s = strings.ReplaceAll(s, "\n", "\\n")
			io.WriteString(r.stdout, s+"\n")
		default:
			io.WriteString(r.stdout, c.output.String())
		}
	}
	if r.noWait || !changed {
		return true, 0, nil
	}
	db.Abort()
	ovsUUID := ovs.UUID
	if real, ok := r.realUUID[ovsUUID]; ok {
		ovsUUID = real
	}
	for {
		for _, o := range db.Rows(ovsTable) {
			cur := o.ReadName("cur_cfg")
			if len(cur.Keys) == 1 && atomInt(cur.Keys[0]) >= nextCfg {
				r.postChecks(db, newIfs)
				return true, 0, nil
			}
		}
		if err := cl.waitUpdate(); err != nil {
			// Like ovs-vsctl, keep waiting across a reconnection (the
			// switch or its database may restart); --timeout bounds it.
			if err := cl.reconnect(); err != nil {
				return true, 1, fatalf("%s: database connection failed (%v)", r.db, err)
			}
		}
	}
}

// postChecks reports interfaces the switch failed to set up
// (post_db_reload_do_checks).
func (r *runner) postChecks(db *replica, newIfs []string) {
	it := db.Schema.Table("Interface")
	failed := false
	for _, dummy := range newIfs {
		real, ok := r.realUUID[dummy]
		if !ok {
			continue
		}
		row := db.Get(it, real)
		if row == nil {
			continue
		}
		of := row.ReadName("ofport")
		if len(of.Keys) == 0 || atomInt(of.Keys[0]) == -1 {
			if e := row.Str("error"); e != "" {
				fmt.Fprintf(r.stderr, "%s: Error detected while setting up '%s': %s.  See ovs-vswitchd log for details.\n", r.prog, row.Str("name"), e)
			} else {
				fmt.Fprintf(r.stderr, "%s: Error detected while setting up '%s'.  See ovs-vswitchd log for details.\n", r.prog, row.Str("name"))
			}
			failed = true
		}
	}
	if failed {
		fmt.Fprintf(r.stderr, "%s: The default log directory is \"%s\".\n", r.prog, r.env.LogDir)
	}
}

// insertOrder maps the index of each insert operation to the inserted
// row's provisional UUID, by scanning the same order txnOps used.
func insertOrder(db *replica) map[int]string {
	ops, _ := db.txnOps()
	out := map[int]string{}
	for i, op := range ops {
		var o struct {
			Op       string `json:"op"`
			UUIDName string `json:"uuid-name"`
			UUID     string `json:"uuid"`
		}
		if json.Unmarshal(op, &o) != nil || o.Op != "insert" {
			continue
		}
		if o.UUIDName != "" {
			out[i] = strings.ReplaceAll(strings.TrimPrefix(o.UUIDName, "row"), "_", "-")
		} else {
			out[i] = o.UUID
		}
	}
	return out
}

func toAny(raw []json.RawMessage) []any {
	out := make([]any, len(raw))
	for i, r := range raw {
		out[i] = r
	}
	return out
}

func compactRaw(b json.RawMessage) string {
	v, err := decodeUseNumber(b)
	if err != nil {
		return string(b)
	}
	return string(appendTree(nil, numberTree(v), false, 0))
}

func sortedJSON(b json.RawMessage) string { return compactRaw(b) }

// numberTree converts json.Number leaves for appendTree.
func numberTree(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = numberTree(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = numberTree(x[k])
		}
		return x
	}
	return v
}

func (r *runner) usage() {
	fmt.Fprintf(r.stdout, "%s: %s configuration utility\nusage: %s [OPTIONS] COMMAND [ARG...]\n", r.prog, r.prog, r.prog)
	names := make([]string, 0, len(commandTable))
	for n := range commandTable {
		names = append(names, n)
	}
	sortStrings(names)
	for _, n := range names {
		fmt.Fprintf(r.stdout, "  %s %s\n", n, commandTable[n].arguments)
	}
}

// printOptions lists the global options for shell completion, one form a
// line: "--name", "--name=ARG", "-x" or "-x ARG".
func (r *runner) printOptions() {
	for _, o := range globalOptions {
		arg := ""
		if o.kind != noArg {
			arg = "=ARG"
		}
		fmt.Fprintf(r.stdout, "--%s%s\n", o.name, arg)
		if o.short != 0 {
			if arg != "" {
				arg = " ARG"
			}
			fmt.Fprintf(r.stdout, "-%c%s\n", o.short, arg)
		}
	}
}

// printCommands lists the commands for shell completion, as
// "[--option] ,name,ARGS" lines in the order ovs-vsctl's command table
// (a hash table by name) yields them. In ARGS each argument is marked
// "!" required, "?" optional, "+" one or more, "*" any number, and
// optional parts inside an argument become "?".
func (r *runner) printCommands() {
	order := newRowOrder()
	for _, n := range commandOrder {
		if commandTable[n] != nil {
			order.insert(n, ovshash.Bytes([]byte(n), 0))
		}
	}
	for _, n := range order.keys() {
		c := commandTable[n]
		var sb strings.Builder
		if c.options != "" {
			for _, o := range strings.Split(c.options, ",") {
				fmt.Fprintf(&sb, "[%s] ", o)
			}
		}
		fmt.Fprintf(&sb, ",%s,%s\n", n, completionArgs(c.arguments))
		io.WriteString(r.stdout, sb.String())
	}
}

// commandOrder is the order in which ovs-vsctl registers its commands
// (the generic database commands first); it decides the order of names
// that share a hash bucket.
var commandOrder = []string{
	"comment", "get", "list", "find", "set", "add", "remove", "clear", "create", "destroy", "wait-until", "show",
	"init", "add-br", "del-br", "list-br", "br-exists", "br-to-vlan", "br-to-parent",
	"br-set-external-id", "br-get-external-id", "list-ports", "add-port", "add-bond", "add-bond-iface",
	"del-bond-iface", "del-port", "port-to-br", "list-ifaces", "iface-to-br", "get-controller",
	"del-controller", "set-controller", "get-fail-mode", "del-fail-mode", "set-fail-mode", "get-manager",
	"del-manager", "set-manager", "get-ssl", "del-ssl", "set-ssl", "emer-reset", "add-aa-mapping", "del-aa-mapping",
	"get-aa-mapping", "add-zone-tp", "del-zone-tp", "list-zone-tp", "list-dp-cap",
}

// completionArgs turns a usage string ("TABLE [RECORD]...") into the
// completion syntax ("!TABLE *RECORD").
func completionArgs(usage string) string {
	var out []string
	for _, w := range strings.Fields(usage) {
		repeat := strings.HasSuffix(w, "...")
		w = strings.TrimSuffix(w, "...")
		optional := false
		if strings.HasPrefix(w, "[") && strings.HasSuffix(w, "]") && matchingBracket(w) == len(w)-1 {
			optional, w = true, w[1:len(w)-1]
		}
		mark := map[[2]bool]string{{false, false}: "!", {true, false}: "?", {false, true}: "+", {true, true}: "*"}[[2]bool{optional, repeat}]
		w = strings.ReplaceAll(strings.ReplaceAll(w, "[", "?"), "]", "")
		out = append(out, mark+w)
	}
	return strings.Join(out, " ")
}

// matchingBracket returns the index of the "]" that closes the "[" at the
// start of w, or -1.
func matchingBracket(w string) int {
	depth := 0
	for i := 0; i < len(w); i++ {
		switch w[i] {
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Command gvswitchd is the gvswitch daemon: a userspace virtual switch
// that takes the place of ovs-vswitchd.
//
// By default it serves its own OVSDB database (<dbdir>/conf.db on
// <rundir>/db.sock); with --db=unix:PATH it is a client of an existing
// ovsdb-server instead (drop-in mode), and then also answers ovs-appctl as
// "ovs-vswitchd" in the Open vSwitch run directory. Either way the switch
// itself is an OVSDB client of that database (package reconcile).
//
// The embedded database is also served on each --remote (punix:PATH,
// ptcp:PORT[:IP], unix:PATH, tcp:IP:PORT, or db:Open_vSwitch,TABLE,COLUMN;
// by default db:Open_vSwitch,Open_vSwitch,manager_options, the targets
// ovs-vsctl set-manager writes), as ovsdb-server serves them; relative
// unix paths are in the run directory.
//
//	gvswitchd [--rundir=DIR] [--dbdir=DIR] [--logdir=DIR] [--db=unix:PATH]
//	          [--remote=REMOTE]...
//	          [--pidfile[=FILE]] [--detach] [--log-file[=FILE]]
//	          [--system-id=random|ID] [-vSPEC]...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gvswitch/control/ovsdb/server"
	"gvswitch/control/reconcile"
	"gvswitch/control/unixctl"
	"gvswitch/control/unixctl/vlog"
)

// Version is gvswitch's own version.
const Version = "0.1.0"

// CompatVersion is the Open vSwitch release whose database schema, commands
// and outputs gvswitchd reproduces. It is what ovs_version and the first
// line of "version" report, because scripts (ovs-ctl, OpenStack agents,
// monitoring) parse "(Open vSwitch) X.Y.Z" to decide which features exist.
const CompatVersion = "3.1.0"

var log = vlog.Module("vswitchd")

// optionalString is a flag that may be given bare (--pidfile) or with a
// value (--pidfile=FILE).
type optionalString struct {
	set   bool
	value string
}

func (o *optionalString) String() string { return o.value }
func (o *optionalString) Set(v string) error {
	o.set = true
	if v != "true" {
		o.value = v
	}
	return nil
}
func (o *optionalString) IsBoolFlag() bool { return true }

type config struct {
	rundir, dbdir, logdir string
	db                    string
	remotes               remoteList
	pidfile, logFile      optionalString
	unixctlPath           string
	detach                bool
	systemID              string
	verbose               []string
	version               bool
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// parseArgs parses the command line. Open vSwitch's -vSPEC / --verbose=SPEC
// forms are taken out first: the flag package cannot express them.
func parseArgs(args []string) (*config, error) {
	c := &config{}
	var rest []string
	for _, a := range args {
		switch {
		case a == "-v" || a == "--verbose":
			c.verbose = append(c.verbose, "dbg")
		case strings.HasPrefix(a, "--verbose="):
			c.verbose = append(c.verbose, strings.TrimPrefix(a, "--verbose="))
		case strings.HasPrefix(a, "-v") && !strings.HasPrefix(a, "-version") && a != "-v":
			c.verbose = append(c.verbose, strings.TrimPrefix(a, "-v"))
		default:
			rest = append(rest, a)
		}
	}
	fs := flag.NewFlagSet("gvswitchd", flag.ContinueOnError)
	fs.StringVar(&c.rundir, "rundir", envOr("GVS_RUNDIR", "/var/run/gvswitch"), "run directory (sockets, pidfile); env GVS_RUNDIR")
	fs.StringVar(&c.dbdir, "dbdir", envOr("GVS_DBDIR", "/var/lib/gvswitch"), "database directory; env GVS_DBDIR")
	fs.StringVar(&c.logdir, "logdir", envOr("GVS_LOGDIR", "/var/log/gvswitch"), "log directory; env GVS_LOGDIR")
	fs.StringVar(&c.db, "db", "", "unix:PATH of an external ovsdb-server (drop-in mode); default: embedded database")
	fs.Var(&c.remotes, "remote", "also serve the embedded database on REMOTE (repeatable; default "+server.ManagerRemotes+")")
	fs.Var(&c.pidfile, "pidfile", "pidfile (default <rundir>/gvswitchd.pid)")
	fs.Var(&c.logFile, "log-file", "also log to FILE (default <logdir>/gvswitchd.log)")
	fs.StringVar(&c.unixctlPath, "unixctl", "", "control socket (default <rundir>/gvswitchd.<pid>.ctl)")
	fs.BoolVar(&c.detach, "detach", false, "run in the background once ready")
	fs.StringVar(&c.systemID, "system-id", "", "random, or the ID for Open_vSwitch external_ids:system-id")
	fs.BoolVar(&c.version, "version", false, "print the version and exit")
	fs.BoolVar(&c.version, "V", false, "print the version and exit")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stdout)
			fmt.Println("usage: gvswitchd [options] [unix:DB_SOCKET]")
			fs.PrintDefaults()
			fmt.Println("  -vSPEC, --verbose=SPEC\n    \tlog levels as ovs-appctl vlog/set takes them (e.g. -vconsole:off)")
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		// ovs-vswitchd takes the database as a positional argument.
		if fs.NArg() > 1 || c.db != "" {
			return nil, fmt.Errorf("too many arguments: %q", fs.Args())
		}
		c.db = fs.Arg(0)
	}
	if c.db != "" && !strings.HasPrefix(c.db, "unix:") {
		return nil, fmt.Errorf("--db=%s: only unix:PATH is supported", c.db)
	}
	if c.db != "" && len(c.remotes) > 0 {
		return nil, errors.New("--remote serves the embedded database: it does not go with --db")
	}
	for _, r := range c.remotes {
		if err := checkRemote(r); err != nil {
			return nil, fmt.Errorf("--remote: %w", err)
		}
	}
	return c, nil
}

func versionText() string {
	return fmt.Sprintf("gvswitchd (Open vSwitch) %s\ngvswitch %s\n", CompatVersion, Version)
}

func main() {
	c, err := parseArgs(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gvswitchd: %v (see --help)\n", err)
		os.Exit(1)
	}
	if c.version {
		fmt.Print(versionText())
		return
	}
	for _, v := range c.verbose {
		if err := vlog.Set(v); err != nil {
			fmt.Fprintf(os.Stderr, "gvswitchd: -v%s: %v\n", v, err)
			os.Exit(1)
		}
	}
	if c.detach && os.Getenv(detachedEnv) == "" {
		os.Exit(detach())
	}
	if err := run(c); err != nil {
		log.Emer("%v", err)
		fmt.Fprintf(os.Stderr, "gvswitchd: %v\n", err)
		notifyParent(err)
		os.Exit(1)
	}
}

func run(c *config) error {
	for _, d := range []string{c.rundir, c.dbdir, c.logdir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if c.logFile.set {
		p := c.logFile.value
		if p == "" {
			p = filepath.Join(c.logdir, "gvswitchd.log")
		}
		if err := vlog.OpenFile(p); err != nil {
			return err
		}
	}
	pidPath := filepath.Join(c.rundir, "gvswitchd.pid")
	if c.pidfile.value != "" {
		pidPath = c.pidfile.value
	}
	pf, err := unixctl.CreatePidfile(pidPath)
	if err != nil {
		return err
	}
	defer pf.Remove()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	uc := unixctl.NewServer(versionText())
	if err := uc.AddStandardCommands(); err != nil {
		return err
	}
	uc.OnExit = func(cleanup bool) {
		log.Info("exit requested over unixctl (cleanup=%v)", cleanup)
		cancel()
	}
	removeStaleSockets(c.rundir, "gvswitchd")
	ctl := c.unixctlPath
	if ctl == "" {
		ctl = filepath.Join(c.rundir, fmt.Sprintf("gvswitchd.%d.ctl", os.Getpid()))
	}
	if err := uc.Listen(ctl); err != nil {
		return err
	}
	defer uc.Close()

	var dial func() (net.Conn, error)
	if c.db == "" {
		db, err := startEmbeddedDB(c)
		if err != nil {
			return err
		}
		defer db.Close()
		dial = db.Dial
	} else {
		path := strings.TrimPrefix(c.db, "unix:")
		if !filepath.IsAbs(path) {
			// As ovs-vsctl: relative to the Open vSwitch run directory.
			path = filepath.Join(unixctl.OVSRundir(), path)
		}
		dial = func() (net.Conn, error) { return net.Dial("unix", path) }
		// Answer as ovs-vswitchd too, so plain ovs-appctl finds us.
		ovsRun := unixctl.OVSRundir()
		if err := os.MkdirAll(ovsRun, 0o755); err != nil {
			return err
		}
		removeStaleSockets(ovsRun, "ovs-vswitchd")
		opf, err := unixctl.CreatePidfile(filepath.Join(ovsRun, "ovs-vswitchd.pid"))
		if err != nil {
			return fmt.Errorf("drop-in mode: %w", err)
		}
		defer opf.Remove()
		if err := uc.Listen(filepath.Join(ovsRun, fmt.Sprintf("ovs-vswitchd.%d.ctl", os.Getpid()))); err != nil {
			return err
		}
	}

	// Server-mode vhost-user sockets go where Open vSwitch puts them:
	// the OVS run directory in drop-in mode, ours otherwise.
	sockDir := c.rundir
	if c.db != "" {
		sockDir = unixctl.OVSRundir()
	}
	d := reconcile.New(reconcile.Options{
		Dial:       dial,
		Unixctl:    uc,
		SystemID:   c.systemID,
		OVSVersion: CompatVersion,
		Rundir:     sockDir,
		OnReady: func() {
			log.Info("configuration applied; ready")
			notifyParent(nil)
		},
	})
	registerPortTypes()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() {
		for s := range sigs {
			if s == syscall.SIGHUP {
				// logrotate's signal: reopen the log file.
				vlog.Reopen()
				continue
			}
			log.Info("%v received; shutting down", s)
			cancel()
			return
		}
	}()
	log.Info("gvswitchd %s (Open vSwitch %s compatible) starting, pid %d", Version, CompatVersion, os.Getpid())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			err = errors.New("ports did not close within 10 s")
		}
	}
	log.Info("exiting")
	return err
}

// removeStaleSockets deletes <dir>/<name>.<pid>.ctl sockets left by
// processes that no longer exist (a crash or kill -9), so the run
// directory does not fill up with dead control sockets.
func removeStaleSockets(dir, name string) {
	matches, _ := filepath.Glob(filepath.Join(dir, name+".*.ctl"))
	for _, m := range matches {
		pidText := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), name+"."), ".ctl")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.Remove(m)
		}
	}
}

// Package vsctl is the ovs-vsctl command language for gvswitch: it turns an
// ovs-vsctl command line into OVSDB transactions (RFC 7047) and prints what
// ovs-vsctl 3.1 prints, with the same error texts and exit statuses.
//
// [Main] (or [MainEnv]) is the whole program; cmd/gvswitchctl calls it:
//
//	os.Exit(vsctl.Main("gvswitchctl", os.Args[1:], os.Stdout, os.Stderr))
//
// It covers the global options (--db, --no-wait, --timeout, --dry-run,
// --oneline, --retry, the output formats), per-command options (--if-exists,
// --may-exist, --id=@name, --all, --with-iface, --fake-iface), "--" chaining
// in one transaction with @name references, the generic database commands
// (get, set, add, remove, clear, list, find, create, destroy, wait-until)
// and the Open vSwitch commands (init, show, emer-reset, add-br, del-br,
// list-br, add-port, add-bond, del-port, ... controllers, managers, fail
// mode, SSL).
//
// Like the Open vSwitch client library it works on a replica: each command
// first declares what it reads, the replica is filled by monitor_cond_since
// (falling back to monitor_cond and monitor), commands read and write the
// replica, and the commit sends "wait" operations for what was read,
// inserts, whole-column updates, partial map mutations, the next_cfg
// increment and a comment, or nothing at all when nothing changes. A failed
// "wait" re-runs the commands on the updated replica. Unless --no-wait, the
// program then waits for Open_vSwitch.cur_cfg to reach next_cfg and reports
// interfaces the switch could not set up. Rows are iterated in the order
// the Open vSwitch IDL iterates them, so list and find print rows in
// ovs-vsctl's order.
//
// Values use control/ovsdb's types ([Atom], [Datum], [Type], [Schema]);
// this package adds their command-line text syntax ([ParseDatum],
// [ParseAtom], [FormatDatum], [FormatAtom], [FormatBare]). Package
// vsctltest runs command histories through ovs-vsctl and gvswitchctl
// against private ovsdb-servers and compares the outputs.
package vsctl

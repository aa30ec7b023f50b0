// Package vsctl implements the ovs-vsctl command language for gvswitch:
// command-line parsing, the database value syntax, the generic database
// commands (get, set, add, remove, clear, list, find, create, destroy,
// wait-until) and the Open vSwitch commands (add-br, add-port, add-bond,
// del-port, show, ...), turned into OVSDB transactions (RFC 7047) with the
// same output, error texts and exit codes as ovs-vsctl 3.1.
//
// [Main] is the whole program; cmd/gvswitchctl calls it:
//
//	os.Exit(vsctl.Main("gvswitchctl", os.Args[1:], os.Stdout, os.Stderr))
//
// The value syntax is available on its own as [ParseDatum] and
// [Datum.String], which tests and other tools can use to read and print
// values the way users type and read them.
package vsctl

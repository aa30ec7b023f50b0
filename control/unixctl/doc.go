// Package unixctl is the control socket of gvswitchd: the protocol that
// Open vSwitch's ovs-appctl speaks, a registry of commands, and a client.
//
// Wire format (observed between ovs-appctl 3.1 and ovs-vswitchd 3.1, see
// reference/unixctl/PROTOCOL.md): a unix stream socket carrying bare JSON
// texts back to back, no framing. A request is
//
//	{"id":0,"method":"bond/show","params":["bond0"]}
//
// with every parameter a string. A success reply is
// {"id":0,"result":"<text>","error":null}, an error reply
// {"id":0,"error":"<text>"}; non-empty texts always end in a newline.
// ovs-appctl prints a result verbatim on stdout (exit 0) and an error on
// stderr (exit 2).
//
// The framing is package jsonrpc's, shared with OVSDB.
//
// A Server owns the command table. Register adds a command with its usage
// text and argument bounds; the server checks the argument count with
// Open vSwitch's error texts before calling the handler, so handlers only
// validate the values. list-commands, version and exit are built in.
//
// Finding a daemon: ovs-appctl -t NAME opens <rundir>/NAME.pid, requires a
// POSIX (fcntl) write lock on it held by the pid written inside, and then
// connects to <rundir>/NAME.<pid>.ctl. CreatePidfile writes such a file and
// holds its lock for the life of the process; SocketPath and Call resolve a
// target exactly as ovs-appctl does.
package unixctl

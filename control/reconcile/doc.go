// Package reconcile turns the switch configuration in the Open vSwitch
// database (Open_vSwitch, Bridge, Port and Interface rows and their
// other_config keys) into dataplane objects, and writes their state back
// (ofport, error, link_state, mac_in_use, statistics, cur_cfg), as
// ovs-vswitchd's bridge layer does.
//
// A Daemon is an OVSDB client whichever way it is attached: over net.Pipe
// to the embedded server or over a unix socket to ovsdb-server (drop-in
// mode). It takes the ovs_vswitchd lock, monitors the tables, and after
// each change applies the difference: a changed port is reopened, every
// other port keeps running. Once a configuration is applied it sets
// Open_vSwitch cur_cfg to next_cfg in the same transaction as the new
// Interface ofports, which is what ovs-vsctl (without --no-wait) waits for.
//
// Interface types are opened through an Opener per type (see
// RegisterType). A type without one — tunnels, patch ports — gets ofport
// -1 and an error naming it; the rest of the bridge keeps working.
package reconcile

// Package reconcile turns the switch configuration in the Open vSwitch
// database (Open_vSwitch, Bridge, Port and Interface rows and their
// other_config keys) into dataplane objects, and writes their state back
// (ofport, error, link_state, admin_state, mac_in_use, mtu, ifindex,
// status, statistics, lacp_current, bond_active_slave, datapath_id,
// cur_cfg), as ovs-vswitchd's bridge layer does.
//
// A Daemon is an OVSDB client (package ovsdb/client) whichever way it is
// attached: over net.Pipe to the embedded server or over a unix socket to
// ovsdb-server (drop-in mode). Like ovs-vswitchd it takes the
// ovs_vswitchd lock, monitors the tables, asserts the lock in every
// transaction, and reconnects with back-off when the connection drops
// (ports keep forwarding meanwhile).
//
// After each change it applies only the difference: an Interface whose
// settings changed is reopened, a Port whose VLAN settings changed is
// reconfigured in place, and every other port keeps forwarding. Once a
// configuration is applied it sets Open_vSwitch cur_cfg to next_cfg in the
// same transaction as the new Interface ofports (or ofport -1 and error),
// which is what ovs-vsctl without --no-wait waits for and then checks.
//
// Below the database it drives one packet pool (sized by
// other_config:dpdk-socket-mem), a dataplane.Bridge per bridge, a
// pmd.Manager (pmd-cpu-mask, pmd-rxq-assign, pmd-maxsleep) polling every
// rx queue, and a bond.Bond per Port with several interfaces, whose LACP
// and timers it runs every 100 ms. It registers ovs-vswitchd's unixctl
// commands, each answering from this dataplane in OVS's words: ofproto/*
// (trace included), dpif/*, dpctl/*, fdb/*, dpif-netdev/*, bond/*, lacp/*,
// upcall/*, memory/show, ovs/route/*, tnl/*, dpdk/*, netdev-dpdk/*, and
// for features it does not have (STP, RSTP, BFD, CFM, QoS, conntrack)
// the answer OVS gives when they are not configured (appctl*.go).
//
// Interface types are opened through an Opener per type (RegisterType;
// gvswitchd registers system, internal, dpdkvhostuser,
// dpdkvhostuserclient and dpdk). A type without one — tunnels, patch
// ports — gets ofport -1 and an error naming it, and so does a bridge with
// a datapath_type other than netdev or system (both run in userspace
// here); OpenFlow controllers are refused in the Controller row's status.
// The rest of the switch keeps working.
package reconcile

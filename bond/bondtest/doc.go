// Package bondtest holds the integration tests of packages lacp and bond
// against a real LACP partner: an Open vSwitch userspace bridge
// (datapath_type=netdev) with its own ovsdb-server and run directory, in a
// network namespace, bonded over veth pairs whose other ends are driven by
// our lacp+bond logic through raw AF_PACKET sockets. The tests need root
// and the openvswitch-switch package; they skip (or fail under
// GVS_REQUIRE_ALL=1) otherwise.
package bondtest

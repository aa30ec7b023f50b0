// Package bond owns the bonding of several member links into one logical
// bridge port, with Open vSwitch's modes and behaviour: active-backup,
// balance-slb (source MAC + VLAN) and balance-tcp (L3/L4 5-tuple, LACP
// required), 256 hash buckets rebalanced by measured load, updelay and
// downdelay, a primary member, loop prevention on receive, gratuitous
// learning packets on failover, LACP through package lacp, and the text of
// `bond/show`, `bond/list` and the other bond/* commands in OVS's layout.
//
// # Hot path (the bridge, per packet, from any PMD goroutine)
//
// These read one atomically published snapshot and never lock or allocate:
//
//	h := b.TxHash(frame, vlan)        // HashL4 or HashSLB as the mode needs; 0 for active-backup
//	m := b.TxMember(h)                // member index to send on, -1: drop
//	b.Account(h, len(frame))          // bucket load for rebalancing
//	ok := b.RxAccept(member, isMulticast(dst)) // drop frames the bond must not take in
//	v := b.RxVerdict(member, multicast)        // same, plus AcceptIfNotMoved for balance-slb
//
// AcceptIfNotMoved (balance-slb, as OVS's BV_DROP_IF_MOVED) means: drop the
// frame, and do not learn from it, if its source MAC is already learned on
// another port of the bridge for that VLAN (we sent it out on one member
// and got it back on another). Frames with EtherType 0x8809 (LACP, Marker)
// must bypass RxAccept and go to HandleLACP.
//
// Member indexes are the ones SetMember returned; they are stable while the
// member exists and below MaxMembers, so the bridge keeps its own
// []dataplane.Port indexed the same way.
//
// # Slow path (one control goroutine)
//
// SetMember/RemoveMember/Reconfigure on configuration changes, SetCarrier
// on link changes, HandleLACP for each received slow-protocols frame, and
// Run at least every NextRun (and after any of the others). Run returns the
// LACP frames to transmit on members; after it, ShouldSendLearningPackets
// tells whether to send LearningPacket frames for every MAC the bridge
// learned on other ports, and ActiveMemberChanged gives the value for the
// Port row's bond_active_slave. A Registry holds all bonds of the switch
// and implements the unixctl commands.
//
// Show methods may be called from any goroutine.
//
// # Commands
//
// Registry implements bond/show, bond/list, bond/set-active-member,
// bond/enable-member, bond/disable-member, bond/migrate, lacp/show and
// lacp/show-stats, and HashCommand bond/hash, with Open vSwitch 3.1's
// texts (compared against ovs-vswitchd in test/e2e). Replies carry no
// trailing newline when OVS's do not; the unixctl layer adds one to every
// non-empty reply and error, as OVS's does.
//
// # What OVS does, and so do we
//
// balance-tcp needs negotiated LACP: with lacp=off, or LACP configured
// but not negotiated and no lacp-fallback-ab, the bond sends and accepts
// nothing; with lacp-fallback-ab it runs active-backup until LACP
// negotiates. An EXPIRED member with no partner counts as "negotiated" in
// lacp_status (but is not enabled). bond/disable-member lasts until the
// next run re-evaluates the link, as in OVS.
package bond

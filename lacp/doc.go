// Package lacp implements the Link Aggregation Control Protocol of IEEE
// 802.1AX (formerly 802.3ad) for one bond: the LACPDU and Marker PDU codec,
// the per-member actor/partner state with the CURRENT/EXPIRED/DEFAULTED
// receive states, periodic transmission, aggregator selection, a Marker
// responder, counters, and the text of `lacp/show` and `lacp/show-stats` in
// Open vSwitch's layout.
//
// The package is pure logic: it opens no socket, starts no goroutine and
// reads no clock. The owner (package bond, driven by the control plane)
// passes the time in and sends the frames it gets back:
//
//	a, err := lacp.New(lacp.Config{Name: "bond0", Active: true, Fast: true, SystemID: mac})
//	a.SetMember(0, lacp.MemberConfig{Name: "eth0", PortID: 1, MAC: mac0})
//	a.SetCarrier(0, true)
//	...
//	reply, err := a.Receive(0, frame, now) // every 0x8809 frame from member 0
//	for _, f := range a.Run(now) { send(f.Member, f.Frame) }
//	wake := a.NextRun() // call Run again no later than this
//
// The behaviour follows Open vSwitch's lib/lacp.c, which is what users
// compare us with and what our partners in the lab run: the receive machine
// is reduced to its three observable states (802.1AX-2014 6.4.12), a
// member's partner info expires after 3 transmit periods of the local
// timeout, an EXPIRED member requests fast transmission and goes to
// DEFAULTED after 3 more seconds, and selection attaches every member whose
// partner (system ID and key) agrees with the lead member's partner.
//
// An Aggregator is safe for concurrent use: show commands may run in another
// goroutine than the one driving Receive and Run. Nothing here is on the
// per-packet path.
package lacp

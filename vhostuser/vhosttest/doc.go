// Package vhosttest is a small virtio-user front-end for tests: guest
// memory in a memfd shared with the back-end, split rings laid out in it
// and driven from the driver side (post frames to transmit, post buffers to
// receive into, collect what the device used), and a vhost-user protocol
// client that sets a device up over a socket. It also exposes the raw
// pieces (descriptors, ring indexes, arbitrary messages) so hostile-guest
// tests can break every rule.
//
// It is for tests and for the packet generator's front-end, not for
// production data paths: its set-up and test helpers allocate freely. The
// burst path (Ring.TxBurst, Ring.RxBurst, Frontend.StartBurst, burst.go)
// is gvs-pktgen's data path and allocates nothing per burst.
package vhosttest

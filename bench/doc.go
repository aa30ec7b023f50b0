// Package bench is the engine of gvs-pktgen, a packet generator that
// measures a switch the way users measure one: it sends streams of
// UDP/IPv4 frames (fixed size or IMIX, many flows, optional VLAN tag) at a
// set rate or as fast as it can through generator ports, receives them back
// and matches each frame's payload signature (run, stream, sequence number,
// transmit timestamp) to report throughput, loss, reordering and latency
// percentiles. RFC2544 runs the RFC 2544 section 26.1 throughput search and
// the section 26.2 latency measurement on top of Run.
//
// A generator Port is a vhost-user front-end (VhostPort: the virtio-user
// side, in client or server socket role, built on vhostuser/vhosttest's
// rings) or any dataplane.Port (AF_PACKET, AF_XDP, ixgbe) through
// DataplanePort. OpenPort makes one from a command-line spec such as
// "vhost-server:/run/vhu0.sock" or "afpacket:veth0".
//
// Frame sizes are the bytes handed to the port, without the 4-byte FCS, as
// dpdk-testpmd's --txpkts counts them; line-rate percentages count 20 more
// bytes per frame on the wire (preamble, start delimiter, inter-frame gap),
// so 64-byte frames at 100 % of 10 Gbit/s are 14.88 Mpps, the figure users
// expect for minimum-size frames.
//
// The send/receive loop runs on one locked OS thread, optionally pinned to
// a CPU, and allocates nothing per burst (see BenchmarkLoop).
package bench

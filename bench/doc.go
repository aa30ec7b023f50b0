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
// Frame sizes count the 4-byte FCS, as RFC 2544 and DPDK's pktgen do: a
// 64-byte frame is 60 bytes handed to the port (dpdk-testpmd's --txpkts
// counts without FCS: its 60 is our 64), and a 1518-byte frame fits a
// 1500-byte MTU. Byte counts and Gbit/s count the FCS too. Line-rate
// percentages add 20 bytes per frame on the wire (preamble, start
// delimiter, inter-frame gap), so 64-byte frames at 100 % of 10 Gbit/s are
// 14.88 Mpps, the figure users expect for minimum-size frames.
//
// The send/receive loop runs on one locked OS thread, optionally pinned to
// a CPU, and allocates nothing per burst (see BenchmarkLoop).
package bench

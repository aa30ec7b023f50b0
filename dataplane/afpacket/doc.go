// Package afpacket is the port for an existing kernel network interface
// (Interface type "system" or empty): an AF_PACKET socket bound to the
// interface by ifindex, in promiscuous mode, with PACKET_MMAP rings
// (TPACKET_V2) for receive and transmit, so a burst costs no system call
// on receive and one sendto kick on transmit (packet(7), and the kernel's
// Documentation/networking/packet_mmap.rst).
//
// The socket uses PACKET_VNET_HDR, so frames keep their offload metadata:
// a veth with its default offloads hands over TCP/UDP frames whose
// checksum is only partial, and TCP frames of up to 64 KiB (GSO). GSO
// frames are cut into MSS-sized segments on receive (package
// internal/offload), so every packet fits a pool buffer and the MTU, and
// partial checksums are completed, so any egress port can forward the
// packets: TCP between namespaces works without turning the veths'
// offloads off (Open vSwitch needs ethtool -K tx off). Options.KeepOffloads
// leaves checksums partial (Packet.Offload/CsumStart/CsumOffset) and
// Options.GSOPool keeps GSO frames whole (Packet.GSOSize), which is several
// times faster; the bridge then completes or segments them for egress
// ports that cannot carry them. On transmit, the metadata of any packet
// goes into the virtio-net header and the kernel completes the work: the
// port is a dataplane.OffloadCapable that carries everything.
//
// Frames the socket itself sent are not received again
// (PACKET_IGNORE_OUTGOING, and PACKET_OUTGOING frames are skipped). VLAN
// tags the kernel moved into the ring header are put back into the frame.
// The kernel interface keeps its name; the port only opens it.
//
// Setting up and tearing down the rings waits for RCU grace periods (tens
// of milliseconds per port), which a waiting ovs-vsctl add-port/del-port
// would wait for too. So Open takes a socket whose rings were made in
// advance (two spares are kept, in the namespace of the last Open, about
// 9 MiB of kernel memory each), and Close leaves promiscuous mode and
// gives the buffers back at once but closes the socket in the background.
package afpacket

// Package afxdp is the port for a kernel network interface driven through
// AF_XDP sockets (Interface type "afxdp"): a small XDP program redirects
// the frames of each bound receive queue into an AF_XDP socket (XSK), whose
// memory (the UMEM) is a packet Pool of our own, so a received frame
// becomes a *dataplane.Packet without a copy (the kernel's
// Documentation/networking/af_xdp.rst).
//
// Each queue of the port (options:n_rxq) has one XSK with its own UMEM:
// an Arena cut into 2048-byte chunks, one per Packet buffer of the queue's
// Pool, and the four rings (fill, completion, rx, tx) mmapped from the
// socket. The receive side posts free Packets' chunks on the fill ring and
// hands the frames of the rx ring to the caller; the transmit side puts a
// Packet of the same queue's Pool on the tx ring as it is, copies any
// other Packet into one of its chunks, kicks the kernel with sendto when
// the ring asks for it (need_wakeup) and gives chunks back to the Pool from
// the completion ring. Bursts make one atomic load and store per ring and
// at most one system call.
//
// The XDP program is built in Go with cilium/ebpf's asm package (no C
// compiler): it looks the frame's rx queue index up in an XSKMAP and
// redirects the frame there, or passes it to the kernel stack when no
// socket is bound to that queue. It is attached with a bpf link, which the
// kernel removes when the process exits, so a crashed switch leaves no
// program on the interface. On kernels without XDP links the program is
// attached over netlink instead, and Open removes a program of ours left
// behind by a crashed process before attaching its own.
//
// The XDP modes are Open vSwitch's (options:xdp-mode): native-with-zerocopy
// (driver hook, the NIC DMAs into the UMEM), native (driver hook, the
// kernel copies into the UMEM), generic (the kernel's skb hook, works on
// any interface) and best-effort, which tries them in that order. The mode
// in use is reported in Status as "xdp-mode".
//
// Limits: a frame must fit a 2048-byte chunk after the kernel's 256 bytes
// of XDP headroom, so the MTU is at most MaxMTU (1774); an XDP frame
// carries no checksum or segmentation metadata, so the hosts sending
// through the interface must not leave checksums partial (ethtool -K DEV
// tx off on a veth's peer, as Open vSwitch's afxdp documentation asks).
// Packets from other ports are copied into a chunk on transmit; a
// partial checksum they carry is completed first.
package afxdp

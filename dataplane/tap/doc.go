// Package tap is the port for Interface type "internal": a kernel tap
// device named after the port (the bridge's own port, e.g. ovsbr0, shows
// in `ip link` and can carry the host's IP address). It is created through
// /dev/net/tun (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, non-blocking), configured
// with netlink (MAC, MTU, up) and disappears when the port is closed.
//
// The virtio-net header carries offload metadata both ways: frames with a
// partial checksum or GSO metadata from other ports are written with it,
// the kernel completing them. By default the tap offers no offload to the
// host stack, so what it reads is complete and fits a pool buffer; with
// Options.KeepOffloads the host stack may hand over partial checksums
// (TUN_F_CSUM), and with Options.GSOPool whole TCP GSO frames (TUN_F_TSO4/6),
// read with readv into a pool buffer plus a spill area; the bridge completes
// or segments them for egress ports that cannot carry them (the tap itself
// is a dataplane.OffloadCapable that carries everything). The tap has one rx
// and one tx queue; each frame costs one read or write system call (a tap
// has no batched interface).
package tap

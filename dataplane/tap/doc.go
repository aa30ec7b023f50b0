// Package tap is the port for Interface type "internal": a kernel tap
// device named after the port (the bridge's own port, e.g. ovsbr0, shows
// in `ip link` and can carry the host's IP address). It is created through
// /dev/net/tun (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, non-blocking), configured
// with netlink (MAC, MTU, up) and disappears when the port is closed.
//
// The virtio-net header carries offload metadata both ways: frames with a
// partial checksum or GSO metadata from other ports are written with it,
// the kernel completing them; with Options.KeepOffloads the host stack may
// hand over frames with a partial checksum (TUN_F_CSUM). TSO is never
// offered, so the kernel segments before the tap and every frame fits a
// pool buffer. The tap has one rx and one tx queue; each frame costs one read or
// write system call (a tap has no batched interface).
package tap

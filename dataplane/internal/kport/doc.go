// Package kport holds what the ports backed by a kernel network interface
// (afpacket, tap, afxdp) do alike: finding the interface by name and
// setting its MTU over netlink (Lookup, SetMTU), the receive side's
// offload settings, which the control plane changes while a polling
// goroutine reads them (Offloads), and the virtio-net GSO type a kernel
// socket wants with a TCP GSO frame (GSOType).
package kport

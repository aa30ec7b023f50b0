// Package kport holds what the ports backed by a kernel network interface
// (afpacket, tap, afxdp) do alike: finding the interface by name over
// netlink (Lookup), and the receive side's offload settings, which the
// control plane changes while a polling goroutine reads them (Offloads).
package kport

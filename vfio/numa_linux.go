package vfio

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mbind(2) constants (include/uapi/linux/mempolicy.h).
const (
	mpolBind   = 2
	mpolMFMove = 1 << 1
)

// BindToNode moves mem's pages to NUMA node and keeps them there
// (mbind MPOL_BIND with MPOL_MF_MOVE), so that a device's DMA memory is
// local to its socket, as dpdk-socket-mem's per-node pools are.
func BindToNode(mem []byte, node int) error {
	if node < 0 || node >= 64 {
		return fmt.Errorf("NUMA node %d: out of range", node)
	}
	if len(mem) == 0 {
		return nil
	}
	mask := uint64(1) << node
	_, _, e := unix.Syscall6(unix.SYS_MBIND, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)),
		mpolBind, uintptr(unsafe.Pointer(&mask)), 64, mpolMFMove)
	if e != 0 {
		return fmt.Errorf("mbind %d bytes to NUMA node %d: %w", len(mem), node, e)
	}
	return nil
}

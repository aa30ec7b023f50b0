package relaxed

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// membarrier(2) commands (linux/membarrier.h).
const (
	membarrierCmdGlobal                   = 1 << 0
	membarrierCmdPrivateExpedited         = 1 << 3
	membarrierCmdRegisterPrivateExpedited = 1 << 4
)

// fenced says whether Barrier can fence the other threads; without it a
// Flag's Set is an atomic store. expedited picks the cheap command
// (IPIs to the CPUs running our threads, ~0.2 µs) over the global one
// (waits for every CPU to schedule, milliseconds).
var fenced, expedited = probe()

func probe() (fenced, expedited bool) {
	if _, _, e := unix.Syscall(unix.SYS_MEMBARRIER, membarrierCmdRegisterPrivateExpedited, 0, 0); e == 0 {
		return true, true
	}
	if _, _, e := unix.Syscall(unix.SYS_MEMBARRIER, 0, 0, 0); e == 0 { // MEMBARRIER_CMD_QUERY
		return true, false
	}
	return false, false
}

// Barrier returns after every running thread of the process has executed
// a full memory barrier: stores a PMD made before it are visible to the
// caller, and loads the PMD makes after it see the caller's earlier
// stores. It is a system call: for the control plane, never per packet.
// Without membarrier(2) (then Flags are atomic anyway) it is a local full
// barrier.
func Barrier() {
	switch {
	case expedited:
		unix.Syscall(unix.SYS_MEMBARRIER, membarrierCmdPrivateExpedited, 0, 0)
	case fenced:
		unix.Syscall(unix.SYS_MEMBARRIER, membarrierCmdGlobal, 0, 0)
	default:
		var x uint32
		atomic.AddUint32(&x, 1)
	}
}

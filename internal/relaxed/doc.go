// Package relaxed has the memory-ordering tools of the packet path: a
// counter and a flag that their owner goroutine (a PMD) updates with plain
// stores, a spin lock released by a plain store, and Barrier, the heavy
// fence the control plane issues before it reads such a flag.
//
// Why: every locked instruction (Go's atomic Add, Store, Swap and
// CompareAndSwap on amd64) drains the CPU's store buffer. A PMD's store
// buffer is full of stores into guest memory and rings that another core
// reads, so each of the two dozen counters and flags a burst used to update
// atomically cost it hundreds of cycles. DPDK and OVS keep such counters in
// plain per-thread memory; this package does the same within Go's rules:
// one writer at a time, readers load atomically (a racing aligned 64-bit
// read sees some written value, never a torn one), and under the race
// detector every write is an atomic so that it checks the callers.
//
// The pattern for a flag (Dekker's, with the fence moved to the rare side,
// as in userspace RCU's membarrier flavour):
//
//	PMD:     busy.Set(1); q := live.Load(); ...use q...; busy.Set(0)
//	control: live.Store(nil); relaxed.Barrier(); for busy.Load() != 0 {}
//
// Barrier makes every thread of the process execute a full memory barrier
// (membarrier(2)), so after it either the PMD's Set(1) is visible or the
// PMD's following Load sees nil.
package relaxed

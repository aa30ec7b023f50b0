package virtq

// prefetch asks the CPU to bring the cache line at addr closer
// (PREFETCHT0). It is a hint: it never faults and reads nothing we use.
func prefetch(addr uintptr)

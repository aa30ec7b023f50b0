package virtq

import "unsafe"

// prefetchLines asks the CPU to bring the first two cache lines at each
// of addrs[0:n] closer (PREFETCHT0), for reading; prefetchLinesW does it
// for writing (PREFETCHW: the lines arrive exclusive, so the stores that
// follow need no second trip to take them from the core that last wrote
// them). Hints only: they never fault and read nothing we use. One call
// per burst: an assembly function is not inlined, and its call costs more
// than a prefetch.
//
//go:noescape
func prefetchLines(addrs *unsafe.Pointer, n int)

//go:noescape
func prefetchLinesW(addrs *unsafe.Pointer, n int)

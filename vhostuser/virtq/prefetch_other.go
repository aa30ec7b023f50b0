//go:build !amd64

package virtq

import "unsafe"

// prefetchLines and prefetchLinesW are no-ops where we have no prefetch
// instruction wired up.
func prefetchLines(addrs *unsafe.Pointer, n int)  {}
func prefetchLinesW(addrs *unsafe.Pointer, n int) {}

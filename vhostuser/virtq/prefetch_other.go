//go:build !amd64

package virtq

// prefetch is a no-op where we have no prefetch instruction wired up.
func prefetch(addr uintptr) {}

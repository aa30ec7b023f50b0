package pmd

// rdtsc reads the time-stamp counter (Intel SDM vol. 2B, RDTSC): ~20
// cycles, no system call, constant rate on CPUs with constant_tsc.
//
//go:noescape
func rdtsc() uint64

func cycles() uint64 { return rdtsc() }

//go:build !amd64

package pmd

import "time"

var clockBase = time.Now()

// cycles is nanoseconds on architectures without a TSC reader here;
// cyclesPerSecond then calibrates to 1e9.
func cycles() uint64 { return uint64(time.Since(clockBase)) }

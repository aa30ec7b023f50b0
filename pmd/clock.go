package pmd

import (
	"sync"
	"time"
)

var (
	hzOnce sync.Once
	hz     float64
)

// cyclesPerSecond is the rate of cycles(), measured once against the
// monotonic clock over 20 ms.
func cyclesPerSecond() float64 {
	hzOnce.Do(func() {
		t0, c0 := time.Now(), cycles()
		time.Sleep(20 * time.Millisecond)
		c1, t1 := cycles(), time.Now()
		hz = float64(c1-c0) / t1.Sub(t0).Seconds()
		if hz <= 0 {
			hz = 1e9
		}
	})
	return hz
}

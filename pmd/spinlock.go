package pmd

import (
	"runtime"
	"sync/atomic"
)

// SpinLock serialises PMDs sharing one tx queue of a port that has fewer
// tx queues than there are PMDs. Its zero value is unlocked. Hold it for
// one TxBurst only: a PMD never sleeps while holding it, so waiting by
// spinning is cheaper than parking the thread.
type SpinLock struct{ v atomic.Uint32 }

// Lock acquires the lock.
func (l *SpinLock) Lock() {
	for i := 0; !l.v.CompareAndSwap(0, 1); i++ {
		if i&63 == 63 {
			// The holder may have been preempted (PMDs sharing a CPU).
			runtime.Gosched()
		}
	}
}

// TryLock acquires the lock if it is free.
func (l *SpinLock) TryLock() bool { return l.v.CompareAndSwap(0, 1) }

// Unlock releases the lock.
func (l *SpinLock) Unlock() { l.v.Store(0) }

package relaxed

import (
	"runtime"
	"sync/atomic"
)

// Counter is a uint64 that one goroutine at a time adds to (the owner; a
// lock may hand ownership between goroutines) and any goroutine reads. Its
// zero value is 0. Counters written by several goroutines at once must
// use AddShared.
type Counter struct{ v uint64 }

// Load returns the value; safe from any goroutine.
func (c *Counter) Load() uint64 { return atomic.LoadUint64(&c.v) }

// Store sets the value, atomically; for resets while the owner does not
// add (a stopped queue), or by the owner itself.
func (c *Counter) Store(n uint64) { atomic.StoreUint64(&c.v, n) }

// AddShared adds n atomically: for a counter more than one goroutine
// may add to at the same time. It costs a locked instruction.
func (c *Counter) AddShared(n uint64) { atomic.AddUint64(&c.v, n) }

// Flag is a uint32 that its owner sets with a plain store and others read,
// paired with Barrier on the reading side when they must not miss a Set
// (see the package documentation). Its zero value is 0.
type Flag struct{ v uint32 }

// Load returns the value; safe from any goroutine.
func (f *Flag) Load() uint32 { return atomic.LoadUint32(&f.v) }

// SpinLock serialises the goroutines sharing one queue (PMDs sharing a tx
// queue of a port with fewer queues than PMDs, or a PMD and the control
// plane). Its zero value is unlocked. Hold it for one burst only: nothing
// sleeps while holding it, so waiting by spinning is cheaper than parking.
// Lock costs one compare-and-swap; on amd64 Unlock is a plain store,
// ordered after everything done under the lock (total store order).
type SpinLock struct{ v uint32 }

// Lock acquires the lock.
func (l *SpinLock) Lock() {
	for i := 0; !atomic.CompareAndSwapUint32(&l.v, 0, 1); i++ {
		if i&63 == 63 {
			runtime.Gosched() // the holder may share our CPU and be preempted
		}
	}
}

// TryLock acquires the lock if it is free.
func (l *SpinLock) TryLock() bool { return atomic.CompareAndSwapUint32(&l.v, 0, 1) }

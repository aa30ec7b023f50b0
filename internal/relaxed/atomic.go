//go:build race || !amd64

package relaxed

import "sync/atomic"

// Add adds n; only the owner may call it. Under the race detector, and
// off amd64 (weaker store ordering; 64-bit stores that may tear), it is
// atomic.
func (c *Counter) Add(n uint64) { atomic.AddUint64(&c.v, n) }

// Set stores v; only the owner may call it.
func (f *Flag) Set(v uint32) { atomic.StoreUint32(&f.v, v) }

// Unlock releases the lock.
func (l *SpinLock) Unlock() { atomic.StoreUint32(&l.v, 0) }

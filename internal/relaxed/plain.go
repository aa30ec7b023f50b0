//go:build !race && amd64

package relaxed

import "sync/atomic"

// Add adds n; only the owner may call it. A plain read-modify-write: no
// locked instruction.
func (c *Counter) Add(n uint64) { c.v += n }

// Set stores v; only the owner may call it. A plain store (a release on
// amd64) where Barrier can fence it from the other side, an atomic store
// otherwise.
func (f *Flag) Set(v uint32) {
	if fenced {
		f.v = v
		return
	}
	atomic.StoreUint32(&f.v, v)
}

// Unlock releases the lock with a plain store: on amd64 (total store
// order) every store is a release.
func (l *SpinLock) Unlock() { l.v = 0 }

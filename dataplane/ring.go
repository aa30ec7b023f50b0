package dataplane

import (
	"fmt"
	"sync/atomic"
)

// cacheLinePad keeps the producer's and the consumer's indexes on different
// cache lines so that the two sides do not slow each other down.
type cacheLinePad [64]byte

// SPSCRing is a bounded lock-free queue for exactly one producer goroutine
// and one consumer goroutine (e.g. a PMD handing frames to the control
// plane). Enqueue and Dequeue move whole bursts with one atomic store each.
// It never allocates after NewSPSCRing.
type SPSCRing[T any] struct {
	_    cacheLinePad
	head atomic.Uint64 // next slot the consumer reads
	_    cacheLinePad
	tail atomic.Uint64 // next slot the producer writes
	_    cacheLinePad
	mask uint64
	buf  []T
}

// NewSPSCRing makes a ring holding up to size items; size is rounded up to
// a power of two.
func NewSPSCRing[T any](size int) *SPSCRing[T] {
	n := ringSize(size)
	return &SPSCRing[T]{mask: uint64(n - 1), buf: make([]T, n)}
}

func ringSize(size int) int {
	if size < 1 || size > 1<<30 {
		panic(fmt.Sprintf("dataplane: ring size %d out of range", size)) // programmer error
	}
	n := 1
	for n < size {
		n <<= 1
	}
	return n
}

// Cap is the number of items the ring holds when full.
func (r *SPSCRing[T]) Cap() int { return len(r.buf) }

// Len is a snapshot of the number of queued items.
func (r *SPSCRing[T]) Len() int { return int(r.tail.Load() - r.head.Load()) }

// Enqueue appends as many of items as fit and returns how many it took.
// Producer side only.
func (r *SPSCRing[T]) Enqueue(items []T) int {
	t := r.tail.Load()
	n := min(len(items), len(r.buf)-int(t-r.head.Load()))
	for i := range n {
		r.buf[(t+uint64(i))&r.mask] = items[i]
	}
	r.tail.Store(t + uint64(n))
	return n
}

// Dequeue moves up to len(items) items into items and returns how many.
// Consumer side only.
func (r *SPSCRing[T]) Dequeue(items []T) int {
	h := r.head.Load()
	n := min(len(items), int(r.tail.Load()-h))
	var zero T
	for i := range n {
		j := (h + uint64(i)) & r.mask
		items[i] = r.buf[j]
		r.buf[j] = zero
	}
	r.head.Store(h + uint64(n))
	return n
}

// MPSCRing is a bounded lock-free queue for any number of producer
// goroutines and one consumer: the per-port queue of frames the control
// plane injects (LACPDUs, learning packets) for the PMD that owns the tx
// queue, or the slow-path queue from PMDs to the control plane. Each slot
// carries a sequence number (the bounded-queue scheme of D. Vyukov): a
// producer claims a run of slots with one compare-and-swap, fills them and
// publishes each slot; the consumer takes published slots in order. A
// producer preempted half-way only delays the consumer at its slot; nobody
// blocks or spins on a lock.
type MPSCRing[T any] struct {
	_    cacheLinePad
	head atomic.Uint64 // consumer position
	_    cacheLinePad
	tail atomic.Uint64 // next position a producer claims
	_    cacheLinePad
	mask uint64
	seq  []atomic.Uint64 // slot i is free for position p when seq == p, full when seq == p+1
	buf  []T
}

// NewMPSCRing makes a ring holding up to size items (rounded up to a power
// of two).
func NewMPSCRing[T any](size int) *MPSCRing[T] {
	n := ringSize(size)
	r := &MPSCRing[T]{mask: uint64(n - 1), seq: make([]atomic.Uint64, n), buf: make([]T, n)}
	for i := range r.seq {
		r.seq[i].Store(uint64(i))
	}
	return r
}

// Cap is the number of items the ring holds when full.
func (r *MPSCRing[T]) Cap() int { return len(r.buf) }

// Len is a snapshot of the number of queued (claimed) items.
func (r *MPSCRing[T]) Len() int { return int(r.tail.Load() - r.head.Load()) }

// Enqueue appends as many of items as fit and returns how many it took.
// Safe for concurrent producers.
func (r *MPSCRing[T]) Enqueue(items []T) int {
	for {
		t := r.tail.Load()
		// Positions below head+cap have been released by the consumer:
		// it advances head only after resetting their slots.
		n := min(len(items), len(r.buf)-int(t-r.head.Load()))
		if n <= 0 {
			return 0
		}
		if !r.tail.CompareAndSwap(t, t+uint64(n)) {
			continue
		}
		for i := range n {
			p := t + uint64(i)
			r.buf[p&r.mask] = items[i]
			r.seq[p&r.mask].Store(p + 1)
		}
		return n
	}
}

// Dequeue moves up to len(items) published items into items, in order, and
// returns how many. Consumer side only.
func (r *MPSCRing[T]) Dequeue(items []T) int {
	h := r.head.Load()
	var zero T
	n := 0
	for n < len(items) {
		p := h + uint64(n)
		j := p & r.mask
		if r.seq[j].Load() != p+1 {
			break // empty, or a producer has not published this slot yet
		}
		items[n] = r.buf[j]
		r.buf[j] = zero
		r.seq[j].Store(p + uint64(len(r.buf)))
		n++
	}
	r.head.Store(h + uint64(n))
	return n
}

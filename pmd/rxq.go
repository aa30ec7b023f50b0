package pmd

import (
	"sync/atomic"

	"gvswitch/dataplane"
	"gvswitch/internal/relaxed"
)

// BurstSize is the most packets a PMD receives from one rx queue at a time.
const BurstSize = 32

// ProcessFunc handles one received burst on PMD thread t. It takes
// ownership of every packet in pkts (sends or frees each) and must not
// block; pkts is only valid during the call. It usually is the bridge's
// burst processing, which transmits on tx queue t.TxQueue() of each output
// port.
type ProcessFunc func(t *Thread, in *Rxq, pkts []*dataplane.Packet)

// RxQueueEnabler is implemented by ports whose rx queues can be enabled and
// disabled by the peer (a vhost-user guest); pmd-rxq-show prints
// "(disabled)" for a queue that reports false. Other ports' queues are
// always shown enabled, as in OVS.
type RxQueueEnabler interface {
	RxQueueEnabled(q int) bool
}

// Rxq is one rx queue of a port as the PMDs see it. Fill in the exported
// fields (or use NewRxq) before Manager.AddRxq and do not change them
// afterwards.
type Rxq struct {
	Port    dataplane.Port
	Queue   int
	Process ProcessFunc
	// Affinity is the PMD core this queue is pinned to
	// (Interface other_config:pmd-rxq-affinity), or -1.
	Affinity int

	name        string
	quarantined atomic.Bool
	// Processing cycles: cur for the running interval, hist for the last
	// numIntervals finished ones (hist[histIdx%numIntervals] newest).
	// Written by the polling PMD only.
	cur     relaxed.Counter
	hist    [numIntervals]atomic.Uint64
	histIdx atomic.Uint32

	pmd *Thread // the PMD polling it; Manager.mu
}

// NewRxq describes rx queue q of port, processed by process, not pinned.
func NewRxq(port dataplane.Port, q int, process ProcessFunc) *Rxq {
	return &Rxq{Port: port, Queue: q, Process: process, Affinity: -1}
}

// Quarantined reports whether a panic while polling or processing this
// queue took it out of polling.
func (q *Rxq) Quarantined() bool { return q.quarantined.Load() }

// Restore puts a quarantined queue back into polling (after its owner has
// repaired or reopened the device).
func (q *Rxq) Restore() { q.quarantined.Store(false) }

func (q *Rxq) enabled() bool {
	if e, ok := q.Port.(RxQueueEnabler); ok {
		return e.RxQueueEnabled(q.Queue)
	}
	return true
}

// load is the processing cycles of the last n finished intervals.
func (q *Rxq) load(n int) uint64 {
	return sumIntervals(&q.hist, q.histIdx.Load(), n)
}

func sumIntervals(h *[numIntervals]atomic.Uint64, idx uint32, n int) uint64 {
	var s uint64
	for i := 0; i < n && i < numIntervals; i++ {
		s += h[(idx-uint32(i))%numIntervals].Load()
	}
	return s
}

// less orders queues by port name, then queue id (pmd-rxq-show order).
func (q *Rxq) less(r *Rxq) bool {
	if q.name != r.name {
		return q.name < r.name
	}
	return q.Queue < r.Queue
}

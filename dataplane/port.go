package dataplane

// Port is what every kind of port implements (dpdk, dpdkvhostuser,
// dpdkvhostuserclient, internal, system, afxdp). The bridge calls it once per
// burst, never per packet.
//
// Concurrency contract: a given rx queue is polled by one goroutine at a
// time, and a given tx queue is used by one goroutine at a time (the caller
// serialises a shared tx queue). Different queues may be used concurrently.
// Stats, Link and Close may be called from any goroutine.
type Port interface {
	// Name is the Interface name in the database.
	Name() string
	// RxBurst receives up to len(pkts) packets from rx queue q. It never
	// blocks; it returns how many it stored in pkts, handing them to the
	// caller.
	RxBurst(q int, pkts []*Packet) int
	// TxBurst sends pkts on tx queue q and takes ownership of all of them:
	// the ones it cannot send it frees and counts as tx drops. It returns
	// how many it sent.
	TxBurst(q int, pkts []*Packet) int
	// NumRxQueues and NumTxQueues are the queues in use now; they may
	// change when a guest negotiates queues (the port then calls the
	// function set with SetQueueChangeNotify, if it supports that).
	NumRxQueues() int
	NumTxQueues() int
	// Link reports whether the port can carry traffic now.
	Link() bool
	// MTU is the largest L3 payload the port carries (1500 by default).
	MTU() int
	// MAC is the port's own Ethernet address (the Interface mac_in_use).
	MAC() [6]byte
	// Stats are the port's counters since it was opened.
	Stats() PortStats
	// Close releases the port; RxBurst/TxBurst must not be called after.
	Close() error
}

// PortStats are the counters written to the Interface statistics column.
type PortStats struct {
	RxPackets, RxBytes, RxDropped, RxErrors uint64
	TxPackets, TxBytes, TxDropped, TxErrors uint64
}

// StatusReporter is implemented by ports that have key/value details for
// the Interface status column (e.g. vhost-user "mode", "features").
type StatusReporter interface {
	Status() map[string]string
}

// ExtraStats is implemented by ports that have more counters than
// PortStats (e.g. rx_crc_errors, ovs_tx_failure_drops); keys are the
// Interface statistics column's.
type ExtraStats interface {
	ExtraStats() map[string]uint64
}

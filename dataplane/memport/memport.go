// Package memport is an in-memory dataplane.Port for tests and benchmarks:
// the test feeds frames to its rx queues and reads back what the switch
// transmitted on it. It is not a real device and carries no traffic
// outside the process.
package memport

import (
	"fmt"
	"sync"
	"sync/atomic"

	"gvswitch/dataplane"
)

// Options configure New; zero values pick the defaults.
type Options struct {
	RxQueues, TxQueues int     // default 1 each
	QueueSize          int     // frames per rx queue and tx collection (default 1024)
	MTU                int     // default 1500
	MAC                [6]byte // the port's own address
	// Discard frees transmitted packets at once (counting them) instead of
	// keeping them for Take: for benchmarks.
	Discard bool
}

// Port is an in-memory port. RxBurst/TxBurst follow the dataplane.Port
// contract; Feed and Take are the test's side and are safe to call
// concurrently with them (one feeder per rx queue, one taker).
type Port struct {
	name string
	pool *dataplane.Pool
	opt  Options
	rx   []*dataplane.SPSCRing[*dataplane.Packet]
	tx   *dataplane.MPSCRing[*dataplane.Packet]
	link atomic.Bool
	mtu  atomic.Int64

	feedMu sync.Mutex

	rxPackets, rxBytes, rxDropped atomic.Uint64
	txPackets, txBytes, txDropped atomic.Uint64
	txBursts                      atomic.Uint64
	afterClose                    atomic.Uint64
	closed                        atomic.Bool
}

var _ dataplane.Port = (*Port)(nil)

// New makes a port whose fed frames are copied into buffers of pool.
func New(name string, pool *dataplane.Pool, opt Options) *Port {
	if opt.RxQueues <= 0 {
		opt.RxQueues = 1
	}
	if opt.TxQueues <= 0 {
		opt.TxQueues = 1
	}
	if opt.QueueSize <= 0 {
		opt.QueueSize = 1024
	}
	if opt.MTU <= 0 {
		opt.MTU = 1500
	}
	p := &Port{name: name, pool: pool, opt: opt, tx: dataplane.NewMPSCRing[*dataplane.Packet](opt.QueueSize)}
	for range opt.RxQueues {
		p.rx = append(p.rx, dataplane.NewSPSCRing[*dataplane.Packet](opt.QueueSize))
	}
	p.link.Store(true)
	p.mtu.Store(int64(opt.MTU))
	return p
}

// Name implements dataplane.Port.
func (p *Port) Name() string { return p.name }

// Feed copies frames into packets queued on rx queue q and returns how many
// it queued (fewer when the queue or the pool is full).
func (p *Port) Feed(q int, frames ...[]byte) int {
	p.feedMu.Lock()
	defer p.feedMu.Unlock()
	n := 0
	for _, f := range frames {
		pk := p.pool.Get()
		if pk == nil {
			break
		}
		if len(f) > len(pk.Room()) {
			pk.Free()
			continue
		}
		pk.SetLen(copy(pk.Room(), f))
		one := [1]*dataplane.Packet{pk}
		if p.rx[q].Enqueue(one[:]) == 0 {
			pk.Free()
			break
		}
		n++
	}
	return n
}

// RxBurst implements dataplane.Port.
func (p *Port) RxBurst(q int, pkts []*dataplane.Packet) int {
	if q < 0 || q >= len(p.rx) || p.closed.Load() {
		return 0
	}
	n := p.rx[q].Dequeue(pkts)
	var bytes uint64
	for _, pk := range pkts[:n] {
		bytes += uint64(pk.Len())
	}
	p.rxPackets.Add(uint64(n))
	p.rxBytes.Add(bytes)
	return n
}

// TxBurst implements dataplane.Port: it keeps the packets for Take (or
// frees them with Discard); a down link drops them.
func (p *Port) TxBurst(q int, pkts []*dataplane.Packet) int {
	p.txBursts.Add(1)
	if p.closed.Load() {
		p.afterClose.Add(1)
	}
	if q < 0 || q >= p.opt.TxQueues || !p.link.Load() || p.closed.Load() {
		p.txDropped.Add(uint64(len(pkts)))
		dataplane.PutBurst(pkts)
		return 0
	}
	var bytes uint64
	for _, pk := range pkts {
		bytes += uint64(pk.Len())
	}
	n := len(pkts)
	if !p.opt.Discard {
		n = p.tx.Enqueue(pkts)
		if n < len(pkts) {
			p.txDropped.Add(uint64(len(pkts) - n))
			dataplane.PutBurst(pkts[n:])
		}
	} else {
		dataplane.PutBurst(pkts)
	}
	p.txPackets.Add(uint64(n))
	p.txBytes.Add(bytes)
	return n
}

// Take returns copies of the frames transmitted since the last Take and
// frees their packets.
func (p *Port) Take() [][]byte {
	var out [][]byte
	buf := make([]*dataplane.Packet, 64)
	for {
		n := p.tx.Dequeue(buf)
		if n == 0 {
			return out
		}
		for _, pk := range buf[:n] {
			out = append(out, append([]byte(nil), pk.Data()...))
		}
		dataplane.PutBurst(buf[:n])
	}
}

// UsedAfterClose counts TxBurst calls made after Close: a contract breach
// by the caller that tests check for.
func (p *Port) UsedAfterClose() uint64 { return p.afterClose.Load() }

// TxBursts counts TxBurst calls (the bridge flushes once per burst).
func (p *Port) TxBursts() uint64 { return p.txBursts.Load() }

// NumRxQueues implements dataplane.Port.
func (p *Port) NumRxQueues() int { return len(p.rx) }

// NumTxQueues implements dataplane.Port.
func (p *Port) NumTxQueues() int { return p.opt.TxQueues }

// Link implements dataplane.Port; SetLink changes it.
func (p *Port) Link() bool      { return p.link.Load() }
func (p *Port) SetLink(up bool) { p.link.Store(up) }
func (p *Port) MTU() int        { return int(p.mtu.Load()) }
func (p *Port) SetMTU(mtu int)  { p.mtu.Store(int64(mtu)) }
func (p *Port) MAC() [6]byte    { return p.opt.MAC }

// Stats implements dataplane.Port.
func (p *Port) Stats() dataplane.PortStats {
	return dataplane.PortStats{
		RxPackets: p.rxPackets.Load(), RxBytes: p.rxBytes.Load(), RxDropped: p.rxDropped.Load(),
		TxPackets: p.txPackets.Load(), TxBytes: p.txBytes.Load(), TxDropped: p.txDropped.Load(),
	}
}

// Close implements dataplane.Port: queued frames are freed.
func (p *Port) Close() error {
	if p.closed.Swap(true) {
		return fmt.Errorf("memport %s: already closed", p.name)
	}
	buf := make([]*dataplane.Packet, 64)
	for _, r := range p.rx {
		for n := r.Dequeue(buf); n > 0; n = r.Dequeue(buf) {
			dataplane.PutBurst(buf[:n])
		}
	}
	for n := p.tx.Dequeue(buf); n > 0; n = p.tx.Dequeue(buf) {
		dataplane.PutBurst(buf[:n])
	}
	return nil
}

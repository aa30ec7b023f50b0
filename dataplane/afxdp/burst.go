package afxdp

import (
	"sync/atomic"

	"golang.org/x/sys/unix"

	"gvswitch/dataplane"
	"gvswitch/internal/offload"
	"gvswitch/internal/relaxed"
)

// fillBatch is the most chunks posted on the fill ring per refill, and
// the least worth a refill (fewer wait for the next burst).
const (
	fillBatch = 64
	fillMin   = 32
	// scratch is the size of the transmit side's scratch arrays: packets
	// to give back are flushed whenever it fills up.
	scratch = 64
)

// queue is one XSK's state, split by owner: the receiving goroutine uses
// the fill and rx rings, the transmitting goroutine the tx and completion
// rings (af_xdp.rst: each ring has one producer and one consumer, so the
// two sides need no lock between them).
type queue struct {
	x *xsk

	// Receive side.
	rxCache   *dataplane.PoolCache
	fillBuf   [fillBatch]*dataplane.Packet
	fillOut   int // chunks on the fill or rx ring (the kernel's)
	rxPackets relaxed.Counter
	rxBytes   relaxed.Counter
	rxErrors  relaxed.Counter

	_ [64]byte // keep the sides' counters off each other's cache line
	// (Counters: written by the side's owner, the polling PMD or the tx
	// queue lock holder, with plain stores.)

	// Transmit side.
	txCache   *dataplane.PoolCache
	compBuf   [scratch]*dataplane.Packet
	freeBuf   [scratch]*dataplane.Packet
	nfree     int
	txOut     int // chunks on the tx or completion ring
	txPackets relaxed.Counter
	txBytes   relaxed.Counter
	txDropped relaxed.Counter
	txErrors  relaxed.Counter
	txCopied  relaxed.Counter
}

func newQueue(x *xsk) *queue {
	return &queue{x: x, rxCache: x.pool.NewCache(0), txCache: x.pool.NewCache(0)}
}

// refill posts free chunks on the fill ring, and wakes the driver up when
// it asks for it (a zero-copy driver stops receiving when the fill ring
// ran dry, af_xdp.rst "XDP_USE_NEED_WAKEUP").
func (q *queue) refill(wakeup bool) {
	f := q.x.fill
	free := f.prodFree()
	if free >= fillMin {
		want := min(int(free), fillBatch)
		got := q.rxCache.GetBurst(q.fillBuf[:want])
		for i, pk := range q.fillBuf[:got] {
			f.addrs[(f.local+uint32(i))&f.mask] = q.x.addrOf(pk)
			q.fillBuf[i] = nil
		}
		f.local += uint32(got)
		f.publishProducer()
		q.fillOut += got
	}
	if wakeup && f.needWakeup() {
		unix.Syscall6(unix.SYS_RECVFROM, uintptr(q.x.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	}
}

// RxBurst receives up to len(pkts) frames from rx queue qi. The packets
// are the UMEM chunks the kernel wrote the frames into; the chunks it
// used are replaced on the fill ring from the queue's pool. No system
// call unless the driver asks for a wakeup.
func (p *Port) RxBurst(qi int, pkts []*dataplane.Packet) int {
	q := p.qs[qi]
	x := q.x
	r := x.rx
	avail := int(r.consAvail())
	if avail > len(pkts) {
		avail = len(pkts)
	}
	n := 0
	var bytes, errs uint64
	nframes := uint64(len(x.frame))
	for i := 0; i < avail; i++ {
		d := r.descs[(r.local+uint32(i))&r.mask]
		idx := d.Addr >> frameShift
		off := int(d.Addr & (FrameSize - 1))
		if idx >= nframes {
			// Not an address we gave: the chunk is lost to us.
			errs++
			continue
		}
		pk := x.frame[idx]
		pk.Reset()
		if !pk.SetFrameOffset(off) || !pk.SetLen(int(d.Len)) {
			pk.Free()
			errs++
			continue
		}
		bytes += uint64(d.Len)
		pkts[n] = pk
		n++
	}
	if avail > 0 {
		r.local += uint32(avail)
		r.publishConsumer()
		q.fillOut -= avail
		q.rxPackets.Add(uint64(n))
		q.rxBytes.Add(bytes)
		if errs > 0 {
			q.rxErrors.Add(errs)
		}
	}
	q.refill(p.wakeup)
	return n
}

// maxTxFrame is the largest frame a UMEM chunk carries.
const maxTxFrame = FrameSize - dataplane.Headroom

// TxBurst sends pkts on tx queue qi and takes ownership of all of them.
// A packet of this queue's UMEM goes on the tx ring as it is; any other
// is copied into a free chunk and given back to its pool. Partial
// checksums are completed first (an XSK carries no offload metadata).
// Chunks the kernel finished with come back from the completion ring at
// the start of the burst.
func (p *Port) TxBurst(qi int, pkts []*dataplane.Packet) int {
	q := p.qs[qi]
	x := q.x
	q.reap()
	t := x.tx
	free := int(t.prodFree())
	sent := 0
	var bytes, drops, errs, copied uint64
	for _, pk := range pkts {
		if sent == free {
			drops++
			q.giveBack(pk)
			continue
		}
		if pk.Offload&dataplane.OffloadCsumPartial != 0 {
			// virtio 1.1 5.1.6.2: the sender left the L4 checksum to
			// be completed from CsumStart.
			if offload.CompletePartial(pk.Data(), int(pk.CsumStart), int(pk.CsumOffset)) != nil {
				errs++
				q.giveBack(pk)
				continue
			}
		}
		f := pk
		if !x.owns(pk) {
			if pk.Len() > maxTxFrame {
				errs++ // a GSO frame: longer than a chunk
				q.giveBack(pk)
				continue
			}
			f = q.txCache.Get()
			if f == nil {
				drops++
				q.giveBack(pk)
				continue
			}
			n := copy(f.Room(), pk.Data())
			f.SetLen(n)
			q.giveBack(pk)
			copied++
		}
		d := &t.descs[(t.local+uint32(sent))&t.mask]
		d.Addr = x.frameAddr(f)
		d.Len = uint32(f.Len())
		d.Options = 0
		bytes += uint64(f.Len())
		sent++
	}
	q.flushFree()
	if sent > 0 {
		t.local += uint32(sent)
		t.publishProducer()
		q.txOut += sent
	}
	q.kick(p)
	q.txPackets.Add(uint64(sent))
	q.txBytes.Add(bytes)
	if drops > 0 {
		q.txDropped.Add(drops)
	}
	if errs > 0 {
		q.txErrors.Add(errs)
	}
	if copied > 0 {
		q.txCopied.Add(copied)
	}
	return sent
}

// maxKicks bounds the sendto calls of one burst in copy mode.
const maxKicks = 4

// kick makes the kernel transmit what is on the tx ring. Copy mode
// transmits inside sendto, at most a budget of frames per call (32 by
// default, XDP_MAX_TX_SKB_BUDGET), so it kicks again while frames are left
// and the kernel makes progress; a zero-copy driver transmits on its own
// and needs the call only when it set XDP_RING_NEED_WAKEUP.
func (q *queue) kick(p *Port) {
	t := q.x.tx
	cons := atomic.LoadUint32(t.consumer)
	for i := 0; i < maxKicks && cons != t.local; i++ {
		if p.wakeup && !t.needWakeup() {
			return
		}
		unix.Syscall6(unix.SYS_SENDTO, uintptr(q.x.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
		if p.mode == ModeNativeZeroCopy {
			return
		}
		next := atomic.LoadUint32(t.consumer)
		if next == cons {
			return // the device is busy or down: next burst
		}
		cons = next
	}
}

// giveBack queues a packet to be returned to its pool at the end of the
// burst (one lock per run of packets of a pool, dataplane.PutBurst).
func (q *queue) giveBack(pk *dataplane.Packet) {
	if q.x.owns(pk) {
		q.txCache.Put(pk)
		return
	}
	if q.nfree == len(q.freeBuf) {
		q.flushFree()
	}
	q.freeBuf[q.nfree] = pk
	q.nfree++
}

func (q *queue) flushFree() {
	if q.nfree == 0 {
		return
	}
	dataplane.PutBurst(q.freeBuf[:q.nfree])
	clear(q.freeBuf[:q.nfree])
	q.nfree = 0
}

// reap takes the chunks the kernel has sent from the completion ring back
// into the transmit side's cache.
func (q *queue) reap() {
	c := q.x.comp
	nframes := uint64(len(q.x.frame))
	for {
		avail := int(c.consAvail())
		if avail == 0 {
			return
		}
		avail = min(avail, len(q.compBuf))
		k := 0
		for i := 0; i < avail; i++ {
			idx := c.addrs[(c.local+uint32(i))&c.mask] >> frameShift
			if idx < nframes {
				q.compBuf[k] = q.x.frame[idx]
				k++
			}
		}
		c.local += uint32(avail)
		c.publishConsumer()
		q.txOut -= avail
		q.txCache.PutBurst(q.compBuf[:k])
		clear(q.compBuf[:k])
	}
}

// release closes the socket and frees the UMEM once every chunk is back:
// after the socket is closed the chunks on the kernel's rings are ours
// again, so the ones missing from the pool are still held by a caller.
// It returns how many are out (then the UMEM stays mapped).
func (q *queue) release() int {
	q.rxCache.Flush()
	q.txCache.Flush()
	q.flushFree()
	out := q.x.pool.Size() - q.x.pool.Available() - q.fillOut - q.txOut
	if out > 0 {
		// Leave the arena mapped: unmapping it would fault whoever
		// holds them.
		q.x.arena = nil
		q.x.close()
		return out
	}
	q.x.close()
	return 0
}

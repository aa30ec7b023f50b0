package ixgbe

import (
	"time"

	"gvswitch/dataplane"
)

// defaultRSSKey is the 40-byte Toeplitz key of Microsoft's RSS
// verification suite (also the 82599 datasheet 7.1.2.8.1 example), so the
// hashes of the well-known test vectors come out of the hardware.
var defaultRSSKey = [40]byte{
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2,
	0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
	0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
	0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
}

// RxBurst receives up to len(pkts) frames from rx queue q (7.1.6): it
// takes every descriptor the device marked done, hands its buffer to the
// caller, posts a fresh buffer in its place and moves the tail once.
func (p *Port) RxBurst(q int, pkts []*dataplane.Packet) int {
	if uint(q) >= uint(len(p.rx)) {
		return 0
	}
	r := &p.rx[q]
	ring, bufs, mask := r.ring, r.bufs, r.mask
	want := min(len(pkts), len(r.fill))
	// Count the completed descriptors first so that the buffers are
	// taken once per burst, exactly as many as are needed.
	k := 0
	for k < want && ring[(r.next+k)&mask].loadHi()&rxStatDD != 0 {
		k++
	}
	if k == 0 {
		return 0
	}
	got := r.cache.GetBurst(r.fill[:k])
	if got < k {
		// Out of buffers: leave the rest to the device's DROP_EN.
		r.nombuf.Add(uint64(k - got))
		k = got
	}
	n, bytes, bad := 0, 0, 0
	idx := r.next
	for i := 0; i < k; i++ {
		d := &ring[idx]
		hi := d.loadHi()
		status := uint32(hi)
		length := int(uint16(hi >> rxLenShift))
		pkt := bufs[idx]
		fresh := r.fill[i]
		r.fill[i] = nil
		switch {
		case status&rxStatEOP == 0:
			// 7.1.6.2: a frame larger than one buffer; SRRCTL sizes
			// buffers for the MTU, so this is a frame we drop whole.
			r.discard = true
			fallthrough
		case r.discard, status&rxErrMask != 0, length == 0, !pkt.SetLen(length):
			if status&rxStatEOP != 0 {
				r.discard = false
			}
			bad++
			r.cache.Put(pkt)
		default:
			pkt.Hash = uint32(d.loadLo() >> 32)
			pkts[n] = pkt
			n++
			bytes += length
		}
		bufs[idx] = fresh
		d.storeLo(fresh.IOVA())
		d.storeHi(0) // header address 0; clears DD
		idx = (idx + 1) & mask
	}
	r.next = idx
	// 8.2.3.8.5: the tail is one past the last descriptor given back.
	p.regs.Write32(r.tailReg, uint32((idx-1)&mask))
	if n > 0 {
		r.packets.Add(uint64(n))
		r.bytes.Add(uint64(bytes))
	}
	if bad > 0 {
		r.errs.Add(uint64(bad))
	}
	return n
}

// TxBurst sends pkts on tx queue q (7.2.3) and takes all of them. Frames
// that do not fit in the ring, or are empty or larger than the MTU allows,
// are freed and counted as dropped.
func (p *Port) TxBurst(q int, pkts []*dataplane.Packet) int {
	if uint(q) >= uint(len(p.tx)) {
		dataplane.PutBurst(pkts)
		return 0
	}
	t := &p.tx[q]
	p.txClean(t)
	ring, bufs, mask := t.ring, t.bufs, t.mask
	free := mask - (t.tail-t.clean)&mask
	n := min(len(pkts), free)
	maxFrame := p.dataRoom
	sent, bytes := 0, 0
	tail := t.tail
	for i := 0; i < n; i++ {
		pkt := pkts[i]
		l := pkt.Len()
		if l == 0 || l > maxFrame {
			t.cache.Put(pkt)
			continue
		}
		if !p.dmaReachable(pkt.BufferIOVA()) {
			if pkt = p.bounce(pkt); pkt == nil {
				continue
			}
		}
		bufs[tail] = pkt
		d := &ring[tail]
		d.storeLo(pkt.IOVA())
		d.storeHi(uint64(l) | txCmdStatic | uint64(l)<<txPayShift)
		tail = (tail + 1) & mask
		sent++
		bytes += l
	}
	if sent > 0 {
		t.tail = tail
		// 8.2.3.9.9: one doorbell for the burst.
		p.regs.Write32(t.tailReg, uint32(tail))
		t.packets.Add(uint64(sent))
		t.bytes.Add(uint64(bytes))
	}
	if dropped := len(pkts) - sent; dropped > 0 {
		t.cache.PutBurst(pkts[n:])
		t.dropped.Add(uint64(dropped))
	}
	if n < len(pkts) {
		p.txFull(q, t)
	}
	return sent
}

// txClean frees the buffers of transmitted descriptors, a batch at a time:
// the device writes descriptors back in order (7.2.3.5.2), so the DD bit of
// a batch's last descriptor covers the whole batch.
func (p *Port) txClean(t *txQueue) {
	ring, bufs, mask := t.ring, t.bufs, t.mask
	for {
		inflight := (t.tail - t.clean) & mask
		if inflight == 0 {
			break
		}
		batch := min(inflight, txCleanBatch)
		last := (t.clean + batch - 1) & mask
		if ring[last].loadHi()&txStatDD == 0 {
			break
		}
		// Into the queue's cache; the batch is two runs of the ring
		// when it wraps.
		first := min(batch, len(bufs)-t.clean)
		freeRun(t.cache, bufs[t.clean:t.clean+first])
		freeRun(t.cache, bufs[:batch-first])
		t.clean = (last + 1) & mask
		t.stuckSince = 0
	}
}

// txFull runs when a burst found the ring full: if no descriptor was
// written back for TxHangTimeout the queue is declared hung (Health).
// The clock is read only here, at most once per burst.
func (p *Port) txFull(q int, t *txQueue) {
	now := time.Now().UnixNano()
	if t.stuckSince == 0 {
		t.stuckSince = now
		return
	}
	if wait := time.Duration(now - t.stuckSince); wait > p.opts.TxHangTimeout && p.health.Load() == nil {
		p.fail(&txHangError{addr: p.info.Addr, queue: q, wait: wait,
			head: p.regs.Read32(txq(regTDH, q)), tail: uint32(t.tail)})
	}
}

type txHangError struct {
	addr       string
	queue      int
	wait       time.Duration
	head, tail uint32
}

func (e *txHangError) Error() string {
	return e.addr + ": " + ErrTxHang.Error() + ": tx queue " + itoa(e.queue) +
		": no descriptor written back (DD) for " + e.wait.Truncate(time.Millisecond).String() +
		", TDH=" + itoa(int(e.head)) + " TDT=" + itoa(int(e.tail))
}

func (e *txHangError) Unwrap() error { return ErrTxHang }

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := v < 0
	if neg {
		v = -v
	}
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

func freeRun(c *dataplane.PoolCache, bufs []*dataplane.Packet) {
	if len(bufs) == 0 {
		return
	}
	c.PutBurst(bufs)
	clear(bufs)
}

func (p *Port) dmaReachable(iova uint64) bool {
	for i := 0; i < p.ndma; i++ {
		if iova >= p.dma[i].lo && iova < p.dma[i].hi {
			return true
		}
	}
	return false
}

// bounce copies a packet from memory the device cannot reach into one of
// our buffers (the slow path for an arena nobody passed to MapArena).
func (p *Port) bounce(pkt *dataplane.Packet) *dataplane.Packet {
	c := p.pool.Get()
	if c != nil && !c.CopyFrom(pkt) {
		c.Free()
		c = nil
	}
	pkt.Free()
	return c
}

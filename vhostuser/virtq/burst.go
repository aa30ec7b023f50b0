package virtq

import (
	"encoding/binary"
	"unsafe"

	"gvswitch/dataplane"
	"gvswitch/vhostuser/proto"
)

// Dequeue receives up to len(pkts) frames the guest transmitted, into
// packets taken from cache (the caller's, in front of the packet pool), and returns
// how many it stored in pkts. Every
// descriptor chain it consumes goes back to the guest in the used ring, one
// used-index write and at most one interrupt per call. When the pool runs
// dry the remaining chains stay in the ring for the next call.
func (q *Queue) Dequeue(cache *dataplane.PoolCache, pkts []*dataplane.Packet) int {
	if q.broken.Load() != nil {
		return 0
	}
	avail, ok := q.pending()
	if !ok || avail == 0 {
		return 0
	}
	n := min(int(avail), len(pkts))
	got := cache.GetBurst(pkts[:n])
	if got == 0 {
		return 0 // nothing consumed: the guest keeps its frames for the next call
	}
	n = got
	q.plan(n, 0)
	var bs burstStats
	oldUsed := q.usedIdx
	out := 0
	var dropped uint64
	for i := 0; i < n; i++ {
		pk := pkts[out]
		head, flen, good := uint16(0), 0, false
		if k := int(q.lastAvail - q.pl.la0); k < q.pl.n && q.pl.buf[k] != nil {
			// Planned: one direct descriptor with header and frame.
			head = q.pl.head[k]
			flen, good = q.readDirect(unsafe.Slice((*byte)(q.pl.buf[k]), q.pl.len[k]), pk)
		} else {
			var ok bool
			if head, ok = q.head(q.lastAvail); !ok {
				break
			}
			flen, good = q.readFrame(head, pk)
			if q.broken.Load() != nil || q.missed {
				break // a miss leaves the chain in the ring for after the IOTLB update
			}
		}
		q.putUsed(q.usedIdx, head, 0)
		q.usedIdx++
		q.lastAvail++
		if !good {
			dropped++
			continue
		}
		pk.SetLen(flen)
		bs.add(pk.Data())
		out++
	}
	cache.PutBurst(pkts[out:n])
	if dropped != 0 {
		q.stats.Dropped.Add(dropped)
	}
	q.stats.flush(&bs)
	if q.usedIdx != oldUsed {
		q.publishUsed(q.usedIdx)
		q.notify(oldUsed, q.usedIdx)
	}
	return out
}

// maxPlan is how many chains a burst plans ahead (PMD bursts are 32).
const maxPlan = 64

// burstPlan is the look-ahead of one burst: for the chains from la0 on,
// the head the available ring named and, for a chain that is one direct
// descriptor with the flags the burst wants, its buffer, translated once.
// The copy loop uses these values and does not read the descriptor
// again, so what it validated is what it copies.
type burstPlan struct {
	n    int
	la0  uint16
	head [maxPlan]uint16
	len  [maxPlan]uint32
	buf  [maxPlan]unsafe.Pointer // nil: walk the chain
}

// plan looks at the next n available chains (at most maxPlan): it reads
// their heads and direct descriptors with flags equal to want, translates
// those buffers and prefetches their first two cache lines (for writing
// when want is descWrite), in one pass, so that the memory misses of the
// burst overlap instead of stalling the copy loop one by one (the buffers
// and descriptors were last written by the driver on another core). It
// stops at a head out of range: the copy loop reports that.
func (q *Queue) plan(n int, want uint16) {
	pl := &q.pl
	pl.la0, pl.n = q.lastAvail, 0
	if q.iotlb != nil {
		return
	}
	n = min(n, maxPlan)
	var pf [maxPlan]unsafe.Pointer
	m := 0
	for k := 0; k < n; k++ {
		off := 4 + 2*int((pl.la0+uint16(k))&q.mask)
		h := binary.LittleEndian.Uint16(q.avail[off:])
		if h >= q.size {
			break
		}
		pl.head[k] = h
		pl.buf[k] = nil
		d := readDesc(q.desc, h)
		if d.flags == want && d.len >= uint32(q.hdrLen) {
			if b := q.mem.GPA(d.addr, uint64(d.len)); b != nil {
				p := unsafe.Pointer(&b[0])
				pl.buf[k], pl.len[k] = p, d.len
				pf[m] = p
				m++
			}
		}
		pl.n = k + 1
	}
	if want == descWrite {
		prefetchLinesW(&pf[0], m)
	} else {
		prefetchLines(&pf[0], m)
	}
}

// readDirect copies the frame of a one-descriptor chain (header and frame
// in b: DPDK's virtio-user, Linux with ANY_LAYOUT) into pk.
func (q *Queue) readDirect(b []byte, pk *dataplane.Packet) (int, bool) {
	if len(b) < q.hdrLen+14 {
		return 0, false // 5.1.6.2: a full header, and an Ethernet header
	}
	room := pk.Room()
	data := b[q.hdrLen:]
	if len(data) > len(room) {
		return 0, false
	}
	if b[0] != 0 || b[1] != gsoNone {
		return q.readHeader(b, pk, copy(room, data))
	}
	return copy(room, data), true
}

// readFrame copies the frame of the chain at head into pk, skipping and
// interpreting the virtio-net header. good is false for a frame we drop
// (too long, offload we did not offer); a ring violation breaks the queue.
func (q *Queue) readFrame(head uint16, pk *dataplane.Packet) (n int, good bool) {
	var c chain
	q.startChain(&c, head)
	room := pk.Room()
	var hdr [HdrLen]byte
	hdrLeft := q.hdrLen
	good = true
	for {
		b, write, ok := c.next(proto.IOTLBPermRead)
		if !ok {
			break
		}
		if write {
			q.fail("device-writable descriptor in a transmit chain")
			return 0, false
		}
		if hdrLeft > 0 {
			k := copy(hdr[q.hdrLen-hdrLeft:q.hdrLen], b)
			hdrLeft -= k
			b = b[k:]
		}
		if len(b) > len(room)-n {
			good = false // too long for our buffer: keep walking to validate the chain
			continue
		}
		n += copy(room[n:], b)
	}
	if hdrLeft > 0 || n < 14 {
		return 0, false // 5.1.6.2: every frame starts with a full header; and an Ethernet header
	}
	if !good {
		return 0, false
	}
	return q.readHeader(hdr[:], pk, n)
}

// readHeader applies the virtio-net header of a frame of n bytes (5.1.6.2.1):
// the driver must not use GSO we did not offer; a partial checksum is
// passed on as offload metadata for the egress port.
func (q *Queue) readHeader(hdr []byte, pk *dataplane.Packet, n int) (int, bool) {
	if hdr[1] != gsoNone {
		return 0, false
	}
	if hdr[0]&hdrFNeedsCsum != 0 {
		pk.Offload |= dataplane.OffloadCsumPartial
		pk.CsumStart = binary.LittleEndian.Uint16(hdr[6:])
		pk.CsumOffset = binary.LittleEndian.Uint16(hdr[8:])
	}
	return n, true
}

// Enqueue copies pkts into the guest's receive buffers and returns how
// many it delivered; it does not free them. Packets that do not fit the
// posted buffers (or find none) are not delivered and are counted in
// Stats.Dropped; the caller frees all of them. With VIRTIO_NET_F_MRG_RXBUF
// a frame may span several buffers (5.1.6.3.1), and num_buffers in its
// header says how many.
func (q *Queue) Enqueue(pkts []*dataplane.Packet) int {
	n := q.TryEnqueue(pkts)
	if n < len(pkts) {
		q.stats.Dropped.Add(uint64(len(pkts) - n))
	}
	return n
}

// TryEnqueue is Enqueue without counting what it did not deliver: for a
// caller that tries the rest again (OVS's tx-retries) and counts drops
// itself.
func (q *Queue) TryEnqueue(pkts []*dataplane.Packet) int {
	avail, ok := uint16(0), q.broken.Load() == nil
	if ok {
		avail, ok = q.pending()
	}
	if !ok {
		return 0
	}
	q.plan(min(int(avail), len(pkts)), descWrite)
	var bs burstStats
	oldUsed := q.usedIdx
	sent := 0
	for _, pk := range pkts {
		if avail == 0 {
			break
		}
		used, ok := q.writeFrame(pk.Data(), avail)
		if q.broken.Load() != nil {
			break
		}
		if !ok {
			if used == 0 {
				break // out of buffers
			}
			continue // did not fit: dropped
		}
		avail -= used
		bs.add(pk.Data())
		sent++
	}
	q.stats.flush(&bs)
	if q.usedIdx != oldUsed {
		q.publishUsed(q.usedIdx)
		q.notify(oldUsed, q.usedIdx)
	}
	return sent
}

// writeFrame writes one frame with its header into as many available
// buffers as it takes (one without MRG_RXBUF). It returns the buffers used
// and true, or false with used 0 when it ran out of buffers, or false with
// used 1 when the frame cannot fit the guest's buffers at all (then nothing
// was consumed). Used-ring entries are written but only published by the
// caller, so giving up leaves the ring as it was.
func (q *Queue) writeFrame(frame []byte, avail uint16) (uint16, bool) {
	la, ui := q.lastAvail, q.usedIdx
	// Fast path: a planned chain of one direct writable descriptor that
	// holds header and frame (mergeable receive buffers, DPDK's and
	// Linux's layout).
	if k := int(la - q.pl.la0); k < q.pl.n && q.pl.buf[k] != nil && int(q.pl.len[k]) >= q.hdrLen+len(frame) {
		b := unsafe.Slice((*byte)(q.pl.buf[k]), q.pl.len[k])
		// A zero header (no offloads) with num_buffers 1; plain
		// stores, not a clear() call, on this path.
		binary.LittleEndian.PutUint64(b[0:8], 0)
		if q.hdrLen == HdrLen {
			binary.LittleEndian.PutUint32(b[8:12], 1<<16)
		} else {
			binary.LittleEndian.PutUint16(b[8:10], 0)
		}
		n := q.hdrLen + copy(b[q.hdrLen:], frame)
		q.putUsed(ui, q.pl.head[k], uint32(n))
		q.lastAvail, q.usedIdx = la+1, ui+1
		return 1, true
	}
	var hdr []byte
	copied := 0
	var nbufs uint16
	for copied < len(frame) || hdr == nil {
		if nbufs == avail {
			return 0, false
		}
		head, ok := q.head(la)
		if !ok {
			return 0, false
		}
		var c chain
		q.startChain(&c, head)
		written := 0
		for copied < len(frame) || hdr == nil {
			b, write, ok := c.next(proto.IOTLBPermWrite)
			if !ok {
				break
			}
			if !write {
				q.fail("device-readable descriptor in a receive chain")
				return 0, false
			}
			if len(b) == 0 {
				continue
			}
			if hdr == nil {
				// We write the header in one piece: drivers put it at
				// the start of the first buffer (Linux, DPDK).
				if len(b) < q.hdrLen {
					return 1, false
				}
				hdr = b[:q.hdrLen]
				clear(hdr)
				b = b[q.hdrLen:]
				written += q.hdrLen
			}
			k := copy(b, frame[copied:])
			copied += k
			written += k
		}
		if q.broken.Load() != nil || q.missed {
			return 0, false
		}
		q.putUsed(ui, head, uint32(written))
		ui++
		la++
		nbufs++
		if !q.mrg && copied < len(frame) {
			return 1, false // 5.1.6.3.1: without mergeable buffers one chain holds the frame
		}
		if nbufs > 0 && hdr == nil {
			return 1, false
		}
	}
	if q.hdrLen == HdrLen {
		binary.LittleEndian.PutUint16(hdr[10:], nbufs)
	}
	q.lastAvail, q.usedIdx = la, ui
	return nbufs, true
}

package dataplane

import (
	"gvswitch/internal/offload"
)

// TxOffloads is what a port can transmit of a packet's offload metadata
// (Packet.Offload, CsumStart, CsumOffset, GSOSize).
type TxOffloads struct {
	// CsumPartial: the port sends a packet with OffloadCsumPartial as it
	// is; the device, the kernel or the guest behind it completes the
	// checksum (virtio 1.1 5.1.6.2, VIRTIO_NET_HDR_F_NEEDS_CSUM).
	CsumPartial bool
	// MaxGSOFrame is the largest frame with GSOSize set that the port
	// sends whole, segmentation happening behind it (a kernel interface's
	// GSO, a NIC's TSO, a guest that negotiated TSO); 0 when it takes
	// none. A port that carries GSO must also carry partial checksums.
	MaxGSOFrame int
}

// OffloadCapable is implemented by ports that can transmit offload
// metadata. To a port that does not implement it the bridge sends only
// complete packets: it completes partial checksums and cuts GSO frames
// into MSS-sized segments (package internal/offload) in the egress path.
//
// The bridge asks when it builds a configuration snapshot (AddPort,
// SetPortConfig, RemovePort of any port, and RefreshOffloads), never per
// packet or burst. A port whose capability can shrink at run time (a
// guest renegotiating its features) must make the control plane call
// RefreshOffloads when it does, and until that returns handle (or drop
// and count) the packets its previous answer allowed.
type OffloadCapable interface {
	TxOffloads() TxOffloads
}

// txOffloadsOf is port d's transmit capability as a snapshot records it.
func txOffloadsOf(d Port) TxOffloads {
	oc, ok := d.(OffloadCapable)
	if !ok {
		return TxOffloads{}
	}
	o := oc.TxOffloads()
	if o.MaxGSOFrame < 0 || !o.CsumPartial {
		o.MaxGSOFrame = 0 // GSO frames always leave with a partial checksum
	}
	return o
}

// RefreshOffloads asks every port for its TxOffloads again and publishes
// a new snapshot; when it returns, no worker uses the old answers any
// more. For ports whose capability changes at run time (see
// OffloadCapable).
func (b *Bridge) RefreshOffloads() {
	b.mu.Lock()
	b.publishLocked(nil)
	b.mu.Unlock()
	b.waitQuiescent()
}

// adjustCsumStart moves a partial checksum's start after n bytes were
// inserted (n > 0) or removed (n < 0) in front of it (a VLAN tag pushed
// or popped): CsumStart counts from the frame's first byte.
func adjustCsumStart(p *Packet, n int) {
	if p.Offload&OffloadCsumPartial != 0 {
		p.CsumStart = uint16(int(p.CsumStart) + n)
	}
}

// egressCounters are one flush's drops and offload work for one port,
// added to the port's counters once.
type egressCounters struct {
	segmented, segments, completed, bad, nobuf, mtu uint64
}

func (c *egressCounters) addTo(bp *bridgePort) {
	if c.mtu != 0 {
		bp.cnt.mtu.Add(c.mtu)
	}
	if c.nobuf != 0 {
		bp.cnt.nobuf.Add(c.nobuf)
	}
	if c.segmented|c.segments|c.completed|c.bad != 0 {
		bp.cnt.segmented.Add(c.segmented)
		bp.cnt.segments.Add(c.segments)
		bp.cnt.completed.Add(c.completed)
		bp.cnt.offloadBad.Add(c.bad)
	}
}

// egressGSO queues the GSO frame p on send for target t: whole when t
// carries GSO frames of its size, else cut into segments (their checksums
// left partial only when t carries that). A full send vector is
// transmitted on the way. It returns the send vector.
func (w *worker) egressGSO(bp *bridgePort, t *txTarget, caps TxOffloads, mtu int, p *Packet, send []*Packet, ec *egressCounters) []*Packet {
	seg := &w.txSeg
	sl := initSegmenter(seg, p)
	switch {
	case sl < 0:
		ec.bad++
		w.cache.Put(p)
		return send
	case sl > mtu+maxL2Overhead:
		ec.mtu++
		w.cache.Put(p)
		return send
	case caps.MaxGSOFrame >= p.Len():
		if len(send) == cap(send) {
			send = w.transmit(bp, t, send)
		}
		return append(send, p)
	}
	ec.segmented++
	for {
		if len(send) == cap(send) {
			send = w.transmit(bp, t, send)
		}
		before := len(send)
		var nobuf bool
		send, nobuf = w.appendSegments(seg, send, p, caps.CsumPartial)
		ec.segments += uint64(len(send) - before)
		if nobuf {
			ec.nobuf++
			break
		}
		if seg.Done() {
			break
		}
	}
	w.cache.Put(p)
	return send
}

// floodGSO sends port oi a copy of the GSO frame p too large for a
// worker buffer, as segments (checksums left partial: the egress flush
// completes them for a port that needs it). It returns false when the
// copy was lost for lack of buffers.
func (w *worker) floodGSO(s *snapshot, oi int, p *Packet, vlan uint16, tagged bool) bool {
	seg := &w.floodSeg
	if initSegmenter(seg, p) < 0 {
		s.ports[oi].bp.cnt.offloadBad.Add(1)
		return true
	}
	bp := s.ports[oi].bp
	n := 0
	for !seg.Done() {
		segs, nobuf := w.appendSegments(seg, w.segs[:0], p, true)
		n += len(segs)
		for _, c := range segs {
			w.output(s, oi, c, vlan, tagged)
		}
		clear(segs)
		if nobuf {
			bp.cnt.segments.Add(uint64(n))
			return false
		}
	}
	bp.cnt.segmented.Add(1)
	bp.cnt.segments.Add(uint64(n))
	return true
}

// completeCsum finishes p's partial checksum in place for a port that
// cannot carry it; false if the metadata points outside the frame.
func completeCsum(p *Packet) bool {
	if offload.CompletePartial(p.Data(), int(p.CsumStart), int(p.CsumOffset)) != nil {
		return false
	}
	p.Offload = p.Offload&^OffloadCsumPartial | OffloadCsumValid
	return true
}

// initSegmenter prepares seg to cut p's GSO frame and returns the length
// of the largest segment (what the egress MTU limits, as for any frame:
// MTU + maxL2Overhead), or -1 when the frame is not a TCP frame the
// Segmenter can cut.
func initSegmenter(seg *offload.Segmenter, p *Packet) int {
	d := p.Data()
	if seg.Init(d, int(p.GSOSize)) != nil {
		return -1
	}
	return min(seg.MaxSegmentLen(), len(d))
}

// appendSegments cuts the GSO frame seg was initialised with (p's) into
// buffers of the worker's cache and appends them to dst until dst is full
// (len == cap) or the frame is done (seg.Done()). The segments keep a
// partial checksum when partial is true, else they are completed; they
// inherit p's metadata. nobuf reports that the worker ran out of buffers
// (or a segment does not fit one): the rest of the frame is then lost and
// the caller stops. The frame's packet is not freed.
func (w *worker) appendSegments(seg *offload.Segmenter, dst []*Packet, p *Packet, partial bool) (out []*Packet, nobuf bool) {
	for len(dst) < cap(dst) && !seg.Done() {
		c := w.cache.Get()
		if c == nil {
			return dst, true
		}
		l, err := seg.Next(c.Room())
		if err != nil {
			// A segment larger than a buffer (a GSO size beyond the
			// pool's data room): nothing more of this frame can go.
			w.cache.Put(c)
			return dst, true
		}
		c.SetLen(l)
		c.InPort, c.Hash = p.InPort, p.Hash
		if partial {
			c.Offload = OffloadCsumPartial
			c.CsumStart, c.CsumOffset = uint16(seg.L4Offset()), 16
		} else {
			// Next wrote the whole TCP header: the offsets are valid.
			_ = offload.CompletePartial(c.Data(), seg.L4Offset(), 16)
			c.Offload = OffloadCsumValid
		}
		dst = append(dst, c)
	}
	return dst, false
}

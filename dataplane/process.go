package dataplane

import (
	"encoding/binary"
	"time"

	"gvswitch/bond"
	"gvswitch/fdb"
	"gvswitch/internal/offload"
	"gvswitch/internal/relaxed"
)

// EtherTypes the pipeline looks at.
const (
	etherTypeVLAN  = 0x8100 // 802.1Q C-tag
	etherTypeQinQ  = 0x88a8 // 802.1ad S-tag
	etherTypeSlow  = 0x8809 // 802.3 Annex 43B slow protocols (LACP, Marker)
	etherTypeARP   = 0x0806
	ethHeaderLen   = 14
	vlanTagLen     = 4
	vlanIDMask     = 0x0fff
	reservedPrefix = 0x0180c2000000 // 802.1Q-2018 8.6.3: 01-80-C2-00-00-00..0F
)

// worker is the per-goroutine state of Process: tx batches, a pool cache
// and counters. Made on the first Process call of its id and kept.
type worker struct {
	// seq is odd while inside Process (RCU-like quiescence); plain
	// stores, fenced by waitQuiescent's relaxed.Barrier.
	seq   relaxed.Counter
	id    int
	cache *PoolCache
	outs  []outBatch // by snapshot port index
	dirty []int32    // port indexes with a non-empty batch
	flood []int32    // scratch: flood targets of one packet
	one   [1]SlowFrame
	sendv []*Packet
	segs  []*Packet // scratch: segments of a flooded GSO frame
	// Segmenters of the egress path and of flood copies (the flood's
	// output may flush a batch that segments meanwhile).
	txSeg, floodSeg offload.Segmenter
	hits            relaxed.Counter
	misses          relaxed.Counter
	burst           BurstStats // of the Process call running
	emc             [emcSize]emcEntry
	noEMC           bool
}

// The exact-match cache: a per-worker, direct-mapped copy of recent FDB
// hits, so that the common lookup touches one cache line of the worker's
// own memory instead of the shared table. An entry is valid while the
// FDB's generation (changed by every move, expiry, eviction and flush) is
// the one it was filled under; the FDB is read once per burst for it.
const (
	emcBits  = 10
	emcSize  = 1 << emcBits
	emcValid = 1 << 63
)

type emcEntry struct {
	key  uint64 // fdb.Key | emcValid
	gen  uint64
	port uint32
}

// lookup returns the port (vlan, dst) was learned on, from the cache or
// the FDB.
func (w *worker) lookup(t *fdb.Table, gen uint64, vlan uint16, dst [6]byte) (uint32, bool) {
	if w.noEMC {
		return t.Lookup(vlan, dst)
	}
	k := fdb.Key(vlan, dst) | emcValid
	e := &w.emc[(k*0x9e3779b97f4a7c15)>>(64-emcBits)]
	if e.key == k && e.gen == gen {
		w.burst.CacheHits++
		return e.port, true
	}
	p, ok := t.Lookup(vlan, dst)
	if ok {
		*e = emcEntry{key: k, gen: gen, port: p}
	}
	return p, ok
}

// outBatch collects one output port's packets of a burst; for a bond each
// packet carries its member and hash.
type outBatch struct {
	queued bool // in worker.dirty
	pkts   []*Packet
	member []int16
	hash   []uint32
}

func (b *Bridge) worker(id int) *worker {
	if w := b.workers[id].Load(); w != nil {
		return w
	}
	w := &worker{id: id, cache: b.pool.NewCache(0), sendv: make([]*Packet, 0, maxBatch), segs: make([]*Packet, 0, maxBatch), noEMC: b.cfg.DisableEMC}
	b.workers[id].CompareAndSwap(nil, w)
	return b.workers[id].Load()
}

// ReleaseWorker gives worker id's cached buffers back to the pool and
// forgets its state; a PMD calls it when it stops (from its own goroutine,
// or after it has stopped calling Process).
func (b *Bridge) ReleaseWorker(id int) {
	if uint(id) >= MaxWorkers {
		return
	}
	if w := b.workers[id].Swap(nil); w != nil {
		w.cache.Flush()
	}
}

// prepare sizes the batches for snapshot s (allocates only after a
// configuration change added ports).
func (w *worker) prepare(s *snapshot) {
	for len(w.outs) < len(s.ports) {
		w.outs = append(w.outs, outBatch{
			pkts:   make([]*Packet, 0, maxBatch),
			member: make([]int16, 0, maxBatch),
			hash:   make([]uint32, 0, maxBatch),
		})
	}
	if cap(w.dirty) < len(s.ports) {
		w.dirty = make([]int32, 0, len(s.ports))
		w.flood = make([]int32, 0, len(s.ports))
	}
}

// BurstStats says what Process did with one burst, for the caller's
// counters (pmd-stats-show: the exact-match cache hits are its "emc hits",
// the other destination lookups its "megaflow hits").
type BurstStats struct {
	// CacheHits: destinations the worker's exact-match cache answered.
	CacheHits uint32
	// Sent packets in Batches TxBurst calls.
	Sent, Batches uint32
}

// Process runs the bridge pipeline on one received burst: parse, slow
// protocols, reserved multicast, VLAN admission, learning, lookup or flood,
// egress VLAN, MTU, and one TxBurst per output device. It takes ownership
// of every packet. worker identifies the calling goroutine (a PMD's
// pmd.Thread.TxQueue(): unique among live threads; each id must be used by
// one goroutine at a time); it picks the tx queue on output ports
// (worker % NumTxQueues, under a per-queue lock). inPort is the bridge port
// number the burst came from, member the bond member index (-1 for a plain
// port). Process never blocks, and allocates only on the first call of a
// worker and after a configuration change. It returns what it did with
// the burst, for the caller's counters.
func (b *Bridge) Process(workerID int, inPort uint32, member int, pkts []*Packet) BurstStats {
	if uint(workerID) >= MaxWorkers {
		PutBurst(pkts) // programmer error in the caller; do not crash
		return BurstStats{}
	}
	w := b.worker(workerID)
	w.seq.Add(1)
	w.burst = BurstStats{}
	// The PMD recovers from a panic below us (a faulting device): leave
	// the worker consistent and quiescent even then.
	finished := false
	defer func() {
		if !finished {
			w.reset()
		}
		w.seq.Add(1)
	}()
	s := b.snap.Load()
	w.prepare(s)
	in := s.index(inPort)
	if in < 0 {
		w.cache.PutBurst(pkts)
		finished = true
		return BurstStats{}
	}
	pv := &s.ports[in]
	bp := pv.bp
	if c := bp.capture.Load(); c != nil {
		c.record(pkts, CaptureRx, time.Now().UnixNano())
	}
	now := b.clock()
	gen := b.fdb.Generation()
	var nErr, nRes, nVLAN, nBond, nHit, nMiss, nNoBuf uint64
	lastLearned := ^uint64(0)
	for _, p := range pkts {
		d := p.Data()
		if len(d) < ethHeaderLen {
			nErr++
			w.cache.Put(p)
			continue
		}
		dst := uint64(d[0])<<40 | uint64(d[1])<<32 | uint64(d[2])<<24 | uint64(d[3])<<16 | uint64(d[4])<<8 | uint64(d[5])
		var src [6]byte
		copy(src[:], d[6:12])
		et := binary.BigEndian.Uint16(d[12:14])
		vid, tagged := uint16(0), false
		if et == etherTypeVLAN || et == etherTypeQinQ {
			if len(d) < ethHeaderLen+vlanTagLen {
				nErr++
				w.cache.Put(p)
				continue
			}
			vid = binary.BigEndian.Uint16(d[14:16]) & vlanIDMask
			tagged = true
			if vid == 0 {
				// Priority tag only (802.1Q-2018 9.6): the frame is
				// untagged for VLAN purposes; drop the tag now.
				et = binary.BigEndian.Uint16(d[16:18])
				copy(d[4:16], d[0:12])
				p.TrimFront(vlanTagLen)
				adjustCsumStart(p, -vlanTagLen)
				d = p.Data()
				tagged = false
			}
		}
		if dst&^0xf == reservedPrefix {
			if et == etherTypeSlow && !tagged {
				w.one[0] = SlowFrame{Port: inPort, Member: member, Pkt: p}
				if b.slow.Enqueue(w.one[:]) == 0 {
					b.slowOut.Add(1)
					w.cache.Put(p)
				}
				w.one[0] = SlowFrame{}
				continue
			}
			nRes++
			w.cache.Put(p)
			continue
		}
		if src[0]&1 != 0 {
			nRes++ // a multicast source is never valid (802.3 3.2.3)
			w.cache.Put(p)
			continue
		}
		multicast := dst&(1<<40) != 0
		verdict := bond.Accept
		if pv.bond != nil {
			// Loop prevention (OVS bond_check_admissibility).
			if verdict = pv.bond.RxVerdict(member, multicast); verdict == bond.Drop {
				nBond++
				w.cache.Put(p)
				continue
			}
		}
		vlan, ok := pv.pol.input(vid)
		if !ok {
			nVLAN++
			w.cache.Put(p)
			continue
		}
		learn := !s.anyFlood || !s.floodVLANs.has(vlan)
		grat := et == etherTypeARP && isGratuitousARP(d, tagged)
		if verdict == bond.AcceptIfNotMoved {
			// balance-slb: our own frame back from the upstream switch,
			// unless a host that moved behind the bond announces itself.
			if lp, ok := b.fdb.Lookup(vlan, src); ok && lp != inPort &&
				(!grat || b.fdb.GratuitousARPLocked(vlan, src, now)) {
				nBond++
				w.cache.Put(p)
				continue
			}
		}
		if learn {
			switch {
			case grat && pv.bond == nil:
				// A local host announced itself: its announcement may
				// come back through a bond; lock the entry against that.
				b.fdb.Learn(vlan, src, inPort, now)
				b.fdb.LockGratuitousARP(vlan, src, now+gratARPLock)
				lastLearned = ^uint64(0)
			case grat && b.fdb.GratuitousARPLocked(vlan, src, now):
				// Reflected over a bond member: do not learn.
			default:
				if k := fdb.Key(vlan, src); k != lastLearned {
					b.fdb.Learn(vlan, src, inPort, now)
					lastLearned = k
				}
			}
		}
		if !multicast && learn {
			if op, ok := w.lookup(b.fdb, gen, vlan, [6]byte(d[0:6])); ok {
				nHit++
				if op == inPort {
					w.cache.Put(p) // the destination is behind the input port
					continue
				}
				if oi := s.index(op); oi >= 0 && s.ports[oi].pol.carries(vlan) {
					w.output(s, oi, p, vlan, tagged)
					continue
				}
			} else {
				nMiss++
			}
		}
		// Flood within the VLAN, never back to the input port.
		w.flood = w.flood[:0]
		for i := range s.ports {
			if i != in && s.ports[i].pol.carries(vlan) {
				w.flood = append(w.flood, int32(i))
			}
		}
		if len(w.flood) == 0 {
			w.cache.Put(p)
			continue
		}
		last := len(w.flood) - 1
		for _, oi := range w.flood[:last] {
			if p.GSOSize != 0 && p.Len() > w.cache.pool.DataRoom() {
				// A GSO frame no worker buffer holds: copy it as
				// segments.
				if !w.floodGSO(s, int(oi), p, vlan, tagged) {
					nNoBuf++
				}
				continue
			}
			c := w.cache.Get()
			if c == nil || !c.CopyFrom(p) {
				if c != nil {
					w.cache.Put(c)
				}
				nNoBuf++
				continue
			}
			w.output(s, int(oi), c, vlan, tagged)
		}
		w.output(s, int(w.flood[last]), p, vlan, tagged)
	}
	w.flush(s)
	if nErr|nRes|nVLAN|nBond != 0 {
		bp.cnt.errors.Add(nErr)
		bp.cnt.reserved.Add(nRes)
		bp.cnt.vlan.Add(nVLAN)
		bp.cnt.bond.Add(nBond)
	}
	if nNoBuf != 0 {
		bp.cnt.nobuf.Add(nNoBuf)
	}
	if nHit != 0 {
		w.hits.Add(nHit)
	}
	if nMiss != 0 {
		w.misses.Add(nMiss)
	}
	finished = true
	return w.burst
}

// reset drops what a burst interrupted by a panic left in the batches
// (their buffers go back to the pool: the device that panicked may hold
// some of them, which then leak rather than being freed twice).
func (w *worker) reset() {
	for _, oi := range w.dirty {
		ob := &w.outs[oi]
		for _, p := range ob.pkts {
			if p != nil {
				w.cache.Put(p)
			}
		}
		clear(ob.pkts)
		ob.pkts, ob.member, ob.hash = ob.pkts[:0], ob.member[:0], ob.hash[:0]
		ob.queued = false
	}
	w.dirty = w.dirty[:0]
	clear(w.sendv[:cap(w.sendv)])
}

// output applies port oi's egress VLAN to p (tagged says whether p carries
// vlan's tag now) and queues it on the port's batch.
func (w *worker) output(s *snapshot, oi int, p *Packet, vlan uint16, tagged bool) {
	pv := &s.ports[oi]
	want := pv.pol.outputTagged(vlan)
	switch {
	case want && !tagged:
		if p.Prepend(vlanTagLen) == nil {
			pv.bp.cnt.nobuf.Add(1)
			w.cache.Put(p)
			return
		}
		d := p.Data()
		copy(d[0:12], d[4:16])
		binary.BigEndian.PutUint16(d[12:14], etherTypeVLAN)
		binary.BigEndian.PutUint16(d[14:16], vlan)
		adjustCsumStart(p, vlanTagLen)
	case !want && tagged:
		d := p.Data()
		copy(d[4:16], d[0:12])
		p.TrimFront(vlanTagLen)
		adjustCsumStart(p, -vlanTagLen)
	}
	ob := &w.outs[oi]
	m, h := int16(0), uint32(0)
	if bd := pv.bond; bd != nil {
		h = bd.TxHash(p.Data(), vlan)
		mi := bd.TxMember(h)
		if mi < 0 || mi >= len(pv.targets) || pv.targets[mi] == nil {
			w.cache.Put(p) // no usable member: the bond is down
			return
		}
		m = int16(mi)
	}
	if !ob.queued {
		ob.queued = true
		w.dirty = append(w.dirty, int32(oi))
	}
	ob.pkts = append(ob.pkts, p)
	ob.member = append(ob.member, m)
	ob.hash = append(ob.hash, h)
	if len(ob.pkts) == cap(ob.pkts) {
		w.flushPort(s, oi) // stays queued; flush finds it empty
	}
}

// flush transmits every non-empty batch.
func (w *worker) flush(s *snapshot) {
	for _, oi := range w.dirty {
		w.flushPort(s, int(oi))
		w.outs[oi].queued = false
	}
	w.dirty = w.dirty[:0]
}

// flushPort sends port oi's batch: MTU check, offloads the device does
// not carry (checksums completed, GSO frames segmented), capture, one
// TxBurst per device under its tx queue lock (more when segments
// overflow the send vector).
func (w *worker) flushPort(s *snapshot, oi int) {
	ob := &w.outs[oi]
	if len(ob.pkts) == 0 {
		return
	}
	pv := &s.ports[oi]
	bp := pv.bp
	var ec egressCounters
	for ti, t := range pv.targets {
		if t == nil {
			continue
		}
		mtu := t.port.MTU()
		caps := pv.offl[ti]
		send := w.sendv[:0]
		for i, p := range ob.pkts {
			if p == nil || int(ob.member[i]) != ti {
				continue
			}
			ob.pkts[i] = nil
			if p.GSOSize != 0 {
				if pv.bond != nil {
					pv.bond.Account(ob.hash[i], p.Len())
				}
				send = w.egressGSO(bp, t, caps, mtu, p, send, &ec)
				continue
			}
			if p.Len() > mtu+maxL2Overhead {
				ec.mtu++
				w.cache.Put(p)
				continue
			}
			if p.Offload&OffloadCsumPartial != 0 && !caps.CsumPartial {
				if !completeCsum(p) {
					ec.bad++
					w.cache.Put(p)
					continue
				}
				ec.completed++
			}
			if pv.bond != nil {
				pv.bond.Account(ob.hash[i], p.Len())
			}
			if len(send) == cap(send) {
				send = w.transmit(bp, t, send)
			}
			send = append(send, p)
		}
		if len(send) != 0 {
			w.transmit(bp, t, send)
		}
	}
	ec.addTo(bp)
	ob.pkts = ob.pkts[:0]
	ob.member = ob.member[:0]
	ob.hash = ob.hash[:0]
}

// transmit records send in the port's capture and hands it to t's
// TxBurst; it returns the emptied send vector.
func (w *worker) transmit(bp *bridgePort, t *txTarget, send []*Packet) []*Packet {
	if c := bp.capture.Load(); c != nil {
		c.record(send, CaptureTx, time.Now().UnixNano())
	}
	t.send(w.id, send)
	w.burst.Sent += uint32(len(send))
	w.burst.Batches++
	clear(send)
	return send[:0]
}

// gratARPLock is how long a gratuitous ARP learned on a local port keeps
// its entry from being moved by gratuitous ARPs arriving on bonds (Open
// vSwitch uses 5 s).
const gratARPLock = int64(5 * time.Second)

// isGratuitousARP reports whether an ARP frame (EtherType at 12, or at 16
// when tagged) is a broadcast IPv4 announcement: sender and target protocol
// addresses equal (RFC 5227 2.3, ARP Announcement; RFC 826 layout).
func isGratuitousARP(d []byte, tagged bool) bool {
	off := ethHeaderLen
	if tagged {
		off += vlanTagLen
	}
	if len(d) < off+28 || d[0]&d[1]&d[2]&d[3]&d[4]&d[5] != 0xff {
		return false
	}
	a := d[off : off+28]
	if binary.BigEndian.Uint16(a[0:2]) != 1 || binary.BigEndian.Uint16(a[2:4]) != 0x0800 || a[4] != 6 || a[5] != 4 {
		return false
	}
	if op := binary.BigEndian.Uint16(a[6:8]); op != 1 && op != 2 {
		return false
	}
	return binary.BigEndian.Uint32(a[14:18]) == binary.BigEndian.Uint32(a[24:28])
}

// maxL2Overhead is what a frame may have beyond the port's MTU: the
// Ethernet header plus 4 bytes (room for one VLAN tag, or the FCS of an
// untagged frame). OVS-DPDK sizes a port for MTU + 18 the same way
// (MTU_TO_FRAME_LEN), so a 1518-byte frame, tagged or not, passes an
// MTU-1500 port, and so does the kernel's veth (is_skb_forwardable).
const maxL2Overhead = ethHeaderLen + vlanTagLen

// payloadLen is the frame's length past the Ethernet header and its outer
// VLAN tag.
func payloadLen(d []byte) int {
	n := len(d) - ethHeaderLen
	if len(d) >= ethHeaderLen+vlanTagLen {
		if et := binary.BigEndian.Uint16(d[12:14]); et == etherTypeVLAN || et == etherTypeQinQ {
			n -= vlanTagLen
		}
	}
	return n
}

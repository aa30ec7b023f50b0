package vhosttest

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// This file is the front-end's burst data path, for the packet generator:
// the same ring layout as Ring's test helpers, driven at line rate without
// allocating. A ring driven through TxBurst/RxBurst must not also be driven
// through PostTx/PostRx/RecvFrames/PopUsed: the burst path keeps its own
// bookkeeping (descriptor i always owns buffer i, chains are one descriptor
// long) and does not update the test helpers' chain table.

// usedNoNotify is the device's "do not kick me" flag in the used ring
// (virtio 1.1 2.6.8: VIRTQ_USED_F_NO_NOTIFY).
const usedNoNotify = 1

// MaxMergedFrame is the largest frame RxBurst reassembles from mergeable
// receive buffers (a 9000-byte MTU jumbo frame plus headers and a tag).
const MaxMergedFrame = 9216 + 64

// BurstStats are the ring's burst-path error counters.
type BurstStats struct {
	// TooBig counts frames TxBurst refused because they do not fit one
	// buffer with the virtio-net header.
	TooBig uint64
	// BadUsed counts used elements with an impossible id, length or
	// num_buffers (a broken device); their buffers are reposted.
	BadUsed uint64
	// Truncated counts merged frames longer than MaxMergedFrame.
	Truncated uint64
}

// burstState is allocated on the first burst call.
type burstState struct {
	txReady bool     // transmit headers zeroed
	repost  []uint16 // receive descriptors to give back on the next RxBurst
	merge   [][]byte // per-slot reassembly buffers for merged frames
	kickFd  int      // eventfd to kick, or -1
	word    [8]byte  // eventfd write buffer
	stats   BurstStats
	_       [0]func() // not comparable
}

func (r *Ring) burst() *burstState {
	if r.bs == nil {
		r.bs = &burstState{repost: make([]uint16, 0, int(r.Size)), kickFd: -1}
		binary.LittleEndian.PutUint64(r.bs.word[:], 1)
		// Descriptor i always points at buffer i (as PostTx and PostRx
		// set them too): write the addresses once, so a burst only
		// writes lengths and flags.
		for i := uint16(0); i < r.Size; i++ {
			off := r.BufOff + uint64(i)*uint64(r.BufSize)
			binary.LittleEndian.PutUint64(r.Mem.mem[r.DescOff+16*uint64(i):], r.Mem.GPA(off))
		}
	}
	return r.bs
}

// SetKickFd tells the burst path which eventfd kicks the device; TxBurst
// and RxBurst kick it when the device has not suppressed notifications
// (virtio 1.1 2.6.10.2). The front-end does not negotiate EVENT_IDX for
// burst rings, so the used ring's NO_NOTIFY flag decides.
func (r *Ring) SetKickFd(fd int) { r.burst().kickFd = fd }

// BurstStats returns the ring's burst-path error counters.
func (r *Ring) BurstStats() BurstStats { return r.burst().stats }

// kick notifies the device unless it asked not to be.
func (r *Ring) kick(bs *burstState) {
	if bs.kickFd < 0 || r.UsedFlags()&usedNoNotify != 0 {
		return
	}
	unix.Write(bs.kickFd, bs.word[:])
}

// Reclaim returns the transmit descriptors the device has used to the free
// list and reports how many it took back.
func (r *Ring) Reclaim() int {
	idx := r.UsedIdx()
	n := 0
	for r.lastUsed != idx {
		e := r.Mem.mem[r.UsedOff+4+8*uint64(r.lastUsed%r.Size):]
		id := uint16(binary.LittleEndian.Uint32(e))
		r.lastUsed++
		if id >= r.Size || len(r.free) >= int(r.Size) {
			r.burst().stats.BadUsed++
			continue
		}
		r.free = append(r.free, id) // never beyond Size: no allocation
		n++
	}
	return n
}

// TxBurst copies frames, each behind a zero virtio-net header, into free
// descriptors of a transmit ring and makes them available with one index
// update (virtio 1.1 2.6.13). It returns how many frames it posted; the
// rest did not fit (ring full, or larger than a buffer, counted as
// TooBig and skipped).
func (r *Ring) TxBurst(frames [][]byte) int {
	bs := r.burst()
	if !bs.txReady {
		// The device only reads transmit buffers: zero the virtio-net
		// headers of the free ones once instead of per frame.
		for _, i := range r.free {
			off := r.BufOff + uint64(i)*uint64(r.BufSize)
			clear(r.Mem.mem[off : off+uint64(r.HdrLen)])
		}
		bs.txReady = true
	}
	if len(r.free) < len(frames) {
		r.Reclaim()
	}
	mem := r.Mem.mem
	bufSize := uint64(r.BufSize)
	hdr := r.HdrLen
	avail := mem[r.AvailOff+4 : r.AvailOff+4+2*uint64(r.Size)]
	start := r.availIdx
	n := 0
	for _, fr := range frames {
		if hdr+len(fr) > r.BufSize {
			bs.stats.TooBig++
			continue
		}
		if len(r.free) == 0 {
			break
		}
		i := r.free[len(r.free)-1]
		r.free = r.free[:len(r.free)-1]
		off := r.BufOff + uint64(i)*bufSize
		copy(mem[off+uint64(hdr):off+bufSize], fr)                     // header zeroed by burst()
		d := mem[r.DescOff+16*uint64(i)+8 : r.DescOff+16*uint64(i)+16] // address set by burst()
		binary.LittleEndian.PutUint64(d, uint64(hdr+len(fr)))          // length; flags and next 0
		binary.LittleEndian.PutUint16(avail[2*(r.availIdx%r.Size):], i)
		r.availIdx++
		n++
	}
	if r.availIdx != start {
		// The atomic store orders the descriptor and ring writes before
		// the index the device reads (2.6.13.3 "memory barrier").
		r.storeAvailIdx(r.availIdx)
		r.kick(bs)
	}
	return n
}

// RxBurst collects up to len(frames) frames the device wrote into the
// receive ring. Each frames[k] (virtio-net header stripped) aliases guest
// memory, or for a frame spread over several mergeable buffers (virtio 1.1
// 5.1.6.4) a reassembly buffer of the ring; either is valid until the next
// RxBurst, which first gives the previous burst's buffers back to the
// device. It returns the number of frames.
func (r *Ring) RxBurst(frames [][]byte) int {
	bs := r.burst()
	r.repostRx(bs)
	mem := r.Mem.mem
	bufSize := uint64(r.BufSize)
	used := r.UsedIdx()
	n := 0
	for n < len(frames) && r.lastUsed != used {
		id, ln := r.usedAt(r.lastUsed)
		nb := 1
		if id >= r.Size || int(ln) < r.HdrLen || ln > uint32(r.BufSize) {
			// A broken device: skip the element, give the buffer back.
			bs.stats.BadUsed++
			r.lastUsed++
			if id < r.Size {
				bs.repost = append(bs.repost, id)
			}
			continue
		}
		off := r.BufOff + uint64(id)*bufSize
		if r.HdrLen == 12 {
			nb = int(binary.LittleEndian.Uint16(mem[off+10:]))
		}
		if nb < 1 || nb > int(r.Size) {
			bs.stats.BadUsed++
			r.lastUsed++
			bs.repost = append(bs.repost, id)
			continue
		}
		if uint16(used-r.lastUsed) < uint16(nb) {
			break // the rest of the frame is not published yet
		}
		if nb == 1 {
			frames[n] = mem[off+uint64(r.HdrLen) : off+uint64(ln)]
			bs.repost = append(bs.repost, id)
			r.lastUsed++
			n++
			continue
		}
		frames[n] = r.mergeRx(bs, n, nb)
		n++
	}
	return n
}

// mergeRx joins the nb buffers starting at lastUsed into reassembly
// buffer slot and queues them for reposting.
func (r *Ring) mergeRx(bs *burstState, slot, nb int) []byte {
	for len(bs.merge) <= slot {
		bs.merge = append(bs.merge, make([]byte, MaxMergedFrame))
	}
	dst := bs.merge[slot][:0]
	mem := r.Mem.mem
	for j := 0; j < nb; j++ {
		id, ln := r.usedAt(r.lastUsed)
		r.lastUsed++
		if id >= r.Size || ln > uint32(r.BufSize) {
			bs.stats.BadUsed++
			continue
		}
		off := r.BufOff + uint64(id)*uint64(r.BufSize)
		from := uint64(0)
		if j == 0 {
			from = uint64(r.HdrLen)
		}
		if uint64(ln) > from {
			seg := mem[off+from : off+uint64(ln)]
			if len(dst)+len(seg) > cap(dst) {
				bs.stats.Truncated++
				seg = seg[:cap(dst)-len(dst)]
			}
			dst = append(dst, seg...)
		}
		bs.repost = append(bs.repost, id)
	}
	return dst
}

func (r *Ring) usedAt(i uint16) (id uint16, ln uint32) {
	e := r.Mem.mem[r.UsedOff+4+8*uint64(i%r.Size):]
	return uint16(binary.LittleEndian.Uint32(e)), binary.LittleEndian.Uint32(e[4:])
}

// repostRx gives the previous burst's receive buffers back to the device.
func (r *Ring) repostRx(bs *burstState) {
	if len(bs.repost) == 0 {
		return
	}
	mem := r.Mem.mem
	avail := mem[r.AvailOff+4 : r.AvailOff+4+2*uint64(r.Size)]
	for _, id := range bs.repost {
		d := mem[r.DescOff+16*uint64(id)+8 : r.DescOff+16*uint64(id)+16] // address set by burst()
		binary.LittleEndian.PutUint64(d, uint64(r.BufSize)|DescWrite<<32)
		binary.LittleEndian.PutUint16(avail[2*(r.availIdx%r.Size):], id)
		r.availIdx++
	}
	bs.repost = bs.repost[:0]
	r.storeAvailIdx(r.availIdx)
	r.kick(bs)
}

// InFlight is the number of transmit descriptors the device holds.
func (r *Ring) InFlight() int { return int(r.Size) - len(r.free) }

// StartBurst prepares every ring for the burst path: it gives each ring
// its kick eventfd and asks the device not to interrupt (virtio 1.1
// 2.6.7: VIRTQ_AVAIL_F_NO_INTERRUPT; the burst path polls). Call it after
// Setup, which must not have negotiated EVENT_IDX (the flag is ignored
// then): use BurstFeatures.
func (f *Frontend) StartBurst() {
	for i, r := range f.Rings {
		if i < len(f.Kicks) {
			r.SetKickFd(f.Kicks[i])
		}
		r.SetAvailFlags(AvailNoInterrupt)
	}
}

// BurstFeatures are the virtio features a burst front-end asks for:
// DefaultFeatures without EVENT_IDX (burst rings suppress notifications
// with the flags) and without INDIRECT_DESC (it posts single descriptors).
const BurstFeatures = FeatureMrgRxbuf | FeatureProtocol | FeatureVersion1 | FeatureMQ

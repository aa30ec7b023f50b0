package virtq

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"gvswitch/vhostuser/guestmem"
	"gvswitch/vhostuser/proto"
)

// ErrBadRing is wrapped by New when the ring's size or addresses are not
// usable.
var ErrBadRing = errors.New("bad virtqueue")

// MaxSize is the largest queue size (virtio 1.1 2.6: 32768).
const MaxSize = 32768

// Descriptor flags (virtio 1.1 2.6.5).
const (
	descNext     = 1
	descWrite    = 2
	descIndirect = 4
)

// Ring flags (2.6.6, 2.6.8).
const (
	availNoInterrupt = 1
	usedNoNotify     = 1
)

// virtio-net header (5.1.6).
const (
	// HdrLen is the header size with VIRTIO_NET_F_MRG_RXBUF or
	// VIRTIO_F_VERSION_1; HdrLenLegacy without either.
	HdrLen       = 12
	HdrLenLegacy = 10

	hdrFNeedsCsum = 1
	gsoNone       = 0
)

// Config says where a vring is and how to process it.
type Config struct {
	Size uint16
	// Desc, Avail and Used are the ring addresses from SET_VRING_ADDR:
	// front-end virtual addresses, or I/O virtual addresses when IOTLB is
	// set.
	Desc, Avail, Used uint64
	// Base is the index of the next available descriptor (SET_VRING_BASE).
	Base uint16
	// Negotiated features that change processing.
	EventIdx, MrgRxbuf, Indirect, Version1 bool
	// CallFd is the eventfd to signal the guest, -1 for none. The Queue
	// does not own it.
	CallFd int
	// Mem is the guest memory; IOTLB, when not nil, translates I/O
	// addresses (descriptors and rings) to front-end virtual addresses.
	Mem   *guestmem.Table
	IOTLB *guestmem.IOTLB
	// Stats receives the queue's counters; it may outlive the Queue.
	Stats *Stats
}

// Queue is a started split virtqueue.
type Queue struct {
	size   uint16
	mask   uint16
	hdrLen int

	desc  []byte // size*16
	avail []byte // flags, idx, ring[size], used_event
	used  []byte // flags, idx, ring[size], avail_event

	availIdxWord  *uint32
	availIdxShift uint
	usedHead      *uint32 // used flags (low half) and idx (high half)

	eventIdx, mrg, indirect bool
	callFd                  int
	mem                     *guestmem.Table
	iotlb                   *guestmem.IOTLB

	lastAvail uint16
	usedIdx   uint16

	// An IOTLB miss stops the burst before the chain that missed; the
	// port asks the front-end for the translation (TakeMiss).
	missed   bool
	missIOVA uint64
	missPerm uint8

	broken atomic.Pointer[string]
	stats  *Stats
	one    [8]byte

	pl burstPlan // the running burst's look-ahead
}

// New checks cfg and returns a Queue ready to process the ring.
func New(cfg Config) (*Queue, error) {
	n := uint64(cfg.Size)
	if n == 0 || n > MaxSize || n&(n-1) != 0 {
		return nil, fmt.Errorf("%w: size %d is not a power of 2 in 1..%d", ErrBadRing, n, MaxSize)
	}
	if cfg.Desc%16 != 0 || cfg.Avail%2 != 0 || cfg.Used%4 != 0 {
		return nil, fmt.Errorf("%w: misaligned ring (desc %#x, avail %#x, used %#x)", ErrBadRing, cfg.Desc, cfg.Avail, cfg.Used)
	}
	if cfg.Mem == nil {
		return nil, fmt.Errorf("%w: no memory table", ErrBadRing)
	}
	q := &Queue{
		size: cfg.Size, mask: cfg.Size - 1,
		eventIdx: cfg.EventIdx, mrg: cfg.MrgRxbuf, indirect: cfg.Indirect,
		callFd: cfg.CallFd, mem: cfg.Mem, iotlb: cfg.IOTLB,
		lastAvail: cfg.Base, usedIdx: cfg.Base,
		stats: cfg.Stats,
	}
	if q.stats == nil {
		q.stats = new(Stats)
	}
	binary.LittleEndian.PutUint64(q.one[:], 1)
	q.hdrLen = HdrLenLegacy
	if cfg.MrgRxbuf || cfg.Version1 {
		q.hdrLen = HdrLen
	}
	// The event fields are always mapped when present in memory: a
	// driver lays out the full ring whether or not EVENT_IDX is on.
	availLen, usedLen := 4+2*n, 4+8*n
	if cfg.EventIdx {
		availLen += 2
		usedLen += 2
	}
	q.desc = q.ringBytes(cfg.Desc, 16*n, proto.IOTLBPermRead)
	q.avail = q.ringBytes(cfg.Avail, availLen, proto.IOTLBPermRead)
	q.used = q.ringBytes(cfg.Used, usedLen, proto.IOTLBPermWrite)
	if q.desc == nil || q.avail == nil || q.used == nil {
		return nil, fmt.Errorf("%w: ring (desc %#x, avail %#x, used %#x, size %d) is not inside guest memory", ErrBadRing, cfg.Desc, cfg.Avail, cfg.Used, n)
	}
	// Our mapping must keep the alignment the atomics need, whatever the
	// front-end's region offsets were.
	ap := uintptr(unsafe.Pointer(&q.avail[0]))
	up := uintptr(unsafe.Pointer(&q.used[0]))
	if ap%2 != 0 || up%4 != 0 {
		return nil, fmt.Errorf("%w: rings misaligned in our mapping", ErrBadRing)
	}
	if ap%4 == 0 {
		q.availIdxWord, q.availIdxShift = (*uint32)(unsafe.Pointer(&q.avail[0])), 16
	} else {
		// avail+2 is 4-aligned: idx and ring[0].
		q.availIdxWord, q.availIdxShift = (*uint32)(unsafe.Pointer(&q.avail[2])), 0
	}
	q.usedHead = (*uint32)(unsafe.Pointer(&q.used[0]))
	// We poll: ask the driver not to kick us (2.6.7.2). With EVENT_IDX the
	// driver looks at avail_event instead, which we leave alone.
	atomic.StoreUint32(q.usedHead, uint32(q.usedIdx)<<16|usedNoNotify)
	return q, nil
}

func (q *Queue) ringBytes(addr, n uint64, perm uint8) []byte {
	if q.iotlb == nil {
		return q.mem.UVA(addr, n)
	}
	uva, ok := q.iotlb.Translate(addr, n, perm)
	if !ok {
		return nil
	}
	return q.mem.UVA(uva, n)
}

// LastAvail is the index of the next available descriptor: the answer to
// GET_VRING_BASE once the queue is no longer processed.
func (q *Queue) LastAvail() uint16 { return q.lastAvail }

// Size is the queue size.
func (q *Queue) Size() uint16 { return q.size }

// Stats is the queue's counters.
func (q *Queue) Stats() *Stats { return q.stats }

// Broken returns why the queue was marked broken, or "".
func (q *Queue) Broken() string {
	if p := q.broken.Load(); p != nil {
		return *p
	}
	return ""
}

// MarkBroken stops the queue from touching guest memory again, for a
// reason found outside it (a memory fault). Safe from any goroutine.
func (q *Queue) MarkBroken(reason string) {
	if q.broken.CompareAndSwap(nil, &reason) {
		q.stats.Errors.AddShared(1)
	}
}

// fail marks the queue broken. Only the first reason is kept.
func (q *Queue) fail(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if q.broken.CompareAndSwap(nil, &s) {
		q.stats.Errors.AddShared(1)
	}
}

// availIdx reads the driver's available index (2.6.6) with acquire order:
// the Go atomic keeps the ring reads that follow after it.
func (q *Queue) availIdx() uint16 {
	return uint16(atomic.LoadUint32(q.availIdxWord) >> q.availIdxShift)
}

// publishUsed stores the used index (2.6.8). The atomic store is also the
// full barrier required between it and reading the driver's notification
// suppression fields.
func (q *Queue) publishUsed(idx uint16) {
	atomic.StoreUint32(q.usedHead, uint32(idx)<<16|usedNoNotify)
}

// notify signals the guest when it wants it (2.6.7.2 / 2.6.8.1): with
// EVENT_IDX when the new used index passed used_event, otherwise unless
// VIRTQ_AVAIL_F_NO_INTERRUPT is set.
func (q *Queue) notify(old, new uint16) {
	if q.callFd < 0 || old == new {
		return
	}
	if q.eventIdx {
		off := 4 + 2*int(q.size)
		ev := binary.LittleEndian.Uint16(q.avail[off:])
		if uint16(new-ev-1) >= uint16(new-old) {
			return
		}
	} else if binary.LittleEndian.Uint16(q.avail[0:])&availNoInterrupt != 0 {
		return
	}
	unix.Write(q.callFd, q.one[:])
	q.stats.Notifications.Add(1)
}

// buf translates a descriptor's buffer. With an IOTLB, an address it does
// not map yet is a miss, not a violation: buf records it and returns nil.
func (q *Queue) buf(addr uint64, n uint32, perm uint8) []byte {
	if q.iotlb == nil {
		return q.mem.GPA(addr, uint64(n))
	}
	uva, ok := q.iotlb.Translate(addr, uint64(n), perm)
	if !ok {
		q.missed, q.missIOVA, q.missPerm = true, q.iotlb.MissAddr(addr, uint64(n), perm), perm
		return nil
	}
	return q.mem.UVA(uva, uint64(n))
}

// TakeMiss returns the I/O address of the last IOTLB miss, once.
func (q *Queue) TakeMiss() (iova uint64, perm uint8, ok bool) {
	if !q.missed {
		return 0, 0, false
	}
	q.missed = false
	return q.missIOVA, q.missPerm, true
}

// pending is how many descriptors the driver made available beyond ours;
// more than the ring holds is a violation.
func (q *Queue) pending() (uint16, bool) {
	n := q.availIdx() - q.lastAvail
	if n > q.size {
		q.fail("available index runs %d entries ahead of ours in a ring of %d", n, q.size)
		return 0, false
	}
	return n, true
}

func (q *Queue) head(i uint16) (uint16, bool) {
	off := 4 + 2*int(i&q.mask)
	h := binary.LittleEndian.Uint16(q.avail[off:])
	if h >= q.size {
		q.fail("available ring entry %d names descriptor %d of %d", i, h, q.size)
		return 0, false
	}
	return h, true
}

// putUsed writes used ring entry i (2.6.8: le32 id, le32 len) in one
// store: the line is shared with the driver's core, and fewer stores
// mean fewer entries held in the store buffer.
func (q *Queue) putUsed(i uint16, id uint16, n uint32) {
	off := 4 + 8*int(i&q.mask)
	binary.LittleEndian.PutUint64(q.used[off:off+8], uint64(id)|uint64(n)<<32)
}

type desc struct {
	addr  uint64
	len   uint32
	flags uint16
	next  uint16
}

func readDesc(table []byte, i uint16) desc {
	d := table[int(i)*16 : int(i)*16+16]
	return desc{
		addr:  binary.LittleEndian.Uint64(d),
		len:   binary.LittleEndian.Uint32(d[8:]),
		flags: binary.LittleEndian.Uint16(d[12:]),
		next:  binary.LittleEndian.Uint16(d[14:]),
	}
}

// chain walks one descriptor chain (2.6.5), following an indirect table
// (2.6.5.3) when the head points at one.
type chain struct {
	q        *Queue
	table    []byte
	n        uint16 // entries in table
	i        uint16 // next entry
	seen     int    // descriptors walked in this table
	done     bool
	indirect bool
	// The rest of a descriptor whose buffer crosses from one memory
	// region into the next, returned by the following call.
	restAddr  uint64
	restLen   uint32
	restWrite bool
}

func (q *Queue) startChain(c *chain, head uint16) {
	*c = chain{q: q, table: q.desc, n: q.size, i: head}
}

// next returns the next buffer of the chain, translated, and whether the
// driver marked it device-writable. ok is false at the end of the chain or
// on a violation (then the queue is broken).
func (c *chain) next(perm uint8) (b []byte, write, ok bool) {
	q := c.q
	if c.restLen > 0 {
		return c.piece(c.restAddr, c.restLen, c.restWrite)
	}
	if c.done {
		return nil, false, false
	}
	if c.i >= c.n {
		q.fail("descriptor index %d beyond table of %d", c.i, c.n)
		return nil, false, false
	}
	if c.seen >= int(c.n) {
		q.fail("descriptor chain longer than its table (%d): a loop", c.n)
		return nil, false, false
	}
	d := readDesc(c.table, c.i)
	c.seen++
	if d.flags&descIndirect != 0 {
		switch {
		case !q.indirect:
			q.fail("indirect descriptor without VIRTIO_F_INDIRECT_DESC")
		case c.indirect:
			q.fail("nested indirect descriptor table")
		case c.seen != 1:
			q.fail("indirect descriptor inside a chain")
		case d.flags&descNext != 0:
			q.fail("indirect descriptor with NEXT set")
		case d.len == 0 || d.len%16 != 0 || d.len/16 > uint32(q.size):
			q.fail("indirect table of %d bytes (ring size %d)", d.len, q.size)
		default:
			t := q.buf(d.addr, d.len, proto.IOTLBPermRead)
			if t == nil && q.missed {
				return nil, false, false
			}
			if t == nil {
				q.fail("indirect table %#x+%d outside guest memory", d.addr, d.len)
				return nil, false, false
			}
			c.table, c.n, c.i, c.seen, c.indirect = t, uint16(d.len/16), 0, 0, true
			return c.next(perm)
		}
		return nil, false, false
	}
	if d.flags&descNext != 0 {
		c.i = d.next
	} else {
		c.done = true
	}
	if d.len == 0 {
		return nil, d.flags&descWrite != 0, true
	}
	b = q.buf(d.addr, d.len, perm)
	if b == nil && q.missed {
		return nil, false, false
	}
	if b == nil && q.iotlb == nil {
		return c.piece(d.addr, d.len, d.flags&descWrite != 0)
	}
	if b == nil {
		q.fail("descriptor %#x+%d outside guest memory", d.addr, d.len)
		return nil, false, false
	}
	return b, d.flags&descWrite != 0, true
}

// piece returns the part of [addr, addr+n) inside the region that holds
// addr and keeps the rest for the next call: a buffer may be contiguous
// in guest memory across two regions (memory hot-plug). An address in no
// region is a violation.
func (c *chain) piece(addr uint64, n uint32, write bool) ([]byte, bool, bool) {
	b := c.q.mem.GPAPrefix(addr, uint64(n))
	if b == nil || addr+uint64(n) < addr {
		c.q.fail("descriptor %#x+%d outside guest memory", addr, n)
		return nil, false, false
	}
	c.restAddr, c.restLen, c.restWrite = addr+uint64(len(b)), n-uint32(len(b)), write
	return b, write, true
}

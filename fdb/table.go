package fdb

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the Bridge other_config keys (vswitch.xml).
const (
	// DefaultAgingTime is mac-aging-time's default.
	DefaultAgingTime = 300 * time.Second
	// DefaultMaxEntries is mac-table-size's default.
	DefaultMaxEntries = 8192
	// MaxEntriesLimit is the largest table this package builds; an index
	// slot holds an entry number in 24 bits.
	MaxEntriesLimit = 1<<24 - 1
)

// MaxVLAN is the largest VLAN ID a key may carry (802.1Q-2018 9.6: 12-bit
// VID). VLAN 0 is used for untagged, VLAN-unaware bridges.
const MaxVLAN = 4095

// refreshGrain is how stale an entry's last-seen time may get before Learn
// writes it again: it keeps poll-mode threads from writing the shared entry
// on every packet of a flow, at a precision far below the 1 s of fdb/show.
const refreshGrain = int64(100 * time.Millisecond)

// Errors wrapped by the table's methods.
var (
	// ErrFull: no dynamic entry could be evicted to make room.
	ErrFull = errors.New("MAC table full of static entries")
	// ErrBadVLAN: a VLAN outside 0..4095.
	ErrBadVLAN = errors.New("VLAN out of range")
	// ErrBadSize: a mac-table-size outside 1..MaxEntriesLimit.
	ErrBadSize = errors.New("bad MAC table size")
)

// LearnResult says what Learn did.
type LearnResult uint8

const (
	// Refreshed: the address was known on this port; its age restarts.
	Refreshed LearnResult = iota
	// Learned: a new entry.
	Learned
	// Moved: the address was known on another port and now points here.
	Moved
	// NotLearned: the address is static on another port, or the table is
	// full of static entries, or the VLAN is out of range.
	NotLearned
)

// Entry is one row of the table as fdb/show lists it.
type Entry struct {
	VLAN   uint16
	MAC    net.HardwareAddr
	Port   uint32
	Static bool
	// Used is when the address was last seen (the caller's clock, ns).
	Used int64
}

// Age is the entry's age in whole seconds at now, as fdb/show prints it.
func (e Entry) Age(now int64) int {
	if now <= e.Used {
		return 0
	}
	return int((now - e.Used) / int64(time.Second))
}

// Stats are the counters of fdb/stats-show.
type Stats struct {
	Current, Max, Static             int
	Learned, Expired, Evicted, Moved uint64
}

// keyFree marks an unused entry; no (VLAN, MAC) key has bits above 59 set.
const keyFree = ^uint64(0)

// Key packs a VLAN and MAC into the table's 64-bit key: VLAN in bits 48..59,
// the address big-endian in bits 0..47.
func Key(vlan uint16, mac [6]byte) uint64 {
	return uint64(vlan)<<48 | uint64(mac[0])<<40 | uint64(mac[1])<<32 |
		uint64(mac[2])<<24 | uint64(mac[3])<<16 | uint64(mac[4])<<8 | uint64(mac[5])
}

func keyVLAN(k uint64) uint16 { return uint16(k >> 48) }
func keyMAC(k uint64) net.HardwareAddr {
	return net.HardwareAddr{byte(k >> 40), byte(k >> 32), byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)}
}

// entry is one slot of the fixed entry array. seq, key and port form a
// seqlock-guarded triple: seq is odd while the writer changes key or port.
// used is refreshed lock-free by Learn. The rest belongs to the writer.
type entry struct {
	seq  atomic.Uint32
	port atomic.Uint32
	key  atomic.Uint64
	used atomic.Int64
	// lockUntil: until then a gratuitous ARP arriving on a bond must not
	// move the entry (see LockGratuitousARP).
	lockUntil atomic.Int64

	listTime   int64 // used when the entry took its LRU list position
	prev, next int32 // LRU list links, -1 = none
	static     bool
}

// index is one published version of the table: the open-addressing index
// (slot = 8-bit hash tag << 24 | entry number + 1, 0 = empty) and the entry
// array it points into. Only SetMaxEntries replaces it.
type index struct {
	slots   []atomic.Uint32
	mask    uint32
	seed    uint64
	entries []entry
}

func newIndex(maxEntries int) *index {
	n := 64
	for n < 2*maxEntries {
		n <<= 1
	}
	ix := &index{
		slots:   make([]atomic.Uint32, n),
		mask:    uint32(n - 1),
		seed:    rand.Uint64() | 1,
		entries: make([]entry, maxEntries),
	}
	for i := range ix.entries {
		ix.entries[i].key.Store(keyFree)
	}
	return ix
}

// hash mixes the key with the table's random seed (so that a sender cannot
// pick addresses that all collide) and returns the home slot and tag.
func (ix *index) hash(k uint64) (home, tag uint32) {
	h := (k ^ ix.seed) * 0x9e3779b97f4a7c15
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	return uint32(h) & ix.mask, uint32(h>>56) & 0xff
}

// find returns the entry number holding k, or -1. Lock-free: it never
// returns an entry whose key it did not see equal to k under a stable seq.
func (ix *index) find(k uint64) (int32, uint32) {
	i, tag := ix.hash(k)
	for range len(ix.slots) {
		s := ix.slots[i].Load()
		if s == 0 {
			return -1, 0
		}
		if s>>24 == tag {
			n := int32(s&0xffffff) - 1
			if uint(n) < uint(len(ix.entries)) {
				e := &ix.entries[n]
				for range 4 {
					s1 := e.seq.Load()
					if s1&1 != 0 {
						continue
					}
					ek, p := e.key.Load(), e.port.Load()
					if e.seq.Load() != s1 {
						continue
					}
					if ek == k {
						return n, p
					}
					break
				}
			}
		}
		i = (i + 1) & ix.mask
	}
	return -1, 0
}

// Table is a VLAN-aware MAC learning table. The zero value is not usable;
// make one with New.
type Table struct {
	cur atomic.Pointer[index]
	gen atomic.Uint64

	mu      sync.Mutex // serialises every change
	aging   int64
	max     int
	count   int
	statics int
	free    []int32
	head    int32 // LRU list of dynamic entries, oldest first
	tail    int32

	learned, expired, evicted, moved atomic.Uint64
	notLearned                       atomic.Uint64
}

// New makes a table for at most maxEntries addresses (mac-table-size) that
// forgets addresses not seen for aging (mac-aging-time). Zero values pick
// the defaults.
func New(maxEntries int, aging time.Duration) (*Table, error) {
	if maxEntries == 0 {
		maxEntries = DefaultMaxEntries
	}
	if maxEntries < 0 || maxEntries > MaxEntriesLimit {
		return nil, fmt.Errorf("fdb: mac-table-size %d: %w", maxEntries, ErrBadSize)
	}
	if aging <= 0 {
		aging = DefaultAgingTime
	}
	t := &Table{aging: int64(aging), max: maxEntries, head: -1, tail: -1}
	ix := newIndex(maxEntries)
	t.free = make([]int32, maxEntries)
	for i := range t.free {
		t.free[i] = int32(maxEntries - 1 - i)
	}
	t.cur.Store(ix)
	return t, nil
}

// Generation changes whenever an address stops mapping to the port it
// mapped to (move, expiry, eviction, flush, resize). A cache of lookups
// (the bridge's per-PMD exact-match cache) is valid while it is unchanged.
func (t *Table) Generation() uint64 { return t.gen.Load() }

// Lookup returns the port that (vlan, mac) was learned on. It takes no lock
// and never allocates; it may miss an entry being changed at that instant.
func (t *Table) Lookup(vlan uint16, mac [6]byte) (port uint32, ok bool) {
	n, p := t.cur.Load().find(Key(vlan, mac))
	return p, n >= 0
}

// Learn records that mac was seen as a source on port in vlan at time now.
// A known address on the same port is refreshed without a lock.
func (t *Table) Learn(vlan uint16, mac [6]byte, port uint32, now int64) LearnResult {
	if vlan > MaxVLAN {
		t.notLearned.Add(1)
		return NotLearned
	}
	k := Key(vlan, mac)
	ix := t.cur.Load()
	if n, p := ix.find(k); n >= 0 && p == port {
		e := &ix.entries[n]
		if now-e.used.Load() >= refreshGrain {
			e.used.Store(now)
		}
		return Refreshed
	}
	t.mu.Lock()
	r := t.learnLocked(k, port, now, false)
	t.mu.Unlock()
	if r == NotLearned {
		t.notLearned.Add(1)
	}
	return r
}

func (t *Table) learnLocked(k uint64, port uint32, now int64, static bool) LearnResult {
	ix := t.cur.Load()
	if n, p := ix.find(k); n >= 0 {
		e := &ix.entries[n]
		switch {
		case static:
			if !e.static {
				t.unlinkLRU(ix, n)
				e.static = true
				t.statics++
			}
			if p != port {
				t.setPort(e, port)
			}
			e.used.Store(now)
			return Learned
		case e.static:
			if p == port {
				return Refreshed
			}
			return NotLearned
		case p != port:
			t.setPort(e, port)
			t.moved.Add(1)
			e.used.Store(now)
			return Moved
		default:
			e.used.Store(now)
			return Refreshed
		}
	}
	if t.count >= t.max && !t.evictOldest(ix) {
		return NotLearned
	}
	n := t.free[len(t.free)-1]
	t.free = t.free[:len(t.free)-1]
	e := &ix.entries[n]
	e.seq.Add(1)
	e.key.Store(k)
	e.port.Store(port)
	e.seq.Add(1)
	e.used.Store(now)
	e.lockUntil.Store(0)
	e.static = static
	if static {
		t.statics++
	} else {
		e.listTime = now
		t.insertLRU(ix, n)
		t.learned.Add(1)
	}
	t.count++
	ix.insert(k, n)
	return Learned
}

func (t *Table) setPort(e *entry, port uint32) {
	e.seq.Add(1)
	e.port.Store(port)
	e.seq.Add(1)
	t.gen.Add(1)
}

// insert puts entry n (key k) into the first free slot of its probe chain.
// The table never holds more entries than half its slots, so one is free.
func (ix *index) insert(k uint64, n int32) {
	i, tag := ix.hash(k)
	for ix.slots[i].Load() != 0 {
		i = (i + 1) & ix.mask
	}
	ix.slots[i].Store(tag<<24 | uint32(n+1))
}

// remove takes entry n out of the index by backward-shift deletion (no
// tombstones): later members of the probe chain move up into the hole.
// Concurrent readers may miss an entry while it moves, never see a wrong one.
func (ix *index) remove(n int32) {
	k := ix.entries[n].key.Load()
	i, _ := ix.hash(k)
	for {
		s := ix.slots[i].Load()
		if s == 0 {
			return // not indexed (cannot happen)
		}
		if int32(s&0xffffff)-1 == n {
			break
		}
		i = (i + 1) & ix.mask
	}
	j := i
	for {
		j = (j + 1) & ix.mask
		s := ix.slots[j].Load()
		if s == 0 {
			break
		}
		home, _ := ix.hash(ix.entries[int32(s&0xffffff)-1].key.Load())
		// The slot at j may fill the hole at i unless its home lies
		// cyclically in (i, j].
		if (j-home)&ix.mask >= (j-i)&ix.mask {
			ix.slots[i].Store(s)
			i = j
		}
	}
	ix.slots[i].Store(0)
}

// deleteLocked removes entry n from the index, the LRU list and the counts.
func (t *Table) deleteLocked(ix *index, n int32) {
	e := &ix.entries[n]
	ix.remove(n)
	if e.static {
		t.statics--
	} else {
		t.unlinkLRU(ix, n)
	}
	e.seq.Add(1)
	e.key.Store(keyFree)
	e.port.Store(0)
	e.seq.Add(1)
	e.static = false
	t.count--
	t.free = append(t.free, n)
	t.gen.Add(1)
}

// The LRU list holds dynamic entries sorted by listTime, oldest first.
// Learn's lock-free refresh only moves used forward, so used >= listTime;
// the writer re-sorts an entry lazily when it reaches the head. The head's
// used is then the table's minimum: exact LRU at O(1) amortised.

func (t *Table) unlinkLRU(ix *index, n int32) {
	e := &ix.entries[n]
	if e.prev >= 0 {
		ix.entries[e.prev].next = e.next
	} else {
		t.head = e.next
	}
	if e.next >= 0 {
		ix.entries[e.next].prev = e.prev
	} else {
		t.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

// insertLRU links n in listTime order, searching from the tail (new and
// refreshed entries are the most recent ones).
func (t *Table) insertLRU(ix *index, n int32) {
	e := &ix.entries[n]
	after := t.tail
	for after >= 0 && ix.entries[after].listTime > e.listTime {
		after = ix.entries[after].prev
	}
	e.prev = after
	if after >= 0 {
		e.next = ix.entries[after].next
		ix.entries[after].next = n
	} else {
		e.next = t.head
		t.head = n
	}
	if e.next >= 0 {
		ix.entries[e.next].prev = n
	} else {
		t.tail = n
	}
}

// oldest returns the least recently used dynamic entry, re-sorting
// refreshed entries on the way, or -1.
func (t *Table) oldest(ix *index) int32 {
	for range t.count + 1 {
		n := t.head
		if n < 0 {
			return -1
		}
		e := &ix.entries[n]
		u := e.used.Load()
		if u <= e.listTime {
			return n
		}
		t.unlinkLRU(ix, n)
		e.listTime = u
		t.insertLRU(ix, n)
	}
	return t.head
}

func (t *Table) evictOldest(ix *index) bool {
	n := t.oldest(ix)
	if n < 0 {
		return false
	}
	t.deleteLocked(ix, n)
	t.evicted.Add(1)
	return true
}

// LockGratuitousARP protects the entry of (vlan, mac) against being moved
// by gratuitous ARPs received on bonds until the time until: the host just
// announced itself on a local port, and its announcement, flooded out of a
// bond, may come back on another bond member (Open vSwitch locks such
// entries for 5 s). Lock-free.
func (t *Table) LockGratuitousARP(vlan uint16, mac [6]byte, until int64) {
	ix := t.cur.Load()
	if n, _ := ix.find(Key(vlan, mac)); n >= 0 {
		ix.entries[n].lockUntil.Store(until)
	}
}

// GratuitousARPLocked reports whether (vlan, mac) is locked at now by
// LockGratuitousARP. Lock-free.
func (t *Table) GratuitousARPLocked(vlan uint16, mac [6]byte, now int64) bool {
	ix := t.cur.Load()
	n, _ := ix.find(Key(vlan, mac))
	return n >= 0 && ix.entries[n].lockUntil.Load() > now
}

// Expire removes the dynamic entries not seen for the ageing time and
// returns how many. The control plane calls it periodically (OVS: every
// second or so); its cost is the number of expired or refreshed entries.
func (t *Table) Expire(now int64) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	ix := t.cur.Load()
	removed := 0
	for {
		n := t.oldest(ix)
		if n < 0 || ix.entries[n].used.Load()+t.aging > now {
			return removed
		}
		t.deleteLocked(ix, n)
		t.expired.Add(1)
		removed++
	}
}

// AddStatic adds (or turns into) a static entry: never aged, moved or
// evicted (ovs-appctl fdb/add).
func (t *Table) AddStatic(vlan uint16, mac [6]byte, port uint32, now int64) error {
	if vlan > MaxVLAN {
		return fmt.Errorf("fdb: static entry on VLAN %d: %w", vlan, ErrBadVLAN)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.learnLocked(Key(vlan, mac), port, now, true) == NotLearned {
		return fmt.Errorf("fdb: static entry %s on VLAN %d: %w", net.HardwareAddr(mac[:]), vlan, ErrFull)
	}
	return nil
}

// DelStatic removes a static entry; false if there was none.
func (t *Table) DelStatic(vlan uint16, mac [6]byte) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	ix := t.cur.Load()
	n, _ := ix.find(Key(vlan, mac))
	if n < 0 || !ix.entries[n].static {
		return false
	}
	t.deleteLocked(ix, n)
	return true
}

// Flush removes every dynamic entry (fdb/flush); static entries stay.
func (t *Table) Flush() int {
	return t.deleteIf(func(e *entry) bool { return !e.static })
}

// FlushVLAN removes the dynamic entries of one VLAN.
func (t *Table) FlushVLAN(vlan uint16) int {
	return t.deleteIf(func(e *entry) bool { return !e.static && keyVLAN(e.key.Load()) == vlan })
}

// FlushPort removes every entry, static ones included, that points to port:
// for a port that is removed or reconfigured.
func (t *Table) FlushPort(port uint32) int {
	return t.deleteIf(func(e *entry) bool { return e.port.Load() == port })
}

func (t *Table) deleteIf(match func(*entry) bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	ix := t.cur.Load()
	removed := 0
	for i := range ix.entries {
		e := &ix.entries[i]
		if e.key.Load() != keyFree && match(e) {
			t.deleteLocked(ix, int32(i))
			removed++
		}
	}
	return removed
}

// SetAgingTime changes mac-aging-time; entries older than the new time go
// at the next Expire.
func (t *Table) SetAgingTime(d time.Duration) {
	if d <= 0 {
		d = DefaultAgingTime
	}
	t.mu.Lock()
	t.aging = int64(d)
	t.mu.Unlock()
}

// AgingTime is the current mac-aging-time.
func (t *Table) AgingTime() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return time.Duration(t.aging)
}

// SetMaxEntries changes mac-table-size. The table is rebuilt and published
// atomically; when shrinking, the least recently used entries are evicted.
func (t *Table) SetMaxEntries(n int) error {
	if n == 0 {
		n = DefaultMaxEntries
	}
	if n < 0 || n > MaxEntriesLimit {
		return fmt.Errorf("fdb: mac-table-size %d: %w", n, ErrBadSize)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if n == t.max {
		return nil
	}
	old := t.cur.Load()
	for t.count > n && t.evictOldest(old) {
	}
	// Statics first (never evicted), then dynamic entries oldest first
	// so that the LRU order carries over.
	keep := make([]int32, 0, t.count)
	for i := range old.entries {
		if old.entries[i].key.Load() != keyFree && old.entries[i].static {
			keep = append(keep, int32(i))
		}
	}
	for i := t.head; i >= 0; i = old.entries[i].next {
		keep = append(keep, i)
	}
	if len(keep) > n {
		keep = keep[:n] // only when statics alone exceed n
	}
	ix := newIndex(n)
	t.max, t.count, t.statics, t.head, t.tail = n, 0, 0, -1, -1
	t.free = make([]int32, 0, n)
	for i, o := range keep {
		oe, e := &old.entries[o], &ix.entries[i]
		k := oe.key.Load()
		e.key.Store(k)
		e.port.Store(oe.port.Load())
		e.used.Store(oe.used.Load())
		e.lockUntil.Store(oe.lockUntil.Load())
		e.static = oe.static
		e.listTime = oe.listTime
		e.prev, e.next = -1, -1
		if e.static {
			t.statics++
		} else {
			t.insertLRU(ix, int32(i))
		}
		ix.insert(k, int32(i))
		t.count++
	}
	for i := n - 1; i >= len(keep); i-- {
		t.free = append(t.free, int32(i))
	}
	t.cur.Store(ix)
	t.gen.Add(1)
	return nil
}

// MaxEntries is the current mac-table-size.
func (t *Table) MaxEntries() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.max
}

// Len is the number of entries, static ones included.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.count
}

// Entries returns a copy of the table in fdb/show order: dynamic entries
// least recently used first, then static entries.
func (t *Table) Entries() []Entry {
	t.mu.Lock()
	ix := t.cur.Load()
	out := make([]Entry, 0, t.count)
	var statics []Entry
	for i := range ix.entries {
		e := &ix.entries[i]
		k := e.key.Load()
		if k == keyFree {
			continue
		}
		en := Entry{VLAN: keyVLAN(k), MAC: keyMAC(k), Port: e.port.Load(), Static: e.static, Used: e.used.Load()}
		if e.static {
			statics = append(statics, en)
		} else {
			out = append(out, en)
		}
	}
	t.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Used < out[j].Used })
	sort.Slice(statics, func(i, j int) bool {
		return Key(statics[i].VLAN, [6]byte(statics[i].MAC)) < Key(statics[j].VLAN, [6]byte(statics[j].MAC))
	})
	return append(out, statics...)
}

// Stats returns the counters of fdb/stats-show.
func (t *Table) Stats() Stats {
	t.mu.Lock()
	s := Stats{Current: t.count, Max: t.max, Static: t.statics}
	t.mu.Unlock()
	s.Learned = t.learned.Load()
	s.Expired = t.expired.Load()
	s.Evicted = t.evicted.Load()
	s.Moved = t.moved.Load()
	return s
}

// NotLearnedCount counts Learn calls refused (static conflict, full table).
func (t *Table) NotLearnedCount() uint64 { return t.notLearned.Load() }

// ClearStats zeroes the cumulative counters (fdb/stats-clear).
func (t *Table) ClearStats() {
	t.learned.Store(0)
	t.expired.Store(0)
	t.evicted.Store(0)
	t.moved.Store(0)
	t.notLearned.Store(0)
}

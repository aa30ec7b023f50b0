package dataplane

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// DefaultDataRoom is the data room of a default pool buffer: a 1518-byte
// frame plus VLAN tags, rounded like DPDK's 2048-byte mbufs.
const DefaultDataRoom = 2048

// Pool is a fixed set of packet buffers carved from an Arena. Get and Put
// are safe for concurrent use; they never allocate and never block for long
// (one short lock per call or per bulk transfer). An empty pool makes Get
// return nil, which callers count as a drop. A PMD takes and returns its
// packets through its own PoolCache, which touches the shared pool only in
// bulk.
type Pool struct {
	name     string
	arena    *Arena
	bufSize  int
	pkts     []Packet
	mu       sync.Mutex
	free     []*Packet
	failures atomic.Uint64
}

// NewPool carves count buffers of Headroom+dataRoom bytes from arena,
// starting at byte offset off. It returns the pool and the offset past its
// last buffer.
func NewPool(name string, arena *Arena, off, count, dataRoom int) (*Pool, int, error) {
	bufSize := roundUp(Headroom+dataRoom, 64)
	if count <= 0 || off < 0 || off+count*bufSize > len(arena.Bytes()) {
		return nil, off, fmt.Errorf("pool %s: %d buffers of %d bytes do not fit in the arena (%d bytes from %d)",
			name, count, bufSize, len(arena.Bytes())-off, off)
	}
	p := &Pool{name: name, arena: arena, bufSize: bufSize, pkts: make([]Packet, count), free: make([]*Packet, 0, count)}
	mem := arena.Bytes()
	for i := range p.pkts {
		start := off + i*bufSize
		pk := &p.pkts[i]
		pk.buf = mem[start : start+bufSize : start+bufSize]
		pk.iova = arena.IOVA(start)
		pk.pool = p
		pk.Reset()
		p.free = append(p.free, pk)
	}
	return p, off + count*bufSize, nil
}

// Name is the pool's name.
func (p *Pool) Name() string { return p.name }

// Size is the number of buffers in the pool; Available how many are free.
func (p *Pool) Size() int { return len(p.pkts) }
func (p *Pool) Available() int {
	p.mu.Lock()
	n := len(p.free)
	p.mu.Unlock()
	return n
}

// DataRoom is the largest frame a buffer holds.
func (p *Pool) DataRoom() int { return p.bufSize - Headroom }

// AllocFailures counts Get/GetBurst calls that found the pool empty.
func (p *Pool) AllocFailures() uint64 { return p.failures.Load() }

// Get takes one reset packet, or returns nil when the pool is empty.
func (p *Pool) Get() *Packet {
	p.mu.Lock()
	n := len(p.free)
	if n == 0 {
		p.mu.Unlock()
		p.failures.Add(1)
		return nil
	}
	pk := p.free[n-1]
	p.free = p.free[:n-1]
	p.mu.Unlock()
	pk.Reset()
	return pk
}

// GetBurst fills pkts with reset packets and returns how many it got.
func (p *Pool) GetBurst(pkts []*Packet) int {
	p.mu.Lock()
	n := copy(pkts, p.free[max(0, len(p.free)-len(pkts)):])
	p.free = p.free[:len(p.free)-n]
	p.mu.Unlock()
	if n < len(pkts) {
		p.failures.Add(1)
	}
	for _, pk := range pkts[:n] {
		pk.Reset()
	}
	return n
}

// Put returns a packet to the pool.
func (p *Pool) Put(pk *Packet) {
	p.mu.Lock()
	p.free = append(p.free, pk)
	p.mu.Unlock()
}

// putBulk returns packets that all belong to p with one lock.
func (p *Pool) putBulk(pkts []*Packet) {
	p.mu.Lock()
	p.free = append(p.free, pkts...)
	p.mu.Unlock()
}

// getBulk takes up to len(pkts) packets (not reset) with one lock, without
// counting a failure.
func (p *Pool) getBulk(pkts []*Packet) int {
	p.mu.Lock()
	n := copy(pkts, p.free[max(0, len(p.free)-len(pkts)):])
	p.free = p.free[:len(p.free)-n]
	p.mu.Unlock()
	return n
}

// PutBurst returns packets to their pools, with one lock per run of
// packets of the same pool.
func PutBurst(pkts []*Packet) {
	for len(pkts) > 0 {
		p := pkts[0].pool
		n := 1
		for n < len(pkts) && pkts[n].pool == p {
			n++
		}
		p.putBulk(pkts[:n])
		pkts = pkts[n:]
	}
}

// BufferSize is the arena space one buffer of dataRoom bytes takes
// (headroom included, rounded to a cache line).
func BufferSize(dataRoom int) int { return roundUp(Headroom+dataRoom, 64) }

// NewArenaPool maps an arena for count buffers of dataRoom bytes and carves
// one pool out of all of it. The arena is the caller's to close, once no
// packet of the pool is in use any more.
func NewArenaPool(name string, count, dataRoom int, opt ArenaOptions) (*Pool, *Arena, error) {
	a, err := NewArena(count*BufferSize(dataRoom), opt)
	if err != nil {
		return nil, nil, err
	}
	p, _, err := NewPool(name, a, 0, count, dataRoom)
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return p, a, nil
}

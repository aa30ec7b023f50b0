package dataplane

// DefaultCacheSize is the number of packets a PoolCache holds at most (like
// DPDK's per-lcore mempool cache): enough for several bursts, small enough
// that a pool shared by a few PMDs is not drained into their caches.
const DefaultCacheSize = 256

// PoolCache is one goroutine's private cache in front of a Pool (one per
// PMD per pool). Get, GetBurst and Put take no lock and no atomic; the cache
// refills from, and flushes to, the shared pool half a cache at a time, with
// one lock per transfer. A PoolCache must only be used by its owner.
type PoolCache struct {
	pool  *Pool
	items []*Packet // len = cached packets, cap = cache size
	tmp   []*Packet
}

// NewCache makes a cache of size packets (0 = DefaultCacheSize) in front of
// p for one goroutine.
func (p *Pool) NewCache(size int) *PoolCache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	size = max(size, 2)
	return &PoolCache{pool: p, items: make([]*Packet, 0, size), tmp: make([]*Packet, size)}
}

// Pool is the shared pool behind the cache.
func (c *PoolCache) Pool() *Pool { return c.pool }

// Len is how many packets the cache holds now.
func (c *PoolCache) Len() int { return len(c.items) }

func (c *PoolCache) refill() {
	half := cap(c.items) / 2
	n := c.pool.getBulk(c.items[len(c.items) : len(c.items)+half])
	c.items = c.items[:len(c.items)+n]
}

// Get takes one reset packet, or nil (counted in the pool's AllocFailures)
// when the cache and the shared pool are empty.
func (c *PoolCache) Get() *Packet {
	if len(c.items) == 0 {
		c.refill()
		if len(c.items) == 0 {
			c.pool.failures.Add(1)
			return nil
		}
	}
	n := len(c.items) - 1
	pk := c.items[n]
	c.items[n] = nil
	c.items = c.items[:n]
	pk.Reset()
	return pk
}

// GetBurst fills pkts with reset packets and returns how many it got; fewer
// than len(pkts) only when the pool ran dry (counted once).
func (c *PoolCache) GetBurst(pkts []*Packet) int {
	got := 0
	for got < len(pkts) {
		if len(c.items) == 0 {
			if len(pkts)-got >= cap(c.items)/2 {
				// A burst bigger than the refill: go straight to the pool.
				got += c.pool.getBulk(pkts[got:])
				break
			}
			c.refill()
			if len(c.items) == 0 {
				break
			}
		}
		k := min(len(pkts)-got, len(c.items))
		top := len(c.items) - k
		copy(pkts[got:got+k], c.items[top:])
		clear(c.items[top:])
		c.items = c.items[:top]
		got += k
	}
	if got < len(pkts) {
		c.pool.failures.Add(1)
	}
	for _, pk := range pkts[:got] {
		pk.Reset()
	}
	return got
}

// Put returns a packet. A packet of another pool goes back to its own pool.
func (c *PoolCache) Put(pk *Packet) {
	if pk.pool != c.pool {
		pk.pool.Put(pk)
		return
	}
	if len(c.items) == cap(c.items) {
		c.flush(cap(c.items) / 2)
	}
	c.items = append(c.items, pk)
}

// PutBurst returns packets, which may belong to different pools.
func (c *PoolCache) PutBurst(pkts []*Packet) {
	for _, pk := range pkts {
		c.Put(pk)
	}
}

// flush gives the n oldest cached packets back to the shared pool.
func (c *PoolCache) flush(n int) {
	c.pool.putBulk(c.items[:n])
	m := copy(c.items, c.items[n:])
	clear(c.items[m:])
	c.items = c.items[:m]
}

// Flush gives every cached packet back to the shared pool: when the owner
// stops (a PMD exits), so that no buffer is stranded in a dead cache.
func (c *PoolCache) Flush() {
	c.flush(len(c.items))
}

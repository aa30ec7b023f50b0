package kport

import (
	"fmt"
	"sync/atomic"

	"gvswitch/dataplane"
)

// MaxGSOFrame is the largest GSO frame the kernel hands a socket or a tap
// (gso_max_size 64 KiB plus Ethernet and VLAN headers).
const MaxGSOFrame = 65536 + 256

// gsoCacheSize is the number of GSO buffers a receive side keeps at hand.
const gsoCacheSize = 32

// Offloads is a receive side's offload settings: whether partial
// checksums are kept as Packet metadata (Keep) and where whole GSO frames
// go (GSO, nil for none). Set may be called from any goroutine while the
// port runs; the polling goroutine alone reads Keep and GSO and calls
// Adopt at the start of each burst, so the settings never change in the
// middle of one. The zero value keeps nothing and has no GSO cache.
type Offloads struct {
	// Keep and GSO are the settings in force (polling goroutine only).
	Keep bool
	GSO  *dataplane.PoolCache

	next atomic.Pointer[offloadCfg]
	cur  *offloadCfg
}

// offloadCfg is what Set asked for.
type offloadCfg struct {
	keep bool
	gso  *dataplane.PoolCache
}

// NewGSOCache returns a cache of gsoPool's buffers for Set, or an error
// if they hold fewer than need bytes; nil for a nil pool.
func NewGSOCache(gsoPool *dataplane.Pool, need int) (*dataplane.PoolCache, error) {
	if gsoPool == nil {
		return nil, nil
	}
	if gsoPool.DataRoom() < need {
		return nil, fmt.Errorf("GSO pool buffers hold %d bytes, need %d", gsoPool.DataRoom(), need)
	}
	return gsoPool.NewCache(gsoCacheSize), nil
}

// Set asks the receive side to keep partial checksums or not and to take
// GSO frames into gso (from NewGSOCache; nil for none) from its next
// burst.
func (o *Offloads) Set(keep bool, gso *dataplane.PoolCache) {
	o.next.Store(&offloadCfg{keep: keep, gso: gso})
}

// Adopt takes the settings last Set, if they changed, giving the old GSO
// cache's buffers back to their pool. Polling goroutine only.
func (o *Offloads) Adopt() {
	if c := o.next.Load(); c != o.cur {
		o.adopt(c)
	}
}

func (o *Offloads) adopt(c *offloadCfg) {
	if o.GSO != nil {
		o.GSO.Flush()
	}
	o.cur, o.Keep, o.GSO = c, c.keep, c.gso
}

// Close gives the buffers of the GSO caches, in force or set but not yet
// adopted, back to their pool. The port must no longer be polled.
func (o *Offloads) Close() {
	if o.GSO != nil {
		o.GSO.Flush()
	}
	if c := o.next.Load(); c != nil && c.gso != nil && c.gso != o.GSO {
		c.gso.Flush()
	}
}

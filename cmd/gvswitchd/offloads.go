package main

import (
	"sync"

	"gvswitch/control/reconcile"
	"gvswitch/control/unixctl/vlog"
	"gvswitch/dataplane"
	"gvswitch/dataplane/afpacket"
)

// userspace-tso-enable (Open_vSwitch other_config). In Open vSwitch it
// defaults to false (vswitch.xml: "Set this value to true to enable
// userspace support for TCP Segmentation Offloading (TSO)"), because a port
// that cannot carry TSO there breaks TCP. gvswitch defaults to true: the
// bridge completes partial checksums and segments GSO frames in the egress
// path for every port that cannot carry them (dataplane.OffloadCapable),
// so what leaves such a port is the same either way, while TCP between
// kernel ports (system, internal) keeps 64 KiB frames whole and runs
// several times faster. Any value other than "true" turns it off, as
// Open vSwitch reads the key: kernel ports then complete and segment what
// they receive. As in Open vSwitch, a change applies to ports opened
// afterwards (restart the daemon to apply it to all).
const tsoKey = "userspace-tso-enable"

// gsoBuffers is how many 64 KiB buffers the GSO pool holds (17 MB): each
// kernel port caches up to 32 of them; when they run out, ports fall back
// to segmenting on receive.
const gsoBuffers = 256

var gsoPool struct {
	mu   sync.Mutex
	pool *dataplane.Pool
	err  error
}

var netdevLog = vlog.Module("netdev_linux")

// kernelOffloads is how a kernel port (system, internal) opened with c
// treats received offloads: keep partial checksums, and the pool that
// receives whole GSO frames (nil: segment them on receive).
func kernelOffloads(c reconcile.IfaceConfig) (keep bool, gso *dataplane.Pool) {
	if v, ok := c.Global[tsoKey]; ok && v != "true" {
		return false, nil
	}
	gsoPool.mu.Lock()
	defer gsoPool.mu.Unlock()
	if gsoPool.pool == nil && gsoPool.err == nil {
		gsoPool.pool, gsoPool.err = newGSOPool()
		if gsoPool.err != nil {
			netdevLog.Warn("no memory for whole TCP GSO frames, kernel ports segment them on receive: %v", gsoPool.err)
		}
	}
	return true, gsoPool.pool
}

func newGSOPool() (*dataplane.Pool, error) {
	p, _, err := dataplane.NewArenaPool("gso", gsoBuffers, afpacket.MaxGSOFrame, dataplane.ArenaOptions{})
	return p, err
}

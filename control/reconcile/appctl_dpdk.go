package reconcile

import (
	"fmt"
	"path"
	"strings"
	"unsafe"

	"gvswitch/control/unixctl/vlog"
	"gvswitch/dataplane"
)

// dpdk/* and netdev-dpdk/*: gvswitch has no DPDK. Its own drivers serve
// the dpdk* port types from one packet pool carved from one arena, and
// these commands show that pool and arena in DPDK's layouts
// (reference/ovs-dpdk/14*, 15e, 15f). DPDK's log types are gvswitch's log
// modules.

// dpdkMaxHeaps is DPDK's RTE_MAX_HEAPS: get-malloc-stats lists them all.
const dpdkMaxHeaps = 32

// dpdkMaxLcores is DPDK's RTE_MAX_LCORE: get-mempool-info lists a cache
// count for each.
const dpdkMaxLcores = 128

func (d *Daemon) dpdkCommands() []unixctlCommand {
	return []unixctlCommand{
		{"dpdk/get-malloc-stats", "", 0, 0, d.dpdkMallocStats},
		{"dpdk/log-list", "", 0, 0, dpdkLogList},
		{"dpdk/log-set", "{level | pattern:level}", 0, unixctlUnbounded, dpdkLogSet},
		{"dpdk/lcore-list", "", 0, 0, d.dpdkLcoreList},
		{"netdev-dpdk/get-mempool-info", "[netdev]", 0, 1, d.mempoolInfo},
		{"netdev-dpdk/set-admin-state", "[netdev] up|down", 1, 2, d.setAdminState},
		{"netdev-dpdk/detach", "pci address of device", 1, 1, d.dpdkDetach},
	}
}

// packetMemory returns the arena and pool, nil before the first port.
func (d *Daemon) packetMemory() (*dataplane.Arena, *dataplane.Pool) {
	bdp, ok := d.dp.(*bridgeDatapath)
	if !ok {
		return nil, nil
	}
	return bdp.arena, bdp.pkts
}

// dpdkMallocStats is dpdk/get-malloc-stats: heap 0 is the packet arena.
func (d *Daemon) dpdkMallocStats([]string) (string, error) {
	d.mu.Lock()
	arena, pool := d.packetMemory()
	d.mu.Unlock()
	var b strings.Builder
	for id := 0; id < dpdkMaxHeaps; id++ {
		var name string
		var size, free, count, freeCount int
		if id == 0 && arena != nil && pool != nil {
			name = "socket_0"
			size = len(arena.Bytes())
			buf := dataplane.BufferSize(pool.DataRoom())
			free = size - (pool.Size()-pool.Available())*buf
			count = pool.Size() - pool.Available()
			freeCount = 1
		}
		fmt.Fprintf(&b, "Heap id:%d\n\tHeap name:%s\n\tHeap_size:%d,\n\tFree_size:%d,\n\tAlloc_size:%d,\n\tGreatest_free_size:%d,\n\tAlloc_count:%d,\n\tFree_count:%d,\n",
			id, name, size, free, size-free, free, count, freeCount)
	}
	return b.String(), nil
}

// dpdkLevel maps a vlog level to DPDK's names.
func dpdkLevel(l vlog.Level) string {
	switch l {
	case vlog.Off, vlog.Emer:
		return "emergency"
	case vlog.Err:
		return "error"
	case vlog.Warn:
		return "warning"
	case vlog.Info:
		return "info"
	}
	return "debug"
}

// dpdkLogList is dpdk/log-list: every log module, as a DPDK log type,
// with its log file level.
func dpdkLogList([]string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "global log level is %s\n", dpdkLevel(vlog.DefaultLevel(vlog.File)))
	for i, n := range vlog.Modules() {
		fmt.Fprintf(&b, "id %d: %s, level is %s\n", i, n, dpdkLevel(vlog.Module(n).Level(vlog.File)))
	}
	return b.String(), nil
}

// dpdkLogSet is dpdk/log-set {level | pattern:level}...: sets the level
// of every module (or of the modules matching the shell pattern).
func dpdkLogSet(args []string) (string, error) {
	levels := map[string]string{"emergency": "emer", "emer": "emer", "alert": "emer", "critical": "err", "crit": "err",
		"error": "err", "err": "err", "warning": "warn", "warn": "warn", "notice": "info", "info": "info", "debug": "dbg"}
	for _, a := range args {
		pattern, level, hasPattern := strings.Cut(a, ":")
		if !hasPattern {
			level, pattern = a, ""
		}
		lv, ok := levels[strings.ToLower(level)]
		if !ok {
			return "", unixctlError(fmt.Sprintf("invalid log level: '%s'", level))
		}
		if !hasPattern {
			if err := vlog.Set("any:any:" + lv); err != nil {
				return "", unixctlError(err.Error())
			}
			continue
		}
		n := 0
		for _, m := range vlog.Modules() {
			if ok, _ := path.Match(pattern, m); ok {
				if err := vlog.Set(m + ":any:" + lv); err == nil {
					n++
				}
			}
		}
		if n == 0 {
			return "", unixctlError(fmt.Sprintf("cannot set log level for '%s'", a))
		}
	}
	return "", nil
}

// dpdkLcoreList is dpdk/lcore-list: the main thread and one lcore per
// PMD, as DPDK's lcore dump shows them.
func (d *Daemon) dpdkLcoreList([]string) (string, error) {
	var b strings.Builder
	b.WriteString("lcore 0, socket 0, role RTE, cpuset 0\n")
	if bdp, ok := d.dp.(*bridgeDatapath); ok {
		if m, err := bdp.pmdManager(); err == nil {
			for i, t := range m.Threads() {
				fmt.Fprintf(&b, "lcore %d, socket %d, role NON_EAL, cpuset %d\n", i+1, t.NUMA(), t.Core())
			}
		}
	}
	return b.String(), nil
}

// dpdkIface finds a running dpdk* interface; d.mu is held.
func (d *Daemon) dpdkIface(name string) *iface {
	f := d.ifaceByName(name)
	if f == nil || f.dp == nil || !strings.HasPrefix(f.typ, "dpdk") {
		return nil
	}
	return f
}

// mempoolInfo is netdev-dpdk/get-mempool-info [netdev] in DPDK's
// rte_mempool_dump layout, for the shared packet pool.
func (d *Daemon) mempoolInfo(args []string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	arena, pool := d.packetMemory()
	if len(args) == 1 {
		f := d.dpdkIface(args[0])
		if f == nil {
			return "", unixctlError("Not a DPDK Interface")
		}
		if f.typ == "dpdkvhostuser" && !f.dp.Link() {
			return "", unixctlError("Not allocated") // no guest yet
		}
	}
	if pool == nil {
		return "", unixctlError("Not allocated")
	}
	var b strings.Builder
	size := pool.Size()
	buf := dataplane.BufferSize(pool.DataRoom())
	base := uintptr(0)
	if mem := arena.Bytes(); len(mem) > 0 {
		base = uintptr(unsafe.Pointer(unsafe.SliceData(mem)))
	}
	fmt.Fprintf(&b, "mempool <%s>@0x%x\n", pool.Name(), base)
	fmt.Fprintf(&b, "  flags=10\n  socket_id=0\n  pool=0x%x\n  iova=0x%x\n  nb_mem_chunks=1\n", base, arena.IOVA(0))
	fmt.Fprintf(&b, "  size=%d\n  populated_size=%d\n  header_size=0\n  elt_size=%d\n  trailer_size=0\n  total_obj_size=%d\n  private_data_size=0\n",
		size, size, buf, buf)
	b.WriteString("  ops_index=0\n  ops_name: <gvswitch>\n")
	fmt.Fprintf(&b, "  avg bytes/object=%f\n", float64(len(arena.Bytes()))/float64(size))
	// Buffers a PMD holds in its own cache are not counted apart:
	// every lcore's cache count is 0.
	b.WriteString("  internal cache infos:\n    cache_size=0\n")
	for i := 0; i < dpdkMaxLcores; i++ {
		fmt.Fprintf(&b, "    cache_count[%d]=0\n", i)
	}
	b.WriteString("    total_cache_count=0\n")
	fmt.Fprintf(&b, "  common_pool_count=%d\n  no statistics available\n", pool.Available())
	if len(args) == 1 {
		fmt.Fprintf(&b, "    count: avail (%d), in use (%d)\n", pool.Available(), size-pool.Available())
	}
	return b.String(), nil
}

// setAdminState is netdev-dpdk/set-admin-state [netdev] up|down.
func (d *Daemon) setAdminState(args []string) (string, error) {
	state := args[len(args)-1]
	if state != "up" && state != "down" {
		return "", unixctlError("Invalid Admin State")
	}
	if len(args) == 2 {
		d.mu.Lock()
		f := d.dpdkIface(args[0])
		d.mu.Unlock()
		if f == nil {
			return "", unixctlError("Not a DPDK Interface")
		}
	}
	return "", unixctlError("gvswitch: setting the administrative state of a port is not supported")
}

// dpdkDetach is netdev-dpdk/detach: gvswitch attaches a device only while
// a dpdk port uses it.
func (d *Daemon) dpdkDetach(args []string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for u, f := range d.ifaces {
		row := d.db["Interface"][u]
		if row != nil && f.typ == "dpdk" && row["options"].StringMap()["dpdk-devargs"] == args[0] && f.dp != nil {
			return "", unixctlError(fmt.Sprintf("Device '%s' is being used by interface '%s'. Remove it before detaching", args[0], f.name))
		}
	}
	return "", unixctlError(fmt.Sprintf("Device '%s' not found", args[0]))
}

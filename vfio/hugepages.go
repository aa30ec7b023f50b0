package vfio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrNoHugepages: no hugepages are reserved, or not enough on a NUMA node.
var ErrNoHugepages = errors.New("not enough hugepages")

// HugeMount is a mounted hugetlbfs.
type HugeMount struct {
	Path     string
	PageSize int64 // bytes
}

// HugeMounts lists the hugetlbfs mounts of /proc/mounts; a mount without
// a pagesize= option uses the default size (/proc/meminfo Hugepagesize).
func (h Host) HugeMounts() ([]HugeMount, error) {
	f, err := os.Open(h.proc("mounts"))
	if err != nil {
		return nil, fmt.Errorf("hugetlbfs mounts: %w", err)
	}
	defer f.Close()
	def, _ := h.DefaultHugePageSize()
	return parseHugeMounts(f, def)
}

func parseHugeMounts(r io.Reader, def int64) ([]HugeMount, error) {
	var out []HugeMount
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[2] != "hugetlbfs" {
			continue
		}
		m := HugeMount{Path: unescapeMount(f[1]), PageSize: def}
		for _, o := range strings.Split(f[3], ",") {
			if v, ok := strings.CutPrefix(o, "pagesize="); ok {
				n, err := parseSize(v)
				if err != nil {
					return nil, fmt.Errorf("hugetlbfs %s: %w", m.Path, err)
				}
				m.PageSize = n
			}
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// unescapeMount undoes /proc/mounts' octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parseSize reads "2M", "1G", "2048kB", "1048576" (bytes).
func parseSize(s string) (int64, error) {
	mult := int64(1)
	t := strings.TrimSpace(s)
	switch {
	case strings.HasSuffix(t, "kB"), strings.HasSuffix(t, "KB"), strings.HasSuffix(t, "K"), strings.HasSuffix(t, "k"):
		mult, t = 1<<10, strings.TrimRight(t, "kKB")
	case strings.HasSuffix(t, "M"), strings.HasSuffix(t, "MB"):
		mult, t = 1<<20, strings.TrimRight(t, "MB")
	case strings.HasSuffix(t, "G"), strings.HasSuffix(t, "GB"):
		mult, t = 1<<30, strings.TrimRight(t, "GB")
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n <= 0 || n > 1<<40/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

// DefaultHugePageSize is /proc/meminfo's Hugepagesize.
func (h Host) DefaultHugePageSize() (int64, error) {
	b, err := os.ReadFile(h.proc("meminfo"))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Hugepagesize:"); ok {
			return parseSize(strings.ReplaceAll(v, " ", ""))
		}
	}
	return 0, fmt.Errorf("no Hugepagesize in %s", h.proc("meminfo"))
}

// HugePool is the reservation of one page size on one NUMA node (Node -1:
// the whole system, for kernels or trees without per-node counters).
type HugePool struct {
	Node     int
	PageSize int64
	Total    int64 // nr_hugepages
	Free     int64 // free_hugepages
}

// HugePools reads the per-node reservations from
// /sys/devices/system/node/node*/hugepages/hugepages-<size>kB, or the
// system-wide ones from /sys/kernel/mm/hugepages when there are no nodes.
func (h Host) HugePools() ([]HugePool, error) {
	nodes, _ := filepath.Glob(h.sys("devices/system/node/node[0-9]*"))
	var out []HugePool
	read := func(dir string, node int) error {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range ents {
			v, ok := strings.CutPrefix(e.Name(), "hugepages-")
			if !ok {
				continue
			}
			size, err := parseSize(v)
			if err != nil {
				return fmt.Errorf("%s: %w", e.Name(), err)
			}
			p := HugePool{Node: node, PageSize: size}
			if p.Total, err = readInt(filepath.Join(dir, e.Name(), "nr_hugepages")); err != nil {
				return err
			}
			if p.Free, err = readInt(filepath.Join(dir, e.Name(), "free_hugepages")); err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	}
	for _, n := range nodes {
		id, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(n), "node"))
		if err != nil {
			continue
		}
		if err := read(filepath.Join(n, "hugepages"), id); err != nil {
			return nil, fmt.Errorf("hugepages of NUMA node %d: %w", id, err)
		}
	}
	if len(nodes) == 0 {
		if err := read(h.sys("kernel/mm/hugepages"), -1); err != nil {
			return nil, fmt.Errorf("hugepages: %w", err)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Node != out[j].Node {
			return out[i].Node < out[j].Node
		}
		return out[i].PageSize < out[j].PageSize
	})
	return out, nil
}

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// SocketMemPlan is how much hugepage memory to take on each node, in the
// largest page size that has enough free pages there.
type SocketMemPlan struct {
	Node     int
	Bytes    int64
	PageSize int64
}

// PlanSocketMem checks the free hugepages against dpdk-socket-mem (MB per
// node, as dataplane.ParseSocketMem returns it) and picks a page size per
// node; the arena of a node's plan is then made with
// dataplane.ArenaOptions{HugetlbfsDir: a HugeMounts path of that size}. The error (wrapping
// ErrNoHugepages) says which node lacks what and how to reserve it.
func (h Host) PlanSocketMem(mb []int) ([]SocketMemPlan, error) {
	pools, err := h.HugePools()
	if err != nil {
		return nil, err
	}
	var total int64
	for _, p := range pools {
		total += p.Total
	}
	if total == 0 {
		return nil, fmt.Errorf("%w: none reserved (echo N > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages, or hugepages= on the kernel command line) and mount hugetlbfs", ErrNoHugepages)
	}
	var plan []SocketMemPlan
	for node, m := range mb {
		if m == 0 {
			continue
		}
		want := int64(m) << 20
		var best *HugePool
		var have []string
		for i := len(pools) - 1; i >= 0; i-- { // largest page size first
			p := &pools[i]
			if p.Node != node && p.Node != -1 {
				continue
			}
			have = append(have, fmt.Sprintf("%dkB: %d free of %d", p.PageSize>>10, p.Free, p.Total))
			if best == nil && p.Free*p.PageSize >= want {
				best = p
			}
		}
		if best == nil {
			if len(have) == 0 {
				have = append(have, "no hugepages")
			}
			return nil, fmt.Errorf("%w: dpdk-socket-mem asks %d MB on NUMA node %d, which has %s", ErrNoHugepages, m, node, strings.Join(have, ", "))
		}
		plan = append(plan, SocketMemPlan{Node: node, Bytes: (want + best.PageSize - 1) / best.PageSize * best.PageSize, PageSize: best.PageSize})
	}
	return plan, nil
}

package dataplane

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrNoHugepages is wrapped by NewArena when hugepages were required but none
// could be mapped.
var ErrNoHugepages = errors.New("no hugepages available")

// ArenaOptions says how NewArena gets its memory.
type ArenaOptions struct {
	// HugePages asks for hugepage-backed memory (MAP_HUGETLB). When it cannot
	// be had, NewArena falls back to ordinary pages unless RequireHuge is set.
	HugePages   bool
	RequireHuge bool
	// HugePageSize is 2<<20 or 1<<30; zero means 2 MiB.
	HugePageSize int
	// HugetlbfsDir, when set, backs the arena with an (unlinked) file on
	// that hugetlbfs mount (e.g. /dev/hugepages, /mnt/huge_1GB) instead of
	// anonymous MAP_HUGETLB memory; the mount's page size is used.
	HugetlbfsDir string
	// Logger receives the warning when hugepages were asked for and
	// ordinary pages are used instead; nil means slog.Default().
	Logger *slog.Logger
}

// Arena is one mmap'd region outside the Go heap. The garbage collector
// never scans or moves it, so its addresses are stable and usable for DMA.
type Arena struct {
	mem      []byte
	huge     bool
	pageSize int
	// iovaBase is the IOVA of mem[0]. By default IOVA = virtual address,
	// which is what a VFIO type-1 mapping of this arena uses.
	iovaBase uint64
}

// NewArena maps size bytes (rounded up to the page size).
func NewArena(size int, opt ArenaOptions) (*Arena, error) {
	if size <= 0 {
		return nil, fmt.Errorf("arena: bad size %d", size)
	}
	var hugeErr error
	if opt.HugetlbfsDir != "" {
		a, err := newHugetlbfsArena(size, opt.HugetlbfsDir)
		if err == nil {
			return a, nil
		}
		if opt.RequireHuge {
			return nil, err
		}
		hugeErr = err
	} else if opt.HugePages || opt.RequireHuge {
		ps := opt.HugePageSize
		if ps == 0 {
			ps = 2 << 20
		}
		flags := unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_HUGETLB | unix.MAP_POPULATE
		if ps == 1<<30 {
			flags |= 30 << unix.MAP_HUGE_SHIFT
		} else {
			flags |= 21 << unix.MAP_HUGE_SHIFT
		}
		n := roundUp(size, ps)
		mem, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, flags)
		if err == nil {
			return newArena(mem, true, ps), nil
		}
		if opt.RequireHuge {
			return nil, fmt.Errorf("arena: %d bytes in %d-byte pages: %w (%v)", n, ps, ErrNoHugepages, err)
		}
		hugeErr = fmt.Errorf("arena: %d bytes in %d-byte pages: %w (%v)", n, ps, ErrNoHugepages, err)
	}
	if hugeErr != nil {
		lg := opt.Logger
		if lg == nil {
			lg = slog.Default()
		}
		lg.Warn("hugepages unavailable, packet memory uses ordinary pages (more TLB misses, slower forwarding)",
			"bytes", size, "err", hugeErr)
	}
	ps := unix.Getpagesize()
	n := roundUp(size, ps)
	mem, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("arena: mmap %d bytes: %w", n, err)
	}
	return newArena(mem, false, ps), nil
}

func newArena(mem []byte, huge bool, ps int) *Arena {
	return &Arena{mem: mem, huge: huge, pageSize: ps, iovaBase: uint64(uintptr(unsafe.Pointer(&mem[0])))}
}

// Bytes is the whole arena.
func (a *Arena) Bytes() []byte { return a.mem }

// Huge reports whether the arena is hugepage-backed.
func (a *Arena) Huge() bool { return a.huge }

// PageSize is the size of the pages backing the arena.
func (a *Arena) PageSize() int { return a.pageSize }

// IOVA is the I/O virtual address of byte off of the arena.
func (a *Arena) IOVA(off int) uint64 { return a.iovaBase + uint64(off) }

// SetIOVABase changes the IOVA of the arena's first byte, for a DMA mapping
// that does not use IOVA = VA.
func (a *Arena) SetIOVABase(iova uint64) { a.iovaBase = iova }

// Close unmaps the arena. No packet of it may be used afterwards.
func (a *Arena) Close() error {
	if a.mem == nil {
		return nil
	}
	err := unix.Munmap(a.mem)
	a.mem = nil
	return err
}

// newHugetlbfsArena maps size bytes of a fresh file on a hugetlbfs mount;
// the file is unlinked at once so nothing is left behind if we crash.
func newHugetlbfsArena(size int, dir string) (*Arena, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return nil, fmt.Errorf("arena: hugetlbfs %s: %w", dir, err)
	}
	if st.Type != unix.HUGETLBFS_MAGIC {
		return nil, fmt.Errorf("arena: %s is not a hugetlbfs mount: %w", dir, ErrNoHugepages)
	}
	ps := int(st.Bsize)
	f, err := os.CreateTemp(dir, "gvswitch-arena-")
	if err != nil {
		return nil, fmt.Errorf("arena: hugetlbfs %s: %w", dir, err)
	}
	defer f.Close()
	os.Remove(f.Name())
	n := roundUp(size, ps)
	if err := f.Truncate(int64(n)); err != nil {
		return nil, fmt.Errorf("arena: hugetlbfs %s: %d bytes: %w (%v)", dir, n, ErrNoHugepages, err)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("arena: hugetlbfs %s: mmap %d bytes: %w (%v)", dir, n, ErrNoHugepages, err)
	}
	return newArena(mem, true, ps), nil
}

// ErrBadSocketMem is wrapped by ParseSocketMem for a malformed value.
var ErrBadSocketMem = errors.New("bad dpdk-socket-mem")

// ParseSocketMem parses other_config:dpdk-socket-mem ("1024,1024": MB per
// NUMA node, as OVS and DPDK's --socket-mem take it) into MB per node. An
// empty string gives nil (the caller's default).
func ParseSocketMem(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	mb := make([]int, len(parts))
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v < 0 || v > 1<<20 {
			return nil, fmt.Errorf("%w %q: node %d: want MB as a number 0..1048576", ErrBadSocketMem, s, i)
		}
		mb[i] = v
	}
	return mb, nil
}

// SocketMemBytes is the arena size for a dpdk-socket-mem value: the sum of
// the nodes' MB (gvswitch keeps one arena; NUMA placement of it is left to
// the kernel's first-touch policy).
func SocketMemBytes(s string) (int, error) {
	mb, err := ParseSocketMem(s)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, v := range mb {
		total += v
	}
	return total << 20, nil
}

func roundUp(n, to int) int { return (n + to - 1) / to * to }

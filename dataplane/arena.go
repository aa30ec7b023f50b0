package dataplane

import (
	"errors"
	"fmt"
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
	// HugePageSize is 2<<20 or 1<<30; zero means the kernel default.
	HugePageSize int
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
	if opt.HugePages || opt.RequireHuge {
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

func roundUp(n, to int) int { return (n + to - 1) / to * to }

package vhosttest

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// HugePageSize is the page size NewHugeMemory uses.
const HugePageSize = 2 << 20

// NewHugeMemory is NewMemory backed by 2 MiB hugepages (a memfd with
// MFD_HUGETLB, which leaves no file behind), as DPDK's virtio-user and
// QEMU with a hugetlbfs memory backend use: fewer TLB misses on both sides
// of the rings. The kernel's hugepage pool must hold size bytes.
func NewHugeMemory(size int) (*Memory, error) {
	size = (size + HugePageSize - 1) / HugePageSize * HugePageSize
	fd, err := unix.MemfdCreate("vhosttest-guest-huge", unix.MFD_CLOEXEC|unix.MFD_HUGETLB)
	if err != nil {
		return nil, fmt.Errorf("memfd hugetlb: %w", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("memfd hugetlb truncate to %d bytes: %w", size, err)
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("memfd hugetlb mmap of %d bytes (free hugepages?): %w", size, err)
	}
	return &Memory{fd: fd, mem: mem, GPABase: 0x10000}, nil
}

package vhosttest

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	"gvswitch/vhostuser/proto"
)

// Memory is guest memory: a memfd mapped in this process. Guest physical
// address g is byte g-GPABase of Bytes; the front-end virtual address is
// the real address of that byte in this process (as in QEMU).
type Memory struct {
	fd      int
	mem     []byte
	GPABase uint64
	next    uint64 // bump allocator, offset into mem
}

// NewMemory makes size bytes (rounded to pages) of shared guest memory.
func NewMemory(size int) (*Memory, error) {
	ps := unix.Getpagesize()
	size = (size + ps - 1) / ps * ps
	fd, err := unix.MemfdCreate("vhosttest-guest", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd: %w", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("memfd truncate: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("memfd mmap: %w", err)
	}
	return &Memory{fd: fd, mem: mem, GPABase: 0x10000}, nil
}

// Close unmaps the memory and closes the memfd.
func (m *Memory) Close() error {
	unix.Munmap(m.mem)
	return unix.Close(m.fd)
}

// Fd is the memfd (owned by Memory; dup it to give it away).
func (m *Memory) Fd() int { return m.fd }

// Bytes is all of guest memory.
func (m *Memory) Bytes() []byte { return m.mem }

// Region describes all of the memory as one vhost-user region.
func (m *Memory) Region() proto.MemRegion {
	return proto.MemRegion{GuestAddr: m.GPABase, Size: uint64(len(m.mem)), UserAddr: m.UVA(0), MmapOffset: 0}
}

// DupFd returns a duplicate of the memfd for a message or Map call.
func (m *Memory) DupFd() int {
	fd, err := unix.Dup(m.fd)
	if err != nil {
		return -1
	}
	return fd
}

// UVA is the front-end virtual address of byte off.
func (m *Memory) UVA(off uint64) uint64 { return uint64(uintptr(unsafe.Pointer(&m.mem[0]))) + off }

// GPA is the guest physical address of byte off.
func (m *Memory) GPA(off uint64) uint64 { return m.GPABase + off }

// Alloc reserves n bytes aligned to align and returns their offset.
func (m *Memory) Alloc(n, align uint64) (uint64, error) {
	off := (m.next + align - 1) &^ (align - 1)
	if off+n > uint64(len(m.mem)) {
		return 0, fmt.Errorf("guest memory full: %d bytes at %d of %d", n, off, len(m.mem))
	}
	m.next = off + n
	return off, nil
}

// At is the n bytes at guest physical address gpa (it panics when out of
// range: the test asked for it).
func (m *Memory) At(gpa, n uint64) []byte { return m.mem[gpa-m.GPABase : gpa-m.GPABase+n] }

// Truncate shrinks the memfd to size bytes, making later accesses beyond it
// fault in every process that maps it (for the SIGBUS test).
func (m *Memory) Truncate(size int64) error { return unix.Ftruncate(m.fd, size) }

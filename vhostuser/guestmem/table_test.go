package guestmem

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"gvswitch/vhostuser/proto"
)

func memfd(t *testing.T, size int) int {
	t.Helper()
	fd, err := unix.MemfdCreate("guestmem-test", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		t.Fatal(err)
	}
	return fd
}

func dup(t *testing.T, fd int) int {
	n, err := unix.Dup(fd)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTranslateBounds(t *testing.T) {
	fd := memfd(t, 3<<20)
	defer unix.Close(fd)
	front, err := unix.Mmap(fd, 0, 3<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(front)
	regs := []proto.MemRegion{
		{GuestAddr: 0, Size: 1 << 20, UserAddr: 0x10000000, MmapOffset: 0},
		{GuestAddr: 1 << 20, Size: 2 << 20, UserAddr: 0x20000000, MmapOffset: 1 << 20},
	}
	tb, err := Map(regs, []int{dup(t, fd), dup(t, fd)})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	copy(front[(1<<20)+5:], "hello")
	if b := tb.GPA((1<<20)+5, 5); string(b) != "hello" {
		t.Fatalf("GPA read %q", b)
	}
	if b := tb.UVA(0x20000005, 5); string(b) != "hello" {
		t.Fatalf("UVA read %q", b)
	}
	tb.GPA(7, 3)[0] = 'X'
	if front[7] != 'X' {
		t.Fatal("write through GPA not seen by the front-end")
	}
	for _, tc := range []struct {
		name string
		addr uint64
		n    uint64
	}{
		{"past the end", 3 << 20, 1},
		{"straddles regions", (1 << 20) - 2, 4},
		{"wraps", ^uint64(0) - 1, 4},
		{"huge length", 0, ^uint64(0)},
		{"last byte plus one", (3 << 20) - 1, 2},
	} {
		if b := tb.GPA(tc.addr, tc.n); b != nil {
			t.Errorf("%s: GPA(%#x, %#x) gave %d bytes", tc.name, tc.addr, tc.n, len(b))
		}
	}
	if b := tb.GPA((3<<20)-1, 1); len(b) != 1 {
		t.Error("last byte not reachable")
	}
	if b := tb.UVA(0x10000000+(1<<20), 1); b != nil {
		t.Error("UVA past region 0 translated")
	}
}

func TestMapRejects(t *testing.T) {
	fd := memfd(t, 1<<20)
	defer unix.Close(fd)
	for _, tc := range []struct {
		name string
		regs []proto.MemRegion
	}{
		{"beyond file", []proto.MemRegion{{Size: 2 << 20, UserAddr: 0x1000}}},
		{"offset beyond file", []proto.MemRegion{{Size: 4096, MmapOffset: 1 << 20}}},
		{"overlap gpa", []proto.MemRegion{{Size: 4096, UserAddr: 0}, {GuestAddr: 2048, Size: 4096, UserAddr: 1 << 30}}},
		{"overlap uva", []proto.MemRegion{{Size: 4096, UserAddr: 0}, {GuestAddr: 1 << 30, Size: 4096, UserAddr: 100}}},
		{"empty", []proto.MemRegion{{Size: 0}}},
	} {
		fds := make([]int, len(tc.regs))
		for i := range fds {
			fds[i] = dup(t, fd)
		}
		if tb, err := Map(tc.regs, fds); !errors.Is(err, ErrBadRegion) {
			tb.Close()
			t.Errorf("%s: err = %v, want ErrBadRegion", tc.name, err)
		}
	}
	if _, err := Map([]proto.MemRegion{{Size: 4096}}, nil); !errors.Is(err, ErrBadRegion) {
		t.Errorf("region without fd: %v", err)
	}
}

func TestWithWithout(t *testing.T) {
	fd := memfd(t, 2<<20)
	defer unix.Close(fd)
	r0 := proto.MemRegion{GuestAddr: 0, Size: 1 << 20, UserAddr: 0x1000000}
	r1 := proto.MemRegion{GuestAddr: 1 << 20, Size: 1 << 20, UserAddr: 0x2000000, MmapOffset: 1 << 20}
	var empty *Table
	a, err := empty.With(r0, dup(t, fd))
	if err != nil {
		t.Fatal(err)
	}
	b, err := a.With(r1, dup(t, fd))
	if err != nil {
		t.Fatal(err)
	}
	a.GPA(10, 1)[0] = 42
	a.Close() // b still maps region 0
	if got := b.GPA(10, 1); got == nil || got[0] != 42 {
		t.Fatal("region 0 lost after closing the older table")
	}
	c, err := b.Without(r0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 1 || c.GPA(10, 1) != nil || c.GPA(1<<20, 1) == nil {
		t.Fatalf("Without: %d regions", c.Len())
	}
	if _, err := c.Without(r0); !errors.Is(err, ErrNoRegion) {
		t.Fatalf("removing twice: %v", err)
	}
	b.Close()
	c.Close()
}

// QEMU adds the same region once per queue pair and removes it as often.
func TestSameRegionTwice(t *testing.T) {
	fd := memfd(t, 1<<20)
	defer unix.Close(fd)
	r := proto.MemRegion{GuestAddr: 0, Size: 1 << 20, UserAddr: 0x1000000}
	var empty *Table
	a, err := empty.With(r, dup(t, fd))
	if err != nil {
		t.Fatal(err)
	}
	b, err := a.With(r, dup(t, fd))
	if err != nil || b.Len() != 1 {
		t.Fatalf("second add: %v, %d regions", err, b.Len())
	}
	a.Close()
	c, err := b.Without(r)
	if err != nil || c.GPA(0, 1) == nil {
		t.Fatalf("first remove: %v", err)
	}
	b.Close()
	d, err := c.Without(r)
	if err != nil || d.Len() != 0 {
		t.Fatalf("second remove: %v, %d regions", err, d.Len())
	}
	c.Close()
	d.Close()
	// A different region over the same addresses still overlaps.
	e, _ := empty.With(r, dup(t, fd))
	r2 := r
	r2.Size = 4096
	if _, err := e.With(r2, dup(t, fd)); !errors.Is(err, ErrBadRegion) {
		t.Fatalf("overlapping region: %v", err)
	}
	e.Close()
}

func TestIOTLB(t *testing.T) {
	var tl *IOTLB
	tl, ok := tl.Update(proto.IOTLB{IOVA: 0x1000, Size: 0x2000, UAddr: 0x7000, Perm: proto.IOTLBPermRW, Type: proto.IOTLBUpdate})
	if !ok {
		t.Fatal("update refused")
	}
	tl, _ = tl.Update(proto.IOTLB{IOVA: 0x10000, Size: 0x1000, UAddr: 0x9000, Perm: proto.IOTLBPermRead, Type: proto.IOTLBUpdate})
	if u, ok := tl.Translate(0x1800, 0x100, proto.IOTLBPermRW); !ok || u != 0x7800 {
		t.Fatalf("translate = %#x %v", u, ok)
	}
	if _, ok := tl.Translate(0x2f00, 0x200, proto.IOTLBPermRead); ok {
		t.Fatal("range past the entry translated")
	}
	if _, ok := tl.Translate(0x10000, 4, proto.IOTLBPermWrite); ok {
		t.Fatal("write through a read-only entry")
	}
	// Page-sized entries contiguous in both spaces join; a gap does not.
	tl, _ = tl.Update(proto.IOTLB{IOVA: 0x3000, Size: 0x1000, UAddr: 0x9000, Perm: proto.IOTLBPermRW, Type: proto.IOTLBUpdate})
	if u, ok := tl.Translate(0x2f00, 0x200, proto.IOTLBPermRead); !ok || u != 0x8f00 {
		t.Fatalf("across contiguous entries: %#x %v", u, ok)
	}
	tl, _ = tl.Update(proto.IOTLB{IOVA: 0x4000, Size: 0x1000, UAddr: 0x20000, Perm: proto.IOTLBPermRW, Type: proto.IOTLBUpdate})
	if _, ok := tl.Translate(0x3f00, 0x200, proto.IOTLBPermRead); ok {
		t.Fatal("translated across entries not contiguous in user space")
	}
	tl = tl.Invalidate(0x1000, 1)
	if _, ok := tl.Translate(0x1800, 1, proto.IOTLBPermRead); ok || tl.Len() != 3 {
		t.Fatal("invalidated entry still translates")
	}
}

package guestmem

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"gvswitch/vhostuser/proto"
)

// Sentinel errors.
var (
	// ErrBadRegion: a region overlaps another, lies outside its file, or
	// cannot be mapped.
	ErrBadRegion = errors.New("bad memory region")
	// ErrTooManyRegions: more regions than MaxSlots.
	ErrTooManyRegions = errors.New("too many memory regions")
	// ErrNoRegion: REM_MEM_REG named a region that is not in the table.
	ErrNoRegion = errors.New("no such memory region")
)

// MaxSlots is the number of regions a Table holds (the answer to
// GET_MAX_MEM_SLOTS).
const MaxSlots = 32

// mapping is one mmap of a front-end fd, shared by the Tables that contain
// its region; refs is only touched by the control goroutine.
type mapping struct {
	whole []byte // what mmap returned (for munmap)
	refs  int
}

// region is one guest memory region and where it is mapped.
type region struct {
	gpa, uva, size uint64
	mem            []byte // len == size: byte i is at gpa+i and uva+i
	m              *mapping
	desc           proto.MemRegion
	// adds counts ADD_MEM_REGs of this very region: QEMU sends one per
	// queue pair's vhost device, and as many REM_MEM_REGs.
	adds int
}

// Table is a set of mapped regions.
type Table struct {
	regs []region
}

// Map maps the regions of a SET_MEM_TABLE with their fds (one each, in
// order). It takes ownership of the fds: they are closed whether or not it
// succeeds (a mapping outlives its fd).
func Map(regs []proto.MemRegion, fds []int) (*Table, error) {
	defer closeAll(fds)
	if len(regs) != len(fds) {
		return nil, fmt.Errorf("%w: %d regions with %d fds", ErrBadRegion, len(regs), len(fds))
	}
	if len(regs) > MaxSlots {
		return nil, fmt.Errorf("%w: %d", ErrTooManyRegions, len(regs))
	}
	t := &Table{}
	for i, r := range regs {
		reg, err := mapRegion(r, fds[i])
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("region %d: %w", i, err)
		}
		if err := t.checkOverlap(reg); err != nil {
			unmap(reg.m)
			t.Close()
			return nil, fmt.Errorf("region %d: %w", i, err)
		}
		t.regs = append(t.regs, reg)
	}
	return t, nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

func mapRegion(r proto.MemRegion, fd int) (region, error) {
	if err := r.Validate(); err != nil {
		return region{}, fmt.Errorf("%w: %v", ErrBadRegion, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return region{}, fmt.Errorf("%w: fstat: %v", ErrBadRegion, err)
	}
	align := uint64(st.Blksize)
	if align < uint64(unix.Getpagesize()) || align&(align-1) != 0 {
		align = uint64(unix.Getpagesize())
	}
	fileOff := r.MmapOffset &^ (align - 1)
	skip := r.MmapOffset - fileOff
	length := skip + r.Size
	if length > 1<<46 {
		return region{}, fmt.Errorf("%w: %#x bytes", ErrBadRegion, r.Size)
	}
	// A region past the end of a regular file would fault on first
	// access; refuse it now (memfd and hugetlbfs report their size).
	if st.Mode&unix.S_IFMT == unix.S_IFREG && uint64(st.Size) < r.MmapOffset+r.Size {
		return region{}, fmt.Errorf("%w: offset %#x + size %#x beyond the file's %#x bytes", ErrBadRegion, r.MmapOffset, r.Size, st.Size)
	}
	mapLen := (length + align - 1) &^ (align - 1)
	mem, err := unix.Mmap(fd, int64(fileOff), int(mapLen), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_NORESERVE)
	if err != nil {
		return region{}, fmt.Errorf("%w: mmap %#x bytes at %#x: %v", ErrBadRegion, mapLen, fileOff, err)
	}
	m := &mapping{whole: mem, refs: 1}
	return region{gpa: r.GuestAddr, uva: r.UserAddr, size: r.Size, mem: mem[skip : skip+r.Size : skip+r.Size], m: m, desc: r}, nil
}

func unmap(m *mapping) {
	m.refs--
	if m.refs == 0 {
		unix.Munmap(m.whole)
		m.whole = nil
	}
}

func (t *Table) checkOverlap(n region) error {
	for _, r := range t.regs {
		if n.gpa < r.gpa+r.size && r.gpa < n.gpa+n.size {
			return fmt.Errorf("%w: guest range %#x+%#x overlaps %#x+%#x", ErrBadRegion, n.gpa, n.size, r.gpa, r.size)
		}
		if n.uva < r.uva+r.size && r.uva < n.uva+n.size {
			return fmt.Errorf("%w: user range %#x+%#x overlaps %#x+%#x", ErrBadRegion, n.uva, n.size, r.uva, r.size)
		}
	}
	return nil
}

// With returns a new Table with one more region (ADD_MEM_REG), taking
// ownership of fd. Adding a region identical to one in the table counts
// it again instead of failing. The receiver is unchanged and still valid.
func (t *Table) With(r proto.MemRegion, fd int) (*Table, error) {
	if t != nil {
		for i, reg := range t.regs {
			if reg.desc == r {
				// The same region again: count it, map nothing.
				unix.Close(fd)
				n := t.clone()
				n.regs[i].adds++
				return n, nil
			}
		}
	}
	if t != nil && len(t.regs) >= MaxSlots {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: %d", ErrTooManyRegions, MaxSlots+1)
	}
	reg, err := mapRegion(r, fd)
	unix.Close(fd)
	if err != nil {
		return nil, err
	}
	n := t.clone()
	if err := n.checkOverlap(reg); err != nil {
		unmap(reg.m)
		n.Close()
		return nil, err
	}
	n.regs = append(n.regs, reg)
	return n, nil
}

// Without returns a new Table without the region that matches r's guest
// address, user address and size (REM_MEM_REG); a region added more than
// once stays until it was removed as many times.
func (t *Table) Without(r proto.MemRegion) (*Table, error) {
	n := &Table{}
	found := false
	if t != nil {
		for _, reg := range t.regs {
			if !found && reg.gpa == r.GuestAddr && reg.uva == r.UserAddr && reg.size == r.Size {
				found = true
				if reg.adds > 0 {
					reg.adds--
					reg.m.refs++
					n.regs = append(n.regs, reg)
				}
				continue
			}
			reg.m.refs++
			n.regs = append(n.regs, reg)
		}
	}
	if !found {
		n.Close()
		return nil, fmt.Errorf("%w: %#x+%#x", ErrNoRegion, r.GuestAddr, r.Size)
	}
	return n, nil
}

func (t *Table) clone() *Table {
	n := &Table{}
	if t != nil {
		n.regs = make([]region, len(t.regs), len(t.regs)+1)
		copy(n.regs, t.regs)
		for _, r := range n.regs {
			r.m.refs++
		}
	}
	return n
}

// Close drops this Table's references; mappings no other Table uses are
// unmapped. The caller must make sure nothing still reads a slice of it.
func (t *Table) Close() {
	if t == nil {
		return
	}
	for _, r := range t.regs {
		unmap(r.m)
	}
	t.regs = nil
}

// Len is the number of regions.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.regs)
}

// Regions describes the regions (for logs and status).
func (t *Table) Regions() []proto.MemRegion {
	if t == nil {
		return nil
	}
	out := make([]proto.MemRegion, len(t.regs))
	for i, r := range t.regs {
		out[i] = r.desc
	}
	return out
}

// GPA returns the n bytes at guest physical address addr, or nil when they
// are not wholly inside one region.
func (t *Table) GPA(addr, n uint64) []byte {
	for i := range t.regs {
		r := &t.regs[i]
		off := addr - r.gpa
		if addr >= r.gpa && off < r.size && n <= r.size-off {
			return r.mem[off : off+n : off+n]
		}
	}
	return nil
}

// GPAPrefix returns the bytes from guest physical address addr up to
// addr+n or to the end of the region that holds addr, whichever comes
// first; nil when no region holds addr. A buffer that is contiguous in
// guest memory but spans two regions is read piece by piece with it.
func (t *Table) GPAPrefix(addr, n uint64) []byte {
	for i := range t.regs {
		r := &t.regs[i]
		off := addr - r.gpa
		if addr >= r.gpa && off < r.size {
			m := min(n, r.size-off)
			return r.mem[off : off+m : off+m]
		}
	}
	return nil
}

// UVA returns the n bytes at front-end virtual address addr, or nil.
func (t *Table) UVA(addr, n uint64) []byte {
	for i := range t.regs {
		r := &t.regs[i]
		off := addr - r.uva
		if addr >= r.uva && off < r.size && n <= r.size-off {
			return r.mem[off : off+n : off+n]
		}
	}
	return nil
}

// Size is the total size of the regions.
func (t *Table) Size() uint64 {
	var s uint64
	if t != nil {
		for _, r := range t.regs {
			s += r.size
		}
	}
	return s
}

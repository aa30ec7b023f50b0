package vhosttest

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Descriptor flags and ring flags (virtio 1.1 2.6.5, 2.6.6).
const (
	DescNext     = 1
	DescWrite    = 2
	DescIndirect = 4

	AvailNoInterrupt = 1
)

// Ring is the driver's side of a split virtqueue in Memory, with one
// buffer of BufSize bytes per descriptor.
type Ring struct {
	Mem     *Memory
	Size    uint16
	BufSize int
	// Offsets of the rings in Memory.
	DescOff, AvailOff, UsedOff, BufOff uint64
	// HdrLen is the virtio-net header length the device expects.
	HdrLen int

	availIdx uint16
	lastUsed uint16
	free     []uint16
	chainLen map[uint16]int
	bs       *burstState // burst data path (burst.go), made on first use
}

// NewRing lays out a ring of size entries with buffers of bufSize bytes.
func NewRing(m *Memory, size uint16, bufSize int) (*Ring, error) {
	n := uint64(size)
	r := &Ring{Mem: m, Size: size, BufSize: bufSize, HdrLen: 12, chainLen: map[uint16]int{}}
	var err error
	if r.DescOff, err = m.Alloc(16*n, 4096); err != nil {
		return nil, err
	}
	if r.AvailOff, err = m.Alloc(6+2*n, 64); err != nil {
		return nil, err
	}
	if r.UsedOff, err = m.Alloc(6+8*n, 4096); err != nil {
		return nil, err
	}
	if r.BufOff, err = m.Alloc(n*uint64(bufSize), 64); err != nil {
		return nil, err
	}
	for i := size; i > 0; i-- {
		r.free = append(r.free, i-1)
	}
	return r, nil
}

// Addrs are the ring addresses to send in SET_VRING_ADDR (front-end
// virtual addresses).
func (r *Ring) Addrs() (desc, avail, used uint64) {
	return r.Mem.UVA(r.DescOff), r.Mem.UVA(r.AvailOff), r.Mem.UVA(r.UsedOff)
}

// BufGPA is the guest physical address of descriptor i's buffer.
func (r *Ring) BufGPA(i uint16) uint64 { return r.Mem.GPA(r.BufOff + uint64(i)*uint64(r.BufSize)) }

// SetDesc writes descriptor i.
func (r *Ring) SetDesc(i uint16, addr uint64, n uint32, flags, next uint16) {
	d := r.Mem.mem[r.DescOff+16*uint64(i):]
	binary.LittleEndian.PutUint64(d, addr)
	binary.LittleEndian.PutUint32(d[8:], n)
	binary.LittleEndian.PutUint16(d[12:], flags)
	binary.LittleEndian.PutUint16(d[14:], next)
}

// PushAvail puts head in the available ring and publishes the new index.
func (r *Ring) PushAvail(head uint16) {
	a := r.Mem.mem[r.AvailOff:]
	binary.LittleEndian.PutUint16(a[4+2*int(r.availIdx%r.Size):], head)
	r.availIdx++
	r.storeAvailIdx(r.availIdx)
}

// SetAvailIdx publishes an arbitrary available index.
func (r *Ring) SetAvailIdx(v uint16) {
	r.availIdx = v
	r.storeAvailIdx(v)
}

func (r *Ring) storeAvailIdx(v uint16) {
	w := (*uint32)(unsafe.Pointer(&r.Mem.mem[r.AvailOff]))
	old := atomic.LoadUint32(w)
	atomic.StoreUint32(w, old&0xffff|uint32(v)<<16)
}

// SetAvailFlags sets the avail ring flags (e.g. AvailNoInterrupt).
func (r *Ring) SetAvailFlags(f uint16) {
	binary.LittleEndian.PutUint16(r.Mem.mem[r.AvailOff:], f)
}

// SetUsedEvent sets used_event (EVENT_IDX).
func (r *Ring) SetUsedEvent(v uint16) {
	binary.LittleEndian.PutUint16(r.Mem.mem[r.AvailOff+4+2*uint64(r.Size):], v)
}

// UsedIdx is the device's used index.
func (r *Ring) UsedIdx() uint16 {
	w := (*uint32)(unsafe.Pointer(&r.Mem.mem[r.UsedOff]))
	return uint16(atomic.LoadUint32(w) >> 16)
}

// UsedFlags is the device's used ring flags.
func (r *Ring) UsedFlags() uint16 { return binary.LittleEndian.Uint16(r.Mem.mem[r.UsedOff:]) }

// Used is one used-ring element.
type Used struct {
	ID  uint16
	Len uint32
}

// PopUsed returns the used elements the device added since the last call
// and frees their descriptors.
func (r *Ring) PopUsed() []Used {
	var out []Used
	idx := r.UsedIdx()
	for r.lastUsed != idx {
		e := r.Mem.mem[r.UsedOff+4+8*uint64(r.lastUsed%r.Size):]
		u := Used{ID: uint16(binary.LittleEndian.Uint32(e)), Len: binary.LittleEndian.Uint32(e[4:])}
		out = append(out, u)
		r.lastUsed++
		r.release(u.ID)
	}
	return out
}

func (r *Ring) release(head uint16) {
	n, ok := r.chainLen[head]
	if !ok {
		return
	}
	delete(r.chainLen, head)
	for i := 0; i < n; i++ {
		r.free = append(r.free, head+uint16(i))
	}
}

// alloc takes n consecutive free descriptors (the free list is kept simple:
// consecutive runs come from a fresh ring; tests use one-descriptor chains
// or whole fresh rings).
func (r *Ring) alloc() (uint16, bool) {
	if len(r.free) == 0 {
		return 0, false
	}
	i := r.free[len(r.free)-1]
	r.free = r.free[:len(r.free)-1]
	return i, true
}

// Free is the number of free descriptors.
func (r *Ring) Free() int { return len(r.free) }

// PostTx posts a frame for the device to receive from the guest: a zero
// virtio-net header then the frame, in one descriptor.
func (r *Ring) PostTx(frame []byte) error {
	if r.HdrLen+len(frame) > r.BufSize {
		return fmt.Errorf("frame of %d bytes does not fit buffers of %d", len(frame), r.BufSize)
	}
	i, ok := r.alloc()
	if !ok {
		return fmt.Errorf("ring full")
	}
	b := r.Mem.At(r.BufGPA(i), uint64(r.BufSize))
	clear(b[:r.HdrLen])
	copy(b[r.HdrLen:], frame)
	r.SetDesc(i, r.BufGPA(i), uint32(r.HdrLen+len(frame)), 0, 0)
	r.chainLen[i] = 1
	r.PushAvail(i)
	return nil
}

// PostRx posts n receive buffers of BufSize bytes.
func (r *Ring) PostRx(n int) int {
	for k := 0; k < n; k++ {
		i, ok := r.alloc()
		if !ok {
			return k
		}
		r.SetDesc(i, r.BufGPA(i), uint32(r.BufSize), DescWrite, 0)
		r.chainLen[i] = 1
		r.PushAvail(i)
	}
	return n
}

// RecvFrames collects the frames the device wrote into posted receive
// buffers, joining mergeable buffers by the header's num_buffers.
func (r *Ring) RecvFrames() ([][]byte, error) {
	used := r.PopUsedNoRelease()
	var out [][]byte
	for k := 0; k < len(used); {
		u := used[k]
		b := r.Mem.At(r.BufGPA(u.ID), uint64(r.BufSize))
		if int(u.Len) < r.HdrLen || int(u.Len) > r.BufSize {
			return out, fmt.Errorf("used length %d", u.Len)
		}
		nb := 1
		if r.HdrLen == 12 {
			nb = int(binary.LittleEndian.Uint16(b[10:]))
		}
		if nb < 1 || k+nb > len(used) {
			return out, fmt.Errorf("num_buffers %d with %d used", nb, len(used)-k)
		}
		f := append([]byte(nil), b[r.HdrLen:u.Len]...)
		for j := 1; j < nb; j++ {
			v := used[k+j]
			f = append(f, r.Mem.At(r.BufGPA(v.ID), uint64(v.Len))...)
		}
		out = append(out, f)
		for j := 0; j < nb; j++ {
			r.release(used[k+j].ID)
		}
		k += nb
	}
	return out, nil
}

// PopUsedNoRelease is PopUsed without giving the descriptors back.
func (r *Ring) PopUsedNoRelease() []Used {
	var out []Used
	idx := r.UsedIdx()
	for r.lastUsed != idx {
		e := r.Mem.mem[r.UsedOff+4+8*uint64(r.lastUsed%r.Size):]
		out = append(out, Used{ID: uint16(binary.LittleEndian.Uint32(e)), Len: binary.LittleEndian.Uint32(e[4:])})
		r.lastUsed++
	}
	return out
}

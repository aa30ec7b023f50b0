package afxdp

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"gvswitch/dataplane"
)

// fakePort is a one-queue Port whose rings are plain memory, with no
// socket (fd -1: the wakeup calls fail harmlessly): the test plays the
// kernel's side of the rings.
func fakePort(t testing.TB, frames, ringSize int) *Port {
	t.Helper()
	x := &xsk{fd: -1}
	if err := x.newUMEM("fake", 0, frames, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.arena.Close() })
	off := unix.XDPRingOffset{Producer: 0, Consumer: 64, Flags: 128, Desc: 192}
	mk := func(desc uintptr) *ring {
		buf := make([]uint64, (192+ringSize*int(desc))/8)
		return newRing(unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(buf)*8), off, uint32(ringSize), desc)
	}
	x.fill, x.comp = mk(8), mk(8)
	x.rx, x.tx = mk(16), mk(16)
	return &Port{name: "fake", qs: []*queue{newQueue(x)}, wakeup: true}
}

// FuzzRings feeds arbitrary rx descriptors and completion addresses, as a
// broken kernel might write them, through RxBurst and TxBurst: nothing
// panics, every received packet lies inside its own chunk, and every
// descriptor we put on the tx ring names a frame inside one chunk.
func FuzzRings(f *testing.F) {
	rec := func(kind byte, addr uint64, n uint32) []byte {
		b := []byte{kind}
		b = binary.LittleEndian.AppendUint64(b, addr)
		return binary.LittleEndian.AppendUint32(b, n)
	}
	f.Add(append(rec(0, 256, 60), rec(2, 0, 0)...))
	f.Add(append(append(rec(0, 5*FrameSize+256, 1792), rec(0, 1<<40, 60)...), rec(2, 0, 0)...))
	f.Add(append(rec(0, 2047, 2), rec(2, 0, 0)...))
	f.Add(append(append(rec(1, 3*FrameSize+128, 0), rec(1, ^uint64(0), 0)...), rec(3, 0, 0)...))
	f.Add(append(rec(0, 256, 0xffffffff), rec(3, 0, 0)...))
	const frames, rs = 256, 64
	f.Fuzz(func(t *testing.T, data []byte) {
		p := fakePort(t, frames, rs)
		q := p.qs[0]
		x := q.x
		other := testPool(t, 8)
		buf := make([]*dataplane.Packet, 32)
		for len(data) >= 13 {
			kind, addr, n := data[0], binary.LittleEndian.Uint64(data[1:]), binary.LittleEndian.Uint32(data[9:])
			data = data[13:]
			switch kind % 4 {
			case 0: // the kernel received a frame
				r := x.rx
				if *r.producer-*r.consumer < r.size {
					r.descs[*r.producer&r.mask] = unix.XDPDesc{Addr: addr, Len: n}
					*r.producer++
				}
			case 1: // the kernel completed a transmission
				c := x.comp
				if *c.producer-*c.consumer < c.size {
					c.addrs[*c.producer&c.mask] = addr
					*c.producer++
				}
			case 2:
				k := p.RxBurst(0, buf)
				for _, pk := range buf[:k] {
					chunk := x.addrOf(pk)
					start := x.frameAddr(pk)
					if start < chunk || start+uint64(pk.Len()) > chunk+FrameSize || chunk%FrameSize != 0 {
						t.Fatalf("packet at %d+%d outside its chunk %d", start, pk.Len(), chunk)
					}
				}
				p.TxBurst(0, buf[:k])
			case 3:
				pk := other.Get()
				if pk == nil {
					continue
				}
				pk.SetLen(int(n % 3000))
				p.TxBurst(0, []*dataplane.Packet{pk})
			}
			// Every tx descriptor we produced names a frame inside
			// one chunk of the UMEM.
			tx := x.tx
			for i := *tx.consumer; i != tx.local; i++ {
				d := tx.descs[i&tx.mask]
				if d.Addr/FrameSize >= frames || d.Addr%FrameSize+uint64(d.Len) > FrameSize {
					t.Fatalf("tx descriptor %+v outside the UMEM's chunks", d)
				}
			}
			*tx.consumer = tx.local // the kernel took them
		}
		if other.Available() != other.Size() {
			t.Fatalf("foreign pool: %d of %d buffers back", other.Available(), other.Size())
		}
	})
}

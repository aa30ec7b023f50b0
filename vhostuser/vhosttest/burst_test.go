package vhosttest

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// device plays the device side of r for the tests: it takes what is
// available and hands it back as used, writing frames into receive
// buffers.
type device struct {
	r         *Ring
	lastAvail uint16
	usedIdx   uint16
}

func (d *device) avail() []uint16 {
	var out []uint16
	idx := binary.LittleEndian.Uint16(d.r.Mem.mem[d.r.AvailOff+2:])
	for d.lastAvail != idx {
		out = append(out, binary.LittleEndian.Uint16(d.r.Mem.mem[d.r.AvailOff+4+2*uint64(d.lastAvail%d.r.Size):]))
		d.lastAvail++
	}
	return out
}

func (d *device) use(id uint16, n uint32) {
	e := d.r.Mem.mem[d.r.UsedOff+4+8*uint64(d.usedIdx%d.r.Size):]
	binary.LittleEndian.PutUint32(e, uint32(id))
	binary.LittleEndian.PutUint32(e[4:], n)
	d.usedIdx++
	binary.LittleEndian.PutUint16(d.r.Mem.mem[d.r.UsedOff+2:], d.usedIdx)
}

func (d *device) desc(id uint16) (addr uint64, n uint32, flags uint16) {
	b := d.r.Mem.mem[d.r.DescOff+16*uint64(id):]
	return binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint32(b[8:]), binary.LittleEndian.Uint16(b[12:])
}

func newTestRing(t *testing.T) *Ring {
	m, err := NewMemory(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	r, err := NewRing(m, 64, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestTxBurst: frames are posted behind a zero header, descriptors come
// back through Reclaim, and a burst allocates nothing.
func TestTxBurst(t *testing.T) {
	r := newTestRing(t)
	d := &device{r: r}
	frames := [][]byte{bytes.Repeat([]byte{1}, 60), bytes.Repeat([]byte{2}, 1514), make([]byte, 4000)}
	if n := r.TxBurst(frames); n != 2 || r.BurstStats().TooBig != 1 {
		t.Fatalf("posted %d (want 2, the 4000-byte frame refused), stats %+v", n, r.BurstStats())
	}
	for i, id := range d.avail() {
		addr, n, flags := d.desc(id)
		b := r.Mem.At(addr, uint64(n))
		if flags != 0 || !bytes.Equal(b[12:], frames[i]) || !bytes.Equal(b[:12], make([]byte, 12)) {
			t.Fatalf("descriptor %d: flags %#x, %d bytes", id, flags, n)
		}
		d.use(id, 0)
	}
	if r.InFlight() != 2 || r.Reclaim() != 2 || r.InFlight() != 0 {
		t.Fatalf("in flight %d after reclaim", r.InFlight())
	}
	burst := make([][]byte, 32)
	for i := range burst {
		burst[i] = frames[0]
	}
	short := 0
	allocs := testing.AllocsPerRun(100, func() {
		if r.TxBurst(burst) != len(burst) {
			short++
		}
		// The device uses everything at once (no allocation here either).
		idx := binary.LittleEndian.Uint16(r.Mem.mem[r.AvailOff+2:])
		for d.lastAvail != idx {
			id := binary.LittleEndian.Uint16(r.Mem.mem[r.AvailOff+4+2*uint64(d.lastAvail%r.Size):])
			d.lastAvail++
			d.use(id, 0)
		}
	})
	if allocs != 0 || short != 0 {
		t.Fatalf("%v allocations per burst, %d short bursts", allocs, short)
	}
}

// TestRxBurst: single-buffer and merged frames come out whole, the
// buffers go back to the device on the next call, a bad used element is
// counted and skipped.
func TestRxBurst(t *testing.T) {
	r := newTestRing(t)
	r.PostRx(int(r.Size))
	d := &device{r: r}
	ids := d.avail()
	write := func(id uint16, numBuffers uint16, payload []byte) uint32 {
		addr, _, flags := d.desc(id)
		if flags != DescWrite {
			t.Fatalf("receive descriptor %d flags %#x", id, flags)
		}
		b := r.Mem.At(addr, 2048)
		clear(b[:12])
		binary.LittleEndian.PutUint16(b[10:], numBuffers)
		copy(b[12:], payload)
		return uint32(12 + len(payload))
	}
	small := bytes.Repeat([]byte{7}, 60)
	big := bytes.Repeat([]byte{9}, 3000)
	d.use(ids[0], write(ids[0], 1, small))
	d.use(ids[1], write(ids[1], 2, big[:2036]))
	addr, _, _ := d.desc(ids[2])
	copy(r.Mem.At(addr, 2048), big[2036:])
	d.use(ids[2], uint32(len(big)-2036))
	d.use(5000, 10) // an id beyond the ring
	frames := make([][]byte, 8)
	n := r.RxBurst(frames)
	if n != 2 || !bytes.Equal(frames[0], small) || !bytes.Equal(frames[1], big) {
		t.Fatalf("got %d frames (%d, %d bytes)", n, len(frames[0]), len(frames[1]))
	}
	if r.BurstStats().BadUsed != 1 {
		t.Fatalf("stats %+v", r.BurstStats())
	}
	if len(d.avail()) != 0 {
		t.Fatal("buffers reposted before the caller was done with them")
	}
	if n := r.RxBurst(frames); n != 0 {
		t.Fatalf("%d more frames", n)
	}
	if got := len(d.avail()); got != 3 {
		t.Fatalf("%d buffers reposted, want 3", got)
	}
}

// BenchmarkTxBurst: 32 64-byte frames posted per burst; the "device" hands
// them straight back as used.
func BenchmarkTxBurst(b *testing.B) {
	m, err := NewMemory(4 << 20)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	r, err := NewRing(m, 1024, 2048)
	if err != nil {
		b.Fatal(err)
	}
	d := &device{r: r}
	burst := make([][]byte, 32)
	for i := range burst {
		burst[i] = make([]byte, 60)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n += r.TxBurst(burst)
		idx := binary.LittleEndian.Uint16(r.Mem.mem[r.AvailOff+2:])
		for d.lastAvail != idx {
			id := binary.LittleEndian.Uint16(r.Mem.mem[r.AvailOff+4+2*uint64(d.lastAvail%r.Size):])
			d.lastAvail++
			d.use(id, 0)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds()/1e6, "Mpps")
}

package ixgbe

import (
	"encoding/binary"
	"testing"
	"time"

	"gvswitch/dataplane"
)

func benchFrames(p *Port) [][]byte {
	var frames [][]byte
	for i := 0; i < 32; i++ {
		fl := flow{[4]byte{10, 0, 0, byte(i)}, [4]byte{10, 0, 1, 1}, uint16(1000 + i), 80, 17}
		frames = append(frames, fl.frame(p.MAC(), uint32(i), 64))
	}
	return frames
}

// BenchmarkRxTxBurst32 receives a burst of 32 frames from the device
// model and transmits them back out. ns/op covers driver and model;
// driver-ns/pkt is the time spent inside RxBurst and TxBurst only.
func BenchmarkRxTxBurst32(b *testing.B) {
	p, dev := openFake(b, dev82599, fakeVariant{}, smallOpts())
	frames := benchFrames(p)
	dev.lazyTx = true // the device's transmit work is not the driver's
	var burst [32]*dataplane.Packet
	var inDriver time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, f := range frames {
			dev.inject(f)
		}
		t0 := time.Now()
		n := p.RxBurst(0, burst[:])
		p.TxBurst(0, burst[:n])
		inDriver += time.Since(t0)
		dev.runTx()
		if n != 32 {
			b.Fatalf("received %d of 32", n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*32), "ns/pkt")
	b.ReportMetric(float64(inDriver.Nanoseconds())/float64(b.N*32), "driver-ns/pkt")
}

// The data path allocates nothing per burst.
func TestRxTxBurstNoAllocs(t *testing.T) {
	p, dev := openFake(t, dev82599, fakeVariant{}, smallOpts())
	frames := benchFrames(p)
	var burst [32]*dataplane.Packet
	allocs := testing.AllocsPerRun(200, func() {
		for _, f := range frames {
			dev.inject(f)
		}
		n := p.RxBurst(0, burst[:])
		p.TxBurst(0, burst[:n])
		p.RxBurst(0, burst[:]) // empty poll
	})
	if allocs != 0 {
		t.Errorf("%v allocations per RX+TX burst, want 0", allocs)
	}
}

// FuzzRxWriteBack plays a device that writes arbitrary write-back
// descriptors: RxBurst must never crash, never hand out a frame longer
// than its buffer, and never lose a buffer.
func FuzzRxWriteBack(f *testing.F) {
	wb := func(status uint32, length uint16, hash uint32) []byte {
		b := make([]byte, 16)
		binary.LittleEndian.PutUint64(b, uint64(hash)<<32)
		binary.LittleEndian.PutUint64(b[8:], uint64(status)|uint64(length)<<32)
		return b
	}
	f.Add(wb(rxStatDD|rxStatEOP, 64, 1))
	f.Add(append(wb(rxStatDD, 2048, 0), wb(rxStatDD|rxStatEOP, 100, 0)...))
	f.Add(wb(rxStatDD|rxStatEOP, 0xFFFF, 0))
	f.Add(wb(rxStatDD|rxStatEOP|rxErrRXE, 64, 0))
	f.Add(wb(rxStatDD|rxStatEOP, 0, 0))
	o := smallOpts()
	o.RxDesc, o.TxDesc, o.PoolSize = 64, 64, 256
	p, _ := openFake(f, dev82599, fakeVariant{}, o)
	r := &p.rx[0]
	f.Fuzz(func(t *testing.T, data []byte) {
		idx := r.next
		for len(data) >= 16 && idx != (r.next-1)&r.mask {
			r.ring[idx].storeLo(binary.LittleEndian.Uint64(data))
			r.ring[idx].storeHi(binary.LittleEndian.Uint64(data[8:]))
			data = data[16:]
			idx = (idx + 1) & r.mask
		}
		var burst [32]*dataplane.Packet
		for k := 0; k < 4; k++ {
			n := p.RxBurst(0, burst[:])
			for _, pkt := range burst[:n] {
				if pkt.Len() == 0 || pkt.Len() > len(pkt.Room()) {
					t.Fatalf("frame of %d bytes in a %d-byte buffer", pkt.Len(), len(pkt.Room()))
				}
				pkt.Free()
			}
		}
		// Descriptors left with DD (RxBurst stopped at a burst's end)
		// are cleared so that the next input starts clean.
		for i := range r.ring {
			if r.ring[i].loadHi()&rxStatDD != 0 {
				r.ring[i].storeHi(0)
			}
			r.ring[i].storeLo(r.bufs[i].IOVA())
		}
		if got := p.free() + len(r.bufs); got != p.Pool().Size() {
			t.Fatalf("buffers: %d free + %d posted, pool of %d", p.free(), len(r.bufs), p.Pool().Size())
		}
	})
}

// free is how many buffers of the pool are not in use: in the pool, or in
// a queue's cache.
func (p *Port) free() int {
	n := p.pool.Available()
	for i := range p.rx {
		n += p.rx[i].cache.Len()
	}
	for i := range p.tx {
		n += p.tx[i].cache.Len()
	}
	return n
}

package afxdp

import (
	"testing"
	"time"

	"gvswitch/dataplane"
)

// burstPair sends one burst of 32 64-byte frames from x (copied from a
// foreign pool into x's UMEM) and receives them on y, handing y's packets
// back the way the bridge would (Free).
type burstPair struct {
	x, y  *Port
	pool  *dataplane.Pool
	tx    []*dataplane.Packet
	rx    []*dataplane.Packet
	frame []byte
	lost  int
}

func newBurstPair(t testing.TB) *burstPair {
	l := newLab(t)
	b := &burstPair{
		x:     openIn(t, l.ns, l.a, Options{}),
		y:     openIn(t, l.ns, l.b, Options{}),
		pool:  testPool(t, 256),
		tx:    make([]*dataplane.Packet, 32),
		rx:    make([]*dataplane.Packet, 32),
		frame: frame(0xb, 0xa, 64-14, 0),
	}
	return b
}

func (b *burstPair) once() {
	n := b.pool.GetBurst(b.tx)
	for _, pk := range b.tx[:n] {
		copy(pk.Room(), b.frame)
		pk.SetLen(len(b.frame))
	}
	b.x.TxBurst(0, b.tx[:n])
	got := 0
	for spins := 0; got < n && spins < 10000; spins++ {
		k := b.y.RxBurst(0, b.rx)
		dataplane.PutBurst(b.rx[:k])
		got += k
	}
	b.lost += n - got
}

// TestBurstAllocs: a transmit and receive burst allocates nothing.
func TestBurstAllocs(t *testing.T) {
	b := newBurstPair(t)
	b.once()
	if a := testing.AllocsPerRun(200, b.once); a != 0 {
		t.Fatalf("%v allocations per burst pair, want 0", a)
	}
}

// BenchmarkBurst: 32 frames of 64 bytes through a veth pair, from one
// AF_XDP port to the other (native copy mode), per iteration.
func BenchmarkBurst(b *testing.B) {
	bp := newBurstPair(b)
	bp.once()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		bp.once()
	}
	el := time.Since(start)
	b.ReportMetric(float64(b.N*32-bp.lost)/el.Seconds(), "pps")
	b.ReportMetric(float64(bp.lost)/float64(b.N*32), "lost/frame")
}

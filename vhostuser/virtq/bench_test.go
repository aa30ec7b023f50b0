package virtq_test

import (
	"testing"

	"gvswitch/dataplane"
	"gvswitch/vhostuser/vhosttest"
	"gvswitch/vhostuser/virtq"
)

// BenchmarkDequeueEnqueue is the vhost-to-vhost copy path: a burst of 32
// frames from one guest's transmit ring into packets, and from the packets
// into another guest's receive ring. The guests' rings are refilled by
// moving their available index only, so the time is the device side's.
func BenchmarkDequeueEnqueue(b *testing.B) {
	for _, size := range []int{64, 1518} {
		b.Run(sizeName(size), func(b *testing.B) {
			e := newEnv(b, 16<<20)
			tx, _ := vhosttest.NewRing(e.mem, 256, 2048)
			rx, _ := vhosttest.NewRing(e.mem, 256, 2048)
			qt := e.queue(b, tx, func(c *virtq.Config) { c.EventIdx = true })
			qr := e.queue(b, rx, func(c *virtq.Config) { c.EventIdx = true })
			for i := 0; i < 256; i++ {
				tx.PostTx(frame(size, byte(i)))
			}
			rx.PostRx(256)
			pkts := make([]*dataplane.Packet, 32)
			b.ReportAllocs()
			b.SetBytes(int64(size) * 32)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				n := qt.Dequeue(e.cache, pkts)
				m := qr.Enqueue(pkts[:n])
				if n != 32 || m != 32 {
					b.Fatalf("burst %d: %d in, %d out", i, n, m)
				}
				e.cache.PutBurst(pkts[:n])
				// The guests give the same buffers back.
				tx.SetAvailIdx(uint16(256 + 32*(i+1)))
				rx.SetAvailIdx(uint16(256 + 32*(i+1)))
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*32), "ns/pkt")
		})
	}
}

func sizeName(n int) string {
	if n == 64 {
		return "64B"
	}
	return "1518B"
}

func TestDequeueEnqueueAllocs(t *testing.T) {
	e := newEnv(t, 16<<20)
	tx, _ := vhosttest.NewRing(e.mem, 256, 2048)
	rx, _ := vhosttest.NewRing(e.mem, 256, 2048)
	qt := e.queue(t, tx, nil)
	qr := e.queue(t, rx, nil)
	for i := 0; i < 256; i++ {
		tx.PostTx(frame(64, byte(i)))
	}
	rx.PostRx(256)
	pkts := make([]*dataplane.Packet, 32)
	i := 0
	allocs := testing.AllocsPerRun(100, func() {
		n := qt.Dequeue(e.cache, pkts)
		qr.Enqueue(pkts[:n])
		e.cache.PutBurst(pkts[:n])
		i++
		tx.SetAvailIdx(uint16(256 + 32*i))
		rx.SetAvailIdx(uint16(256 + 32*i))
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per burst", allocs)
	}
}

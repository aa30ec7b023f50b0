package fdb

import (
	"fmt"
	"testing"
)

func benchMAC(i int) [6]byte {
	return [6]byte{0x52, 0x54, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
}

func filled(b *testing.B, n int) *Table {
	tb, err := New(n, 0)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		tb.Learn(uint16(i%8), benchMAC(i), uint32(i%16), 0)
	}
	return tb
}

func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{1 << 10, 1 << 20} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			tb := filled(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				k := i & (n - 1)
				if _, ok := tb.Lookup(uint16(k%8), benchMAC(k)); !ok {
					b.Fatal("miss")
				}
				i += 7919
			}
		})
	}
}

// BenchmarkLearnRefresh is the steady state: known addresses seen again.
func BenchmarkLearnRefresh(b *testing.B) {
	for _, n := range []int{1 << 10, 1 << 20} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			tb := filled(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				k := i & (n - 1)
				tb.Learn(uint16(k%8), benchMAC(k), uint32(k%16), int64(i))
				i += 7919
			}
		})
	}
}

// BenchmarkLearnNew is a MAC flood: every address is new and the table is
// full, so each learn evicts the least recently used entry.
func BenchmarkLearnNew(b *testing.B) {
	for _, n := range []int{1 << 10, 1 << 20} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			tb := filled(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			i := n
			for b.Loop() {
				tb.Learn(uint16(i%8), benchMAC(i), uint32(i%16), int64(i))
				i++
			}
		})
	}
}

func TestLookupLearnNoAlloc(t *testing.T) {
	tb := mustNew(t, 64, 0)
	i := 0
	if n := testing.AllocsPerRun(1000, func() {
		tb.Learn(1, benchMAC(i), 1, int64(i))
		tb.Lookup(1, benchMAC(i/2))
		i++
	}); n != 0 {
		t.Fatalf("Learn+Lookup allocate %v times per call", n)
	}
}

// BenchmarkLookupWhileLearning: lookups from every P while one goroutine
// keeps learning new addresses (evicting old ones) in the same table.
func BenchmarkLookupWhileLearning(b *testing.B) {
	const n = 1 << 10
	tb := filled(b, n)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := n; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			tb.Learn(uint16(i%8), benchMAC(n+i%n), 1, int64(i))
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			k := i & (n - 1)
			tb.Lookup(uint16(k%8), benchMAC(k))
			i += 7919
		}
	})
	b.StopTimer()
	close(stop)
	<-done
}

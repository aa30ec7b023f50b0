package dataplane

import (
	"sync"
	"testing"
)

func TestSPSCRingOrderAndBounds(t *testing.T) {
	r := NewSPSCRing[int](5) // rounds up to 8
	if r.Cap() != 8 {
		t.Fatalf("cap %d, want 8", r.Cap())
	}
	if n := r.Enqueue([]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}); n != 8 {
		t.Fatalf("enqueued %d into 8 slots", n)
	}
	out := make([]int, 3)
	if n := r.Dequeue(out); n != 3 || out[0] != 1 || out[2] != 3 {
		t.Fatalf("dequeue %d %v", n, out)
	}
	if n := r.Enqueue([]int{11, 12, 13, 14}); n != 3 {
		t.Fatalf("enqueued %d into 3 free slots", n)
	}
	all := make([]int, 20)
	n := r.Dequeue(all)
	want := []int{4, 5, 6, 7, 8, 11, 12, 13}
	if n != len(want) {
		t.Fatalf("dequeued %d, want %d", n, len(want))
	}
	for i, v := range want {
		if all[i] != v {
			t.Fatalf("item %d = %d, want %d", i, all[i], v)
		}
	}
	if r.Dequeue(all) != 0 || r.Len() != 0 {
		t.Fatal("empty ring returned items")
	}
}

func TestSPSCRingConcurrent(t *testing.T) {
	r := NewSPSCRing[int](64)
	const total = 200000
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]int, 7)
		next := 0
		for next < total {
			n := min(len(buf), total-next)
			for i := range n {
				buf[i] = next + i
			}
			next += r.Enqueue(buf[:n])
		}
	}()
	buf := make([]int, 13)
	want := 0
	for want < total {
		n := r.Dequeue(buf)
		for _, v := range buf[:n] {
			if v != want {
				t.Fatalf("got %d, want %d", v, want)
			}
			want++
		}
	}
	<-done
}

func TestMPSCRingConcurrent(t *testing.T) {
	const producers, per = 4, 50000
	r := NewMPSCRing[[2]int](128)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([][2]int, 5)
			next := 0
			for next < per {
				n := min(len(buf), per-next)
				for i := range n {
					buf[i] = [2]int{p, next + i}
				}
				next += r.Enqueue(buf[:n])
			}
		}()
	}
	seen := make([]int, producers)
	buf := make([][2]int, 32)
	for got := 0; got < producers*per; {
		n := r.Dequeue(buf)
		for _, it := range buf[:n] {
			// Each producer's items arrive in its order, none lost or doubled.
			if it[1] != seen[it[0]] {
				t.Fatalf("producer %d: got item %d, want %d", it[0], it[1], seen[it[0]])
			}
			seen[it[0]]++
		}
		got += n
	}
	wg.Wait()
	if r.Dequeue(buf) != 0 {
		t.Fatal("extra items")
	}
}

func TestMPSCRingFull(t *testing.T) {
	r := NewMPSCRing[int](4)
	if n := r.Enqueue([]int{1, 2, 3, 4, 5}); n != 4 {
		t.Fatalf("enqueued %d into 4", n)
	}
	if n := r.Enqueue([]int{6}); n != 0 {
		t.Fatal("enqueued into a full ring")
	}
	out := make([]int, 2)
	r.Dequeue(out)
	if n := r.Enqueue([]int{6, 7, 8}); n != 2 {
		t.Fatalf("enqueued %d into 2 free", n)
	}
}

func BenchmarkSPSCRingBurst32(b *testing.B) {
	r := NewSPSCRing[*Packet](1024)
	in := make([]*Packet, 32)
	out := make([]*Packet, 32)
	b.ReportAllocs()
	for b.Loop() {
		r.Enqueue(in)
		r.Dequeue(out)
	}
}

func BenchmarkMPSCRingBurst32(b *testing.B) {
	r := NewMPSCRing[*Packet](1024)
	in := make([]*Packet, 32)
	out := make([]*Packet, 32)
	b.ReportAllocs()
	for b.Loop() {
		r.Enqueue(in)
		r.Dequeue(out)
	}
}

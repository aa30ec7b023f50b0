package dataplane

import (
	"errors"
	"sync"
	"testing"
)

func testPool(t testing.TB, count int) *Pool {
	t.Helper()
	a, err := NewArena(count*(Headroom+DefaultDataRoom), ArenaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	p, _, err := NewPool("test", a, 0, count, DefaultDataRoom)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPoolExhaustion(t *testing.T) {
	p := testPool(t, 4)
	var got []*Packet
	for range 4 {
		pk := p.Get()
		if pk == nil {
			t.Fatal("pool empty too early")
		}
		got = append(got, pk)
	}
	if p.Get() != nil {
		t.Fatal("Get on empty pool returned a packet")
	}
	if p.AllocFailures() != 1 {
		t.Fatalf("failures %d, want 1", p.AllocFailures())
	}
	PutBurst(got)
	if p.Available() != 4 {
		t.Fatalf("available %d after returning all", p.Available())
	}
}

func TestPoolCache(t *testing.T) {
	p := testPool(t, 100)
	c := p.NewCache(16)
	burst := make([]*Packet, 32)
	if n := c.GetBurst(burst); n != 32 {
		t.Fatalf("GetBurst got %d", n)
	}
	for _, pk := range burst {
		if pk.Len() != 0 || len(pk.Room()) != DefaultDataRoom || pk.Pool() != p {
			t.Fatal("packet not reset")
		}
		pk.SetLen(60)
	}
	c.PutBurst(burst)
	if c.Len() > 16 {
		t.Fatalf("cache holds %d > its size", c.Len())
	}
	if c.Len()+p.Available() != 100 {
		t.Fatalf("packets lost: cache %d + pool %d", c.Len(), p.Available())
	}
	// Drain everything through the cache: exactly 100, then nil + counted.
	var all []*Packet
	for {
		pk := c.Get()
		if pk == nil {
			break
		}
		if pk.Len() != 0 {
			t.Fatal("Get returned an unreset packet")
		}
		all = append(all, pk)
	}
	if len(all) != 100 || p.AllocFailures() == 0 {
		t.Fatalf("got %d packets, failures %d", len(all), p.AllocFailures())
	}
	if n := c.GetBurst(burst); n != 0 {
		t.Fatalf("GetBurst on empty pool got %d", n)
	}
	c.PutBurst(all)
	c.Flush()
	if p.Available() != 100 || c.Len() != 0 {
		t.Fatalf("after Flush pool has %d, cache %d", p.Available(), c.Len())
	}
}

// TestPoolCacheConcurrent: PMD-like goroutines with their own caches take
// and return packets, and free packets another goroutine took (goroutines
// 1 and 2 hand half their packets to goroutine 0 through an MPSC ring);
// nothing is lost or handed out twice.
func TestPoolCacheConcurrent(t *testing.T) {
	p := testPool(t, 512)
	ring := NewMPSCRing[*Packet](256)
	var wg sync.WaitGroup
	var producers sync.WaitGroup
	producers.Add(2)
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := p.NewCache(64)
			defer c.Flush()
			burst := make([]*Packet, 32)
			if g == 0 {
				done := make(chan struct{})
				go func() { producers.Wait(); close(done) }()
				for {
					n := ring.Dequeue(burst)
					c.PutBurst(burst[:n])
					if n == 0 {
						select {
						case <-done:
							if ring.Dequeue(burst[:1]) == 0 {
								return
							}
							c.Put(burst[0])
						default:
						}
					}
				}
			}
			defer producers.Done()
			for range 3000 {
				n := c.GetBurst(burst)
				for _, pk := range burst[:n] {
					pk.Room()[0] = byte(g)
					pk.SetLen(1)
				}
				for _, pk := range burst[:n] {
					if pk.Data()[0] != byte(g) {
						t.Error("packet handed to two owners")
					}
				}
				k := ring.Enqueue(burst[:n/2])
				c.PutBurst(burst[k:n])
			}
		}()
	}
	wg.Wait()
	if p.Available() != 512 {
		t.Fatalf("pool has %d of 512 packets after all caches flushed", p.Available())
	}
}

func TestParseSocketMem(t *testing.T) {
	for _, tc := range []struct {
		in    string
		bytes int
		err   bool
	}{
		{"", 0, false},
		{"1024", 1024 << 20, false},
		{"1024,1024", 2048 << 20, false},
		{" 512 , 0 ", 512 << 20, false},
		{"1024,", 0, true},
		{"-1", 0, true},
		{"1G", 0, true},
	} {
		n, err := SocketMemBytes(tc.in)
		if (err != nil) != tc.err || n != tc.bytes {
			t.Errorf("SocketMemBytes(%q) = %d, %v; want %d, err=%v", tc.in, n, err, tc.bytes, tc.err)
		}
		if err != nil && !errors.Is(err, ErrBadSocketMem) {
			t.Errorf("error %v does not wrap ErrBadSocketMem", err)
		}
	}
}

func TestArenaFallbackAndHugetlbfs(t *testing.T) {
	// Asking for hugepages never fails without RequireHuge: the arena
	// falls back to ordinary pages.
	a, err := NewArena(4<<20, ArenaOptions{HugePages: true})
	if err != nil {
		t.Fatal(err)
	}
	if a.Huge() && a.PageSize() != 2<<20 {
		t.Fatalf("huge arena with page size %d", a.PageSize())
	}
	if len(a.Bytes()) < 4<<20 || a.IOVA(10)-a.IOVA(0) != 10 {
		t.Fatal("arena size or IOVA wrong")
	}
	a.Close()
	_, err = NewArena(4<<20, ArenaOptions{HugetlbfsDir: t.TempDir(), RequireHuge: true})
	if !errors.Is(err, ErrNoHugepages) {
		t.Fatalf("tmpfs dir as hugetlbfs: %v, want ErrNoHugepages", err)
	}
}

func BenchmarkPoolCacheBurst32(b *testing.B) {
	p := testPool(b, 1024)
	c := p.NewCache(0)
	burst := make([]*Packet, 32)
	b.ReportAllocs()
	for b.Loop() {
		n := c.GetBurst(burst)
		c.PutBurst(burst[:n])
	}
}

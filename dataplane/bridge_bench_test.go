package dataplane_test

import (
	"fmt"
	"testing"

	"gvswitch/dataplane"
	"gvswitch/dataplane/memport"
)

// BenchmarkBridge forwards 32-packet bursts of 64-byte frames from port 1
// through the pipeline to discarding memports, as a PMD would: buffers come
// from a per-PMD pool cache, one Process call per burst.
func BenchmarkBridge(b *testing.B) {
	for _, tc := range []struct {
		name  string
		ports int
		learn bool
		dst   [6]byte
	}{
		{"learned", 2, true, hostMAC(2)},
		{"unknown-dst", 2, false, hostMAC(2)},
		{"learned-8ports", 8, true, hostMAC(2)},
		{"broadcast-4ports", 4, false, broadcast},
	} {
		b.Run(tc.name, func(b *testing.B) {
			a, err := dataplane.NewArena(16384*2304, dataplane.ArenaOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			pool, _, err := dataplane.NewPool("bench", a, 0, 16384, dataplane.DefaultDataRoom)
			if err != nil {
				b.Fatal(err)
			}
			br, err := dataplane.NewBridge(dataplane.BridgeConfig{Name: "br0", Pool: pool})
			if err != nil {
				b.Fatal(err)
			}
			for no := 1; no <= tc.ports; no++ {
				p := memport.New(fmt.Sprint(no), pool, memport.Options{Discard: true})
				if err := br.AddPort(uint32(no), dataplane.PortConfig{Name: p.Name(), Port: p, Tag: 100, HasTag: true}); err != nil {
					b.Fatal(err)
				}
			}
			if tc.learn {
				br.FDB().Learn(100, tc.dst, 2, br.Now())
			}
			tmpl := frame(tc.dst, hostMAC(1), 0, 0, 0x0800, 64)
			cache := pool.NewCache(0)
			burst := make([]*dataplane.Packet, 32)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				n := cache.GetBurst(burst)
				for _, p := range burst[:n] {
					p.SetLen(copy(p.Room(), tmpl))
				}
				br.Process(1, 1, -1, burst[:n])
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*32), "ns/pkt")
		})
	}
}

func TestProcessNoAlloc(t *testing.T) {
	r := newRig(t, dataplane.BridgeConfig{})
	for no := uint32(1); no <= 3; no++ {
		p := memport.New(fmt.Sprint(no), r.pool, memport.Options{Discard: true})
		if err := r.br.AddPort(no, dataplane.PortConfig{Name: p.Name(), Port: p}); err != nil {
			t.Fatal(err)
		}
	}
	cache := r.pool.NewCache(0)
	burst := make([]*dataplane.Packet, 32)
	frames := [][]byte{
		frame(hostMAC(2), hostMAC(1), 0x8100, 5, 0x0800, 64),
		frame(broadcast, hostMAC(3), 0x8100, 5, 0x0800, 64),
		frame(lacpDst, hostMAC(3), 0, 0, 0x8800, 64),
	}
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		n := cache.GetBurst(burst)
		for _, p := range burst[:n] {
			p.SetLen(copy(p.Room(), frames[i%len(frames)]))
			i++
		}
		r.br.Process(1, 1, -1, burst[:n])
	})
	if allocs != 0 {
		t.Fatalf("Process allocates %v times per burst", allocs)
	}
}

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
		noEMC bool
		dsts  int // > 0: rotate over this many learned destinations
	}{
		{"learned", 2, true, hostMAC(2), false, 0},
		{"learned-noemc", 2, true, hostMAC(2), true, 0},
		{"unknown-dst", 2, false, hostMAC(2), false, 0},
		{"learned-8ports", 8, true, hostMAC(2), false, 0},
		{"learned-512dst", 2, true, hostMAC(2), false, 512},
		{"learned-512dst-noemc", 2, true, hostMAC(2), true, 512},
		{"broadcast-4ports", 4, false, broadcast, false, 0},
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
			br, err := dataplane.NewBridge(dataplane.BridgeConfig{Name: "br0", Pool: pool, DisableEMC: tc.noEMC})
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
			for i := range tc.dsts {
				br.FDB().Learn(100, [6]byte{0x52, 0x55, 0, 0, byte(i >> 8), byte(i)}, 2, br.Now())
			}
			tmpl := frame(tc.dst, hostMAC(1), 0, 0, 0x0800, 64)
			k := 0
			cache := pool.NewCache(0)
			burst := make([]*dataplane.Packet, 32)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				n := cache.GetBurst(burst)
				for _, p := range burst[:n] {
					p.SetLen(copy(p.Room(), tmpl))
					if tc.dsts > 0 {
						d := p.Data()
						d[0], d[1], d[4], d[5] = 0x52, 0x55, byte(k>>8), byte(k)
						k = (k + 1) % tc.dsts
					}
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

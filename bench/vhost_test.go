package bench_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gvswitch/bench"
	"gvswitch/dataplane"
	"gvswitch/vhostuser"
)

// backend is a vhost-user back-end written for the tests (F's vhostuser
// port in client mode) that sends every frame the generator transmits
// back to it, after passing each burst through mangle.
type backend struct {
	port    *vhostuser.Port
	stop    atomic.Bool
	wg      sync.WaitGroup
	dropped atomic.Uint64
}

// mangle may drop (free and leave out) or reorder packets; it returns
// the packets to send back. seen counts packets before this burst.
type mangle func(pkts []*dataplane.Packet, seen uint64) []*dataplane.Packet

func newPool(t testing.TB, n int) *dataplane.Pool {
	ar, err := dataplane.NewArena(n*2304, dataplane.ArenaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ar.Close() })
	p, _, err := dataplane.NewPool("test", ar, 0, n, dataplane.DefaultDataRoom)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func startBackend(t testing.TB, sock string, m mangle) *backend {
	pool := newPool(t, 4096)
	p, err := vhostuser.NewClient("be", sock, vhostuser.Options{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{port: p}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		pkts := make([]*dataplane.Packet, 32)
		var seen uint64
		for !b.stop.Load() {
			if !p.Link() {
				time.Sleep(time.Millisecond)
				continue
			}
			n := p.RxBurst(0, pkts)
			if n == 0 {
				time.Sleep(20 * time.Microsecond)
				continue
			}
			out := pkts[:n]
			if m != nil {
				out = m(out, seen)
			}
			seen += uint64(n)
			// This back-end never drops on its own: TxBurst frees what
			// does not fit, so it sends copies and retries a copy until
			// the generator has posted receive buffers again.
			for _, pk := range out {
				for !b.stop.Load() {
					c := pool.Get()
					if c == nil {
						b.dropped.Add(1)
						break
					}
					c.CopyFrom(pk)
					if p.TxBurst(0, []*dataplane.Packet{c}) == 1 {
						break
					}
					time.Sleep(5 * time.Microsecond)
				}
				pk.Free()
			}
		}
	}()
	t.Cleanup(func() {
		b.stop.Store(true)
		b.wg.Wait()
		p.Close()
	})
	return b
}

func openLoop(t *testing.T, m mangle) (*bench.VhostPort, *backend) {
	gp, be, _ := openLoopAt(t, m)
	return gp, be
}

func openLoopAt(t *testing.T, m mangle) (*bench.VhostPort, *backend, string) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "gen.sock")
	// The back-end (a dpdkvhostuserclient port) connects to us.
	be := startBackend(t, sock, m)
	gp, err := bench.OpenVhost("vhost-server:"+sock, sock, true, bench.PortOptions{RingSize: 256, ConnectTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gp.Close() })
	deadline := time.Now().Add(5 * time.Second)
	for !be.port.Link() {
		if time.Now().After(deadline) {
			t.Fatal("back-end link never came up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return gp, be, sock
}

func runCount(t *testing.T, p bench.Port, count uint64, rate float64) *bench.Result {
	s := bench.DefaultStream()
	s.Rate = rate
	s.SrcIPs, s.DstPorts = 16, 7
	res, err := bench.Run(context.Background(), bench.Config{Ports: []bench.Port{p}, Streams: []bench.Stream{s}, Count: count, Drain: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestVhostLoopbackClean: through a back-end that returns everything,
// every frame comes back, in order, with a latency.
func TestVhostLoopbackClean(t *testing.T) {
	gp, be := openLoop(t, nil)
	res := runCount(t, gp, 50000, 0)
	tot := res.Total
	t.Logf("tx %d rx %d lost %d reordered %d latency %+v foreign %d", tot.TxPackets, tot.RxPackets, tot.Lost, tot.Reordered, tot.Latency, res.Foreign)
	if be.dropped.Load() != 0 {
		t.Fatalf("back-end dropped %d on transmit", be.dropped.Load())
	}
	if tot.TxPackets != 50000 || tot.RxPackets != 50000 || tot.Lost != 0 || tot.Reordered != 0 {
		t.Fatalf("want 50000 sent and received in order, got %+v", tot)
	}
	if tot.Latency.Samples != 50000 || tot.Latency.MinNs == 0 || tot.Latency.P50Ns > tot.Latency.MaxNs {
		t.Fatalf("latency summary inconsistent: %+v", tot.Latency)
	}
	if st := be.port.Stats(); st.RxPackets != 50000 || st.TxPackets != 50000 {
		t.Fatalf("back-end counted rx %d tx %d, generator 50000", st.RxPackets, st.TxPackets)
	}
}

// TestVhostLoss: a back-end that drops every 1000th frame makes the
// generator read 0.1 % loss.
func TestVhostLoss(t *testing.T) {
	gp, _ := openLoop(t, func(pkts []*dataplane.Packet, seen uint64) []*dataplane.Packet {
		out := pkts[:0]
		for i, p := range pkts {
			if (seen+uint64(i)+1)%1000 == 0 {
				p.Free()
				continue
			}
			out = append(out, p)
		}
		return out
	})
	res := runCount(t, gp, 100000, 0)
	tot := res.Total
	t.Logf("tx %d rx %d lost %d (%.4f %%)", tot.TxPackets, tot.RxPackets, tot.Lost, tot.LossPct)
	if tot.Lost != 100 || math.Abs(tot.LossPct-0.1) > 1e-9 {
		t.Fatalf("want 100 lost (0.1 %%), got %d (%.4f %%)", tot.Lost, tot.LossPct)
	}
	if tot.Reordered != 0 {
		t.Fatalf("drops counted as %d reorders", tot.Reordered)
	}
}

// TestVhostReorder: a back-end that swaps the two frames of every pair
// (holding the first of a pair across bursts) makes exactly one
// reordered frame per pair.
func TestVhostReorder(t *testing.T) {
	var held *dataplane.Packet
	out := make([]*dataplane.Packet, 0, 64)
	gp, _ := openLoop(t, func(pkts []*dataplane.Packet, seen uint64) []*dataplane.Packet {
		out = out[:0]
		for _, p := range pkts {
			if held == nil {
				held = p
				continue
			}
			out = append(out, p, held)
			held = nil
		}
		return out
	})
	res := runCount(t, gp, 20000, 0)
	tot := res.Total
	t.Logf("tx %d rx %d reordered %d", tot.TxPackets, tot.RxPackets, tot.Reordered)
	if tot.Lost != 0 || tot.Reordered != 10000 {
		t.Fatalf("want 20000 back with 10000 reordered, got %+v", tot)
	}
}

// TestVhostRate: a rate-limited run sends at that rate, never above it.
func TestVhostRate(t *testing.T) {
	gp, _ := openLoop(t, nil)
	s := bench.DefaultStream()
	s.Rate = 20000
	res, err := bench.Run(context.Background(), bench.Config{Ports: []bench.Port{gp}, Streams: []bench.Stream{s}, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// The pacing counts frames against the clock: at most one burst
	// ahead, and behind only if the back-end stalls the ring.
	if got := res.Total.TxPPS; got > 20000*1.02+32 || got < 20000*0.9 {
		t.Fatalf("tx rate %.0f pps, asked for 20000", got)
	}
}

// TestVhostServerSocketRemoved: closing a server-role port removes its
// socket file.
func TestVhostServerSocketRemoved(t *testing.T) {
	gp, _, sock := openLoopAt(t, nil)
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("socket: %v", err)
	}
	gp.Close()
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("socket %s still there after Close: %v", sock, err)
	}
}

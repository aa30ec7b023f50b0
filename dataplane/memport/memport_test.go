package memport

import (
	"testing"

	"gvswitch/dataplane"
)

func testPool(t *testing.T, n int) *dataplane.Pool {
	t.Helper()
	a, err := dataplane.NewArena(n*2304, dataplane.ArenaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	p, _, err := dataplane.NewPool("memport", a, 0, n, dataplane.DefaultDataRoom)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFeedRxTxTake(t *testing.T) {
	pool := testPool(t, 16)
	p := New("m0", pool, Options{QueueSize: 4, RxQueues: 2})
	if n := p.Feed(1, []byte("aaaa"), []byte("bb"), []byte("c"), []byte("d"), []byte("e")); n != 4 {
		t.Fatalf("fed %d into a 4-frame queue", n)
	}
	pkts := make([]*dataplane.Packet, 8)
	if n := p.RxBurst(0, pkts); n != 0 {
		t.Fatal("frames fed to queue 1 came out of queue 0")
	}
	n := p.RxBurst(1, pkts)
	if n != 4 || string(pkts[0].Data()) != "aaaa" || string(pkts[1].Data()) != "bb" {
		t.Fatalf("rx %d frames", n)
	}
	if sent := p.TxBurst(0, pkts[:n]); sent != 4 {
		t.Fatalf("tx took %d", sent)
	}
	got := p.Take()
	if len(got) != 4 || string(got[0]) != "aaaa" || string(got[3]) != "d" {
		t.Fatalf("take %q", got)
	}
	s := p.Stats()
	if s.RxPackets != 4 || s.RxBytes != 8 || s.TxPackets != 4 || s.TxBytes != 8 {
		t.Fatalf("stats %+v", s)
	}
	// Link down: tx dropped and counted, buffers freed.
	p.SetLink(false)
	p.Feed(0, []byte("x"))
	n = p.RxBurst(0, pkts)
	if p.TxBurst(0, pkts[:n]) != 0 || p.Stats().TxDropped != 1 || len(p.Take()) != 0 {
		t.Fatal("down link transmitted")
	}
	p.Feed(0, []byte("y"))
	p.Close()
	if pool.Available() != pool.Size() {
		t.Fatalf("pool %d/%d after Close", pool.Available(), pool.Size())
	}
	if p.TxBurst(0, nil); p.UsedAfterClose() != 1 {
		t.Fatal("TxBurst after Close not counted")
	}
}

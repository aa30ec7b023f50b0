package afpacket

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"gvswitch/dataplane"
	"gvswitch/internal/netns"
	"gvswitch/internal/testenv"
)

func testPool(t testing.TB, n int) *dataplane.Pool {
	t.Helper()
	p, a, err := dataplane.NewArenaPool("test", n, dataplane.DefaultDataRoom, dataplane.ArenaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return p
}

func openIn(t testing.TB, ns *netns.NS, name string, opt Options) *Port {
	t.Helper()
	var p *Port
	if err := ns.Do(func() (err error) { p, err = Open(name, opt); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestOpenMissingDevice(t *testing.T) {
	_, err := Open("gvsnosuch0", Options{Pool: testPool(t, 8)})
	if !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), "gvsnosuch0") {
		t.Fatalf("err = %v, want ErrNoDevice naming the interface", err)
	}
	if _, err := Open("lo", Options{}); err == nil {
		t.Fatal("Open without a pool succeeded")
	}
}

// quietNS is a namespace whose interfaces send no IPv6 chatter (router
// solicitations, MLD) that tests would have to skip.
func quietNS(t testing.TB, prefix string) *netns.NS {
	t.Helper()
	ns := netns.New(t, prefix)
	ns.Run(t, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	return ns
}

// vethPair makes a namespace with a veth pair x <-> y and opens both ends.
func vethPair(t testing.TB, pool *dataplane.Pool) (x, y *Port) {
	t.Helper()
	ns := quietNS(t, "afp")
	a, b := netns.Name("afx"), netns.Name("afy")
	netns.Veth(t, a, ns, b, ns)
	return openIn(t, ns, a, Options{Pool: pool}), openIn(t, ns, b, Options{Pool: pool})
}

func frame(dst, src byte, vlan uint16, payload int, seq byte) []byte {
	f := []byte{2, 0, 0, 0, 0, dst, 2, 0, 0, 0, 0, src}
	if vlan != 0 {
		f = binary.BigEndian.AppendUint16(f, 0x8100)
		f = binary.BigEndian.AppendUint16(f, vlan)
	}
	f = binary.BigEndian.AppendUint16(f, 0x88b5) // local experimental
	for i := 0; i < payload; i++ {
		f = append(f, seq+byte(i))
	}
	return f
}

func send(t testing.TB, pool *dataplane.Pool, p *Port, frames ...[]byte) {
	t.Helper()
	pkts := make([]*dataplane.Packet, len(frames))
	for i, f := range frames {
		pk := pool.Get()
		if pk == nil {
			t.Fatal("pool empty")
		}
		copy(pk.Room(), f)
		pk.SetLen(len(f))
		pkts[i] = pk
	}
	if n := p.TxBurst(0, pkts); n != len(frames) {
		t.Fatalf("TxBurst sent %d of %d", n, len(frames))
	}
}

func receive(t testing.TB, p *Port, want int, timeout time.Duration) [][]byte {
	t.Helper()
	var got [][]byte
	var pkts [32]*dataplane.Packet
	deadline := time.Now().Add(timeout)
	for len(got) < want && time.Now().Before(deadline) {
		n := p.RxBurst(0, pkts[:])
		for _, pk := range pkts[:n] {
			got = append(got, bytes.Clone(pk.Data()))
			pk.Free()
		}
		if n == 0 {
			time.Sleep(100 * time.Microsecond)
		}
	}
	return got
}

func TestVethRoundTrip(t *testing.T) {
	pool := testPool(t, 1024)
	x, y := vethPair(t, pool)
	var frames [][]byte
	for i := 0; i < 40; i++ {
		frames = append(frames, frame(2, 1, 0, 46+i*30, byte(i)))
	}
	// A VLAN-tagged frame: the kernel moves the tag into the ring header,
	// the port must put it back.
	frames = append(frames, frame(2, 1, 300, 60, 99))
	send(t, pool, x, frames[:32]...)
	send(t, pool, x, frames[32:]...)
	got := receive(t, y, len(frames), 3*time.Second)
	if len(got) != len(frames) {
		t.Fatalf("received %d of %d frames", len(got), len(frames))
	}
	for i := range frames {
		if !bytes.Equal(got[i], frames[i]) {
			t.Fatalf("frame %d:\n got %x\nwant %x", i, got[i], frames[i])
		}
	}
	// x must not see its own transmissions.
	if echo := receive(t, x, 1, 200*time.Millisecond); len(echo) != 0 {
		t.Fatalf("x received %d of its own frames", len(echo))
	}
	st := y.Stats()
	if st.RxPackets != uint64(len(frames)) || x.Stats().TxPackets != uint64(len(frames)) {
		t.Fatalf("stats: y %+v, x %+v", st, x.Stats())
	}
	if es := y.ExtraStats(); len(es) < 6 || es["rx_crc_err"] != 0 {
		t.Fatalf("ExtraStats %v", es)
	}
	if !x.Link() || x.MTU() != 1500 {
		t.Fatalf("link %v mtu %d", x.Link(), x.MTU())
	}
	if err := x.SetMTU(1400); err != nil || x.MTU() != 1400 {
		t.Fatalf("SetMTU: %v, MTU %d", err, x.MTU())
	}
	x.Close()
	y.Close()
	if pool.Available() != pool.Size() {
		t.Fatalf("leaked buffers: %d of %d back in the pool after Close", pool.Available(), pool.Size())
	}
}

func TestBurstAllocs(t *testing.T) {
	testenv.NeedRoot(t)
	pool := testPool(t, 1024)
	x, y := vethPair(t, pool)
	var tx, rx [32]*dataplane.Packet
	f := frame(2, 1, 0, 50, 0)
	got := 0
	allocs := testing.AllocsPerRun(200, func() {
		n := pool.GetBurst(tx[:])
		for _, pk := range tx[:n] {
			copy(pk.Room(), f)
			pk.SetLen(len(f))
		}
		x.TxBurst(0, tx[:n])
		for i := 0; i < 1000; i++ {
			m := y.RxBurst(0, rx[:])
			got += m
			dataplane.PutBurst(rx[:m])
			if m == 0 {
				break
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per burst", allocs)
	}
	if got == 0 {
		t.Fatal("nothing received")
	}
}

func BenchmarkVethBurst(b *testing.B) {
	testenv.NeedRoot(b)
	pool := testPool(b, 1024)
	x, y := vethPair(b, pool)
	var tx, rx [32]*dataplane.Packet
	f := frame(2, 1, 0, 50, 0)
	b.ReportAllocs()
	got := 0
	for b.Loop() {
		n := pool.GetBurst(tx[:])
		for _, pk := range tx[:n] {
			copy(pk.Room(), f)
			pk.SetLen(len(f))
		}
		x.TxBurst(0, tx[:n])
		for want := got + n; got < want; {
			m := y.RxBurst(0, rx[:])
			if m == 0 && y.rxDropped.Load() > 0 {
				break
			}
			got += m
			dataplane.PutBurst(rx[:m])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(got, 1)), "ns/pkt")
}

// TestRefusedFrameDoesNotStallTx: a frame the kernel refuses (offload
// metadata pointing past its end) is skipped; the frames after it go out.
func TestRefusedFrameDoesNotStallTx(t *testing.T) {
	testenv.NeedRoot(t)
	pool := testPool(t, 256)
	x, y := vethPair(t, pool)
	small := frame(2, 1, 0, 100, 1)
	var pkts []*dataplane.Packet
	for i := 0; i < 3; i++ {
		pk := pool.Get()
		copy(pk.Room(), small)
		pk.SetLen(len(small))
		pkts = append(pkts, pk)
	}
	pkts[0].Offload = dataplane.OffloadCsumPartial
	pkts[0].CsumStart, pkts[0].CsumOffset = 2000, 16
	x.TxBurst(0, pkts[:2])
	x.TxBurst(0, pkts[2:])
	got := receive(t, y, 3, time.Second)
	if len(got) != 2 {
		t.Fatalf("received %d frames after a refused one, want 2", len(got))
	}
}

// TestInterfaceRemoved: when the kernel interface goes away (a VM's tap
// when the guest stops), the port reports the link down, receives
// nothing, drops what it is given and closes cleanly.
func TestInterfaceRemoved(t *testing.T) {
	testenv.NeedRoot(t)
	pool := testPool(t, 1024)
	ns := quietNS(t, "afr")
	a, b := netns.Name("afr"), netns.Name("afs")
	netns.Veth(t, a, ns, b, ns)
	x := openIn(t, ns, a, Options{Pool: pool})
	if !x.Link() {
		t.Fatal("link down before removal")
	}
	ns.Run(t, "ip", "link", "del", a)
	if x.Link() {
		t.Fatal("link up after the interface was deleted")
	}
	var pkts [32]*dataplane.Packet
	if n := x.RxBurst(0, pkts[:]); n != 0 {
		t.Fatalf("received %d frames from a deleted interface", n)
	}
	f := frame(2, 1, 0, 50, 0)
	for i := 0; i < 2*txFrames/32; i++ {
		n := pool.GetBurst(pkts[:])
		for _, pk := range pkts[:n] {
			copy(pk.Room(), f)
			pk.SetLen(len(f))
		}
		x.TxBurst(0, pkts[:n])
	}
	if st := x.Stats(); st.TxDropped == 0 {
		t.Errorf("nothing dropped after sending %d frames to a deleted interface: %+v", 2*txFrames, st)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if pool.Available() != pool.Size() {
		t.Fatalf("%d of %d buffers back after Close", pool.Available(), pool.Size())
	}
}

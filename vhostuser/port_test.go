package vhostuser_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"gvswitch/dataplane"
	"gvswitch/vhostuser"
	"gvswitch/vhostuser/proto"
	"gvswitch/vhostuser/vhosttest"
)

// logBuf collects a port's log lines for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuf) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

func newPool(t testing.TB) *dataplane.Pool {
	p, ar, err := dataplane.NewArenaPool("test", 2048, dataplane.DefaultDataRoom, dataplane.ArenaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ar.Close() })
	return p
}

// forward moves packets between two ports in both directions on every
// queue pair until stop is called, like a two-port bridge would.
func forward(a, b dataplane.Port) (stop func()) { return forwardOn(-1, a, b) }

// forwardOn is forward on a thread pinned to cpu (-1: not pinned), as a
// PMD is: a poller sharing a CPU with another poller (testpmd) gets
// time slices of milliseconds.
func forwardOn(cpu int, a, b dataplane.Port) (stop func()) {
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if cpu >= 0 {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var set unix.CPUSet
			set.Set(cpu)
			unix.SchedSetaffinity(0, &set)
		}
		pkts := make([]*dataplane.Packet, 32)
		for !done.Load() {
			moved := 0
			for _, dir := range [2][2]dataplane.Port{{a, b}, {b, a}} {
				for q := 0; q < dir[0].NumRxQueues(); q++ {
					n := dir[0].RxBurst(q, pkts)
					if n > 0 {
						dir[1].TxBurst(q%dir[1].NumTxQueues(), pkts[:n])
						moved += n
					}
				}
			}
			if moved == 0 {
				runtime.Gosched()
			}
		}
	}()
	return func() { done.Store(true); wg.Wait() }
}

func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func frame(n int, src, dst byte, seq int) []byte {
	f := make([]byte, n)
	copy(f, []byte{2, 0, 0, 0, 0, dst, 2, 0, 0, 0, 0, src, 0x88, 0xb5})
	f[14], f[15] = byte(seq>>8), byte(seq)
	for i := 16; i < n; i++ {
		f[i] = byte(i + seq)
	}
	return f
}

// fguest is a test front-end listening like QEMU with server=on.
type fguest struct {
	*vhosttest.Frontend
	path string
}

func newGuest(t testing.TB, dir, name string) *fguest {
	path := filepath.Join(dir, name)
	f, err := vhosttest.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	g := &fguest{Frontend: f, path: path}
	t.Cleanup(g.Close)
	return g
}

func (g *fguest) setup(t testing.TB, pairs int) {
	t.Helper()
	if err := g.Accept(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	feat := uint64(vhosttest.DefaultFeatures)
	if pairs > 1 {
		feat |= vhosttest.FeatureMQ
	}
	if err := g.Setup(feat, vhosttest.DefaultProtocols, pairs, 256, 2048, 8<<20); err != nil {
		t.Fatal(err)
	}
}

// exchange sends n frames from a to b on queue pair q and checks they all
// arrive intact and in order.
func exchange(t testing.TB, a, b *vhosttest.Frontend, q, n, size int) {
	t.Helper()
	var got [][]byte
	sent := 0
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < n {
		// At most 64 in flight: a switch drops what the receiving
		// guest has no buffers for, and these guests are slow to post.
		for sent < n && sent-len(got) < 64 && a.Rings[2*q+1].Free() > 0 {
			if err := a.Transmit(q, frame(size, 1, 2, sent)); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		a.Reclaim(q)
		fs, err := b.Receive(q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fs...)
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d frames", len(got), n)
		}
		if len(fs) == 0 {
			time.Sleep(100 * time.Microsecond)
		}
	}
	for i, f := range got {
		if !bytes.Equal(f, frame(size, 1, 2, i)) {
			t.Fatalf("frame %d differs (%d bytes)", i, len(f))
		}
	}
}

// exchangeLossy sends numbered frames from a to b in batches until b got n
// of them, each intact.
func exchangeLossy(t testing.TB, a, b *vhosttest.Frontend, n, size int) {
	t.Helper()
	got, seq := 0, 0
	deadline := time.Now().Add(10 * time.Second)
	for got < n {
		for k := 0; k < 16 && a.Rings[1].Free() > 0; k++ {
			a.Transmit(0, frame(size, 1, 2, seq&0xffff))
			seq++
		}
		time.Sleep(2 * time.Millisecond)
		a.Reclaim(0)
		fs, err := b.Receive(0)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if !bytes.Equal(f, frame(size, 1, 2, int(f[14])<<8|int(f[15]))) {
				t.Fatalf("frame %d corrupted", got)
			}
			got++
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d frames (%d sent)", got, n, seq)
		}
	}
}

func TestClientPortsForward(t *testing.T) {
	dir := t.TempDir()
	pool := newPool(t)
	var logs logBuf
	ga, gb := newGuest(t, dir, "a.sock"), newGuest(t, dir, "b.sock")
	pa, err := vhostuser.NewClient("vhu0", ga.path, vhostuser.Options{Pool: pool, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer pa.Close()
	pb, err := vhostuser.NewClient("vhu1", gb.path, vhostuser.Options{Pool: pool, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer pb.Close()
	if st := pa.Status(); st["status"] != "disconnected" || st["mode"] != "client" || len(st) != 2 {
		t.Fatalf("status before connection: %v", st)
	}
	if pa.RxQueueEnabled(0) || pa.Link() {
		t.Fatal("queue enabled / link up without a guest")
	}
	if pa.MTU() != 1500 || pa.SetMTU(9000) != nil || pa.MTU() != 9000 || pa.SetMTU(10) == nil {
		t.Fatalf("MTU %d after SetMTU(9000), or SetMTU(10) accepted", pa.MTU())
	}
	ga.setup(t, 1)
	gb.setup(t, 1)
	waitFor(t, "link up", 5*time.Second, func() bool { return pa.Link() && pb.Link() })
	if !pa.RxQueueEnabled(0) || pa.RxQueueEnabled(1) {
		t.Fatal("rx queue 0 not enabled, or queue 1 enabled, with a one-queue guest")
	}
	stop := forward(pa, pb)
	defer stop()
	exchange(t, ga.Frontend, gb.Frontend, 0, 1000, 64)
	exchange(t, gb.Frontend, ga.Frontend, 0, 300, 1518)

	st := pa.Status()
	want := map[string]string{"mode": "client", "status": "connected", "numa": "0", "socket": ga.path,
		"num_of_vrings": "2", "vring_0_size": "256", "vring_1_size": "256",
		"features": fmt.Sprintf("0x%016x", ga.Features)}
	for k, v := range want {
		if st[k] != v {
			t.Errorf("status[%s] = %q, want %q (all: %v)", k, st[k], v, st)
		}
	}
	s := pa.Stats()
	if s.RxPackets != 1000 || s.TxPackets != 300 || s.RxBytes != 64000 || s.TxBytes != 300*1518 {
		t.Errorf("vhu0 stats %+v", s)
	}
	x := pa.ExtraStats()
	if x["rx_q0_good_packets"] != 1000 || x["rx_q0_size_64_packets"] != 1000 || x["rx_1_to_64_packets"] != 1000 ||
		x["tx_1024_to_1522_packets"] != 300 || x["ovs_tx_failure_drops"] != 0 {
		t.Errorf("extra stats: %v", x)
	}
	if len(x) != 64 {
		t.Errorf("%d statistics keys, OVS-DPDK has 64", len(x))
	}
	l := logs.String()
	for _, line := range []string{"created in 'client' mode", "connected", "negotiated Virtio features", "has been added on numa node 0",
		"State of queue 0 ( tx_qid 0 )", "State of queue 1 ( rx_qid 0 )"} {
		if !strings.Contains(l, line) {
			t.Errorf("log lacks %q", line)
		}
	}
	// The ports keep buffers in per-vring caches; closed, they give
	// every one back.
	stop()
	pa.Close()
	pb.Close()
	if pool.Available() != pool.Size() {
		t.Errorf("%d of %d buffers not back in the pool after Close", pool.Size()-pool.Available(), pool.Size())
	}
}

func TestClientWaitsAndReconnects(t *testing.T) {
	dir := t.TempDir()
	pool := newPool(t)
	var logs logBuf
	path := filepath.Join(dir, "late.sock")
	peerPath := filepath.Join(dir, "peer.sock")
	// The port exists before its guest: it must keep trying.
	p, err := vhostuser.NewClient("vhu0", path, vhostuser.Options{Pool: pool, Logger: logs.logger(), ReconnectMax: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	peer := newGuest(t, dir, "peer.sock")
	pp, err := vhostuser.NewClient("vhu1", peerPath, vhostuser.Options{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer pp.Close()
	peer.setup(t, 1)
	waitFor(t, "the failed connection attempt logged", 5*time.Second, func() bool {
		return strings.Contains(logs.String(), "failed to connect: No such file or directory")
	})
	stop := forward(p, pp)
	defer stop()
	for round := 0; round < 3; round++ {
		g := newGuest(t, dir, "late.sock")
		g.setup(t, 1)
		waitFor(t, "link up", 5*time.Second, p.Link)
		exchange(t, g.Frontend, peer.Frontend, 0, 100, 100)
		if got := p.Stats().RxPackets; got != 100 {
			t.Fatalf("round %d: rx %d, counters must restart at each connection", round, got)
		}
		g.Close() // the guest goes away
		waitFor(t, "link down", 5*time.Second, func() bool { return !p.Link() })
		if st := p.Status(); st["status"] != "disconnected" || len(st) != 2 {
			t.Fatalf("status after guest left: %v", st)
		}
		if x := p.ExtraStats(); len(x) != 6 {
			t.Fatalf("statistics without a guest: %d keys, want the 6 ovs_* ones", len(x))
		}
	}
	if !strings.Contains(logs.String(), "vhost peer closed") || !strings.Contains(logs.String(), "has been removed") {
		t.Error("disconnection not logged")
	}
}

func TestServerPortAndSocketPathChange(t *testing.T) {
	dir := t.TempDir()
	pool := newPool(t)
	var logs logBuf
	sock := filepath.Join(dir, "run", "vhs0")
	// A stale socket file from an earlier run is replaced.
	os.MkdirAll(filepath.Dir(sock), 0o755)
	if f, err := vhosttest.Listen(sock); err == nil {
		f.Close()
	}
	p, err := vhostuser.NewServer("vhs0", sock, vhostuser.Options{Pool: pool, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if st := p.Status(); st["mode"] != "server" || st["status"] != "disconnected" {
		t.Fatalf("status %v", st)
	}
	if !strings.Contains(logs.String(), "deprecated;  please migrate to dpdkvhostuserclient") {
		t.Error("no deprecation warning")
	}
	peer := newGuest(t, dir, "peer.sock")
	pp, _ := vhostuser.NewClient("vhu1", peer.path, vhostuser.Options{Pool: pool})
	defer pp.Close()
	peer.setup(t, 1)
	stop := forward(p, pp)
	defer stop()
	for i := 0; i < 2; i++ {
		f, err := vhosttest.Dial(sock)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Setup(vhosttest.DefaultFeatures, vhosttest.DefaultProtocols, 1, 128, 2048, 4<<20); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "server link up", 5*time.Second, p.Link)
		exchange(t, f, peer.Frontend, 0, 200, 600)
		exchange(t, peer.Frontend, f, 0, 200, 60)
		f.Close()
		waitFor(t, "server link down", 5*time.Second, func() bool { return !p.Link() })
	}
	// Move the socket: the old path disappears, the new one serves.
	sock2 := filepath.Join(dir, "run2", "vhs0")
	if err := p.SetSocketPath(sock2); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("old socket still there: %v", err)
	}
	f, err := vhosttest.Dial(sock2)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Setup(vhosttest.DefaultFeatures, vhosttest.DefaultProtocols, 1, 128, 2048, 4<<20); err != nil {
		t.Fatal(err)
	}
	exchange(t, f, peer.Frontend, 0, 50, 64)
	p.Close()
	if _, err := os.Stat(sock2); !os.IsNotExist(err) {
		t.Errorf("socket left after Close: %v", err)
	}
}

func TestClientSocketPathChange(t *testing.T) {
	dir := t.TempDir()
	pool := newPool(t)
	g1 := newGuest(t, dir, "one.sock")
	p, err := vhostuser.NewClient("vhu0", g1.path, vhostuser.Options{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	g1.setup(t, 1)
	waitFor(t, "link up", 5*time.Second, p.Link)
	g2 := newGuest(t, dir, "two.sock")
	p.SetSocketPath(g2.path)
	g2.setup(t, 1)
	waitFor(t, "link up on the new path", 5*time.Second, func() bool { return p.Link() && p.Status()["socket"] == g2.path })
}

func TestMultiQueue(t *testing.T) {
	dir := t.TempDir()
	pool := newPool(t)
	ga, gb := newGuest(t, dir, "a.sock"), newGuest(t, dir, "b.sock")
	pa, _ := vhostuser.NewClient("vhu0", ga.path, vhostuser.Options{Pool: pool})
	defer pa.Close()
	pb, _ := vhostuser.NewClient("vhu1", gb.path, vhostuser.Options{Pool: pool})
	defer pb.Close()
	var changes atomic.Int32
	pa.SetQueueChangeNotify(func() { changes.Add(1) })
	ga.setup(t, 2)
	gb.setup(t, 2)
	waitFor(t, "2 queue pairs", 5*time.Second, func() bool { return pa.NumRxQueues() == 2 && pb.NumTxQueues() == 2 })
	if changes.Load() == 0 {
		t.Error("queue change not notified")
	}
	if st := pa.Status(); st["num_of_vrings"] != "4" || st["vring_3_size"] != "256" {
		t.Errorf("status %v", st)
	}
	stop := forward(pa, pb)
	defer stop()
	exchange(t, ga.Frontend, gb.Frontend, 0, 200, 64)
	exchange(t, ga.Frontend, gb.Frontend, 1, 200, 64)
	if x := pa.ExtraStats(); x["rx_q1_good_packets"] != 200 || x["rx_q0_good_packets"] != 200 {
		t.Errorf("per-queue stats %v %v", x["rx_q0_good_packets"], x["rx_q1_good_packets"])
	}
}

func TestSendRARP(t *testing.T) {
	dir := t.TempDir()
	pool := newPool(t)
	g := newGuest(t, dir, "a.sock")
	p, _ := vhostuser.NewClient("vhu0", g.path, vhostuser.Options{Pool: pool})
	defer p.Close()
	g.setup(t, 1)
	waitFor(t, "link", 5*time.Second, p.Link)
	mac := []byte{0x52, 0x54, 0, 0x12, 0x34, 0x56, 0, 0}
	if _, err := g.Call(proto.SendRARP, mac); err != nil {
		t.Fatal(err)
	}
	pkts := make([]*dataplane.Packet, 8)
	var n int
	waitFor(t, "RARP frame", 2*time.Second, func() bool { n = p.RxBurst(0, pkts); return n > 0 })
	f := pkts[0].Data()
	if n != 1 || len(f) != 60 || !bytes.Equal(f[6:12], mac[:6]) || f[12] != 0x80 || f[13] != 0x35 {
		t.Fatalf("got %d frames, first % x", n, f)
	}
	dataplane.PutBurst(pkts[:n])
}

// TestIOMMU: with vhost-iommu-support, a front-end that negotiates
// VIRTIO_F_IOMMU_PLATFORM gives I/O addresses; the port asks for each
// translation it lacks on the back-end channel and traffic flows once the
// front-end answered.
func TestIOMMU(t *testing.T) {
	dir := t.TempDir()
	pool := newPool(t)
	g, peer := newGuest(t, dir, "a.sock"), newGuest(t, dir, "b.sock")
	p, _ := vhostuser.NewClient("vhu0", g.path, vhostuser.Options{Pool: pool, IOMMU: true})
	defer p.Close()
	pp, _ := vhostuser.NewClient("vhu1", peer.path, vhostuser.Options{Pool: pool})
	defer pp.Close()
	if err := g.Accept(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	g.IOMMU = true
	if err := g.Setup(vhosttest.DefaultFeatures, vhosttest.DefaultProtocols, 1, 256, 2048, 8<<20); err != nil {
		t.Fatal(err)
	}
	peer.setup(t, 1)
	waitFor(t, "link up once the rings are translated", 5*time.Second, p.Link)
	stop := forward(p, pp)
	defer stop()
	// A burst that meets a miss towards the guest is dropped (as in
	// DPDK), so count what arrives rather than expect every frame.
	defer func() {
		x := p.ExtraStats()
		t.Logf("p %+v misses %d/%d pp %+v", p.Stats(), x["rx_q0_iotlb_misses"], x["tx_q0_iotlb_misses"], pp.Stats())
	}()
	exchangeLossy(t, g.Frontend, peer.Frontend, 300, 1000)
	exchangeLossy(t, peer.Frontend, g.Frontend, 300, 1000)
	if g.IOTLBAnswered.Load() == 0 {
		t.Error("the front-end answered no IOTLB miss")
	}
	if x := p.ExtraStats(); x["rx_q0_iotlb_misses"] == 0 || x["tx_q0_iotlb_misses"] == 0 {
		t.Errorf("no IOTLB misses counted: rx %d tx %d", x["rx_q0_iotlb_misses"], x["tx_q0_iotlb_misses"])
	}
	if st := p.Status(); !strings.HasPrefix(st["features"], "0x00000003") {
		t.Errorf("features %s lack IOMMU_PLATFORM", st["features"])
	}
}

// TestAddRemoveMemRegions: with CONFIGURE_MEM_SLOTS a front-end adds and
// removes regions one by one (QEMU memory hot-plug); traffic carries on
// through the rings in the region that stays, and a removed region is no
// longer reachable.
func TestAddRemoveMemRegions(t *testing.T) {
	dir := t.TempDir()
	pool := newPool(t)
	var logs logBuf
	g, peer := newGuest(t, dir, "a.sock"), newGuest(t, dir, "b.sock")
	p, _ := vhostuser.NewClient("vhu0", g.path, vhostuser.Options{Pool: pool, Logger: logs.logger()})
	defer p.Close()
	pp, _ := vhostuser.NewClient("vhu1", peer.path, vhostuser.Options{Pool: pool})
	defer pp.Close()
	if err := g.Accept(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := g.Setup(vhosttest.DefaultFeatures, vhosttest.DefaultProtocols|1<<proto.ProtoConfigureMemSlots, 1, 256, 2048, 8<<20); err != nil {
		t.Fatal(err)
	}
	peer.setup(t, 1)
	if slots, err := g.GetU64(proto.GetMaxMemSlots); err != nil || slots < 8 {
		t.Fatalf("GET_MAX_MEM_SLOTS = %d, %v", slots, err)
	}
	stop := forward(p, pp)
	defer stop()
	exchange(t, g.Frontend, peer.Frontend, 0, 50, 64)

	extra, err := vhosttest.NewMemory(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	extra.GPABase = 1 << 32
	reg := extra.Region()
	if _, err := g.Call(proto.AddMemReg, proto.EncodeSingleRegion(reg), extra.Fd()); err != nil {
		t.Fatalf("ADD_MEM_REG: %v", err)
	}
	exchange(t, peer.Frontend, g.Frontend, 0, 50, 1500)
	// A region overlapping another is refused.
	bad := reg
	bad.Size = 4096
	bad.UserAddr += 1 << 40
	if _, err := g.Call(proto.AddMemReg, proto.EncodeSingleRegion(bad), extra.Fd()); err == nil {
		t.Error("overlapping ADD_MEM_REG accepted")
	}
	// QEMU 7.2 sends the region's fd with REM_MEM_REG.
	if _, err := g.Call(proto.RemMemReg, proto.EncodeSingleRegion(reg), extra.Fd()); err != nil {
		t.Fatalf("REM_MEM_REG: %v", err)
	}
	if _, err := g.Call(proto.RemMemReg, proto.EncodeSingleRegion(reg)); err == nil {
		t.Error("removing a region twice accepted")
	}
	exchange(t, g.Frontend, peer.Frontend, 0, 50, 64)
	// Removing the region that holds the rings stops the device.
	if _, err := g.Call(proto.RemMemReg, proto.EncodeSingleRegion(g.Mem.Region())); err != nil {
		t.Fatalf("REM_MEM_REG of the ring region: %v", err)
	}
	waitFor(t, "link down without ring memory", 5*time.Second, func() bool { return !p.Link() })
}

// TestPortBurstAllocs: RxBurst and TxBurst allocate nothing, fault guard
// and all.
func TestPortBurstAllocs(t *testing.T) {
	dir := t.TempDir()
	pool := newPool(t)
	g := newGuest(t, dir, "a.sock")
	p, _ := vhostuser.NewClient("vhu0", g.path, vhostuser.Options{Pool: pool})
	defer p.Close()
	g.setup(t, 1)
	waitFor(t, "link", 5*time.Second, p.Link)
	pkts := make([]*dataplane.Packet, 32)
	// Fill the guest's transmit ring (256) and leave its receive ring's
	// 256 buffers posted: 7 bursts of 32 each way fit without the test's
	// front-end (which allocates) doing anything in between.
	for i := 0; i < 256; i++ {
		g.Transmit(0, frame(64, 1, 2, i))
	}
	moved := 0
	allocs := testing.AllocsPerRun(6, func() {
		n := p.RxBurst(0, pkts)
		moved += p.TxBurst(0, pkts[:n])
	})
	if moved != 7*32 {
		t.Fatalf("moved %d frames, want %d", moved, 7*32)
	}
	if allocs != 0 {
		t.Fatalf("%v allocations per RxBurst+TxBurst", allocs)
	}
}

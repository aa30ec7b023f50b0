package afxdp

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"gvswitch/dataplane"
	"gvswitch/internal/netns"
	"gvswitch/internal/testenv"
)

// Small UMEMs keep the tests light: 1024 chunks, rings of 256.
var small = Options{Frames: 1024, RingSize: 256}

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
	p, err := tryOpenIn(ns, name, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func tryOpenIn(ns *netns.NS, name string, opt Options) (*Port, error) {
	var p *Port
	err := ns.Do(func() (err error) { p, err = Open(name, opt); return err })
	return p, err
}

// lab is a namespace with a veth pair a <-> b (no IPv6 chatter).
type lab struct {
	ns   *netns.NS
	a, b string
}

func newLab(t testing.TB, extra ...string) *lab {
	t.Helper()
	testenv.NeedCommand(t, "ip")
	ns := netns.New(t, "xdp")
	l := &lab{ns: ns, a: netns.Name("xa"), b: netns.Name("xb")}
	args := []string{"ip", "link", "add", l.a}
	args = append(args, extra...)
	args = append(args, "type", "veth", "peer", "name", l.b)
	args = append(args, extra...)
	ns.Run(t, args...)
	ns.Run(t, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
	ns.Run(t, "ip", "link", "set", l.a, "up")
	ns.Run(t, "ip", "link", "set", l.b, "up")
	return l
}

// xdpOn is what `ip link show` says about XDP on dev: "" when no program
// is attached, else the mode keyword ("xdp", "xdpgeneric", ...).
func (l *lab) xdpOn(t testing.TB, dev string) string {
	t.Helper()
	out := l.ns.Run(t, "ip", "link", "show", "dev", dev)
	if !strings.Contains(out, "prog/xdp") {
		return ""
	}
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "xdp") {
			return f
		}
	}
	return "?"
}

func frame(dst, src byte, payload int, seq byte) []byte {
	f := []byte{2, 0, 0, 0, 0, dst, 2, 0, 0, 0, 0, src}
	f = binary.BigEndian.AppendUint16(f, 0x88b5) // local experimental
	for i := 0; i < payload; i++ {
		f = append(f, seq+byte(i))
	}
	return f
}

func send(t testing.TB, pool *dataplane.Pool, p *Port, frames ...[]byte) int {
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
	return p.TxBurst(0, pkts)
}

// recv polls p until it has n frames or the timeout passes.
func recv(p *Port, q, n int, timeout time.Duration) [][]byte {
	var got [][]byte
	buf := make([]*dataplane.Packet, 32)
	deadline := time.Now().Add(timeout)
	for len(got) < n && time.Now().Before(deadline) {
		k := p.RxBurst(q, buf)
		for _, pk := range buf[:k] {
			got = append(got, bytes.Clone(pk.Data()))
			pk.Free()
		}
		if k == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	return got
}

func TestOpenErrors(t *testing.T) {
	testenv.NeedRoot(t)
	_, err := Open("gvsnosuch0", small)
	if !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), "gvsnosuch0") {
		t.Fatalf("err = %v, want ErrNoDevice naming the interface", err)
	}
	for _, o := range []Options{{Queues: MaxQueues + 1}, {Mode: 7}, {RingSize: 100}, {Frames: 10, RingSize: 64}} {
		if _, err := Open("lo", o); !errors.Is(err, ErrBadOption) {
			t.Errorf("Open(%+v) = %v, want ErrBadOption", o, err)
		}
	}
}

func TestParseOptions(t *testing.T) {
	for _, tc := range []struct {
		in   map[string]string
		want Options
		err  bool
	}{
		{in: nil, want: Options{Queues: 1}},
		{in: map[string]string{"xdp-mode": "best-effort"}, want: Options{Queues: 1}},
		{in: map[string]string{"xdp-mode": "native-with-zerocopy", "n_rxq": "4"}, want: Options{Mode: ModeNativeZeroCopy, Queues: 4}},
		{in: map[string]string{"xdp-mode": "native", "use-need-wakeup": "false"}, want: Options{Mode: ModeNative, Queues: 1, NoNeedWakeup: true}},
		{in: map[string]string{"xdp-mode": "generic", "use-need-wakeup": "true"}, want: Options{Mode: ModeGeneric, Queues: 1}},
		{in: map[string]string{"xdp-mode": "skb"}, err: true},
		{in: map[string]string{"use-need-wakeup": "yes"}, err: true},
		{in: map[string]string{"n_rxq": "0"}, err: true},
		{in: map[string]string{"n_rxq": "17"}, err: true},
		{in: map[string]string{"n_rxq": "two"}, err: true},
	} {
		var o Options
		err := ParseOptions(&o, tc.in)
		if tc.err {
			if !errors.Is(err, ErrBadOption) {
				t.Errorf("%v: err = %v, want ErrBadOption", tc.in, err)
			}
			continue
		}
		if err != nil || o != tc.want {
			t.Errorf("%v: got %+v, %v; want %+v", tc.in, o, err, tc.want)
		}
	}
	for m := ModeBestEffort; m <= ModeGeneric; m++ {
		if got, err := ParseMode(m.String()); err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m, got, err)
		}
	}
}

func FuzzParseOptions(f *testing.F) {
	f.Add("native", "true", "1")
	f.Add("best-effort", "false", "16")
	f.Add("generic", "", " 3")
	f.Add("", "maybe", "-1")
	f.Fuzz(func(t *testing.T, mode, wake, nrxq string) {
		var o Options
		err := ParseOptions(&o, map[string]string{"xdp-mode": mode, "use-need-wakeup": wake, "n_rxq": nrxq})
		if err != nil {
			if !errors.Is(err, ErrBadOption) {
				t.Fatalf("error %v does not wrap ErrBadOption", err)
			}
			return
		}
		if o.Queues < 1 || o.Queues > MaxQueues || o.Mode.String() != mode && mode != "" {
			t.Fatalf("accepted %q %q %q as %+v", mode, wake, nrxq, o)
		}
	})
}

// TestSendReceive opens both ends of a veth pair best-effort: veths have
// native XDP but no zero-copy, so native is what best-effort settles on.
// Frames go both ways, from a foreign pool (copied into the UMEM) and
// from the port's own UMEM (sent as they are).
func TestSendReceive(t *testing.T) {
	l := newLab(t)
	x := openIn(t, l.ns, l.a, small)
	y := openIn(t, l.ns, l.b, small)
	for _, p := range []*Port{x, y} {
		if p.Mode() != ModeNative || p.Status()["xdp-mode"] != "native" {
			t.Fatalf("%s: mode %v, status %v; want native", p.Name(), p.Mode(), p.Status())
		}
		if p.Status()["driver_name"] != "veth" {
			t.Errorf("%s: status %v, want driver_name veth", p.Name(), p.Status())
		}
		if m := l.xdpOn(t, p.Name()); m != "xdp" {
			t.Fatalf("%s: ip link shows %q, want a native (xdp) program", p.Name(), m)
		}
	}
	pool := testPool(t, 256)
	var want [][]byte
	for i := 0; i < 40; i++ {
		want = append(want, frame(0xb, 0xa, 46+i*30, byte(i)))
	}
	if n := send(t, pool, x, want[:32]...); n != 32 {
		t.Fatalf("TxBurst sent %d of 32", n)
	}
	if n := send(t, pool, x, want[32:]...); n != 8 {
		t.Fatalf("TxBurst sent %d of 8", n)
	}
	got := recv(y, 0, len(want), 3*time.Second)
	if len(got) != len(want) {
		t.Fatalf("received %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d: got % x, want % x", i, got[i], want[i])
		}
	}
	if pool.Available() != pool.Size() {
		t.Errorf("foreign pool: %d of %d buffers back", pool.Available(), pool.Size())
	}

	// Back the other way with y's own received packets: no copy.
	back := frame(0xa, 0xb, 100, 7)
	send(t, pool, x, back)
	buf := make([]*dataplane.Packet, 32)
	deadline := time.Now().Add(3 * time.Second)
	n := 0
	for n == 0 && time.Now().Before(deadline) {
		n = y.RxBurst(0, buf)
	}
	if n != 1 || buf[0].Pool() != y.qs[0].x.pool {
		t.Fatalf("RxBurst = %d (pool %v), want 1 packet of y's UMEM", n, buf[0])
	}
	copiedBefore := y.ExtraStats()["tx_copied"]
	if s := y.TxBurst(0, buf[:1]); s != 1 {
		t.Fatalf("TxBurst of an own packet sent %d", s)
	}
	if c := y.ExtraStats()["tx_copied"]; c != copiedBefore {
		t.Errorf("own UMEM packet was copied (tx_copied %d -> %d)", copiedBefore, c)
	}
	got = recv(x, 0, 1, 3*time.Second)
	if len(got) != 1 || !bytes.Equal(got[0], back) {
		t.Fatalf("x received %x, want %x", got, back)
	}

	xs, ys := x.Stats(), y.Stats()
	if xs.TxPackets != 41 || ys.RxPackets != 41 || ys.TxPackets != 1 || xs.RxPackets != 1 {
		t.Errorf("stats x %+v, y %+v; want 41 sent by x and received by y, 1 back", xs, ys)
	}
	es := y.ExtraStats()
	for _, k := range []string{"xsk_queue_0_rx_dropped", "xsk_queue_0_rx_invalid_descs", "xsk_queue_0_tx_invalid_descs", "xsk_queue_0_rx_ring_full"} {
		if v, ok := es[k]; !ok || v != 0 {
			t.Errorf("ExtraStats[%s] = %d, %v; want 0, present", k, v, ok)
		}
	}
}

// TestModes: each explicit mode, and what ip link shows for it; zero-copy
// on a veth fails with a clear error and leaves nothing behind.
func TestModes(t *testing.T) {
	l := newLab(t)
	for _, tc := range []struct {
		mode Mode
		ip   string
	}{{ModeNative, "xdp"}, {ModeGeneric, "xdpgeneric"}} {
		o := small
		o.Mode = tc.mode
		x, err := tryOpenIn(l.ns, l.a, o)
		if err != nil {
			t.Fatalf("%s: %v", tc.mode, err)
		}
		y, err := tryOpenIn(l.ns, l.b, o)
		if err != nil {
			t.Fatalf("%s: %v", tc.mode, err)
		}
		if x.Mode() != tc.mode || x.Status()["xdp-mode"] != tc.mode.String() {
			t.Errorf("%s: in use %v, status %v", tc.mode, x.Mode(), x.Status())
		}
		if m := l.xdpOn(t, l.a); m != tc.ip {
			t.Errorf("%s: ip link shows %q, want %q", tc.mode, m, tc.ip)
		}
		pool := testPool(t, 64)
		f := frame(0xb, 0xa, 60, 1)
		send(t, pool, x, f)
		if got := recv(y, 0, 1, 3*time.Second); len(got) != 1 || !bytes.Equal(got[0], f) {
			t.Errorf("%s: y received %x", tc.mode, got)
		}
		if err := x.Close(); err != nil {
			t.Error(err)
		}
		if err := y.Close(); err != nil {
			t.Error(err)
		}
		if m := l.xdpOn(t, l.a); m != "" {
			t.Errorf("%s: after Close ip link still shows %q", tc.mode, m)
		}
	}
	o := small
	o.Mode = ModeNativeZeroCopy
	_, err := tryOpenIn(l.ns, l.a, o)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "native-with-zerocopy") {
		t.Fatalf("zero-copy on a veth: err = %v, want ErrUnsupported naming the mode", err)
	}
	t.Logf("zero-copy on a veth: %v", err)
	if m := l.xdpOn(t, l.a); m != "" {
		t.Errorf("failed open left %q on the interface", m)
	}
}

// TestBusy: a second port on an interface that has our live program is
// refused (ErrBusy), and the first keeps its program.
func TestBusy(t *testing.T) {
	l := newLab(t)
	openIn(t, l.ns, l.a, small)
	_, err := tryOpenIn(l.ns, l.a, small)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("second Open: %v, want ErrBusy", err)
	}
	if m := l.xdpOn(t, l.a); m != "xdp" {
		t.Fatalf("first port's program gone: ip link shows %q", m)
	}
}

// TestNoNeedWakeup: with use-need-wakeup=false every burst kicks the
// kernel; traffic flows the same.
func TestNoNeedWakeup(t *testing.T) {
	l := newLab(t)
	o := small
	o.NoNeedWakeup = true
	x := openIn(t, l.ns, l.a, o)
	y := openIn(t, l.ns, l.b, o)
	pool := testPool(t, 64)
	var want [][]byte
	for i := 0; i < 20; i++ {
		want = append(want, frame(0xb, 0xa, 50, byte(i)))
	}
	send(t, pool, x, want...)
	if got := recv(y, 0, len(want), 3*time.Second); len(got) != len(want) {
		t.Fatalf("received %d of %d", len(got), len(want))
	}
}

// TestQueues: n_rxq=2 on a two-queue veth binds a socket to each queue;
// frames the kernel steers to either queue arrive.
func TestQueues(t *testing.T) {
	l := newLab(t, "numrxqueues", "2", "numtxqueues", "2")
	o := small
	o.Queues = 2
	y := openIn(t, l.ns, l.b, o)
	if y.NumRxQueues() != 2 || y.NumTxQueues() != 2 {
		t.Fatalf("queues %d/%d, want 2/2", y.NumRxQueues(), y.NumTxQueues())
	}
	x := openIn(t, l.ns, l.a, small)
	pool := testPool(t, 128)
	for i := 0; i < 64; i++ {
		send(t, pool, x, frame(0xb, byte(i), 50, byte(i)))
	}
	got := 0
	deadline := time.Now().Add(3 * time.Second)
	for got < 64 && time.Now().Before(deadline) {
		got += len(recv(y, 0, 1, 10*time.Millisecond)) + len(recv(y, 1, 1, 10*time.Millisecond))
	}
	if got != 64 {
		t.Fatalf("received %d of 64 over both queues", got)
	}
	// n_rxq beyond the interface's queues: a clear error.
	y.Close()
	o.Queues = 3
	if _, err := tryOpenIn(l.ns, l.b, o); err == nil || !strings.Contains(err.Error(), "2 rx queues") {
		t.Fatalf("3 queues on a 2-queue veth: %v", err)
	} else {
		t.Logf("3 queues on a 2-queue veth: %v", err)
	}
}

// TestMain makes the test binary the child process of the crash tests
// when GVS_AFXDP_CHILD_NS is set: it opens a port and waits to be killed.
func TestMain(m *testing.M) {
	nsName, dev := os.Getenv("GVS_AFXDP_CHILD_NS"), os.Getenv("GVS_AFXDP_CHILD_DEV")
	if nsName == "" {
		os.Exit(m.Run())
	}
	forceNetlink = os.Getenv("GVS_AFXDP_CHILD_NETLINK") == "1"
	p, err := tryOpenIn(&netns.NS{Name: nsName}, dev, small)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ready", p.Mode())
	time.Sleep(time.Minute)
	os.Exit(2)
}

// startChild re-executes the test binary as a child with a port on dev
// and waits until it has attached its program.
func startChild(t *testing.T, l *lab, dev string, viaNetlink bool) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "GVS_AFXDP_CHILD_NS="+l.ns.Name, "GVS_AFXDP_CHILD_DEV="+dev)
	if viaNetlink {
		cmd.Env = append(cmd.Env, "GVS_AFXDP_CHILD_NETLINK=1")
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready") {
		t.Fatalf("child: %q, %v", line, err)
	}
	return cmd
}

// TestKill9LeavesNoProgram: a process that attached the program and is
// killed with SIGKILL leaves nothing on the interface (the bpf link dies
// with its last file descriptor), and a new port opens at once.
func TestKill9LeavesNoProgram(t *testing.T) {
	l := newLab(t)
	cmd := startChild(t, l, l.a, false)
	if m := l.xdpOn(t, l.a); m != "xdp" {
		t.Fatalf("child's program not attached: ip link shows %q", m)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	deadline := time.Now().Add(2 * time.Second)
	for l.xdpOn(t, l.a) != "" {
		if time.Now().After(deadline) {
			t.Fatalf("XDP program still attached after kill -9:\n%s", l.ns.Run(t, "ip", "link", "show", "dev", l.a))
		}
		time.Sleep(20 * time.Millisecond)
	}
	x := openIn(t, l.ns, l.a, small)
	y := openIn(t, l.ns, l.b, small)
	f := frame(0xb, 0xa, 60, 3)
	send(t, testPool(t, 8), x, f)
	if got := recv(y, 0, 1, 3*time.Second); len(got) != 1 {
		t.Fatal("no traffic after reopening")
	}
}

// TestStaleNetlinkProgram: where the program had to be attached over
// netlink (kernels without XDP links), a crash leaves it behind; the next
// Open recognises it by name, removes it and attaches its own, and Close
// leaves nothing.
func TestStaleNetlinkProgram(t *testing.T) {
	l := newLab(t)
	cmd := startChild(t, l, l.a, true)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	time.Sleep(100 * time.Millisecond)
	if m := l.xdpOn(t, l.a); m != "xdp" {
		t.Fatalf("netlink-attached program should survive its process: ip link shows %q", m)
	}
	x, err := tryOpenIn(l.ns, l.a, small)
	if err != nil {
		t.Fatalf("Open over a stale program: %v", err)
	}
	y := openIn(t, l.ns, l.b, small)
	f := frame(0xb, 0xa, 60, 4)
	send(t, testPool(t, 8), y, f)
	if got := recv(x, 0, 1, 3*time.Second); len(got) != 1 {
		t.Fatal("no traffic through the new program")
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if m := l.xdpOn(t, l.a); m != "" {
		t.Fatalf("after Close ip link shows %q", m)
	}
	// A live process's program (held by its bpf link) is never removed.
	cmd = startChild(t, l, l.a, false)
	if _, err := tryOpenIn(l.ns, l.a, small); !errors.Is(err, ErrBusy) {
		t.Fatalf("Open over a live process's program: %v, want ErrBusy", err)
	}
}

// TestMTU: an MTU whose frames do not fit a UMEM chunk is refused, by
// request or as the interface has it; MaxMTU itself works.
func TestMTU(t *testing.T) {
	l := newLab(t)
	o := small
	o.MTU = MaxMTU + 1
	if _, err := tryOpenIn(l.ns, l.a, o); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "MTU") {
		t.Fatalf("MTU %d: %v", o.MTU, err)
	}
	l.ns.Run(t, "ip", "link", "set", l.a, "mtu", "3000")
	if _, err := tryOpenIn(l.ns, l.a, small); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("interface MTU 3000: %v", err)
	}
	o.MTU = MaxMTU
	x := openIn(t, l.ns, l.a, o)
	l.ns.Run(t, "ip", "link", "set", l.b, "mtu", strconv.Itoa(MaxMTU))
	y := openIn(t, l.ns, l.b, small)
	if x.MTU() != MaxMTU {
		t.Fatalf("MTU() = %d, want %d", x.MTU(), MaxMTU)
	}
	f := frame(0xb, 0xa, MaxMTU, 9)
	send(t, testPool(t, 8), x, f)
	if got := recv(y, 0, 1, 3*time.Second); len(got) != 1 || !bytes.Equal(got[0], f) {
		t.Fatalf("a %d-byte frame did not arrive whole", len(f))
	}
}

// TestCloseWithPacketsOut: Close while the caller still holds received
// packets keeps their memory mapped and says so; the packets stay usable.
func TestCloseWithPacketsOut(t *testing.T) {
	l := newLab(t)
	x := openIn(t, l.ns, l.a, small)
	y, err := tryOpenIn(l.ns, l.b, small)
	if err != nil {
		t.Fatal(err)
	}
	f := frame(0xb, 0xa, 80, 5)
	send(t, testPool(t, 8), x, f)
	buf := make([]*dataplane.Packet, 32)
	n := 0
	for deadline := time.Now().Add(3 * time.Second); n == 0 && time.Now().Before(deadline); {
		n = y.RxBurst(0, buf)
	}
	if n != 1 {
		t.Fatalf("received %d", n)
	}
	err = y.Close()
	if err == nil || !strings.Contains(err.Error(), "1 packets still out") {
		t.Fatalf("Close with a packet out: %v", err)
	}
	if !bytes.Equal(buf[0].Data(), f) {
		t.Fatal("held packet changed")
	}
	buf[0].Free()
	if m := l.xdpOn(t, l.b); m != "" {
		t.Fatalf("after Close ip link shows %q", m)
	}
}

// TestStatsConcurrent: Stats and ExtraStats from another goroutine while
// traffic flows (run with -race), and after Close.
func TestStatsConcurrent(t *testing.T) {
	b := newBurstPair(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			b.x.Stats()
			b.y.ExtraStats()
		}
	}()
	for i := 0; i < 200; i++ {
		b.once()
	}
	<-done
	if s := b.y.Stats(); s.RxPackets == 0 || s.RxPackets != b.x.Stats().TxPackets-uint64(b.lost) {
		t.Errorf("y received %d, x sent %d, lost %d", s.RxPackets, b.x.Stats().TxPackets, b.lost)
	}
	b.x.Close()
	if s := b.x.Stats(); s.TxPackets == 0 {
		t.Errorf("counters gone after Close: %+v", s)
	}
}

// TestHugePageUMEM: with HugePages the UMEM is hugepage-backed and
// traffic flows through it.
func TestHugePageUMEM(t *testing.T) {
	l := newLab(t)
	testenv.ReserveHugepages(t, 2)
	o := small // 1024 chunks: one 2 MiB page per port
	o.HugePages = true
	x := openIn(t, l.ns, l.a, o)
	y := openIn(t, l.ns, l.b, o)
	for _, p := range []*Port{x, y} {
		if !p.qs[0].x.arena.Huge() {
			t.Fatalf("%s: UMEM not on hugepages", p.Name())
		}
	}
	f := frame(0xb, 0xa, 200, 6)
	send(t, testPool(t, 8), x, f)
	if got := recv(y, 0, 1, 3*time.Second); len(got) != 1 || !bytes.Equal(got[0], f) {
		t.Fatalf("y received %x", got)
	}
}

// TestPassWithoutSocket: the program redirects only the queues that have
// a socket; a frame arriving on another queue goes to the kernel stack (a
// packet socket sees it, the port does not).
func TestPassWithoutSocket(t *testing.T) {
	l := newLab(t, "numrxqueues", "2", "numtxqueues", "2")
	o := small
	o.Queues = 2
	x := openIn(t, l.ns, l.a, o) // transmits on the queue it is given
	y := openIn(t, l.ns, l.b, small)
	// A packet socket sees what reaches the kernel stack, after XDP.
	var fd int
	if err := l.ns.Do(func() (err error) {
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, int(htons(0x88b5)))
		if err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(0x88b5), Ifindex: y.Ifindex()})
	}); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	stackRx := func(wait time.Duration) int {
		n := 0
		buf := make([]byte, 2048)
		for deadline := time.Now().Add(wait); time.Now().Before(deadline); {
			if _, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT); err == nil {
				n++
				continue
			}
			time.Sleep(time.Millisecond)
		}
		return n
	}
	pool := testPool(t, 64)
	f := frame(0xb, 0xa, 60, 8)
	// A copy-mode XSK transmits with its queue as the skb's queue, and a
	// veth delivers on the peer's rx queue of that number.
	pk := pool.Get()
	copy(pk.Room(), f)
	pk.SetLen(len(f))
	x.TxBurst(0, []*dataplane.Packet{pk})
	if got := recv(y, 0, 1, 3*time.Second); len(got) != 1 {
		t.Fatal("frame on queue 0 did not reach the socket")
	}
	if n := stackRx(100 * time.Millisecond); n != 0 {
		t.Fatalf("the stack saw %d frames redirected to the XSK", n)
	}
	for i := 0; i < 10; i++ {
		pk := pool.Get()
		copy(pk.Room(), f)
		pk.SetLen(len(f))
		x.TxBurst(1, []*dataplane.Packet{pk})
	}
	if got := recv(y, 0, 1, 300*time.Millisecond); len(got) != 0 {
		t.Fatalf("frames on queue 1 reached the queue-0 socket: %x", got)
	}
	if n := stackRx(time.Second); n != 10 {
		t.Fatalf("the stack saw %d frames, want the 10 passed on queue 1", n)
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

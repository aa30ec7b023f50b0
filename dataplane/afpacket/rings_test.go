package afpacket

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"gvswitch/internal/netns"
	"gvswitch/internal/testenv"
)

// waitSpares waits until no spare is being made.
func waitSpares(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	spares.mu.Lock()
	defer spares.mu.Unlock()
	for spares.building > 0 {
		if time.Now().After(deadline) {
			t.Fatal("spare ring sockets not made in 10 s")
		}
		spares.mu.Unlock()
		time.Sleep(time.Millisecond)
		spares.mu.Lock()
	}
}

func sparesTaken() int {
	spares.mu.Lock()
	defer spares.mu.Unlock()
	return spares.taken
}

// promiscuous reports whether interface name in ns is in promiscuous mode.
func promiscuous(t testing.TB, ns *netns.NS, name string) bool {
	t.Helper()
	out := ns.Run(t, "ip", "-d", "link", "show", name)
	return strings.Contains(out, "promiscuity 1") || strings.Contains(out, "PROMISC")
}

// TestSpareRings: a port opened in a namespace gets the ring socket made
// in the background after the previous Open there (waiting for it if it
// is not ready yet), and carries frames both ways like the first; a port
// opened in another namespace does not get it.
func TestSpareRings(t *testing.T) {
	testenv.NeedRoot(t)
	pool := testPool(t, 1024)
	ns := quietNS(t, "afsp")
	a, b := netns.Name("afsa"), netns.Name("afsb")
	netns.Veth(t, a, ns, b, ns)
	x := openIn(t, ns, a, Options{Pool: pool})
	var y *Port
	for _, ready := range []bool{false, true} {
		if y != nil {
			y.Close()
		}
		if ready {
			waitSpares(t)
		}
		before := sparesTaken()
		y = openIn(t, ns, b, Options{Pool: pool})
		if got := sparesTaken(); got != before+1 {
			t.Fatalf("spare ready %v: Open took %d spare(s), want 1", ready, got-before)
		}
		for _, c := range []struct {
			name     string
			from, to *Port
		}{{"x to y", x, y}, {"y to x", y, x}} {
			f := frame(2, 1, 0, 100, 7)
			send(t, pool, c.from, f)
			got := receive(t, c.to, 1, 2*time.Second)
			if len(got) != 1 || !bytes.Equal(got[0], f) {
				t.Fatalf("spare ready %v: %s: received %x, want %x", ready, c.name, got, f)
			}
		}
	}

	// The spares made after y's Open are in ns: a port in another
	// namespace makes its own rings.
	waitSpares(t)
	other := quietNS(t, "afso")
	c, d := netns.Name("afsc"), netns.Name("afsd")
	netns.Veth(t, c, other, d, other)
	before := sparesTaken()
	openIn(t, other, c, Options{Pool: pool})
	if got := sparesTaken(); got != before {
		t.Fatalf("Open in another namespace took a spare made in %s", ns.Name)
	}

	// The spares were made in ns, on threads that entered it: none of
	// them may run other goroutines.
	waitSpares(t)
	home, err := threadNetns()
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 32)
	for i := 0; i < cap(errs); i++ {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			switch ns, err := threadNetns(); {
			case err != nil:
				errs <- err
			case ns != home:
				errs <- fmt.Errorf("a thread runs in namespace %v, want %v", ns, home)
			default:
				errs <- nil
			}
		}()
	}
	for i := 0; i < cap(errs); i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestCloseIsImmediate: Close takes the interface out of promiscuous mode
// before it returns (the socket is released in the background), and the
// interface can be opened again at once and carries frames.
func TestCloseIsImmediate(t *testing.T) {
	testenv.NeedRoot(t)
	pool := testPool(t, 1024)
	ns := quietNS(t, "afcl")
	a, b := netns.Name("afca"), netns.Name("afcb")
	netns.Veth(t, a, ns, b, ns)
	y := openIn(t, ns, b, Options{Pool: pool})
	for round := 0; round < 3; round++ {
		x := openIn(t, ns, a, Options{Pool: pool})
		if !promiscuous(t, ns, a) {
			t.Fatalf("round %d: %s not promiscuous while open", round, a)
		}
		f := frame(2, 1, 0, 80, byte(round))
		send(t, pool, x, f)
		if got := receive(t, y, 1, 2*time.Second); len(got) != 1 || !bytes.Equal(got[0], f) {
			t.Fatalf("round %d: received %x, want %x", round, got, f)
		}
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
		if promiscuous(t, ns, a) {
			t.Fatalf("round %d: %s still promiscuous after Close", round, a)
		}
	}
	// The sockets of the closed ports are released soon after: none is
	// left bound to a (/proc/net/packet lists the namespace's packet
	// sockets with the ifindex they are bound to).
	pendingCloses.Wait()
	idx := strings.TrimSpace(ns.Run(t, "cat", "/sys/class/net/"+a+"/ifindex"))
	for _, line := range strings.Split(ns.Run(t, "cat", "/proc/net/packet"), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 4 && f[4] == idx {
			t.Fatalf("a packet socket is still bound to %s (ifindex %s) after Close: %s", a, idx, line)
		}
	}
}

// BenchmarkOpenClose is what a waiting add-port then del-port of a system
// port costs the switch: Open (with spare rings, as in the daemon) and
// Close of a veth end. Each iteration leaves time for the spares to be
// made again, as an add-port does not follow another within a build.
func BenchmarkOpenClose(b *testing.B) {
	testenv.NeedRoot(b)
	pool := testPool(b, 1024)
	ns := quietNS(b, "afbo")
	a, c := netns.Name("afba"), netns.Name("afbc")
	netns.Veth(b, a, ns, c, ns)
	openIn(b, ns, a, Options{Pool: pool}).Close()
	var took time.Duration
	for i := 0; i < b.N; i++ {
		waitSpares(b)
		start := time.Now()
		if err := ns.Do(func() error {
			p, err := Open(a, Options{Pool: pool})
			if err != nil {
				return err
			}
			return p.Close()
		}); err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
	}
	b.ReportMetric(float64(took.Microseconds())/float64(b.N), "µs/open+close")
	pendingCloses.Wait()
}

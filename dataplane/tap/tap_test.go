package tap

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gvswitch/dataplane"
	"gvswitch/dataplane/afpacket"
	"gvswitch/internal/netns"
	"gvswitch/internal/testenv"
	"gvswitch/pmd"
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

func TestMACFromName(t *testing.T) {
	a, b := MACFromName("ovsbr0"), MACFromName("ovsbr1")
	if a == b || a != MACFromName("ovsbr0") {
		t.Fatalf("not stable or not distinct: %x %x", a, b)
	}
	if a[0]&1 != 0 || a[0]&2 == 0 {
		t.Fatalf("%x is not a locally administered unicast address", a)
	}
}

func TestOpenErrors(t *testing.T) {
	testenv.NeedRoot(t)
	pool := testPool(t, 16)
	if _, err := Open("a-name-far-too-long", Options{Pool: pool}); !errors.Is(err, ErrName) {
		t.Fatalf("long name: %v", err)
	}
	ns := netns.New(t, "tape")
	// lo exists and is not a tap: a clear error, and lo is untouched.
	err := ns.Do(func() error { _, err := Open("lo", Options{Pool: pool}); return err })
	if err == nil || !strings.Contains(err.Error(), "tap lo") {
		t.Fatalf("opening lo as a tap: %v", err)
	}
}

// TestTapCarriesIP: an internal port with an IP address pings a host in
// another namespace and talks TCP to it both ways, through the tap, a PMD
// and an AF_PACKET port; after Close the tap is gone. Twice: with the
// default offload settings, and with GSO kept whole end to end.
func TestTapCarriesIP(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedCommand(t, "ip", "ping", "iperf3")
	for _, gso := range []bool{false, true} {
		t.Run(map[bool]string{false: "default", true: "gso"}[gso], func(t *testing.T) { tapCarriesIP(t, gso) })
	}
}

func gsoPool(t *testing.T) *dataplane.Pool {
	a, err := dataplane.NewArena(64*(MaxGSOFrame+dataplane.Headroom+64), dataplane.ArenaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	p, _, err := dataplane.NewPool("gso", a, 0, 64, MaxGSOFrame)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tapCarriesIP(t *testing.T, gso bool) {
	sw := netns.New(t, "tsw")
	h1 := netns.New(t, "th1")
	e1, s1 := netns.Name("te"), netns.Name("ts")
	netns.Veth(t, e1, h1, s1, sw)
	h1.Addr(t, e1, "10.78.0.2/24")

	pool := testPool(t, 4096)
	topt := Options{Pool: pool, MTU: 1400}
	aopt := afpacket.Options{Pool: pool}
	if gso {
		g := gsoPool(t)
		topt.KeepOffloads, topt.GSOPool = true, g
		aopt.KeepOffloads, aopt.GSOPool = true, g
	}
	br := netns.Name("tbr")
	var tp *Port
	var ap *afpacket.Port
	err := sw.Do(func() (err error) {
		if tp, err = Open(br, topt); err != nil {
			return err
		}
		ap, err = afpacket.Open(s1, aopt)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tp.Close(); ap.Close() })
	out := sw.Run(t, "ip", "-o", "link", "show", br)
	mac := MACFromName(br)
	if !strings.Contains(out, "mtu 1400") || !strings.Contains(out, "UP") ||
		!strings.Contains(out, strings.ToLower(tp.HardwareAddrString())) || mac != tp.MAC() {
		t.Fatalf("tap not configured as asked:\n%s", out)
	}
	sw.Addr(t, br, "10.78.0.1/24")

	m, err := pmd.NewManager(pmd.Config{MaxSleep: pmd.DefaultMaxSleep}, pmd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	ports := [2]dataplane.Port{tp, ap}
	for i := range ports {
		to := ports[1-i]
		if err := m.AddRxq(pmd.NewRxq(ports[i], 0, func(t *pmd.Thread, in *pmd.Rxq, pkts []*dataplane.Packet) {
			to.TxBurst(0, pkts) // one PMD: no tx lock needed
		})); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := sw.Try(10*time.Second, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.78.0.2"); err != nil {
		t.Fatalf("ping from the tap's IP: %v\n%s", err, out)
	}
	if out, err := h1.Try(10*time.Second, "ping", "-c", "2", "-i", "0.2", "-W", "2", "10.78.0.1"); err != nil {
		t.Fatalf("ping to the tap's IP: %v\n%s", err, out)
	}
	// TCP both ways through the tap.
	h1.Start(t, "iperf3", "-s", "-B", "10.78.0.2")
	sw.Start(t, "iperf3", "-s", "-B", "10.78.0.1")
	var rates []string
	for _, c := range []struct {
		ns     *netns.NS
		server string
	}{{sw, "10.78.0.2"}, {h1, "10.78.0.1"}} {
		var out string
		var err error
		var res struct {
			End struct {
				SumReceived struct {
					BitsPerSecond float64 `json:"bits_per_second"`
				} `json:"sum_received"`
			} `json:"end"`
		}
		for i := 0; i < 30; i++ {
			// iperf3 -J may exit 0 with an "error" in its JSON (server
			// not listening yet): retry until a result comes.
			out, err = c.ns.Try(15*time.Second, "iperf3", "-J", "-c", c.server, "-t", "2")
			if err == nil && json.Unmarshal([]byte(out), &res) == nil && res.End.SumReceived.BitsPerSecond > 0 {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if res.End.SumReceived.BitsPerSecond == 0 {
			t.Fatalf("iperf3 to %s: %v\n%s", c.server, err, out)
		}
		rates = append(rates, fmt.Sprintf("to %s %.0f Mbit/s", c.server, res.End.SumReceived.BitsPerSecond/1e6))
	}
	t.Logf("TCP through the tap: %s", strings.Join(rates, ", "))
	if st := tp.Stats(); st.RxPackets == 0 || st.TxPackets == 0 {
		t.Fatalf("tap stats %+v", st)
	}
	if n := tp.ExtraStats()["rx_gso_frames"]; gso != (n > 0) {
		t.Errorf("GSO %v: %d GSO frames read from the tap", gso, n)
	}
	m.Close()
	tp.Close()
	if out, err := sw.Try(5*time.Second, "ip", "link", "show", br); err == nil {
		t.Fatalf("tap still there after Close:\n%s", out)
	}
}

func BenchmarkTapTxRx(b *testing.B) {
	testenv.NeedRoot(b)
	ns := netns.New(b, "tapb")
	pool := testPool(b, 1024)
	var tp *Port
	if err := ns.Do(func() (err error) { tp, err = Open(netns.Name("tb"), Options{Pool: pool}); return err }); err != nil {
		b.Fatal(err)
	}
	defer tp.Close()
	var pkts [32]*dataplane.Packet
	b.ReportAllocs()
	for b.Loop() {
		// Frames written to the tap go to the namespace's stack; an
		// empty read returns at once. Both are the per-burst costs.
		n := pool.GetBurst(pkts[:])
		for _, pk := range pkts[:n] {
			f := pk.Room()[:60]
			copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5})
			pk.SetLen(60)
		}
		tp.TxBurst(0, pkts[:n])
		m := tp.RxBurst(0, pkts[:])
		dataplane.PutBurst(pkts[:m])
	}
}

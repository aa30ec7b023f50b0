package afpacket

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"gvswitch/dataplane"
	"gvswitch/internal/netns"
	"gvswitch/internal/relaxed"
	"gvswitch/internal/testenv"
	"gvswitch/pmd"
)

// wire forwards everything one port receives to the other: the smallest
// switch, to test the ports and the PMD loop without the bridge.
type wire struct {
	ports [2]dataplane.Port
	locks [2]relaxed.SpinLock
}

func (w *wire) process(from int) pmd.ProcessFunc {
	to := 1 - from
	return func(t *pmd.Thread, in *pmd.Rxq, pkts []*dataplane.Packet) {
		w.locks[to].Lock()
		w.ports[to].TxBurst(0, pkts)
		w.locks[to].Unlock()
		t.Add(pmd.SentPackets, uint64(len(pkts)))
		t.Add(pmd.SentBatches, 1)
	}
}

// startWire opens the two switch-side interfaces in ns and forwards
// between them on a PMD.
func startWire(t *testing.T, ns *netns.NS, a, b string, gso bool) (*pmd.Manager, [2]*Port) {
	t.Helper()
	opt := Options{Pool: testPool(t, 4096)}
	if gso {
		opt.KeepOffloads = true
		arena, err := dataplane.NewArena(128*(MaxGSOFrame+dataplane.Headroom+64), dataplane.ArenaOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { arena.Close() })
		if opt.GSOPool, _, err = dataplane.NewPool("gso", arena, 0, 128, MaxGSOFrame); err != nil {
			t.Fatal(err)
		}
	}
	pa := openIn(t, ns, a, opt)
	pb := openIn(t, ns, b, opt)
	m, err := pmd.NewManager(pmd.Config{MaxSleep: pmd.DefaultMaxSleep}, pmd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close) // runs before the ports close
	w := &wire{ports: [2]dataplane.Port{pa, pb}}
	for i, p := range []*Port{pa, pb} {
		if err := m.AddRxq(pmd.NewRxq(p, 0, w.process(i))); err != nil {
			t.Fatal(err)
		}
	}
	return m, [2]*Port{pa, pb}
}

// hostPair makes namespaces h1, h2 with 10.77.N.1 and .2, each attached by
// a veth to the namespace mid (whose interface names are returned).
func hostPair(t *testing.T, mid *netns.NS, subnet int) (h1, h2 *netns.NS, m1, m2 string) {
	t.Helper()
	h1, h2 = netns.New(t, "h1"), netns.New(t, "h2")
	e1, e2 := netns.Name("e1"), netns.Name("e2")
	m1, m2 = netns.Name("m1"), netns.Name("m2")
	netns.Veth(t, e1, h1, m1, mid)
	netns.Veth(t, e2, h2, m2, mid)
	h1.Addr(t, e1, fmt.Sprintf("10.77.%d.1/24", subnet))
	h2.Addr(t, e2, fmt.Sprintf("10.77.%d.2/24", subnet))
	// The offloads stay as the kernel made them: check they are on.
	if out := h1.Run(t, "ethtool", "-k", e1); !strings.Contains(out, "tx-checksumming: on") ||
		!strings.Contains(out, "tcp-segmentation-offload: on") {
		t.Fatalf("veth offloads are not on:\n%s", out)
	}
	return h1, h2, m1, m2
}

// iperfServer starts a persistent iperf3 server in ns on addr.
func iperfServer(t *testing.T, ns *netns.NS, addr string) {
	t.Helper()
	ns.Start(t, "iperf3", "-s", "-B", addr)
}

// iperf runs a TCP iperf3 test from h1 to server and returns bits/s,
// retrying while the server is not listening yet.
func iperf(t *testing.T, h1 *netns.NS, server string, secs int) float64 {
	t.Helper()
	var out string
	var err error
	for i := 0; i < 30; i++ {
		out, err = h1.Try(time.Duration(secs+10)*time.Second, "iperf3", "-J", "-c", server, "-t", fmt.Sprint(secs))
		var r struct {
			End struct {
				SumReceived struct {
					BitsPerSecond float64 `json:"bits_per_second"`
				} `json:"sum_received"`
			} `json:"end"`
		}
		if err == nil && json.Unmarshal([]byte(out), &r) == nil && r.End.SumReceived.BitsPerSecond > 0 {
			return r.End.SumReceived.BitsPerSecond
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("iperf3 to %s: %v\n%s", server, err, out)
	return 0
}

// TestForwardPingAndTCP: ping and TCP (iperf3) between two namespaces
// through two AF_PACKET ports and a PMD, with the veths' checksum and
// segmentation offloads left on; then the same through a Linux bridge in
// the same run, for the throughput ratio.
func TestForwardPingAndTCP(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedCommand(t, "ip", "ping", "iperf3", "ethtool")
	testenv.Short(t)
	// gvswitch segmenting GSO frames and completing checksums on receive
	// (the default).
	sw := netns.New(t, "sw")
	h1, h2, s1, s2 := hostPair(t, sw, 1)
	m, ports := startWire(t, sw, s1, s2, false)
	if out, err := h1.Try(10*time.Second, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.77.1.2"); err != nil {
		t.Fatalf("ping through the switch: %v\n%s", err, out)
	}
	iperfServer(t, h2, "10.77.1.2")
	seg := []float64{iperf(t, h1, "10.77.1.2", 3)}
	if seg[0] < 10e6 {
		t.Fatalf("TCP through the switch: %.1f Mbit/s", seg[0]/1e6)
	}
	if n := ports[0].ExtraStats()["rx_gso_segmented"]; n == 0 {
		t.Errorf("no GSO frame arrived: the offload path was not exercised")
	}
	var b strings.Builder
	m.WriteStats(&b, pmd.Filter{Core: -1})
	if !strings.Contains(b.String(), "packets received: ") || !strings.Contains(b.String(), "processing cycles: ") {
		t.Errorf("pmd-stats-show:\n%s", b.String())
	}
	t.Logf("pmd-stats-show after the run:\n%s", b.String())

	// gvswitch passing GSO frames through whole (Options.GSOPool).
	swg := netns.New(t, "swg")
	h5, h6, g1, g2 := hostPair(t, swg, 3)
	_, gports := startWire(t, swg, g1, g2, true)
	iperfServer(t, h6, "10.77.3.2")
	gso := []float64{iperf(t, h5, "10.77.3.2", 3)}
	if n := gports[0].ExtraStats()["rx_gso_segmented"]; n != 0 {
		t.Errorf("%d GSO frames segmented with a GSO pool", n)
	}

	// The same layout through a Linux bridge.
	br := netns.New(t, "br")
	h3, h4, b1, b2 := hostPair(t, br, 2)
	br.Run(t, "ip", "link", "add", "br0", "type", "bridge")
	br.Run(t, "ip", "link", "set", b1, "master", "br0")
	br.Run(t, "ip", "link", "set", b2, "master", "br0")
	br.Run(t, "ip", "link", "set", "br0", "up")
	if out, err := h3.Try(10*time.Second, "ping", "-c", "2", "-i", "0.2", "-W", "2", "10.77.2.2"); err != nil {
		t.Fatalf("ping through the Linux bridge: %v\n%s", err, out)
	}
	iperfServer(t, h4, "10.77.2.2")
	linux := []float64{iperf(t, h3, "10.77.2.2", 3)}
	// Interleave a second trial of each (vCPU speed drifts).
	seg = append(seg, iperf(t, h1, "10.77.1.2", 3))
	gso = append(gso, iperf(t, h5, "10.77.3.2", 3))
	linux = append(linux, iperf(t, h3, "10.77.2.2", 3))
	mbit := func(v []float64) string { return fmt.Sprintf("%.0f / %.0f Mbit/s", v[0]/1e6, v[1]/1e6) }
	sum := func(v []float64) float64 { return v[0] + v[1] }
	t.Logf("iperf3 TCP, veth offloads on: gvswitch segmenting %s, gvswitch GSO pass-through %s, Linux bridge %s; ratios to the Linux bridge %.2f and %.2f",
		mbit(seg), mbit(gso), mbit(linux), sum(seg)/sum(linux), sum(gso)/sum(linux))
}

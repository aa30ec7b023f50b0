package bench_test

import (
	"context"
	"testing"
	"time"

	"gvswitch/bench"
	"gvswitch/internal/netns"
	"gvswitch/internal/testenv"
)

// TestAFPacketVeth: gvs-pktgen over AF_PACKET on the two ends of a veth
// pair (in a namespace of its own) gets back every frame it sent, tagged
// and untagged, in order.
func TestAFPacketVeth(t *testing.T) { kernelPorts(t, "afpacket") }

// TestAFXDPVeth is the same over AF_XDP (generic XDP on veth).
func TestAFXDPVeth(t *testing.T) { kernelPorts(t, "afxdp") }

func kernelPorts(t *testing.T, kind string) {
	testenv.NeedRoot(t)
	testenv.NeedCommand(t, "ip")
	ns := netns.New(t, "pktgen")
	netns.Veth(t, "pga", ns, "pgb", ns)
	var ports [2]bench.Port
	for i, dev := range []string{"pga", "pgb"} {
		if err := ns.Do(func() (err error) {
			ports[i], err = bench.OpenPort(kind+":"+dev, bench.PortOptions{})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer ports[i].Close()
	}
	for _, vlan := range []int{0, 300} {
		s := bench.DefaultStream()
		s.Tx, s.Rx, s.VLAN = 0, 1, vlan
		s.Sizes = []int{64, 1518}
		s.Rate = 50000
		s.DstIPs = 50
		res, err := bench.Run(context.Background(), bench.Config{Ports: ports[:], Streams: []bench.Stream{s}, Count: 20000, Drain: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		tot := res.Total
		t.Logf("vlan %d: tx %d rx %d (%s) lost %d reordered %d p50 %d ns, %d foreign", vlan, tot.TxPackets, tot.RxPackets,
			bench.FormatRate(tot.RxPPS), tot.Lost, tot.Reordered, tot.Latency.P50Ns, res.Foreign)
		if tot.TxPackets != 20000 || tot.RxPackets != 20000 || tot.Reordered != 0 {
			t.Errorf("vlan %d: want 20000 sent and received in order, got %+v", vlan, tot)
		}
		if tot.FrameSize != (64+1518)/2 || tot.RxBytes != 10000*(64+1518) {
			t.Errorf("vlan %d: mean size %.1f, %d bytes received", vlan, tot.FrameSize, tot.RxBytes)
		}
	}
}

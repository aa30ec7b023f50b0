package afpacket

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"gvswitch/dataplane"
	"gvswitch/internal/netns"
	"gvswitch/internal/offload"
	"gvswitch/internal/testenv"
)

// udpChecksumOK recomputes the UDP checksum of an Ethernet/IPv4/UDP frame.
func udpChecksumOK(t *testing.T, frame []byte) bool {
	t.Helper()
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if ip == nil || udp == nil {
		t.Fatalf("not UDP: %v", p)
	}
	sum := offload.Sum(0, ip.SrcIP.To4())
	sum = offload.Sum(sum, ip.DstIP.To4())
	sum += 17 + uint64(len(udp.Contents)+len(udp.Payload))
	sum = offload.Sum(sum, udp.Contents)
	sum = offload.Sum(sum, udp.Payload)
	return offload.Fold(sum) == 0xffff
}

// TestChecksumsCompleted: a veth with tx checksum offload on hands over
// UDP with a partial checksum. By default the port completes it (any
// egress port can forward the packet); with KeepOffloads the packet
// carries the metadata instead, and completing it gives the same frame.
func TestChecksumsCompleted(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedCommand(t, "ip")
	h := netns.New(t, "csh")
	sw := netns.New(t, "css")
	a, b := netns.Name("csa"), netns.Name("csb")
	netns.Veth(t, a, h, b, sw)
	h.Addr(t, a, "10.79.0.1/24")
	h.Run(t, "ip", "neigh", "add", "10.79.0.2", "lladdr", "02:00:00:00:79:02", "dev", a)
	pool := testPool(t, 512)
	done := openIn(t, sw, b, Options{Pool: pool})
	kept := openIn(t, sw, b, Options{Pool: pool, KeepOffloads: true})

	payload := bytes.Repeat([]byte("gvswitch"), 100)
	send := func() {
		t.Helper()
		if err := h.Do(func() error {
			c, err := net.Dial("udp4", "10.79.0.2:9999")
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Write(payload)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	send()
	get := func(p *Port) *dataplane.Packet {
		var pkts [32]*dataplane.Packet
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			n := p.RxBurst(0, pkts[:])
			var found *dataplane.Packet
			for _, pk := range pkts[:n] {
				if found == nil && bytes.Contains(pk.Data(), payload) {
					found = pk
				} else {
					pk.Free()
				}
			}
			if found != nil {
				return found
			}
			time.Sleep(time.Millisecond)
		}
		t.Fatal("the UDP datagram did not arrive")
		return nil
	}
	pd, pk := get(done), get(kept)
	defer pd.Free()
	defer pk.Free()
	if pk.Offload&dataplane.OffloadCsumPartial == 0 {
		t.Skip("the kernel completed the checksum itself (veth tx checksum offload off?)")
	}
	if !udpChecksumOK(t, pd.Data()) || pd.Offload&dataplane.OffloadCsumPartial != 0 {
		t.Fatalf("default port: checksum not completed (offload flags %#x)", pd.Offload)
	}
	if udpChecksumOK(t, pk.Data()) {
		t.Fatal("KeepOffloads: the checksum was already complete; the test proves nothing")
	}
	if err := offload.CompletePartial(pk.Data(), int(pk.CsumStart), int(pk.CsumOffset)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pk.Data(), pd.Data()) {
		t.Fatalf("completing the kept metadata gives\n%x\nthe port completed\n%x", pk.Data(), pd.Data())
	}

	// Switching at run time: the default port now keeps, the other
	// completes.
	if err := done.SetOffloads(true, nil); err != nil {
		t.Fatal(err)
	}
	if err := kept.SetOffloads(false, nil); err != nil {
		t.Fatal(err)
	}
	send()
	p1, p2 := get(done), get(kept)
	defer p1.Free()
	defer p2.Free()
	if p1.Offload&dataplane.OffloadCsumPartial == 0 || p2.Offload&dataplane.OffloadCsumPartial != 0 || !udpChecksumOK(t, p2.Data()) {
		t.Fatalf("after SetOffloads: flags %#x and %#x", p1.Offload, p2.Offload)
	}
	if err := done.SetOffloads(true, pool); err == nil {
		t.Fatal("a GSO pool of 2 KiB buffers was accepted")
	}
}

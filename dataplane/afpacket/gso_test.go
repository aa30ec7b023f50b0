package afpacket

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"gvswitch/dataplane"
	"gvswitch/internal/netns"
	"gvswitch/internal/offload"
)

func gsoPool(t testing.TB, n int) *dataplane.Pool {
	t.Helper()
	a, err := dataplane.NewArena(n*(dataplane.Headroom+MaxGSOFrame+64), dataplane.ArenaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	p, _, err := dataplane.NewPool("gso", a, 0, n, MaxGSOFrame)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tcpGSO builds a TCP frame with payload bytes, tagged with vid when
// nonzero, whose checksum is partial (the pseudo-header sum), as a kernel
// with TSO hands it over; it returns the frame and the TCP offset.
func tcpGSO(t *testing.T, v6 bool, vid uint16, payload int) ([]byte, int) {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 1}, DstMAC: []byte{2, 0, 0, 0, 0, 2}}
	ls := []gopacket.SerializableLayer{eth}
	l3 := 14
	et := &eth.EthernetType
	if vid != 0 {
		eth.EthernetType = layers.EthernetTypeDot1Q
		q := &layers.Dot1Q{VLANIdentifier: vid}
		et = &q.Type
		ls = append(ls, q)
		l3 += 4
	}
	tcp := &layers.TCP{SrcPort: 1, DstPort: 2, Seq: 5, ACK: true, Window: 100}
	l4 := l3
	if v6 {
		*et = layers.EthernetTypeIPv6
		ip := &layers.IPv6{Version: 6, HopLimit: 9, NextHeader: layers.IPProtocolTCP,
			SrcIP: bytes.Repeat([]byte{0xfd}, 16), DstIP: append(bytes.Repeat([]byte{0xfd}, 15), 2)}
		tcp.SetNetworkLayerForChecksum(ip)
		ls = append(ls, ip)
		l4 += 40
	} else {
		*et = layers.EthernetTypeIPv4
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 9, Protocol: layers.IPProtocolTCP, SrcIP: []byte{10, 9, 0, 1}, DstIP: []byte{10, 9, 0, 2}}
		tcp.SetNetworkLayerForChecksum(ip)
		ls = append(ls, ip)
		l4 += 20
	}
	data := make([]byte, payload)
	for i := range data {
		data[i] = byte(i * 3)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, append(ls, tcp, gopacket.Payload(data))...); err != nil {
		t.Fatal(err)
	}
	f := buf.Bytes()
	var sum uint64
	if v6 {
		sum = offload.Sum(0, f[l3+8:l3+40])
	} else {
		sum = offload.Sum(0, f[l3+12:l3+20])
	}
	binary.BigEndian.PutUint16(f[l4+16:], offload.Fold(sum+6+uint64(len(f)-l4)))
	return f, l4
}

// TestTransmitGSO: a GSO frame handed to TxBurst (as the bridge does for
// an OffloadCapable port) leaves whole and reaches the peer, which cuts
// it into valid segments; also with a VLAN tag and over IPv6.
func TestTransmitGSO(t *testing.T) {
	for _, tc := range []struct {
		name string
		v6   bool
		vid  uint16
	}{{"v4", false, 0}, {"v4-vlan", false, 300}, {"v6", true, 0}, {"v6-vlan", true, 7}} {
		t.Run(tc.name, func(t *testing.T) {
			pool := testPool(t, 256)
			big := gsoPool(t, 2)
			ns := quietNS(t, "afg")
			a, b := netns.Name("agx"), netns.Name("agy")
			netns.Veth(t, a, ns, b, ns)
			x := openIn(t, ns, a, Options{Pool: pool})
			y := openIn(t, ns, b, Options{Pool: pool})
			f, l4 := tcpGSO(t, tc.v6, tc.vid, 20000)
			pk := big.Get()
			pk.SetLen(copy(pk.Room(), f))
			pk.Offload, pk.CsumStart, pk.CsumOffset, pk.GSOSize = dataplane.OffloadCsumPartial, uint16(l4), 16, 1400
			if n := x.TxBurst(0, []*dataplane.Packet{pk}); n != 1 {
				t.Fatalf("TxBurst sent %d; stats %+v", n, x.Stats())
			}
			segs := receive(t, y, 15, 3*time.Second)
			var got []byte
			for i, s := range segs {
				p := gopacket.NewPacket(s, layers.LayerTypeEthernet, gopacket.Default)
				tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
				if tcp == nil {
					t.Fatalf("segment %d is not TCP: %v", i, p)
				}
				if d, ok := p.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q); (tc.vid != 0) != ok || ok && d.VLANIdentifier != tc.vid {
					t.Fatalf("segment %d: VLAN tag wrong: %v", i, p)
				}
				var nl gopacket.NetworkLayer
				if ip4, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
					nl = ip4
				} else if ip6, ok := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
					nl = ip6
				}
				tcp.SetNetworkLayerForChecksum(nl)
				if c, err := tcp.ComputeChecksum(); err != nil || c != 0 || len(tcp.Payload) > 1400 {
					t.Fatalf("segment %d: %d bytes, checksum %#04x wrong (%#04x, %v)", i, len(tcp.Payload), tcp.Checksum, c, err)
				}
				got = append(got, tcp.Payload...)
			}
			if !bytes.Equal(got, f[len(f)-20000:]) {
				t.Fatalf("peer got %d segments carrying %d bytes; tx stats %+v", len(segs), len(got), x.Stats())
			}
		})
	}
}

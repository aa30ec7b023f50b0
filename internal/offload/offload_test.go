package offload

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func tcpFrame(t testing.TB, v6, vlan bool, payload int, flags func(*layers.TCP)) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 1}, DstMAC: []byte{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	var ls []gopacket.SerializableLayer
	ls = append(ls, eth)
	if vlan {
		eth.EthernetType = layers.EthernetTypeDot1Q
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: 300, Type: layers.EthernetTypeIPv4})
	}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 5201, Seq: 0xfffff000, Ack: 7, ACK: true, PSH: true, Window: 512}
	if flags != nil {
		flags(tcp)
	}
	if v6 {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
			SrcIP: []byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, DstIP: []byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}}
		if vlan {
			ls[1].(*layers.Dot1Q).Type = layers.EthernetTypeIPv6
		} else {
			eth.EthernetType = layers.EthernetTypeIPv6
		}
		tcp.SetNetworkLayerForChecksum(ip)
		ls = append(ls, ip)
	} else {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 0xfffe, Protocol: layers.IPProtocolTCP, SrcIP: []byte{10, 0, 0, 1}, DstIP: []byte{10, 0, 0, 2}}
		tcp.SetNetworkLayerForChecksum(ip)
		ls = append(ls, ip)
	}
	data := make([]byte, payload)
	for i := range data {
		data[i] = byte(i * 7)
	}
	ls = append(ls, tcp, gopacket.Payload(data))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSegmentMatchesReference segments GSO frames and checks each segment
// with gopacket against what a sender of MSS-sized segments would build.
func TestSegmentMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		name     string
		v6, vlan bool
		payload  int
		mss      int
	}{
		{"v4", false, false, 10000, 1448},
		{"v4-exact", false, false, 2896, 1448},
		{"v4-vlan", false, true, 3000, 1000},
		{"v6", true, false, 64000, 1428},
		{"v6-vlan-small", true, true, 100, 1428},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frame := tcpFrame(t, tc.v6, tc.vlan, tc.payload, func(c *layers.TCP) { c.FIN = true; c.CWR = true })
			var s Segmenter
			if err := s.Init(frame, tc.mss); err != nil {
				t.Fatal(err)
			}
			var got []byte
			dst := make([]byte, 2048)
			nseg := 0
			for !s.Done() {
				n, err := s.Next(dst)
				if err != nil {
					t.Fatal(err)
				}
				seg := dst[:n]
				if err := CompletePartial(seg, s.L4Offset(), 16); err != nil {
					t.Fatal(err)
				}
				p := gopacket.NewPacket(seg, layers.LayerTypeEthernet, gopacket.Default)
				tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
				if tcp == nil {
					t.Fatalf("segment %d does not decode: %v", nseg, p)
				}
				last := len(got)+len(tcp.Payload) == tc.payload
				if len(tcp.Payload) > tc.mss || tcp.Seq != 0xfffff000+uint32(len(got)) || tcp.FIN != last || tcp.PSH != last || tcp.CWR != (nseg == 0) {
					t.Fatalf("segment %d: len %d seq %#x fin %v psh %v cwr %v", nseg, len(tcp.Payload), tcp.Seq, tcp.FIN, tcp.PSH, tcp.CWR)
				}
				// Re-serialise with gopacket's checksums and compare bytes.
				var nl gopacket.NetworkLayer
				if ip4, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
					if ip4.Id != 0xfffe+uint16(nseg) {
						t.Fatalf("segment %d: ip id %#x", nseg, ip4.Id)
					}
					nl = ip4
				} else {
					nl = p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
				}
				tcp.SetNetworkLayerForChecksum(nl)
				buf := gopacket.NewSerializeBuffer()
				var ls []gopacket.SerializableLayer
				for _, l := range p.Layers() {
					if sl, ok := l.(gopacket.SerializableLayer); ok && l.LayerType() != gopacket.LayerTypePayload {
						ls = append(ls, sl)
					}
				}
				ls = append(ls, gopacket.Payload(tcp.Payload))
				if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf.Bytes(), seg) {
					t.Fatalf("segment %d differs from a correctly built one:\n got %x\nwant %x", nseg, seg, buf.Bytes())
				}
				got = append(got, tcp.Payload...)
				nseg++
			}
			want := frame[len(frame)-tc.payload:]
			if !bytes.Equal(got, want) {
				t.Fatalf("payload differs after %d segments", nseg)
			}
			if wantSeg := (tc.payload + tc.mss - 1) / tc.mss; nseg != wantSeg {
				t.Fatalf("%d segments, want %d", nseg, wantSeg)
			}
		})
	}
}

func TestCompletePartial(t *testing.T) {
	frame := tcpFrame(t, false, false, 333, nil)
	want := binary.BigEndian.Uint16(frame[14+20+16:])
	// Put the pseudo-header sum in, as a sender with offload does.
	var s Segmenter
	if err := s.Init(frame, 5000); err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, 2048)
	n, _ := s.Next(dst)
	if err := CompletePartial(dst[:n], s.L4Offset(), 16); err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint16(dst[14+20+16:]); got != want {
		t.Fatalf("checksum %#x, want %#x", got, want)
	}
	if err := CompletePartial(dst[:10], 5, 16); err != ErrShort {
		t.Fatalf("short frame: %v", err)
	}
}

func TestVnetHdrRoundTrip(t *testing.T) {
	h := VnetHdr{Flags: FlagNeedsCsum, GSOType: GSOTCPv4, HdrLen: 66, GSOSize: 1448, CsumStart: 34, CsumOffset: 16}
	var b [VnetHdrLen]byte
	h.Encode(b[:])
	g, err := DecodeVnetHdr(b[:])
	if err != nil || g != h {
		t.Fatalf("%+v %v", g, err)
	}
	if _, err := DecodeVnetHdr(b[:9]); err != ErrShort {
		t.Fatal("short header accepted")
	}
}

func FuzzSegment(f *testing.F) {
	f.Add(tcpFrame(f, false, false, 3000, nil), uint16(1448))
	f.Add(tcpFrame(f, true, true, 500, nil), uint16(100))
	f.Add([]byte{1, 2, 3}, uint16(1))
	f.Fuzz(func(t *testing.T, frame []byte, mss uint16) {
		var s Segmenter
		if s.Init(frame, int(mss)) != nil {
			return
		}
		dst := make([]byte, s.MaxSegmentLen())
		total := 0
		for i := 0; !s.Done(); i++ {
			n, err := s.Next(dst)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			total += n - s.hdrLen
			if i > len(frame) {
				t.Fatal("segmenter does not terminate")
			}
		}
		if total != len(frame)-s.hdrLen {
			t.Fatalf("segments carry %d payload bytes of %d", total, len(frame)-s.hdrLen)
		}
	})
}

func BenchmarkSegment64K(b *testing.B) {
	frame := tcpFrame(b, false, false, 65000, nil)
	dst := make([]byte, 2048)
	var s Segmenter
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		s.Init(frame, 1448)
		for !s.Done() {
			n, _ := s.Next(dst)
			CompletePartial(dst[:n], s.L4Offset(), 16)
		}
	}
}

func FuzzVnetHdr(f *testing.F) {
	f.Add([]byte{1, 1, 66, 0, 0xa8, 5, 34, 0, 16, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeVnetHdr(b)
		if err != nil {
			if len(b) >= VnetHdrLen {
				t.Fatalf("%d bytes refused: %v", len(b), err)
			}
			return
		}
		var out [VnetHdrLen]byte
		h.Encode(out[:])
		if !bytes.Equal(out[:], b[:VnetHdrLen]) {
			t.Fatalf("round trip %x -> %+v -> %x", b[:VnetHdrLen], h, out)
		}
	})
}

func FuzzCompletePartial(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5}, 0, 2)
	f.Fuzz(func(t *testing.T, frame []byte, start, offset int) {
		var seed uint64
		if start >= 0 && offset >= 0 && start+offset+2 <= len(frame) {
			seed = uint64(binary.BigEndian.Uint16(frame[start+offset:]))
		}
		if CompletePartial(frame, start, offset) != nil || offset%2 != 0 {
			return
		}
		// The field held the pseudo-header sum: a receiver adding the
		// pseudo-header back to the region's sum gets all ones (RFC 1071).
		if got := Fold(Sum(seed, frame[start:])); got != 0xffff {
			t.Fatalf("sum after completion %#x", got)
		}
	})
}

package offload_test

import (
	"fmt"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"gvswitch/internal/offload"
)

// An egress port that cannot carry GSO (a NIC without TSO, a guest that
// did not negotiate it) cuts a packet with Packet.GSOSize set into
// segments and completes each checksum; a packet with only
// OffloadCsumPartial needs CompletePartial alone.
func ExampleSegmenter() {
	// A 4000-byte TCP payload received whole from a veth, MSS 1448.
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP,
		SrcIP: []byte{10, 0, 0, 1}, DstIP: []byte{10, 0, 0, 2}}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 5201, Seq: 1, ACK: true, PSH: true}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true},
		&layers.Ethernet{SrcMAC: make([]byte, 6), DstMAC: make([]byte, 6), EthernetType: layers.EthernetTypeIPv4},
		ip, tcp, gopacket.Payload(make([]byte, 4000)))
	frame := buf.Bytes()

	var s offload.Segmenter
	if err := s.Init(frame, 1448); err != nil {
		fmt.Println(err)
		return
	}
	seg := make([]byte, s.MaxSegmentLen()) // a pool buffer's Room()
	for !s.Done() {
		n, _ := s.Next(seg)
		offload.CompletePartial(seg[:n], s.L4Offset(), 16)
		p := gopacket.NewPacket(seg[:n], layers.LayerTypeEthernet, gopacket.Default)
		t := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		fmt.Printf("segment of %d bytes: seq %d, %d bytes of payload, PSH %v\n", n, t.Seq, len(t.Payload), t.PSH)
	}
	// Output:
	// segment of 1502 bytes: seq 1, 1448 bytes of payload, PSH false
	// segment of 1502 bytes: seq 1449, 1448 bytes of payload, PSH false
	// segment of 1158 bytes: seq 2897, 1104 bytes of payload, PSH true
}

package dataplane_test

import (
	"bytes"
	"encoding/binary"
	"sync"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"gvswitch/dataplane"
	"gvswitch/internal/offload"
)

// sentPkt is what an offloadPort saw of one transmitted packet.
type sentPkt struct {
	data                  []byte
	offload               uint8
	csumStart, csumOffset uint16
	gsoSize               uint16
}

// offloadPort is a port that declares TxOffloads and records what it is
// given, metadata included (memport keeps only the bytes).
type offloadPort struct {
	name string
	caps dataplane.TxOffloads
	mtu  int
	offl bool // implements OffloadCapable (see asOffloadCapable)

	mu     sync.Mutex
	sent   []sentPkt
	bursts int
}

func (p *offloadPort) Name() string                         { return p.name }
func (p *offloadPort) RxBurst(int, []*dataplane.Packet) int { return 0 }
func (p *offloadPort) NumRxQueues() int                     { return 1 }
func (p *offloadPort) NumTxQueues() int                     { return 1 }
func (p *offloadPort) Link() bool                           { return true }
func (p *offloadPort) MTU() int                             { return p.mtu }
func (p *offloadPort) MAC() [6]byte                         { return [6]byte{} }
func (p *offloadPort) Stats() dataplane.PortStats           { return dataplane.PortStats{} }
func (p *offloadPort) Close() error                         { return nil }
func (p *offloadPort) TxBurst(q int, pkts []*dataplane.Packet) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bursts++
	for _, pk := range pkts {
		p.sent = append(p.sent, sentPkt{append([]byte(nil), pk.Data()...), pk.Offload, pk.CsumStart, pk.CsumOffset, pk.GSOSize})
	}
	dataplane.PutBurst(pkts)
	return len(pkts)
}

func (p *offloadPort) take() []sentPkt {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.sent
	p.sent = nil
	return s
}

// capablePort adds OffloadCapable to an offloadPort.
type capablePort struct{ *offloadPort }

func (p capablePort) TxOffloads() dataplane.TxOffloads { return p.caps }

var (
	fullOffloads = dataplane.TxOffloads{CsumPartial: true, MaxGSOFrame: 65536 + 256}
	csumOnly     = dataplane.TxOffloads{CsumPartial: true}
)

// offloadRig is a bridge whose pool has ordinary buffers and an input
// "port" whose packets come from a pool of 64 KiB buffers, as an
// AF_PACKET port with a GSO pool delivers them.
type offloadRig struct {
	t     testing.TB
	pool  *dataplane.Pool // the bridge's
	big   *dataplane.Pool // the input's GSO buffers
	br    *dataplane.Bridge
	ports map[uint32]*offloadPort
}

func newOffloadRig(t testing.TB, bufs int) *offloadRig {
	t.Helper()
	a, err := dataplane.NewArena(bufs*2304+64*66048, dataplane.ArenaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	pool, off, err := dataplane.NewPool("rig", a, 0, bufs, dataplane.DefaultDataRoom)
	if err != nil {
		t.Fatal(err)
	}
	big, _, err := dataplane.NewPool("gso", a, off, 64, 65536+256)
	if err != nil {
		t.Fatal(err)
	}
	br, err := dataplane.NewBridge(dataplane.BridgeConfig{Name: "br0", Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	return &offloadRig{t: t, pool: pool, big: big, br: br, ports: map[uint32]*offloadPort{}}
}

// add adds port no; caps nil: a port without OffloadCapable.
func (r *offloadRig) add(no uint32, caps *dataplane.TxOffloads, cfg dataplane.PortConfig) *offloadPort {
	r.t.Helper()
	op := &offloadPort{name: cfg.Name, mtu: 1500}
	if op.name == "" {
		op.name = "p" + string(rune('0'+no))
	}
	cfg.Name = op.name
	cfg.Port = op
	if caps != nil {
		op.caps = *caps
		cfg.Port = capablePort{op}
	}
	if err := r.br.AddPort(no, cfg); err != nil {
		r.t.Fatal(err)
	}
	r.ports[no] = op
	return op
}

// inject hands frame to the bridge as received on port in, with offload
// metadata, in a buffer of the big pool.
func (r *offloadRig) inject(in uint32, frame []byte, md sentPkt) {
	r.t.Helper()
	pk := r.big.Get()
	if pk == nil {
		r.t.Fatal("GSO pool empty")
	}
	pk.SetLen(copy(pk.Room(), frame))
	pk.InPort = in
	pk.Offload, pk.CsumStart, pk.CsumOffset, pk.GSOSize = md.offload, md.csumStart, md.csumOffset, md.gsoSize
	r.br.Process(1, in, -1, []*dataplane.Packet{pk})
}

func (r *offloadRig) counters(no uint32) dataplane.PortCounters {
	r.t.Helper()
	c, err := r.br.PortCounters(no)
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

// checkNoLeak asserts that every buffer went back to its pool.
func (r *offloadRig) checkNoLeak() {
	r.t.Helper()
	r.br.ReleaseWorker(1)
	if r.pool.Available() != r.pool.Size() || r.big.Available() != r.big.Size() {
		r.t.Errorf("buffers not returned: bridge pool %d/%d, GSO pool %d/%d",
			r.pool.Available(), r.pool.Size(), r.big.Available(), r.big.Size())
	}
}

var (
	macA = [6]byte{0x52, 0x54, 0, 0, 0, 0xa}
	macB = [6]byte{0x52, 0x54, 0, 0, 0, 0xb}
)

// tcpGSOFrame is what a kernel with TSO hands over: a TCP frame with
// payload bytes of payload and a partial checksum (the pseudo-header sum
// in the checksum field, RFC 793 3.1 / virtio 1.1 5.1.6.2), tagged with
// vid when vid >= 0. It returns the frame and the partial-checksum
// metadata (CsumStart = TCP header offset, CsumOffset 16).
func tcpGSOFrame(t testing.TB, v6 bool, vid int, payload int) ([]byte, sentPkt) {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: macA[:], DstMAC: macB[:], EthernetType: layers.EthernetTypeIPv4}
	ls := []gopacket.SerializableLayer{eth}
	l3 := 14
	next := &eth.EthernetType
	if vid >= 0 {
		eth.EthernetType = layers.EthernetTypeDot1Q
		q := &layers.Dot1Q{VLANIdentifier: uint16(vid), Type: layers.EthernetTypeIPv4}
		next = &q.Type
		ls = append(ls, q)
		l3 += 4
	}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 5201, Seq: 1000, Ack: 1, ACK: true, PSH: true, Window: 500}
	l4 := l3
	if v6 {
		*next = layers.EthernetTypeIPv6
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
			SrcIP: bytes.Repeat([]byte{0xfd}, 16), DstIP: append(bytes.Repeat([]byte{0xfd}, 15), 2)}
		tcp.SetNetworkLayerForChecksum(ip)
		ls = append(ls, ip)
		l4 += 40
	} else {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 77, Protocol: layers.IPProtocolTCP,
			SrcIP: []byte{10, 0, 0, 1}, DstIP: []byte{10, 0, 0, 2}}
		tcp.SetNetworkLayerForChecksum(ip)
		ls = append(ls, ip)
		l4 += 20
	}
	data := make([]byte, payload)
	for i := range data {
		data[i] = byte(i*13 + i>>8)
	}
	ls = append(ls, tcp, gopacket.Payload(data))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	f := buf.Bytes()
	// Replace the full checksum by the pseudo-header sum only.
	var sum uint64
	if v6 {
		sum = offload.Sum(0, f[l3+8:l3+40])
	} else {
		sum = offload.Sum(0, f[l3+12:l3+20])
	}
	sum += 6 + uint64(len(f)-l4)
	binary.BigEndian.PutUint16(f[l4+16:], offload.Fold(sum))
	return f, sentPkt{offload: dataplane.OffloadCsumPartial, csumStart: uint16(l4), csumOffset: 16}
}

// checkSegments decodes segs with gopacket and checks that each is a
// valid TCP segment (IPv4 header checksum, TCP checksum recomputed by
// gopacket equal to the one sent, MTU respected) and that together they
// carry want in order; partial: the checksums are still partial and must
// be completed first (at CsumStart/CsumOffset of each).
func checkSegments(t *testing.T, segs []sentPkt, want []byte, mtu int, partial bool) {
	t.Helper()
	var got []byte
	for i, s := range segs {
		d := append([]byte(nil), s.data...)
		if s.gsoSize != 0 {
			t.Fatalf("segment %d still has GSO size %d", i, s.gsoSize)
		}
		if partial {
			if s.offload&dataplane.OffloadCsumPartial == 0 {
				t.Fatalf("segment %d: checksum not left partial (offload %#x)", i, s.offload)
			}
			if err := offload.CompletePartial(d, int(s.csumStart), int(s.csumOffset)); err != nil {
				t.Fatalf("segment %d: bad partial metadata %+v: %v", i, s, err)
			}
		} else if s.offload&dataplane.OffloadCsumPartial != 0 {
			t.Fatalf("segment %d: checksum left partial for a port that cannot complete it", i)
		}
		p := gopacket.NewPacket(d, layers.LayerTypeEthernet, gopacket.Default)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil {
			t.Fatalf("segment %d does not decode as TCP: %v", i, p)
		}
		l2 := 14
		if _, ok := p.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q); ok {
			l2 += 4
		}
		if len(d)-l2 > mtu {
			t.Fatalf("segment %d: %d bytes of L3 exceed the MTU %d", i, len(d)-l2, mtu)
		}
		var nl gopacket.NetworkLayer
		if ip4, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			if int(ip4.Length) != len(d)-l2 {
				t.Fatalf("segment %d: IPv4 total length %d, frame carries %d", i, ip4.Length, len(d)-l2)
			}
			if offload.Fold(offload.Sum(0, d[l2:l2+20])) != 0xffff {
				t.Fatalf("segment %d: bad IPv4 header checksum", i)
			}
			nl = ip4
		} else {
			ip6 := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
			if int(ip6.Length) != len(d)-l2-40 {
				t.Fatalf("segment %d: IPv6 payload length %d", i, ip6.Length)
			}
			nl = ip6
		}
		// gopacket sums the segment with its checksum field and the
		// pseudo-header: 0 when the checksum is right.
		tcp.SetNetworkLayerForChecksum(nl)
		if c, err := tcp.ComputeChecksum(); err != nil || c != 0 {
			t.Fatalf("segment %d: TCP checksum %#04x is wrong (verification sum %#04x, %v)", i, tcp.Checksum, c, err)
		}
		if tcp.Seq != 1000+uint32(len(got)) {
			t.Fatalf("segment %d: seq %d after %d bytes", i, tcp.Seq, len(got))
		}
		got = append(got, tcp.Payload...)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("segments carry %d bytes, want %d (or different bytes)", len(got), len(want))
	}
}

func payloadOf(f []byte, n int) []byte { return f[len(f)-n:] }

// A GSO frame from one port to a port without offloads arrives as
// MTU-sized segments with valid checksums; to a port that carries GSO it
// arrives whole with its metadata; to a port that carries only partial
// checksums it arrives as segments whose checksums are left partial.
func TestGSOToPortsByCapability(t *testing.T) {
	for _, tc := range []struct {
		name     string
		v6       bool
		caps     *dataplane.TxOffloads
		mtu      int
		whole    bool
		partial  bool
		segments int
	}{
		{"v4-no-offloads", false, nil, 1500, false, false, 7},
		{"v6-no-offloads", true, nil, 1500, false, false, 7},
		{"v4-capable-type-without-offloads", false, &dataplane.TxOffloads{}, 1500, false, false, 7},
		{"v4-csum-only", false, &csumOnly, 1500, false, true, 7},
		{"v4-gso", false, &fullOffloads, 1500, true, true, 1},
		{"v6-gso", true, &fullOffloads, 1500, true, true, 1},
		{"v4-gso-too-small", false, &dataplane.TxOffloads{CsumPartial: true, MaxGSOFrame: 4000}, 1500, false, true, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newOffloadRig(t, 512)
			r.add(1, &fullOffloads, dataplane.PortConfig{})
			out := r.add(2, tc.caps, dataplane.PortConfig{})
			out.mtu = tc.mtu
			r.br.FDB().Learn(0, macB, 2, r.br.Now())
			f, md := tcpGSOFrame(t, tc.v6, -1, 10000)
			md.gsoSize = 1448
			if tc.v6 {
				md.gsoSize = 1440
			}
			r.inject(1, f, md)
			sent := out.take()
			if len(sent) != tc.segments {
				t.Fatalf("%d packets sent, want %d", len(sent), tc.segments)
			}
			c := r.counters(2)
			if tc.whole {
				s := sent[0]
				if !bytes.Equal(s.data, f) || s.gsoSize != md.gsoSize || s.offload != md.offload ||
					s.csumStart != md.csumStart || s.csumOffset != md.csumOffset {
					t.Fatalf("GSO frame changed on the way: %d bytes, gso %d, offload %#x, csum %d/%d",
						len(s.data), s.gsoSize, s.offload, s.csumStart, s.csumOffset)
				}
				if c.TxGSOSegmented != 0 {
					t.Fatalf("counters %+v", c)
				}
			} else {
				checkSegments(t, sent, payloadOf(f, 10000), tc.mtu, tc.partial)
				if c.TxGSOSegmented != 1 || c.TxGSOSegments != uint64(tc.segments) {
					t.Fatalf("counters %+v", c)
				}
			}
			r.checkNoLeak()
		})
	}
}

// A GSO frame with more segments than a send vector holds (64 KiB at a
// small MSS) still arrives whole and in order, in several bursts.
func TestGSOManySegments(t *testing.T) {
	r := newOffloadRig(t, 1024)
	r.add(1, &fullOffloads, dataplane.PortConfig{})
	out := r.add(2, nil, dataplane.PortConfig{})
	r.br.FDB().Learn(0, macB, 2, r.br.Now())
	f, md := tcpGSOFrame(t, false, -1, 60000)
	md.gsoSize = 536
	r.inject(1, f, md)
	sent := out.take()
	if want := (60000 + 535) / 536; len(sent) != want {
		t.Fatalf("%d segments, want %d", len(sent), want)
	}
	if out.bursts < 2 {
		t.Fatalf("%d segments in %d bursts", len(sent), out.bursts)
	}
	checkSegments(t, sent, payloadOf(f, 60000), 1500, false)
	r.checkNoLeak()
}

// A partial checksum is completed for a port that cannot carry it (also
// after a VLAN tag was popped or pushed on the way), and left partial,
// with its start moved by the tag, for one that can.
func TestPartialChecksumByCapability(t *testing.T) {
	for _, tc := range []struct {
		name    string
		inVID   int // -1 untagged
		in, out dataplane.PortConfig
		caps    *dataplane.TxOffloads
	}{
		{"untagged-no-offloads", -1, dataplane.PortConfig{}, dataplane.PortConfig{}, nil},
		{"untagged-csum", -1, dataplane.PortConfig{}, dataplane.PortConfig{}, &csumOnly},
		{"trunk-to-access-no-offloads", 10, dataplane.PortConfig{}, dataplane.PortConfig{Tag: 10, HasTag: true}, nil},
		{"trunk-to-access-csum", 10, dataplane.PortConfig{}, dataplane.PortConfig{Tag: 10, HasTag: true}, &csumOnly},
		{"access-to-trunk-no-offloads", -1, dataplane.PortConfig{Tag: 10, HasTag: true}, dataplane.PortConfig{}, nil},
		{"access-to-trunk-csum", -1, dataplane.PortConfig{Tag: 10, HasTag: true}, dataplane.PortConfig{}, &csumOnly},
		{"priority-tag-csum", 0, dataplane.PortConfig{}, dataplane.PortConfig{}, &csumOnly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newOffloadRig(t, 512)
			r.add(1, &fullOffloads, tc.in)
			out := r.add(2, tc.caps, tc.out)
			f, md := tcpGSOFrame(t, false, tc.inVID, 900)
			r.inject(1, f, md)
			sent := out.take()
			if len(sent) != 1 {
				t.Fatalf("%d packets sent", len(sent))
			}
			checkSegments(t, sent, payloadOf(f, 900), 1500, tc.caps != nil)
			c := r.counters(2)
			if want := uint64(1); tc.caps != nil {
				want = 0
				if c.TxCsumCompleted != want {
					t.Fatalf("counters %+v", c)
				}
			} else if c.TxCsumCompleted != want {
				t.Fatalf("counters %+v", c)
			}
			r.checkNoLeak()
		})
	}
}

// A GSO frame to an unknown destination is flooded: every port gets all
// of its payload, whole where the port carries GSO, as valid segments
// elsewhere, each in its own VLAN form.
func TestFloodGSO(t *testing.T) {
	r := newOffloadRig(t, 512)
	access := dataplane.PortConfig{Tag: 10, HasTag: true}
	r.add(1, &fullOffloads, access)
	plain := r.add(2, nil, access)
	csum := r.add(3, &csumOnly, dataplane.PortConfig{}) // trunk: tag pushed
	gso := r.add(4, &fullOffloads, access)
	f, md := tcpGSOFrame(t, false, -1, 20000)
	md.gsoSize = 1448
	r.inject(1, f, md)
	want := payloadOf(f, 20000)
	checkSegments(t, plain.take(), want, 1500, false)
	checkSegments(t, csum.take(), want, 1500, true)
	g := gso.take()
	if len(g) == 1 {
		if !bytes.Equal(g[0].data, f) || g[0].gsoSize != 1448 {
			t.Fatalf("GSO port got a changed frame (%d bytes, gso %d)", len(g[0].data), g[0].gsoSize)
		}
	} else {
		checkSegments(t, g, want, 1500, true)
	}
	r.checkNoLeak()
}

// Running out of buffers while segmenting drops the rest of the frame,
// counted, and leaks nothing; a GSO size larger than the egress MTU is an
// MTU drop; a GSO frame that is not TCP is an offload drop.
func TestGSODrops(t *testing.T) {
	t.Run("no-buffers", func(t *testing.T) {
		r := newOffloadRig(t, 8)
		r.add(1, &fullOffloads, dataplane.PortConfig{})
		out := r.add(2, nil, dataplane.PortConfig{})
		r.br.FDB().Learn(0, macB, 2, r.br.Now())
		f, md := tcpGSOFrame(t, false, -1, 30000)
		md.gsoSize = 1448
		r.inject(1, f, md)
		sent := out.take()
		if len(sent) == 0 || len(sent) > 8 {
			t.Fatalf("%d segments from a pool of 8", len(sent))
		}
		checkSegments(t, sent, payloadOf(f, 30000)[:len(sent)*1448], 1500, false)
		if c := r.counters(2); c.TxNoBufDrops != 1 {
			t.Fatalf("counters %+v", c)
		}
		r.checkNoLeak()
	})
	t.Run("mtu", func(t *testing.T) {
		r := newOffloadRig(t, 64)
		r.add(1, &fullOffloads, dataplane.PortConfig{})
		out := r.add(2, &fullOffloads, dataplane.PortConfig{})
		out.mtu = 1000
		r.br.FDB().Learn(0, macB, 2, r.br.Now())
		f, md := tcpGSOFrame(t, false, -1, 10000)
		md.gsoSize = 1448
		r.inject(1, f, md)
		if n := len(out.take()); n != 0 {
			t.Fatalf("%d packets sent past the MTU", n)
		}
		if c := r.counters(2); c.TxMTUDrops != 1 {
			t.Fatalf("counters %+v", c)
		}
		r.checkNoLeak()
	})
	t.Run("not-tcp", func(t *testing.T) {
		r := newOffloadRig(t, 64)
		r.add(1, &fullOffloads, dataplane.PortConfig{})
		out := r.add(2, nil, dataplane.PortConfig{})
		r.br.FDB().Learn(0, macB, 2, r.br.Now())
		f := frame(macB, macA, 0, 0, 0x0800, 5000) // not a TCP frame
		r.inject(1, f, sentPkt{gsoSize: 1000})
		small := frame(macB, macA, 0, 0, 0x0800, 200)
		r.inject(1, small, sentPkt{offload: dataplane.OffloadCsumPartial, csumStart: 190, csumOffset: 16})
		if n := len(out.take()); n != 0 {
			t.Fatalf("%d packets sent", n)
		}
		if c := r.counters(2); c.TxOffloadDrops != 2 {
			t.Fatalf("counters %+v", c)
		}
		r.checkNoLeak()
	})
}

// RefreshOffloads picks up a port's changed capability.
func TestRefreshOffloads(t *testing.T) {
	r := newOffloadRig(t, 512)
	r.add(1, &fullOffloads, dataplane.PortConfig{})
	out := r.add(2, &fullOffloads, dataplane.PortConfig{})
	r.br.FDB().Learn(0, macB, 2, r.br.Now())
	f, md := tcpGSOFrame(t, false, -1, 5000)
	md.gsoSize = 1448
	r.inject(1, f, md)
	if n := len(out.take()); n != 1 {
		t.Fatalf("%d packets before the change", n)
	}
	out.caps = dataplane.TxOffloads{}
	r.br.RefreshOffloads()
	r.inject(1, f, md)
	checkSegments(t, out.take(), payloadOf(f, 5000), 1500, false)
	r.checkNoLeak()
}

// Segmenting and completing in the egress path allocate nothing.
func TestGSOEgressAllocs(t *testing.T) {
	r := newOffloadRig(t, 1024)
	r.add(1, &fullOffloads, dataplane.PortConfig{})
	out := &discardPort{offloadPort{name: "d", mtu: 1500}}
	if err := r.br.AddPort(2, dataplane.PortConfig{Name: "d", Port: out}); err != nil {
		t.Fatal(err)
	}
	r.br.FDB().Learn(0, macB, 2, r.br.Now())
	f, md := tcpGSOFrame(t, false, -1, 30000)
	burst := make([]*dataplane.Packet, 1)
	run := func() {
		pk := r.big.Get()
		pk.SetLen(copy(pk.Room(), f))
		pk.Offload, pk.CsumStart, pk.CsumOffset, pk.GSOSize = md.offload, md.csumStart, md.csumOffset, 1448
		burst[0] = pk
		r.br.Process(1, 1, -1, burst)
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Fatalf("%v allocations per GSO frame", n)
	}
	if c := r.counters(2); c.TxGSOSegments < 101*21 {
		t.Fatalf("counters %+v", c)
	}
}

// discardPort frees what it is given.
type discardPort struct{ offloadPort }

func (p *discardPort) TxBurst(q int, pkts []*dataplane.Packet) int {
	dataplane.PutBurst(pkts)
	return len(pkts)
}

// FuzzEgressOffloads sends arbitrary frames with arbitrary offload
// metadata through the bridge to ports with and without offloads: nothing
// may crash, leak or leave a partial checksum for a port without offloads.
func FuzzEgressOffloads(f *testing.F) {
	gf, md := tcpGSOFrame(f, false, 5, 3000)
	f.Add(gf, md.offload, md.csumStart, md.csumOffset, uint16(1000))
	gf6, md6 := tcpGSOFrame(f, true, -1, 5000)
	f.Add(gf6, md6.offload, md6.csumStart, md6.csumOffset, uint16(1))
	f.Add(frame(broadcast, macA, 0, 0, 0x0800, 60), dataplane.OffloadCsumPartial, uint16(50), uint16(20), uint16(0))
	// One rig for the whole run: a fresh arena per input makes the fuzzer
	// crawl. Every input must leave all buffers back in their pools.
	r := newOffloadRig(f, 256)
	r.add(1, &fullOffloads, dataplane.PortConfig{})
	plain := r.add(2, nil, dataplane.PortConfig{})
	csum := r.add(3, &csumOnly, dataplane.PortConfig{})
	gso := r.add(4, &fullOffloads, dataplane.PortConfig{})
	f.Fuzz(func(t *testing.T, fr []byte, offl uint8, start, off, gso16 uint16) {
		if len(fr) > 65536 {
			return
		}
		r.t = t
		r.inject(1, fr, sentPkt{offload: offl, csumStart: start, csumOffset: off, gsoSize: gso16})
		for _, s := range plain.take() {
			if s.offload&dataplane.OffloadCsumPartial != 0 || s.gsoSize != 0 {
				t.Fatalf("a port without offloads got metadata %+v", s)
			}
		}
		for _, s := range csum.take() {
			if s.gsoSize != 0 {
				t.Fatalf("a port without GSO got a GSO frame (%d bytes)", len(s.data))
			}
		}
		gso.take()
		r.checkNoLeak()
	})
}

// BenchmarkBridgeGSO forwards one 64 KiB TCP GSO frame per Process call
// to a port that carries it whole, to one that takes only partial
// checksums (segments, checksums left partial) and to one without
// offloads (segments with completed checksums).
func BenchmarkBridgeGSO(b *testing.B) {
	for _, tc := range []struct {
		name string
		caps *dataplane.TxOffloads
	}{
		{"whole", &fullOffloads},
		{"segment-csum-partial", &csumOnly},
		{"segment-complete", nil},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := newOffloadRig(b, 1024)
			r.add(1, &fullOffloads, dataplane.PortConfig{})
			out := &discardPort{offloadPort{name: "d", mtu: 1500}}
			var port dataplane.Port = out
			if tc.caps != nil {
				out.caps = *tc.caps
				port = capableDiscard{out}
			}
			if err := r.br.AddPort(2, dataplane.PortConfig{Name: "d", Port: port}); err != nil {
				b.Fatal(err)
			}
			r.br.FDB().Learn(0, macB, 2, r.br.Now())
			f, md := tcpGSOFrame(b, false, -1, 65000)
			burst := make([]*dataplane.Packet, 1)
			b.ReportAllocs()
			b.SetBytes(int64(len(f)))
			for b.Loop() {
				pk := r.big.Get()
				pk.SetLen(copy(pk.Room(), f))
				pk.Offload, pk.CsumStart, pk.CsumOffset, pk.GSOSize = md.offload, md.csumStart, md.csumOffset, 1448
				burst[0] = pk
				r.br.Process(1, 1, -1, burst)
			}
		})
	}
}

type capableDiscard struct{ *discardPort }

func (p capableDiscard) TxOffloads() dataplane.TxOffloads { return p.caps }

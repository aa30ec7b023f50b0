package bench

import (
	"encoding/binary"
	"errors"
	"math"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestFrameDecodes: generated frames are valid Ethernet/802.1Q/IPv4/UDP
// as an independent decoder (gopacket) reads them, with the sizes,
// addresses and checksum asked for, and carry their signature.
func TestFrameDecodes(t *testing.T) {
	for _, vlan := range []int{0, 300} {
		s := DefaultStream()
		s.VLAN = vlan
		s.Sizes = []int{64, 1518}
		s.SrcIPs, s.DstPorts = 3, 5
		if err := s.Validate(1); err != nil {
			t.Fatal(err)
		}
		g := newFrameGen(&s, 7, 2)
		buf := make([]byte, MaxFrame)
		for seq := uint32(0); seq < 10; seq++ {
			f := g.fill(buf, seq, int64(seq)*1000)
			want := s.Sizes[seq%2] - FCSLen
			if len(f) != want {
				t.Fatalf("frame %d: %d bytes, want %d", seq, len(f), want)
			}
			p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
			if el := p.ErrorLayer(); el != nil {
				t.Fatalf("frame %d does not decode: %v", seq, el.Error())
			}
			ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
			if ip == nil || udp == nil {
				t.Fatalf("frame %d: no IPv4/UDP: %v", seq, p)
			}
			if d, _ := p.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q); (d != nil) != (vlan != 0) || (d != nil && int(d.VLANIdentifier) != vlan) {
				t.Fatalf("frame %d: VLAN tag %v, want %d", seq, d, vlan)
			}
			wantSrc := netip.AddrFrom4([4]byte{198, 18, 0, byte(1 + seq%3)})
			if got, _ := netip.AddrFromSlice(ip.SrcIP); got != wantSrc {
				t.Fatalf("frame %d: source %v, want %v", seq, got, wantSrc)
			}
			if int(udp.DstPort) != 1024+int(seq%5) {
				t.Fatalf("frame %d: destination port %d", seq, udp.DstPort)
			}
			// A header with a correct checksum sums to 0xffff (RFC 1071).
			hdr := ip.Contents
			if ipChecksum(hdr) != 0 {
				t.Fatalf("frame %d: bad IPv4 checksum %#x", seq, ip.Checksum)
			}
			sig, ok := ParseSignature(f)
			if !ok || sig.Epoch != 7 || sig.Stream != 2 || sig.Seq != seq || sig.Sent != int64(seq)*1000 {
				t.Fatalf("frame %d: signature %+v ok=%v", seq, sig, ok)
			}
		}
	}
}

func TestParseSignatureRejects(t *testing.T) {
	s := DefaultStream()
	g := newFrameGen(&s, 1, 0)
	good := append([]byte(nil), g.fill(make([]byte, MaxFrame), 5, 5)...)
	for name, mut := range map[string]func([]byte) []byte{
		"short":     func(b []byte) []byte { return b[:40] },
		"not ipv4":  func(b []byte) []byte { b[12] = 0x86; b[13] = 0xdd; return b },
		"tcp":       func(b []byte) []byte { b[14+9] = 6; return b },
		"bad magic": func(b []byte) []byte { b[14+20+8] ^= 0xff; return b },
		"empty":     func(b []byte) []byte { return nil },
	} {
		f := mut(append([]byte(nil), good...))
		if _, ok := ParseSignature(f); ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseSignature(f *testing.F) {
	s := DefaultStream()
	g := newFrameGen(&s, 1, 0)
	f.Add(append([]byte(nil), g.fill(make([]byte, MaxFrame), 1, 1)...))
	s.VLAN = 5
	g = newFrameGen(&s, 1, 0)
	f.Add(append([]byte(nil), g.fill(make([]byte, MaxFrame), 1, 1)...))
	f.Add([]byte{})
	f.Add(make([]byte, 14))
	f.Fuzz(func(t *testing.T, b []byte) {
		sig, ok := ParseSignature(b)
		if !ok && sig != (Signature{}) {
			t.Fatalf("rejected frame returned %+v", sig)
		}
	})
}

func TestParsers(t *testing.T) {
	if got, err := ParseSizes("imix"); err != nil || len(got) != 12 {
		t.Fatalf("imix: %v %v", got, err)
	}
	s := Stream{Sizes: IMIX}
	if a := s.AvgSize(); math.Abs(a-(7*64+4*594+1518)/12.0) > 1e-9 {
		t.Fatalf("IMIX mean %v", a)
	}
	if got, err := ParseSizes("64, 1518"); err != nil || len(got) != 2 || got[1] != 1518 {
		t.Fatalf("64,1518: %v %v", got, err)
	}
	for _, bad := range []string{"", "63", "9217", "x", "64,,"} {
		if _, err := ParseSizes(bad); !errors.Is(err, ErrBadStream) {
			t.Errorf("ParseSizes(%q) = %v, want ErrBadStream", bad, err)
		}
	}
	rates := map[string]float64{"max": 0, "": 0, "1000": 1000, "2.5Mpps": 2.5e6, "10kpps": 1e4, "100%": 10e9 / (84 * 8)}
	for in, want := range rates {
		if got, err := ParseRate(in, 64); err != nil || math.Abs(got-want) > 1e-6*want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if r, _ := ParseRate("100%", 64); math.Abs(r-14880952.38) > 1 {
		t.Errorf("64-byte line rate %v, want 14.88 Mpps", r)
	}
	for _, bad := range []string{"-1", "0", "101%", "fast", "0%"} {
		if _, err := ParseRate(bad, 64); !errors.Is(err, ErrBadStream) {
			t.Errorf("ParseRate(%q) = %v, want ErrBadStream", bad, err)
		}
	}
	if m, err := ParseMAC("02:aa:00:00:00:ff"); err != nil || m != [6]byte{2, 0xaa, 0, 0, 0, 0xff} {
		t.Errorf("ParseMAC: %v %v", m, err)
	}
	for _, bad := range []string{"02:aa:00:00:00", "02:aa:00:00:00:fff", "zz:00:00:00:00:00"} {
		if _, err := ParseMAC(bad); err == nil {
			t.Errorf("ParseMAC(%q) accepted", bad)
		}
	}
	if ip, n, err := ParseIPRange("10.0.0.1+256"); err != nil || n != 256 || ip.String() != "10.0.0.1" {
		t.Errorf("ParseIPRange: %v %v %v", ip, n, err)
	}
	if _, _, err := ParseIPRange("::1"); err == nil {
		t.Errorf("IPv6 accepted")
	}
	if p, n, err := ParsePortRange("5000+16"); err != nil || p != 5000 || n != 16 {
		t.Errorf("ParsePortRange: %v %v %v", p, n, err)
	}
	st := DefaultStream()
	st.SrcIPs, st.DstPorts = 4, 6
	if f := st.Flows(); f != 12 {
		t.Errorf("flows %d, want lcm(4,6)=12", f)
	}
	st.VLAN = 5000
	if err := st.Validate(1); !errors.Is(err, ErrBadStream) {
		t.Errorf("VLAN 5000: %v", err)
	}
}

func TestHistogram(t *testing.T) {
	var h Histogram
	for v := uint64(1); v <= 100000; v++ {
		h.Add(v * 10) // 10 ns .. 1 ms, uniform
	}
	s := h.Summary()
	if s.MinNs != 10 || s.MaxNs != 1000000 || s.Samples != 100000 {
		t.Fatalf("summary %+v", s)
	}
	check := func(name string, got uint64, want float64) {
		if math.Abs(float64(got)-want)/want > 1.0/histSub {
			t.Errorf("%s = %d, want %.0f within %.1f %%", name, got, want, 100.0/histSub)
		}
	}
	check("p50", s.P50Ns, 500000)
	check("p99", s.P99Ns, 990000)
	check("p99.9", s.P999Ns, 999000)
	if math.Abs(s.AvgNs-500005) > 1 {
		t.Errorf("avg %v", s.AvgNs)
	}
	for v := uint64(0); v < 1<<20; v = v*3/2 + 1 {
		b := bucketOf(v)
		if lo := bucketLow(b); lo > v || (b+1 < len(h.counts) && bucketLow(b+1) <= v) {
			t.Fatalf("value %d in bucket %d [%d, %d)", v, b, lo, bucketLow(b+1))
		}
	}
	if bucketOf(math.MaxUint64) >= len(h.counts) {
		t.Fatal("max value outside the histogram")
	}
	var m Histogram
	m.Merge(&h)
	m.Merge(&h)
	if m.Count() != 200000 || m.Quantile(0.5) != h.Quantile(0.5) {
		t.Errorf("merge: %d values, p50 %d vs %d", m.Count(), m.Quantile(0.5), h.Quantile(0.5))
	}
}

// memPort is a loopback generator port in memory: what is sent comes
// back on the next Rx.
type memPort struct {
	ring  [][]byte
	n     int
	out   [][]byte
	store []byte
}

func newMemPort() *memPort {
	p := &memPort{ring: make([][]byte, MaxBurst), store: make([]byte, MaxBurst*MaxFrame)}
	for i := range p.ring {
		p.ring[i] = p.store[i*MaxFrame : (i+1)*MaxFrame]
	}
	return p
}

func (p *memPort) Name() string { return "mem" }
func (p *memPort) Tx(frames [][]byte) int {
	k := 0
	for _, f := range frames {
		if p.n == len(p.ring) {
			break
		}
		p.ring[p.n] = p.ring[p.n][:copy(p.ring[p.n][:MaxFrame], f)]
		p.n++
		k++
	}
	return k
}
func (p *memPort) Rx(frames [][]byte) int {
	n := copy(frames, p.ring[:p.n])
	// Hand the slots back after the caller has read them: the slices
	// stay valid until the next Rx, and Tx reuses them only after this.
	p.n = 0
	return n
}
func (p *memPort) Close() error { return nil }

// TestLoopAllocs: a burst of sending and receiving allocates nothing.
func TestLoopAllocs(t *testing.T) {
	p := newMemPort()
	s := DefaultStream()
	s.Sizes = IMIX
	st := &streamState{gen: newFrameGen(&s, 0, 0), port: p, slots: make([][]byte, 32), txFrames: make([][]byte, 32)}
	for k := range st.slots {
		st.slots[k] = make([]byte, MaxFrame)
	}
	l := &loop{ss: []*streamState{st}, rxPorts: []Port{p}, rxFrames: make([][]byte, 32), burst: 32}
	now := int64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		now += 1000
		l.send(now, 0)
		l.receive()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per burst", allocs)
	}
	if st.rx != st.txPkts.Load() || st.rx == 0 || st.reorder != 0 {
		t.Fatalf("sent %d, received %d, reordered %d", st.txPkts.Load(), st.rx, st.reorder)
	}
}

// BenchmarkLoop measures one 32-frame burst out and back through an
// in-memory port.
func BenchmarkLoop(b *testing.B) {
	p := newMemPort()
	s := DefaultStream()
	st := &streamState{gen: newFrameGen(&s, 0, 0), port: p, slots: make([][]byte, 32), txFrames: make([][]byte, 32)}
	for k := range st.slots {
		st.slots[k] = make([]byte, MaxFrame)
	}
	l := &loop{ss: []*streamState{st}, rxPorts: []Port{p}, rxFrames: make([][]byte, 32), burst: 32}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.send(int64(i), 0)
		l.receive()
	}
	b.ReportMetric(float64(st.txPkts.Load())/b.Elapsed().Seconds()/1e6, "Mpps")
}

var _ = binary.BigEndian

// BenchmarkFill: building one 64-byte frame.
func BenchmarkFill(b *testing.B) {
	s := DefaultStream()
	s.SrcIPs = 100
	g := newFrameGen(&s, 0, 0)
	buf := make([]byte, MaxFrame)
	b.ReportAllocs()
	i := uint32(0)
	for b.Loop() {
		g.fill(buf, i, int64(i))
		i++
	}
}

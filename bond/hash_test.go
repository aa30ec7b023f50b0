package bond

import (
	"encoding/binary"
	"testing"
	"time"
)

// frame4 builds an Ethernet/IPv4 frame with an L4 header whose first four
// bytes are the source and destination ports.
func frame4(src, dst [4]byte, proto uint8, sport, dport uint16, vlans ...uint16) []byte {
	f := []byte{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1}
	for _, v := range vlans {
		f = binary.BigEndian.AppendUint16(f, 0x8100)
		f = binary.BigEndian.AppendUint16(f, v)
	}
	f = binary.BigEndian.AppendUint16(f, 0x0800)
	ip := make([]byte, 20)
	ip[0], ip[9] = 0x45, proto
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	f = append(f, ip...)
	f = binary.BigEndian.AppendUint16(f, sport)
	f = binary.BigEndian.AppendUint16(f, dport)
	return append(f, make([]byte, 16)...)
}

func frame6(proto uint8, sport, dport uint16, ext ...byte) []byte {
	f := []byte{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x86, 0xdd}
	ip := make([]byte, 40)
	ip[0] = 0x60
	ip[6] = proto
	ip[8], ip[23] = 0x20, 1
	ip[24], ip[39] = 0x20, 2
	if len(ext) > 0 {
		ip[6] = 0 // hop-by-hop first, carrying proto
		ext[0] = proto
	}
	f = append(f, ip...)
	f = append(f, ext...)
	f = binary.BigEndian.AppendUint16(f, sport)
	f = binary.BigEndian.AppendUint16(f, dport)
	return append(f, make([]byte, 16)...)
}

func TestHashL4(t *testing.T) {
	a, b := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
	base := HashL4(frame4(a, b, protoTCP, 40000, 5201), 0)
	if base != HashL4(frame4(a, b, protoTCP, 40000, 5201), 0) {
		t.Fatal("not deterministic")
	}
	if base != HashL4(frame4(a, b, protoTCP, 40000, 5201, 300), 0) ||
		base != HashL4(frame4(a, b, protoTCP, 40000, 5201, 11, 300), 0) {
		t.Error("VLAN tags must not change the hash")
	}
	for name, f := range map[string][]byte{
		"sport": frame4(a, b, protoTCP, 40001, 5201),
		"dport": frame4(a, b, protoTCP, 40000, 5202),
		"src":   frame4([4]byte{10, 0, 0, 3}, b, protoTCP, 40000, 5201),
		"dst":   frame4(a, [4]byte{10, 0, 0, 3}, protoTCP, 40000, 5201),
		"proto": frame4(a, b, protoUDP, 40000, 5201),
	} {
		if HashL4(f, 0) == base {
			t.Errorf("changing %s does not change the hash", name)
		}
	}
	if HashL4(frame4(a, b, protoTCP, 40000, 5201), 1) == base {
		t.Error("basis ignored")
	}
	// Protocols without ports hash L3 only.
	if HashL4(frame4(a, b, 47, 1, 2), 0) != HashL4(frame4(a, b, 47, 3, 4), 0) {
		t.Error("GRE must hash addresses only")
	}
	// A later IPv4 fragment hashes as if its ports were zero.
	frag := frame4(a, b, protoUDP, 9, 9)
	binary.BigEndian.PutUint16(frag[14+6:], 100)
	if HashL4(frag, 0) != HashL4(frame4(a, b, protoUDP, 0, 0), 0) {
		t.Error("later fragment must not hash ports")
	}
	// IPv6, with and without a hop-by-hop header before TCP.
	h6 := HashL4(frame6(protoTCP, 1000, 80), 0)
	if h6 == HashL4(frame6(protoTCP, 1001, 80), 0) {
		t.Error("IPv6 ports ignored")
	}
	if HashL4(frame6(protoTCP, 1000, 80, make([]byte, 8)...), 0) != h6 {
		t.Error("IPv6 extension header not skipped")
	}
	// Non-IP frames share one hash; short frames do not crash.
	arpless := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x88, 0xcc, 0, 0}
	if HashL4(arpless, 0) != HashL4(arpless[:12], 0) {
		t.Error("non-IP frames must hash to the basis' constant")
	}
	for n := 0; n < 60; n++ {
		HashL4(frame4(a, b, protoTCP, 1, 2, 300)[:n], 0)
	}
}

// Buckets of many flows land on both members roughly evenly.
func TestHashL4Spread(t *testing.T) {
	var n [Buckets]int
	for p := uint16(0); p < 4096; p++ {
		n[uint8(HashL4(frame4([4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, protoTCP, 32768+p, 5201), 0))]++
	}
	for i, c := range n {
		if c == 0 || c > 48 {
			t.Errorf("bucket %d got %d of 4096 flows", i, c)
		}
	}
}

func FuzzHashL4(f *testing.F) {
	f.Add(frame4([4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, protoTCP, 1, 2, 300), uint32(0))
	f.Add(frame6(protoUDP, 1, 2, make([]byte, 8)...), uint32(5))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x06}, uint32(0))
	f.Fuzz(func(t *testing.T, frame []byte, basis uint32) {
		h := HashL4(frame, basis)
		if h != HashL4(frame, basis) {
			t.Fatal("not deterministic")
		}
	})
}

func benchBond(b *testing.B) *Bond {
	bd, err := New(Config{Name: "bond0", Mode: BalanceSLB, RebalanceInterval: DefaultRebalanceInterval}, t0)
	if err != nil {
		b.Fatal(err)
	}
	bd.SetMember(MemberConfig{Name: "p0", MAC: [6]byte{2, 0, 0, 0, 0, 1}}, true, t0)
	bd.SetMember(MemberConfig{Name: "p1", MAC: [6]byte{2, 0, 0, 0, 0, 2}}, true, t0)
	return bd
}

// BenchmarkTxL4 is the per-packet cost of a balance-tcp output decision:
// 5-tuple hash, member choice, load accounting.
func BenchmarkTxL4(b *testing.B) {
	bd := benchBond(b)
	// Publish an L4 table by hand: LACP negotiation is not the point here.
	t := *bd.tab.Load()
	t.kind = hashL4
	bd.tab.Store(&t)
	f := frame4([4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, protoTCP, 40000, 5201, 300)
	b.ReportAllocs()
	sum := 0
	for i := 0; i < b.N; i++ {
		f[14+4+20+1] = byte(i)
		h := bd.TxHash(f, 300)
		sum += bd.TxMember(h)
		bd.Account(h, len(f))
	}
	if sum < 0 {
		b.Fatal("a bucket without member")
	}
}

func BenchmarkTxSLB(b *testing.B) {
	bd := benchBond(b)
	f := frame4([4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, protoTCP, 40000, 5201)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		f[11] = byte(i)
		h := bd.TxHash(f, 300)
		_ = bd.TxMember(h)
		bd.Account(h, len(f))
	}
}

func BenchmarkRxAccept(b *testing.B) {
	bd := benchBond(b)
	b.ReportAllocs()
	n := 0
	for i := 0; i < b.N; i++ {
		if bd.RxAccept(i&1, i&2 != 0) {
			n++
		}
	}
	_ = n
}

// The hot path allocates nothing.
func TestHotPathAllocs(t *testing.T) {
	bd, _ := New(Config{Name: "bond0", Mode: BalanceSLB, RebalanceInterval: DefaultRebalanceInterval}, t0)
	bd.SetMember(MemberConfig{Name: "p0", MAC: [6]byte{2, 0, 0, 0, 0, 1}}, true, t0)
	tab := *bd.tab.Load()
	tab.kind = hashL4
	bd.tab.Store(&tab)
	f := frame6(protoTCP, 1, 2, make([]byte, 8)...)
	if n := testing.AllocsPerRun(1000, func() {
		h := bd.TxHash(f, 300)
		_ = bd.TxMember(h)
		bd.Account(h, len(f))
		_ = bd.RxAccept(0, true)
		_ = bd.RxVerdict(0, false)
	}); n != 0 {
		t.Errorf("hot path allocates %v per packet", n)
	}
	_ = time.Second
}

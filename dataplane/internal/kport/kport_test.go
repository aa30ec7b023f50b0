package kport

import (
	"encoding/binary"
	"errors"
	"testing"

	"gvswitch/dataplane"
	"gvswitch/internal/offload"
)

func testPool(t *testing.T, n, room int) *dataplane.Pool {
	t.Helper()
	a, err := dataplane.NewArena(n*(room+dataplane.Headroom+512), dataplane.ArenaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	p, _, err := dataplane.NewPool("kport", a, 0, n, room)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewGSOCacheRefusesSmallBuffers(t *testing.T) {
	if c, err := NewGSOCache(nil, 1000); c != nil || err != nil {
		t.Fatalf("nil pool: %v, %v; want no cache and no error", c, err)
	}
	small := testPool(t, 4, 2048)
	if _, err := NewGSOCache(small, 4096); err == nil {
		t.Fatal("2048-byte buffers accepted for 4096-byte frames")
	}
	if c, err := NewGSOCache(small, 2048); err != nil || c == nil {
		t.Fatalf("2048-byte buffers for 2048-byte frames: %v, %v", c, err)
	}
}

// The receive side sees a change only when it adopts it, and the buffers
// of a replaced or unadopted GSO cache return to their pool.
func TestOffloadsAdoptAndClose(t *testing.T) {
	pool := testPool(t, 64, 2048)
	var o Offloads
	o.Adopt()
	if o.Keep || o.GSO != nil {
		t.Fatalf("zero value: keep %v, GSO %v", o.Keep, o.GSO)
	}
	first, err := NewGSOCache(pool, 2048)
	if err != nil {
		t.Fatal(err)
	}
	o.Set(true, first)
	if o.Keep || o.GSO != nil {
		t.Fatal("settings changed before Adopt")
	}
	o.Adopt()
	if !o.Keep || o.GSO != first {
		t.Fatalf("after Adopt: keep %v, GSO %p; want true, %p", o.Keep, o.GSO, first)
	}
	pk := o.GSO.Get() // fills the cache from the pool
	if pk == nil {
		t.Fatal("no buffer from the GSO cache")
	}
	pk.Free()
	if pool.Available() == pool.Size() {
		t.Fatal("the cache holds no buffers; the test cannot see them return")
	}

	second, err := NewGSOCache(pool, 2048)
	if err != nil {
		t.Fatal(err)
	}
	o.Set(false, second)
	o.Adopt()
	if o.Keep || o.GSO != second {
		t.Fatalf("after the second Adopt: keep %v, GSO %p; want false, %p", o.Keep, o.GSO, second)
	}
	if first.Len() != 0 {
		t.Fatalf("the replaced cache still holds %d buffers", first.Len())
	}
	o.GSO.Get().Free()

	third, err := NewGSOCache(pool, 2048)
	if err != nil {
		t.Fatal(err)
	}
	third.Get().Free()
	o.Set(true, third) // never adopted
	o.Close()
	if got, want := pool.Available(), pool.Size(); got != want {
		t.Fatalf("after Close %d of %d buffers are in the pool", got, want)
	}
}

func TestLookupMissingInterface(t *testing.T) {
	nl, link, err := Lookup("gvs-kport-none0")
	if nl != nil {
		nl.Close()
	}
	if !errors.Is(err, ErrNoDevice) || link != nil {
		t.Fatalf("Lookup of a missing interface: %v, %v; want ErrNoDevice", link, err)
	}
}

func TestLookupLoopback(t *testing.T) {
	nl, link, err := Lookup("lo")
	if err != nil {
		t.Skipf("no netlink here: %v", err)
	}
	defer nl.Close()
	if link.Attrs().Name != "lo" {
		t.Fatalf("Lookup(lo) found %q", link.Attrs().Name)
	}
}

func frame(tags []uint16, etherType uint16) []byte {
	b := make([]byte, 12, 64)
	for _, tpid := range tags {
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, 100)
	}
	b = binary.BigEndian.AppendUint16(b, etherType)
	return append(b, make([]byte, 40)...)
}

func TestGSOType(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    []byte
		want uint8
	}{
		{"IPv4", frame(nil, 0x0800), offload.GSOTCPv4},
		{"IPv6", frame(nil, 0x86dd), offload.GSOTCPv6},
		{"802.1Q IPv6", frame([]uint16{0x8100}, 0x86dd), offload.GSOTCPv6},
		{"QinQ IPv6", frame([]uint16{0x88a8, 0x8100}, 0x86dd), offload.GSOTCPv6},
		{"802.1Q IPv4", frame([]uint16{0x8100}, 0x0800), offload.GSOTCPv4},
		{"cut in the tag", frame([]uint16{0x8100}, 0x86dd)[:16], offload.GSOTCPv4},
		{"empty", nil, offload.GSOTCPv4},
	} {
		if got := GSOType(tc.f); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

// FuzzGSOType: any bytes give TCPv6 exactly when the EtherType past the
// VLAN tags is IPv6, else TCPv4, and never a panic.
func FuzzGSOType(f *testing.F) {
	f.Add(frame(nil, 0x86dd))
	f.Add(frame([]uint16{0x88a8, 0x8100}, 0x86dd))
	f.Add(frame([]uint16{0x8100}, 0x0800)[:17])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var want uint8 = offload.GSOTCPv4
		for i := 12; i+2 <= len(b); i += 4 {
			et := binary.BigEndian.Uint16(b[i:])
			if et == 0x8100 || et == 0x88a8 {
				continue
			}
			if et == 0x86dd {
				want = offload.GSOTCPv6
			}
			break
		}
		if got := GSOType(b); got != want {
			t.Fatalf("GSOType(% x) = %d, want %d", b, got, want)
		}
	})
}

package lacp

import (
	"bytes"
	"errors"
	"testing"
)

func samplePDU() PDU {
	return PDU{
		Version: 1,
		Actor: Info{SystemPriority: 65534, SystemID: [6]byte{0xba, 0x0d, 0xb6, 0xe9, 0x2c, 0x4c},
			Key: 1, PortPriority: 65535, Port: 1, State: 0x3f},
		Partner: Info{SystemPriority: 65534, SystemID: [6]byte{0xe2, 0xfe, 0x74, 0xf9, 0x00, 0x4b},
			Key: 1, PortPriority: 65535, Port: 2, State: 0x3f},
	}
}

// TestPDULayout checks the encoded bytes against the field offsets of
// 802.1AX-2014 Figure 6-7.
func TestPDULayout(t *testing.T) {
	p := samplePDU()
	var b [PDULen]byte
	if err := p.Marshal(b[:]); err != nil {
		t.Fatal(err)
	}
	want := map[int]byte{
		0: 1, 1: 1, // subtype, version
		2: 1, 3: 20, // actor TLV
		4: 0xff, 5: 0xfe, 6: 0xba, 11: 0x4c, 12: 0, 13: 1, 14: 0xff, 15: 0xff, 16: 0, 17: 1, 18: 0x3f,
		22: 2, 23: 20, // partner TLV
		24: 0xff, 25: 0xfe, 26: 0xe2, 31: 0x4b, 37: 2, 38: 0x3f,
		42: 3, 43: 16, // collector TLV
		58: 0, 59: 0, // terminator
	}
	for off, v := range want {
		if b[off] != v {
			t.Errorf("byte %d = %#x, want %#x", off, b[off], v)
		}
	}
	for _, r := range [][2]int{{19, 22}, {39, 42}, {46, 110}} {
		for i := r[0]; i < r[1]; i++ {
			if b[i] != 0 {
				t.Errorf("reserved byte %d = %#x, want 0", i, b[i])
			}
		}
	}
	got, err := ParsePDU(b[:])
	if err != nil {
		t.Fatal(err)
	}
	if got != p {
		t.Errorf("round trip: got %+v, want %+v", got, p)
	}
}

func TestParsePDUErrors(t *testing.T) {
	var good [PDULen]byte
	p := samplePDU()
	_ = p.Marshal(good[:])
	mod := func(off int, v byte) []byte {
		b := bytes.Clone(good[:])
		b[off] = v
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"short", good[:109], ErrShort},
		{"empty", nil, ErrShort},
		{"subtype", mod(0, 3), ErrSubtype},
		{"version0", mod(1, 0), ErrVersion},
		{"actor type", mod(2, 2), ErrTLV},
		{"actor len", mod(3, 19), ErrTLV},
		{"partner type", mod(22, 1), ErrTLV},
		{"partner len", mod(23, 21), ErrTLV},
		{"collector type", mod(42, 0), ErrTLV},
		{"collector len", mod(43, 0), ErrTLV},
	} {
		if _, err := ParsePDU(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	// Later versions and trailing Ethernet padding are accepted.
	b := append(mod(1, 2), 0, 0, 0, 0)
	if got, err := ParsePDU(b); err != nil || got.Version != 2 || got.Actor != p.Actor {
		t.Errorf("version 2 with padding: %+v, %v", got, err)
	}
}

func TestMarkerRoundTrip(t *testing.T) {
	m := Marker{RequesterPort: 7, RequesterSystem: [6]byte{2, 0, 0, 0, 0, 9}, TransactionID: 0xdeadbeef}
	var b [PDULen]byte
	if err := m.Marshal(b[:]); err != nil {
		t.Fatal(err)
	}
	if b[0] != 2 || b[1] != 1 || b[2] != 1 || b[3] != 16 || b[5] != 7 || b[11] != 9 || b[12] != 0xde || b[15] != 0xef {
		t.Errorf("marker layout wrong: % x", b[:20])
	}
	got, err := ParseMarker(b[:])
	if err != nil || got != m {
		t.Errorf("round trip: %+v %v", got, err)
	}
	b[2] = 3
	if _, err := ParseMarker(b[:]); !errors.Is(err, ErrTLV) {
		t.Errorf("bad marker TLV: %v", err)
	}
	if _, err := ParseMarker(b[:50]); !errors.Is(err, ErrShort) {
		t.Errorf("short marker: %v", err)
	}
}

func TestSlowPayload(t *testing.T) {
	var pdu [PDULen]byte
	p := samplePDU()
	_ = p.Marshal(pdu[:])
	f := AppendFrame(nil, [6]byte{2, 1, 2, 3, 4, 5}, pdu[:])
	if len(f) != FrameLen || !bytes.Equal(f[:6], SlowProtocolsMAC[:]) || f[12] != 0x88 || f[13] != 0x09 {
		t.Fatalf("frame header wrong: % x", f[:14])
	}
	got, err := SlowPayload(f)
	if err != nil || !bytes.Equal(got, pdu[:]) {
		t.Errorf("SlowPayload: %v", err)
	}
	f[12] = 0x08
	if _, err := SlowPayload(f); !errors.Is(err, ErrNotSlowProtocol) {
		t.Errorf("wrong EtherType: %v", err)
	}
	if _, err := SlowPayload(f[:10]); !errors.Is(err, ErrShort) {
		t.Errorf("short frame: %v", err)
	}
}

func TestStateString(t *testing.T) {
	if got := State(0x3f).String(); got != "activity timeout aggregation synchronized collecting distributing" {
		t.Errorf("0x3f = %q", got)
	}
	if got := (StateDefaulted | StateExpired | StateActivity).String(); got != "activity defaulted expired" {
		t.Errorf("got %q", got)
	}
	if got := State(0).String(); got != "" {
		t.Errorf("0 = %q", got)
	}
}

// FuzzParsePDU: any input either fails with a wrapped sentinel or decodes
// to a PDU that re-encodes to the same fixed fields.
func FuzzParsePDU(f *testing.F) {
	var b [PDULen]byte
	p := samplePDU()
	_ = p.Marshal(b[:])
	f.Add(b[:])
	f.Add(b[:50])
	var m [PDULen]byte
	mk := Marker{RequesterPort: 1, TransactionID: 5}
	_ = mk.Marshal(m[:])
	f.Add(m[:])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := ParsePDU(in)
		if err != nil {
			if !errors.Is(err, ErrShort) && !errors.Is(err, ErrSubtype) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrTLV) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		var out [PDULen]byte
		if err := got.Marshal(out[:]); err != nil {
			t.Fatal(err)
		}
		again, err := ParsePDU(out[:])
		if err != nil || again != got {
			t.Fatalf("re-encode mismatch: %+v vs %+v (%v)", again, got, err)
		}
		// The fields a receiver uses must survive byte for byte.
		if !bytes.Equal(out[2:19], in[2:19]) || !bytes.Equal(out[22:39], in[22:39]) || !bytes.Equal(out[42:46], in[42:46]) {
			t.Fatalf("fields changed in re-encode")
		}
	})
}

func FuzzParseMarker(f *testing.F) {
	var m [PDULen]byte
	mk := Marker{RequesterPort: 1, TransactionID: 5}
	_ = mk.Marshal(m[:])
	f.Add(m[:])
	f.Add(m[:30])
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := ParseMarker(in)
		if err != nil {
			return
		}
		var out [PDULen]byte
		_ = got.Marshal(out[:])
		if !bytes.Equal(out[2:16], in[2:16]) {
			t.Fatalf("marker fields changed: % x vs % x", out[2:16], in[2:16])
		}
	})
}

// FuzzReceive feeds arbitrary frames to a live aggregator: it must never
// panic and must count every frame.
func FuzzReceive(f *testing.F) {
	var b [PDULen]byte
	p := samplePDU()
	_ = p.Marshal(b[:])
	f.Add(AppendFrame(nil, [6]byte{2}, b[:]))
	var m [PDULen]byte
	mk := Marker{RequesterPort: 1}
	_ = mk.Marshal(m[:])
	f.Add(AppendFrame(nil, [6]byte{2}, m[:]))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, in []byte) {
		a, _ := New(Config{Name: "bond0", Active: true, Fast: true, SystemID: [6]byte{2, 0, 0, 0, 0, 1}})
		a.SetMember(0, MemberConfig{Name: "a0"}, t0)
		a.SetCarrier(0, true, t0)
		_, _ = a.Receive(0, in, t0)
		a.Run(t0)
		st, _ := a.MemberStats(0)
		if st.RxPDUs != 1 {
			t.Fatalf("RxPDUs = %d", st.RxPDUs)
		}
		_ = a.AppendShow(nil)
	})
}

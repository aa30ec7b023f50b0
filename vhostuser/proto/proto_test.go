package proto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func pair(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(fd int) *Conn {
		f := os.NewFile(uintptr(fd), "sock")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		return NewConn(c.(*net.UnixConn))
	}
	a, b := mk(fds[0]), mk(fds[1])
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestRoundTripWithFds(t *testing.T) {
	a, b := pair(t)
	f, err := os.CreateTemp(t.TempDir(), "mem")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	regs := []MemRegion{{GuestAddr: 0, Size: 1 << 20, UserAddr: 0x7f0000000000, MmapOffset: 0}}
	if err := a.Write(Header{Request: SetMemTable, Flags: Version | FlagNeedReply}, EncodeMemTable(regs), int(f.Fd())); err != nil {
		t.Fatal(err)
	}
	m, err := b.Read()
	if err != nil {
		t.Fatal(err)
	}
	defer m.CloseFds()
	if m.Request != SetMemTable || !m.NeedReply() || len(m.Fds) != 1 {
		t.Fatalf("got %v flags %#x fds %v", m.Request, m.Flags, m.Fds)
	}
	if FdsExpected(m.Request, m.Payload) != 1 {
		t.Fatalf("FdsExpected = %d", FdsExpected(m.Request, m.Payload))
	}
	got, err := DecodeMemTable(m.Request, m.Payload)
	if err != nil || len(got) != 1 || got[0] != regs[0] {
		t.Fatalf("decoded %+v, %v", got, err)
	}
	var st1, st2 unix.Stat_t
	unix.Fstat(int(f.Fd()), &st1)
	unix.Fstat(m.Fds[0], &st2)
	if st1.Ino != st2.Ino {
		t.Fatal("received fd is not the file sent")
	}
}

func TestReadRejectsBadHeaders(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  []byte
		want error
	}{
		{"version 0", hdr(1, 0, 0), ErrBadHeader},
		{"version 2", hdr(1, 2, 0), ErrBadHeader},
		{"huge size", hdr(5, Version, 1<<30), ErrBadHeader},
		{"short payload then EOF", hdr(2, Version, 8), ErrBadHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := pair(t)
			a.UnixConn().Write(tc.raw)
			a.UnixConn().CloseWrite()
			_, err := b.Read()
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func hdr(req, flags, size uint32) []byte {
	b := make([]byte, HeaderSize)
	Header{Request: Request(req), Flags: flags, Size: size}.Encode(b)
	return b
}

func TestPayloadSizesChecked(t *testing.T) {
	for _, tc := range []struct {
		req Request
		p   []byte
		dec func(Request, []byte) error
	}{
		{SetFeatures, make([]byte, 4), func(r Request, p []byte) error { _, e := DecodeU64(r, p); return e }},
		{SetVringNum, make([]byte, 12), func(r Request, p []byte) error { _, e := DecodeVringState(r, p); return e }},
		{SetVringAddr, make([]byte, 32), func(r Request, p []byte) error { _, e := DecodeVringAddr(r, p); return e }},
		{SetMemTable, EncodeMemTable(nil), func(r Request, p []byte) error { _, e := DecodeMemTable(r, p); return e }},
		{SetMemTable, EncodeMemTable([]MemRegion{{Size: 4096}})[:20], func(r Request, p []byte) error { _, e := DecodeMemTable(r, p); return e }},
		{SetMemTable, EncodeMemTable([]MemRegion{{Size: 0}}), func(r Request, p []byte) error { _, e := DecodeMemTable(r, p); return e }},
		{SetMemTable, EncodeMemTable([]MemRegion{{GuestAddr: ^uint64(0), Size: 2}}), func(r Request, p []byte) error { _, e := DecodeMemTable(r, p); return e }},
		{AddMemReg, make([]byte, 32), func(r Request, p []byte) error { _, e := DecodeSingleRegion(r, p); return e }},
		{IOTLBMsg, IOTLB{Type: 9}.Encode(), func(r Request, p []byte) error { _, e := DecodeIOTLB(r, p); return e }},
		{IOTLBMsg, IOTLB{Type: IOTLBUpdate, Size: 0}.Encode(), func(r Request, p []byte) error { _, e := DecodeIOTLB(r, p); return e }},
		{SetVringKick, EncodeU64(1 << 20), func(r Request, p []byte) error { _, _, e := VringFd(r, p); return e }},
		{GetConfig, Config{Data: make([]byte, 4)}.Encode()[:14], func(r Request, p []byte) error { _, e := DecodeConfig(r, p); return e }},
	} {
		if err := tc.dec(tc.req, tc.p); !errors.Is(err, ErrBadPayload) {
			t.Errorf("%v with %d bytes: err = %v, want ErrBadPayload", tc.req, len(tc.p), err)
		}
	}
}

func TestVringFd(t *testing.T) {
	i, has, err := VringFd(SetVringCall, EncodeU64(3))
	if err != nil || i != 3 || !has {
		t.Fatalf("got %d %v %v", i, has, err)
	}
	i, has, err = VringFd(SetVringCall, EncodeU64(5|VringNoFd))
	if err != nil || i != 5 || has {
		t.Fatalf("no-fd: got %d %v %v", i, has, err)
	}
	if n := FdsExpected(SetVringKick, EncodeU64(VringNoFd)); n != 0 {
		t.Fatalf("FdsExpected(no fd) = %d", n)
	}
	rem := EncodeSingleRegion(MemRegion{Size: 4096})
	if !FdsAllowed(RemMemReg, rem, 0) || !FdsAllowed(RemMemReg, rem, 1) || FdsAllowed(RemMemReg, rem, 2) {
		t.Fatal("REM_MEM_REG takes 0 or 1 fd")
	}
	if FdsAllowed(SetVringCall, EncodeU64(1), 0) || !FdsAllowed(SetVringCall, EncodeU64(1|VringNoFd), 0) {
		t.Fatal("SET_VRING_CALL fd rule")
	}
}

func TestRequestString(t *testing.T) {
	if s := SetMemTable.String(); s != "SET_MEM_TABLE" {
		t.Fatal(s)
	}
	if s := Request(999).String(); s != "request 999" {
		t.Fatal(s)
	}
}

// FuzzDecode feeds arbitrary header+payload bytes through the decoders the
// back-end uses. None may panic; what decodes must re-encode to the same
// bytes.
func FuzzDecode(f *testing.F) {
	add := func(r Request, p []byte) {
		b := make([]byte, HeaderSize+len(p))
		Header{Request: r, Flags: Version, Size: uint32(len(p))}.Encode(b)
		copy(b[HeaderSize:], p)
		f.Add(b)
	}
	add(SetFeatures, EncodeU64(1<<32))
	add(SetVringNum, VringState{Index: 1, Num: 256}.Encode())
	add(SetVringAddr, VringAddr{Index: 1, Desc: 0x1000, Used: 0x3000, Avail: 0x2000}.Encode())
	add(SetMemTable, EncodeMemTable([]MemRegion{{0, 1 << 20, 0x7f0000000000, 0}, {1 << 32, 1 << 20, 0x7f1000000000, 4096}}))
	add(AddMemReg, EncodeSingleRegion(MemRegion{0, 4096, 0x1000, 0}))
	add(IOTLBMsg, IOTLB{IOVA: 0x1000, Size: 0x1000, UAddr: 0x2000, Perm: IOTLBPermRW, Type: IOTLBUpdate}.Encode())
	add(GetConfig, Config{Offset: 0, Data: make([]byte, 12)}.Encode())
	add(SetVringCall, EncodeU64(VringNoFd|1))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			return
		}
		if h.Size > MaxPayload {
			t.Fatalf("accepted size %d", h.Size)
		}
		p := b[HeaderSize:]
		if int(h.Size) < len(p) {
			p = p[:h.Size]
		}
		_ = FdsExpected(h.Request, p)
		_ = h.Request.String()
		if v, err := DecodeU64(h.Request, p); err == nil && !bytes.Equal(EncodeU64(v), p) {
			t.Fatal("u64 round trip")
		}
		if s, err := DecodeVringState(h.Request, p); err == nil && !bytes.Equal(s.Encode(), p) {
			t.Fatal("vring state round trip")
		}
		if a, err := DecodeVringAddr(h.Request, p); err == nil && !bytes.Equal(a.Encode(), p) {
			t.Fatal("vring addr round trip")
		}
		if regs, err := DecodeMemTable(h.Request, p); err == nil {
			if len(regs) == 0 || len(regs) > MaxRegions {
				t.Fatalf("%d regions", len(regs))
			}
			for _, r := range regs {
				if r.Size == 0 || r.GuestAddr+r.Size < r.GuestAddr || r.UserAddr+r.Size < r.UserAddr {
					t.Fatalf("bad region accepted: %+v", r)
				}
			}
			q := EncodeMemTable(regs)
			if !bytes.Equal(q[SizeMemTableHd:], p[SizeMemTableHd:]) || binary.LittleEndian.Uint32(q) != binary.LittleEndian.Uint32(p) {
				t.Fatal("mem table round trip")
			}
		}
		if r, err := DecodeSingleRegion(h.Request, p); err == nil && r.Size == 0 {
			t.Fatal("empty region accepted")
		}
		if m, err := DecodeIOTLB(h.Request, p); err == nil && (m.Type < IOTLBMiss || m.Type > IOTLBAccessFail) {
			t.Fatal("bad IOTLB type accepted")
		}
		if c, err := DecodeConfig(h.Request, p); err == nil && len(c.Data) > MaxConfigSize {
			t.Fatal("oversized config accepted")
		}
	})
}

package ovshash

import "testing"

// For whole 32-bit words hash_bytes is MurmurHash3_x86_32 (the mix of
// hash_add, the finish with the length), so the published MurmurHash3
// test vectors apply; a zero-padded tail is OVS's own rule.
func TestBytesMurmur3Vectors(t *testing.T) {
	for _, tc := range []struct {
		in    string
		basis uint32
		want  uint32
	}{
		{"", 0, 0},
		{"", 1, 0x514e28b7},
		{"", 0xffffffff, 0x81f16f39},
		{"test", 0, 0xba6bd213},
		{"test", 0x9747b28c, 0x704b81dc},
		{"\x00\x00\x00\x00", 0, 0x2362f9de},
	} {
		if got := Bytes([]byte(tc.in), tc.basis); got != tc.want {
			t.Errorf("Bytes(%q, %#x) = %#x, want %#x", tc.in, tc.basis, got, tc.want)
		}
	}
}

// A tail is read as a little-endian word padded with zeros.
func TestBytesTail(t *testing.T) {
	got := Bytes([]byte("abcde"), 7)
	want := Finish(Add(Add(7, 0x64636261), 0x65), 5)
	if got != want {
		t.Fatalf("Bytes(abcde) = %#x, want %#x", got, want)
	}
}

func TestAdd64IsLowHalfFirst(t *testing.T) {
	if got, want := Add64(3, 0x1111111122222222), Add(Add(3, 0x22222222), 0x11111111); got != want {
		t.Fatalf("Add64 = %#x, want %#x", got, want)
	}
}

package tap

import (
	"testing"

	"gvswitch/internal/offload"
)

// gsoType looks past VLAN tags for the IP version of a GSO frame (the
// virtio-net header's gso_type must match it, or the kernel refuses the
// write).
func TestGSOType(t *testing.T) {
	mac := make([]byte, 12)
	for _, tc := range []struct {
		name string
		tail []byte
		want uint8
	}{
		{"ipv4", []byte{0x08, 0x00, 0x45}, offload.GSOTCPv4},
		{"ipv6", []byte{0x86, 0xdd, 0x60}, offload.GSOTCPv6},
		{"vlan-ipv6", []byte{0x81, 0x00, 0, 5, 0x86, 0xdd, 0x60}, offload.GSOTCPv6},
		{"qinq-ipv6", []byte{0x88, 0xa8, 0, 5, 0x81, 0x00, 0, 6, 0x86, 0xdd}, offload.GSOTCPv6},
		{"vlan-ipv4", []byte{0x81, 0x00, 0, 5, 0x08, 0x00}, offload.GSOTCPv4},
		{"truncated-tag", []byte{0x81, 0x00, 0}, offload.GSOTCPv4},
	} {
		if got := gsoType(append(append([]byte(nil), mac...), tc.tail...)); got != tc.want {
			t.Errorf("%s: gso type %d, want %d", tc.name, got, tc.want)
		}
	}
}

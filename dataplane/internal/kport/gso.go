package kport

import "gvswitch/internal/offload"

// GSOType is the virtio-net GSO type (virtio 1.1 5.1.6: VIRTIO_NET_HDR_GSO_
// TCPV4 or TCPV6) a kernel socket wants with a TCP GSO frame, by the IP
// version past any 802.1Q/802.1ad tags. A frame too short to say is TCPv4.
func GSOType(frame []byte) uint8 {
	i := 12
	for i+2 <= len(frame) && (frame[i] == 0x81 && frame[i+1] == 0x00 || frame[i] == 0x88 && frame[i+1] == 0xa8) {
		i += 4
	}
	if i+2 <= len(frame) && frame[i] == 0x86 && frame[i+1] == 0xdd {
		return offload.GSOTCPv6
	}
	return offload.GSOTCPv4
}

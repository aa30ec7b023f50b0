package offload

import (
	"encoding/binary"
	"errors"
)

// VnetHdrLen is the size of struct virtio_net_hdr without num_buffers
// (virtio 1.1, 5.1.6 "Device Operation"), as used by PACKET_VNET_HDR and
// IFF_VNET_HDR with the default header size.
const VnetHdrLen = 10

// virtio_net_hdr flags and gso_type values (virtio 1.1, 5.1.6).
const (
	FlagNeedsCsum = 1
	FlagDataValid = 2

	GSONone  = 0
	GSOTCPv4 = 1
	GSOUDP   = 3
	GSOTCPv6 = 4
	GSOUDPL4 = 5
	GSOECN   = 0x80
)

// VnetHdr is a decoded virtio-net header. Multi-byte fields are
// little-endian on the wire: the kernel uses the legacy virtio byte order
// of a little-endian host for packet sockets and taps (x86, arm64).
type VnetHdr struct {
	Flags      uint8
	GSOType    uint8
	HdrLen     uint16
	GSOSize    uint16
	CsumStart  uint16
	CsumOffset uint16
}

// ErrShort is returned for a buffer too short for what it must hold.
var ErrShort = errors.New("offload: buffer too short")

// DecodeVnetHdr reads a header from b.
func DecodeVnetHdr(b []byte) (VnetHdr, error) {
	if len(b) < VnetHdrLen {
		return VnetHdr{}, ErrShort
	}
	return VnetHdr{
		Flags:      b[0],
		GSOType:    b[1],
		HdrLen:     binary.LittleEndian.Uint16(b[2:]),
		GSOSize:    binary.LittleEndian.Uint16(b[4:]),
		CsumStart:  binary.LittleEndian.Uint16(b[6:]),
		CsumOffset: binary.LittleEndian.Uint16(b[8:]),
	}, nil
}

// Encode writes h into b[:VnetHdrLen].
func (h VnetHdr) Encode(b []byte) {
	_ = b[VnetHdrLen-1]
	b[0] = h.Flags
	b[1] = h.GSOType
	binary.LittleEndian.PutUint16(b[2:], h.HdrLen)
	binary.LittleEndian.PutUint16(b[4:], h.GSOSize)
	binary.LittleEndian.PutUint16(b[6:], h.CsumStart)
	binary.LittleEndian.PutUint16(b[8:], h.CsumOffset)
}

// Sum adds b to the ones' complement sum s (RFC 1071), big-endian 16-bit
// words, an odd last byte padded with zero.
func Sum(s uint64, b []byte) uint64 {
	for len(b) >= 8 {
		s += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	if len(b) >= 4 {
		s += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

// Fold folds a sum to 16 bits (not complemented).
func Fold(s uint64) uint16 {
	for s > 0xffff {
		s = (s >> 16) + (s & 0xffff)
	}
	return uint16(s)
}

// CompletePartial finishes a CHECKSUM_PARTIAL frame: the 16-bit field at
// start+offset holds the folded pseudo-header sum; the checksum of
// frame[start:] is stored there, complemented (as a NIC would, and as
// virtio 1.1 5.1.6.2 describes for VIRTIO_NET_HDR_F_NEEDS_CSUM).
func CompletePartial(frame []byte, start, offset int) error {
	if start < 0 || offset < 0 || start+offset+2 > len(frame) {
		return ErrShort
	}
	c := ^Fold(Sum(0, frame[start:]))
	// RFC 768: a UDP checksum computed as zero is sent as all ones;
	// for TCP 0 and 0xffff are equivalent.
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(frame[start+offset:], c)
	return nil
}

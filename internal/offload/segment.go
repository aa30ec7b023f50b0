package offload

import (
	"encoding/binary"
	"errors"
)

// ErrNotTCP is returned by Segmenter.Init for a frame that is not
// Ethernet (+802.1Q/802.1ad tags) + IPv4/IPv6 + TCP.
var ErrNotTCP = errors.New("offload: not a TCP frame")

// ErrBadMSS is returned for a segment size of 0.
var ErrBadMSS = errors.New("offload: GSO size 0")

const (
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd
	etherTypeVLAN = 0x8100
	etherTypeQinQ = 0x88a8
	protoTCP      = 6
)

// Segmenter splits one TCP GSO frame into frames carrying at most MSS
// payload bytes each, like the kernel's tcp_gso_segment: each segment gets
// the headers with the IPv4 total length, id and header checksum or the
// IPv6 payload length fixed, the sequence number advanced, FIN/PSH only on
// the last and CWR only on the first. The TCP checksum is left partial
// (the pseudo-header sum in the checksum field), to be completed by the
// egress port or CompletePartial at L4Offset(), field offset 16.
//
// A Segmenter is reusable and does not allocate; the frame must stay
// unchanged until the last Next.
type Segmenter struct {
	frame  []byte
	l3, l4 int // offsets of the IP and TCP headers
	hdrLen int // all headers
	v6     bool
	mss    int
	off    int // payload bytes already emitted
	seq    uint32
	id     uint16
	n      int // segments emitted
}

// Init prepares to segment frame with segment size mss.
func (s *Segmenter) Init(frame []byte, mss int) error {
	*s = Segmenter{}
	if mss <= 0 {
		return ErrBadMSS
	}
	if len(frame) < 14 {
		return ErrNotTCP
	}
	l3 := 12
	et := binary.BigEndian.Uint16(frame[l3:])
	for et == etherTypeVLAN || et == etherTypeQinQ {
		l3 += 4
		if len(frame) < l3+2 {
			return ErrNotTCP
		}
		et = binary.BigEndian.Uint16(frame[l3:])
	}
	l3 += 2
	var l4 int
	switch et {
	case etherTypeIPv4:
		if len(frame) < l3+20 || frame[l3]>>4 != 4 || frame[l3+9] != protoTCP {
			return ErrNotTCP
		}
		ihl := int(frame[l3]&0xf) * 4
		if ihl < 20 {
			return ErrNotTCP
		}
		l4 = l3 + ihl
		s.id = binary.BigEndian.Uint16(frame[l3+4:])
	case etherTypeIPv6:
		// Extension headers are not followed: the kernel only builds
		// TCPv6 GSO frames with TCP right after the fixed header here.
		if len(frame) < l3+40 || frame[l3]>>4 != 6 || frame[l3+6] != protoTCP {
			return ErrNotTCP
		}
		l4 = l3 + 40
		s.v6 = true
	default:
		return ErrNotTCP
	}
	if len(frame) < l4+20 {
		return ErrNotTCP
	}
	doff := int(frame[l4+12]>>4) * 4
	if doff < 20 || len(frame) < l4+doff {
		return ErrNotTCP
	}
	s.frame, s.l3, s.l4, s.hdrLen, s.mss = frame, l3, l4, l4+doff, mss
	s.seq = binary.BigEndian.Uint32(frame[l4+4:])
	return nil
}

// Done reports whether every segment was emitted.
func (s *Segmenter) Done() bool {
	return s.frame == nil || (s.n > 0 && s.off >= len(s.frame)-s.hdrLen)
}

// L4Offset is the offset of the TCP header in every segment.
func (s *Segmenter) L4Offset() int { return s.l4 }

// MaxSegmentLen is the length of the largest segment.
func (s *Segmenter) MaxSegmentLen() int { return s.hdrLen + s.mss }

// Next writes the next segment into dst and returns its length; 0 with
// ErrShort if dst cannot hold it (nothing is consumed then).
func (s *Segmenter) Next(dst []byte) (int, error) {
	payload := len(s.frame) - s.hdrLen
	chunk := min(s.mss, payload-s.off)
	if chunk < 0 {
		chunk = 0
	}
	n := s.hdrLen + chunk
	if len(dst) < n {
		return 0, ErrShort
	}
	copy(dst, s.frame[:s.hdrLen])
	copy(dst[s.hdrLen:n], s.frame[s.hdrLen+s.off:])
	last := s.off+chunk >= payload
	ip, tcp := dst[s.l3:], dst[s.l4:]
	binary.BigEndian.PutUint32(tcp[4:], s.seq+uint32(s.off))
	flags := tcp[13]
	if !last {
		flags &^= 0x01 | 0x08 // FIN, PSH
	}
	if s.n > 0 {
		flags &^= 0x80 // CWR
	}
	tcp[13] = flags
	l4len := n - s.l4
	var sum uint64
	if s.v6 {
		binary.BigEndian.PutUint16(ip[4:], uint16(n-s.l3-40))
		sum = Sum(0, ip[8:40]) // source and destination addresses
	} else {
		binary.BigEndian.PutUint16(ip[2:], uint16(n-s.l3))
		binary.BigEndian.PutUint16(ip[4:], s.id+uint16(s.n))
		ip[10], ip[11] = 0, 0
		ihl := s.l4 - s.l3
		binary.BigEndian.PutUint16(ip[10:], ^Fold(Sum(0, ip[:ihl])))
		sum = Sum(0, ip[12:20])
	}
	sum += protoTCP + uint64(l4len)
	binary.BigEndian.PutUint16(tcp[16:], Fold(sum))
	s.off += chunk
	s.n++
	return n, nil
}

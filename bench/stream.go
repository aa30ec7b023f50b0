package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Frame layout constants (IEEE 802.3, 802.1Q, RFC 791, RFC 768).
const (
	ethHeader  = 14
	vlanTag    = 4
	ipv4Header = 20
	udpHeader  = 8
	// SignatureLen is the payload signature every generated frame
	// carries right after its UDP header: magic (2 bytes), run epoch,
	// stream index, sequence number (32 bits) and transmit time (48-bit
	// nanoseconds since the run started: 78 hours), all big-endian. It
	// fits a 64-byte frame with an 802.1Q tag.
	SignatureLen = 14
	// MinFrame and MaxFrame bound frame sizes. Sizes count the 4-byte
	// FCS, as RFC 2544 section 9.1 and DPDK's pktgen do; the port is
	// handed size-4 bytes (the FCS is the NIC's, absent on virtio).
	MinFrame = 64
	MaxFrame = 9216
	FCSLen   = 4
	// WireOverhead is what a frame costs on the wire beyond its size:
	// preamble and start delimiter (8) and the inter-frame gap (12)
	// (IEEE 802.3 clause 4.4.2).
	WireOverhead = 20
	// MaxBurst is the largest burst the generator moves at once.
	MaxBurst = 64

	magic = 0x4756 // "GV"
)

// IMIX is the simple IMIX: 7 frames of 64 bytes, 4 of 594 and 1 of 1518
// (average 361.8 bytes), sent in that interleaved pattern.
var IMIX = []int{64, 594, 64, 64, 594, 64, 1518, 64, 594, 64, 594, 64}

// ErrBadStream is wrapped by Stream.Validate and the stream parsers.
var ErrBadStream = errors.New("bad stream")

// Stream is one flow pattern from a transmit port, expected back on a
// receive port. Every address or port field with a count above 1 steps
// through that many consecutive values, one step per frame, so a stream
// makes up to the product of the counts distinct flows (as pktgen's range
// mode does; a balance-tcp bond hashes them apart).
type Stream struct {
	// Name names the stream in results ("" : its index).
	Name string
	// Tx and Rx are indexes of the transmit and receive ports.
	Tx, Rx int
	// Sizes are frame sizes sent in turn (one size, or IMIX).
	Sizes []int
	// SrcMAC and DstMAC are the Ethernet addresses.
	SrcMAC, DstMAC [6]byte
	// VLAN, if not 0, adds an 802.1Q tag with this VLAN ID.
	VLAN int
	// SrcIP and DstIP are the first IPv4 addresses; SrcIPs and DstIPs
	// how many consecutive addresses to use (0 or 1: one).
	SrcIP, DstIP   netip.Addr
	SrcIPs, DstIPs int
	// SrcPort and DstPort are the first UDP ports; SrcPorts, DstPorts
	// how many consecutive ports to use.
	SrcPort, DstPort   uint16
	SrcPorts, DstPorts int
	// Rate is the stream's rate in frames per second; 0 sends as fast as
	// the port takes frames.
	Rate float64
}

// DefaultStream is a stream of 64-byte frames from port 0 back to port 0
// between two locally administered addresses.
func DefaultStream() Stream {
	return Stream{
		Sizes:  []int{64},
		SrcMAC: [6]byte{0x02, 0, 0, 0, 0, 0x01}, DstMAC: [6]byte{0x02, 0, 0, 0, 0, 0x02},
		SrcIP: netip.AddrFrom4([4]byte{198, 18, 0, 1}), DstIP: netip.AddrFrom4([4]byte{198, 19, 0, 1}),
		SrcPort: 1024, DstPort: 1024,
	}
}

// Validate checks the stream against nPorts ports.
func (s *Stream) Validate(nPorts int) error {
	if s.Tx < 0 || s.Tx >= nPorts || s.Rx < 0 || s.Rx >= nPorts {
		return fmt.Errorf("%w: ports %d->%d with %d ports", ErrBadStream, s.Tx, s.Rx, nPorts)
	}
	if len(s.Sizes) == 0 {
		return fmt.Errorf("%w: no frame size", ErrBadStream)
	}
	min := ethHeader + ipv4Header + udpHeader + SignatureLen + FCSLen
	if s.VLAN != 0 {
		min += vlanTag
	}
	min = max(min, MinFrame)
	for _, n := range s.Sizes {
		if n < min || n > MaxFrame {
			return fmt.Errorf("%w: frame size %d outside %d..%d", ErrBadStream, n, min, MaxFrame)
		}
	}
	if s.VLAN < 0 || s.VLAN > 4094 {
		return fmt.Errorf("%w: VLAN %d outside 0..4094", ErrBadStream, s.VLAN)
	}
	if !s.SrcIP.Is4() || !s.DstIP.Is4() {
		return fmt.Errorf("%w: addresses must be IPv4", ErrBadStream)
	}
	if s.Rate < 0 {
		return fmt.Errorf("%w: negative rate", ErrBadStream)
	}
	for _, c := range []int{s.SrcIPs, s.DstIPs, s.SrcPorts, s.DstPorts} {
		if c < 0 || c > 1<<24 {
			return fmt.Errorf("%w: range count %d outside 0..%d", ErrBadStream, c, 1<<24)
		}
	}
	return nil
}

// Flows is how many distinct 5-tuples the stream cycles through.
func (s *Stream) Flows() int {
	l := 1
	for _, c := range []int{s.SrcIPs, s.DstIPs, s.SrcPorts, s.DstPorts} {
		if c > 1 {
			l = lcm(l, c)
		}
	}
	return l
}

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// AvgSize is the mean frame size.
func (s *Stream) AvgSize() float64 {
	t := 0
	for _, n := range s.Sizes {
		t += n
	}
	return float64(t) / float64(len(s.Sizes))
}

// frameGen writes a stream's frames; it holds the stream's values in the
// form the per-frame code wants: a header template with the fields that
// never change, and the IPv4 checksum's sum over them.
type frameGen struct {
	sizes              []int
	srcIP, dstIP       uint32
	srcIPs, dstIPs     uint32
	srcPort, dstPort   uint16
	srcPorts, dstPorts uint32
	epoch, index       byte
	tmpl               [ethHeader + vlanTag + ipv4Header + udpHeader]byte
	ipOff, sigOff      int    // offsets of the IPv4 header and the signature
	csumBase           uint32 // RFC 1071 sum of the template's fixed IPv4 words
}

func newFrameGen(s *Stream, epoch, index byte) frameGen {
	one := func(c int) uint32 { return uint32(max(c, 1)) }
	a, b := s.SrcIP.As4(), s.DstIP.As4()
	g := frameGen{sizes: s.Sizes,
		srcIP: binary.BigEndian.Uint32(a[:]), dstIP: binary.BigEndian.Uint32(b[:]),
		srcIPs: one(s.SrcIPs), dstIPs: one(s.DstIPs), srcPort: s.SrcPort, dstPort: s.DstPort,
		srcPorts: one(s.SrcPorts), dstPorts: one(s.DstPorts), epoch: epoch, index: index}
	t := g.tmpl[:]
	copy(t[0:6], s.DstMAC[:])
	copy(t[6:12], s.SrcMAC[:])
	off := 12
	if s.VLAN != 0 {
		binary.BigEndian.PutUint16(t[12:], 0x8100)
		binary.BigEndian.PutUint16(t[14:], uint16(s.VLAN))
		off = 16
	}
	binary.BigEndian.PutUint16(t[off:], 0x0800)
	g.ipOff = off + 2
	ip := t[g.ipOff : g.ipOff+ipv4Header]
	ip[0] = 0x45                               // version 4, 5 words (RFC 791 3.1)
	binary.BigEndian.PutUint16(ip[6:], 0x4000) // don't fragment
	ip[8] = 64
	ip[9] = 17 // UDP
	for i := 0; i < ipv4Header; i += 2 {
		g.csumBase += uint32(ip[i])<<8 | uint32(ip[i+1])
	}
	g.sigOff = g.ipOff + ipv4Header + udpHeader
	return g
}

// fill writes frame number seq into buf (at least MaxFrame bytes) and
// returns it cut to its size less the FCS. Bytes past the signature are
// left as they are (padding).
func (g *frameGen) fill(buf []byte, seq uint32, now int64) []byte {
	size := g.sizes[0]
	if len(g.sizes) > 1 {
		size = g.sizes[int(seq%uint32(len(g.sizes)))]
	}
	size -= FCSLen
	b := buf[:size:size]
	copy(b, g.tmpl[:g.sigOff])
	ip := b[g.ipOff : g.ipOff+ipv4Header]
	ipLen := uint32(size - g.ipOff)
	src, dst := g.srcIP, g.dstIP
	if g.srcIPs > 1 {
		src += seq % g.srcIPs
	}
	if g.dstIPs > 1 {
		dst += seq % g.dstIPs
	}
	binary.BigEndian.PutUint16(ip[2:], uint16(ipLen))
	binary.BigEndian.PutUint16(ip[4:], uint16(seq)) // identification
	binary.BigEndian.PutUint32(ip[12:], src)
	binary.BigEndian.PutUint32(ip[16:], dst)
	// RFC 1071: the one's complement sum of the fixed words (kept) and
	// the ones written per frame, folded.
	sum := g.csumBase + ipLen + seq&0xffff + src>>16 + src&0xffff + dst>>16 + dst&0xffff
	sum = sum>>16 + sum&0xffff
	sum += sum >> 16
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	udp := b[g.ipOff+ipv4Header : g.sigOff]
	sp, dp := g.srcPort, g.dstPort
	if g.srcPorts > 1 {
		sp += uint16(seq % g.srcPorts)
	}
	if g.dstPorts > 1 {
		dp += uint16(seq % g.dstPorts)
	}
	binary.BigEndian.PutUint16(udp[0:], sp)
	binary.BigEndian.PutUint16(udp[2:], dp)
	binary.BigEndian.PutUint16(udp[4:], uint16(ipLen-ipv4Header)) // checksum 0: none (RFC 768)
	sig := b[g.sigOff : g.sigOff+SignatureLen]
	binary.BigEndian.PutUint16(sig[0:], magic)
	sig[2] = g.epoch
	sig[3] = g.index
	binary.BigEndian.PutUint32(sig[4:], seq)
	binary.BigEndian.PutUint16(sig[8:], uint16(now>>32))
	binary.BigEndian.PutUint32(sig[10:], uint32(now))
	return b
}

// ipChecksum is the RFC 791 header checksum (RFC 1071 one's complement
// sum) of a 20-byte header.
func ipChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// Signature is what a received frame's payload says about it.
type Signature struct {
	Epoch, Stream byte
	Seq           uint32
	Sent          int64 // ns since the run started
}

// ParseSignature finds the signature of a generated frame: Ethernet,
// optionally one or two 802.1Q/802.1ad tags, IPv4 (any header length),
// UDP, then the signature. ok is false for any other frame.
func ParseSignature(f []byte) (sig Signature, ok bool) {
	if len(f) < ethHeader {
		return sig, false
	}
	off := 12
	et := binary.BigEndian.Uint16(f[off:])
	for k := 0; k < 2 && (et == 0x8100 || et == 0x88a8); k++ {
		off += vlanTag
		if len(f) < off+2 {
			return sig, false
		}
		et = binary.BigEndian.Uint16(f[off:])
	}
	off += 2
	if et != 0x0800 || len(f) < off+ipv4Header || f[off]>>4 != 4 || f[off+9] != 17 {
		return sig, false
	}
	off += int(f[off]&0xf) * 4
	off += udpHeader
	if len(f) < off+SignatureLen || binary.BigEndian.Uint16(f[off:]) != magic {
		return sig, false
	}
	s := f[off : off+SignatureLen]
	sent := int64(binary.BigEndian.Uint16(s[8:]))<<32 | int64(binary.BigEndian.Uint32(s[10:]))
	return Signature{Epoch: s[2], Stream: s[3], Seq: binary.BigEndian.Uint32(s[4:]), Sent: sent}, true
}

// ParseSizes parses a frame size list: "64", "64,1518", or "imix".
func ParseSizes(s string) ([]int, error) {
	if strings.EqualFold(s, "imix") {
		return append([]int(nil), IMIX...), nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < MinFrame || n > MaxFrame {
			return nil, fmt.Errorf("%w: frame size %q: want %d..%d or imix", ErrBadStream, f, MinFrame, MaxFrame)
		}
		out = append(out, n)
	}
	return out, nil
}

// ParseRate parses a rate: "max" (or ""), frames per second with an
// optional k/M/G suffix and optional "pps" ("2.5Mpps"), or a percentage of
// a 10 Gbit/s line rate for the given mean frame size ("50%").
func ParseRate(s string, avgSize float64) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "max") {
		return 0, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v <= 0 || v > 100 {
			return 0, fmt.Errorf("%w: rate %q: percentage must be in (0, 100]", ErrBadStream, s)
		}
		return v / 100 * LineRatePPS(10e9, avgSize), nil
	}
	s = strings.TrimSuffix(strings.TrimSuffix(s, "pps"), "PPS")
	mul := 1.0
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mul, s = 1e3, s[:len(s)-1]
	case strings.HasSuffix(s, "M"), strings.HasSuffix(s, "m"):
		mul, s = 1e6, s[:len(s)-1]
	case strings.HasSuffix(s, "G"):
		mul, s = 1e9, s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%w: rate %q: want max, N[k|M]pps or P%%", ErrBadStream, s)
	}
	return v * mul, nil
}

// LineRatePPS is the frame rate of a link of bitsPerSec bits per second
// full of frames of size bytes (each costing WireOverhead more).
func LineRatePPS(bitsPerSec, size float64) float64 {
	return bitsPerSec / ((size + WireOverhead) * 8)
}

// ParseMAC parses an Ethernet address "aa:bb:cc:dd:ee:ff".
func ParseMAC(s string) ([6]byte, error) {
	var m [6]byte
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return m, fmt.Errorf("%w: MAC %q", ErrBadStream, s)
	}
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 16, 8)
		if err != nil || len(p) > 2 || p == "" {
			return m, fmt.Errorf("%w: MAC %q", ErrBadStream, s)
		}
		m[i] = byte(v)
	}
	return m, nil
}

// ParseIPRange parses "A" or "A+N" (N consecutive addresses from A).
func ParseIPRange(s string) (netip.Addr, int, error) {
	a, n, _ := strings.Cut(s, "+")
	ip, err := netip.ParseAddr(a)
	if err != nil || !ip.Is4() {
		return ip, 0, fmt.Errorf("%w: IPv4 range %q: want A or A+N", ErrBadStream, s)
	}
	c := 1
	if n != "" {
		if c, err = strconv.Atoi(n); err != nil || c < 1 || c > 1<<24 {
			return ip, 0, fmt.Errorf("%w: IPv4 range %q: count must be 1..%d", ErrBadStream, s, 1<<24)
		}
	}
	return ip, c, nil
}

// ParsePortRange parses "P" or "P+N" (N consecutive UDP ports from P).
func ParsePortRange(s string) (uint16, int, error) {
	a, n, _ := strings.Cut(s, "+")
	p, err := strconv.ParseUint(a, 10, 16)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: port range %q: want P or P+N", ErrBadStream, s)
	}
	c := 1
	if n != "" {
		if c, err = strconv.Atoi(n); err != nil || c < 1 || c > 65536 {
			return 0, 0, fmt.Errorf("%w: port range %q: count must be 1..65536", ErrBadStream, s)
		}
	}
	return uint16(p), c, nil
}

package bond

import (
	"encoding/binary"

	"gvswitch/internal/ovshash"
)

// The hashes are built with Open vSwitch's portable hash (internal/ovshash),
// so that `bond/hash` prints the same bucket as ovs-vswitchd on Debian's
// build for the same MAC, VLAN and basis.

// HashSLB is the balance-slb hash of a source MAC and the logical VLAN the
// frame belongs to (VID only, 0 for none), as OVS's hash_mac(): the 64-bit
// value vlan<<48 | mac hashed with basis (other_config:bond-hash-basis).
// The low 8 bits choose the bucket.
func HashSLB(mac [6]byte, vlan uint16, basis uint32) uint32 {
	x := uint64(vlan)<<48 | uint64(mac[0])<<40 | uint64(mac[1])<<32 |
		uint64(mac[2])<<24 | uint64(mac[3])<<16 | uint64(mac[4])<<8 | uint64(mac[5])
	return ovshash.Finish(ovshash.Add64(basis, x), 8)
}

// EtherTypes and IP protocols HashL4 understands.
const (
	etherIPv4  = 0x0800
	etherARP   = 0x0806
	etherIPv6  = 0x86dd
	etherVLAN  = 0x8100
	etherQinQ  = 0x88a8
	protoICMP  = 1
	protoTCP   = 6
	protoUDP   = 17
	protoICMP6 = 58
	protoSCTP  = 132
)

// HashL4 is the balance-tcp hash of an Ethernet frame: the IPv4 or IPv6
// source and destination addresses and protocol, plus the source and
// destination ports for TCP, UDP and SCTP (type and code for ICMP), hashed
// with basis. Up to two VLAN tags are skipped. Non-IP frames hash the
// addresses of ARP, and nothing (a constant) otherwise. The field order and
// arithmetic are those of OVS's flow_hash_5tuple() on a little-endian host.
// Truncated or malformed headers hash what could be read; HashL4 never
// reads outside frame and never allocates.
func HashL4(frame []byte, basis uint32) uint32 {
	h := basis
	if len(frame) < 14 {
		return ovshash.Finish(h, 42)
	}
	et := binary.BigEndian.Uint16(frame[12:])
	off := 14
	for i := 0; i < 2 && (et == etherVLAN || et == etherQinQ); i++ {
		if len(frame) < off+4 {
			return ovshash.Finish(h, 42)
		}
		et = binary.BigEndian.Uint16(frame[off+2:])
		off += 4
	}
	l3 := frame[off:]
	var proto uint8
	l4 := -1 // offset of the L4 header in l3, -1 when ports are not hashed
	switch et {
	case etherIPv4:
		if len(l3) < 20 {
			return ovshash.Finish(h, 42)
		}
		h = ovshash.Add(h, binary.LittleEndian.Uint32(l3[12:]))
		h = ovshash.Add(h, binary.LittleEndian.Uint32(l3[16:]))
		proto = l3[9]
		ihl := int(l3[0]&0x0f) * 4
		// A later fragment (offset != 0) carries no L4 header.
		if ihl >= 20 && binary.BigEndian.Uint16(l3[6:])&0x1fff == 0 {
			l4 = ihl
		}
	case etherARP:
		if len(l3) < 28 {
			return ovshash.Finish(h, 42)
		}
		h = ovshash.Add(h, binary.LittleEndian.Uint32(l3[14:])) // sender protocol address
		h = ovshash.Add(h, binary.LittleEndian.Uint32(l3[24:])) // target protocol address
		if op := binary.BigEndian.Uint16(l3[6:]); op <= 0xff {
			proto = uint8(op)
		}
	case etherIPv6:
		if len(l3) < 40 {
			return ovshash.Finish(h, 42)
		}
		for i := 8; i < 40; i += 8 {
			h = ovshash.Add64(h, binary.LittleEndian.Uint64(l3[i:]))
		}
		proto, l4 = ipv6Upper(l3)
	default:
		return ovshash.Finish(h, 42)
	}
	h = ovshash.Add(h, uint32(proto))
	var ports uint32
	switch proto {
	case protoTCP, protoUDP, protoSCTP:
		if l4 >= 0 && len(l3) >= l4+4 {
			ports = binary.LittleEndian.Uint32(l3[l4:])
		}
	case protoICMP, protoICMP6:
		// OVS stores type and code as 16-bit "ports".
		if l4 >= 0 && len(l3) >= l4+2 {
			ports = uint32(l3[l4])<<8 | uint32(l3[l4+1])<<24
		}
	default:
		return ovshash.Finish(h, 42)
	}
	h = ovshash.Add(h, ports)
	return ovshash.Finish(h, 42)
}

// ipv6Upper walks IPv6 extension headers (RFC 8200 4.1) and returns the
// upper-layer protocol and its offset in ip6, or -1 when the ports are not
// available (a later fragment, or headers cut short).
func ipv6Upper(ip6 []byte) (uint8, int) {
	next := ip6[6]
	off := 40
	for i := 0; i < 8; i++ {
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(ip6) < off+2 {
				return next, -1
			}
			next, off = ip6[off], off+(int(ip6[off+1])+1)*8
		case 51: // authentication header: length in 4-octet units minus 2
			if len(ip6) < off+2 {
				return next, -1
			}
			next, off = ip6[off], off+(int(ip6[off+1])+2)*4
		case 44: // fragment
			if len(ip6) < off+8 {
				return next, -1
			}
			later := binary.BigEndian.Uint16(ip6[off+2:])&0xfff8 != 0
			next, off = ip6[off], off+8
			if later {
				return next, -1
			}
		default:
			return next, off
		}
	}
	return next, -1
}

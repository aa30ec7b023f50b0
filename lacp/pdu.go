package lacp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors wrapped by the decoders; test with errors.Is.
var (
	// ErrShort: the frame or PDU is shorter than its fixed layout.
	ErrShort = errors.New("lacp: PDU too short")
	// ErrNotSlowProtocol: the frame's EtherType is not 0x8809.
	ErrNotSlowProtocol = errors.New("lacp: not a slow-protocols frame")
	// ErrSubtype: the slow-protocols subtype is neither LACP (1) nor Marker (2).
	ErrSubtype = errors.New("lacp: unknown slow-protocols subtype")
	// ErrVersion: the version field is 0.
	ErrVersion = errors.New("lacp: bad version")
	// ErrTLV: a TLV type or length is not what the layout requires.
	ErrTLV = errors.New("lacp: bad TLV")
)

// Slow-protocols framing, 802.1AX-2014 6.2.11 and IEEE 802.3 Annex 57A.
const (
	EtherType    = 0x8809 // Slow Protocols EtherType
	HeaderLen    = 14     // Ethernet header before the PDU
	PDULen       = 110    // LACPDU and Marker PDU length, both fixed
	FrameLen     = HeaderLen + PDULen
	SubtypeLACP  = 1
	SubtypeMark  = 2
	infoTLVLen   = 20 // Actor/Partner Information TLV length
	collectorLen = 16
	markerTLVLen = 16
)

// SlowProtocolsMAC is the destination of every LACPDU and Marker PDU
// (802.1AX-2014 6.2.11.1, Table 6-2 "Slow_Protocols_Multicast").
var SlowProtocolsMAC = [6]byte{0x01, 0x80, 0xc2, 0x00, 0x00, 0x02}

// State is the Actor_State/Partner_State octet (802.1AX-2014 6.4.2.3 item m).
type State uint8

// State bits, least significant first.
const (
	StateActivity        State = 1 << iota // LACP_Activity: 1 = active
	StateTimeout                           // LACP_Timeout: 1 = short (fast)
	StateAggregation                       // 1 = link is aggregatable
	StateSynchronization                   // 1 = in sync (attached to the right aggregator)
	StateCollecting
	StateDistributing
	StateDefaulted // using default partner info
	StateExpired   // receive machine in EXPIRED
)

var stateNames = [8]string{"activity", "timeout", "aggregation", "synchronized",
	"collecting", "distributing", "defaulted", "expired"}

// String lists the set bits in OVS's words, space separated
// ("activity timeout aggregation synchronized collecting distributing").
func (s State) String() string {
	var b []byte
	for i, n := range stateNames {
		if s&(1<<i) != 0 {
			if len(b) > 0 {
				b = append(b, ' ')
			}
			b = append(b, n...)
		}
	}
	return string(b)
}

// Info is the body of an Actor or Partner Information TLV
// (802.1AX-2014 6.4.2.3 items d-m).
type Info struct {
	SystemPriority uint16
	SystemID       [6]byte
	Key            uint16
	PortPriority   uint16
	Port           uint16
	State          State
}

// put writes the 15-byte body at b[0:15].
func (in *Info) put(b []byte) {
	_ = b[14]
	binary.BigEndian.PutUint16(b[0:], in.SystemPriority)
	copy(b[2:8], in.SystemID[:])
	binary.BigEndian.PutUint16(b[8:], in.Key)
	binary.BigEndian.PutUint16(b[10:], in.PortPriority)
	binary.BigEndian.PutUint16(b[12:], in.Port)
	b[14] = byte(in.State)
}

func getInfo(b []byte) Info {
	_ = b[14]
	var in Info
	in.SystemPriority = binary.BigEndian.Uint16(b[0:])
	copy(in.SystemID[:], b[2:8])
	in.Key = binary.BigEndian.Uint16(b[8:])
	in.PortPriority = binary.BigEndian.Uint16(b[10:])
	in.Port = binary.BigEndian.Uint16(b[12:])
	in.State = State(b[14])
	return in
}

// PDU is a decoded LACPDU (802.1AX-2014 6.4.2.3, Figure 6-7).
type PDU struct {
	Version           uint8
	Actor             Info
	Partner           Info
	CollectorMaxDelay uint16 // tens of microseconds
}

// LACPDU byte offsets (Figure 6-7).
const (
	offActorTLV     = 2
	offPartnerTLV   = 22
	offCollectorTLV = 42
	offTerminator   = 58
)

// Marshal writes the 110-byte LACPDU (the bytes after the EtherType) to b,
// which must hold PDULen bytes. Reserved octets are written as zero
// (802.1AX-2014 6.4.2.3: "transmitted as 0").
func (p *PDU) Marshal(b []byte) error {
	if len(b) < PDULen {
		return fmt.Errorf("lacp: marshal LACPDU into %d bytes: %w", len(b), ErrShort)
	}
	b = b[:PDULen]
	clear(b)
	b[0] = SubtypeLACP
	b[1] = p.Version
	if b[1] == 0 {
		b[1] = 1
	}
	b[offActorTLV], b[offActorTLV+1] = 1, infoTLVLen
	p.Actor.put(b[offActorTLV+2:])
	b[offPartnerTLV], b[offPartnerTLV+1] = 2, infoTLVLen
	p.Partner.put(b[offPartnerTLV+2:])
	b[offCollectorTLV], b[offCollectorTLV+1] = 3, collectorLen
	binary.BigEndian.PutUint16(b[offCollectorTLV+2:], p.CollectorMaxDelay)
	// Terminator TLV (type 0, length 0) and the reserved tail are zero.
	return nil
}

// ParsePDU decodes a LACPDU from b, the bytes after the EtherType. Bytes
// beyond the fixed 110 (Ethernet padding) are ignored. The Actor, Partner
// and Collector TLVs must have their defined types and lengths
// (802.1AX-2014 6.4.2.3); the version may be any nonzero value, as later
// versions keep this layout in front (6.4.2.3 "Version_Number").
func ParsePDU(b []byte) (PDU, error) {
	var p PDU
	if len(b) < PDULen {
		return p, fmt.Errorf("lacp: LACPDU of %d bytes: %w", len(b), ErrShort)
	}
	b = b[:PDULen]
	if b[0] != SubtypeLACP {
		return p, fmt.Errorf("lacp: subtype %d: %w", b[0], ErrSubtype)
	}
	if b[1] == 0 {
		return p, fmt.Errorf("lacp: LACPDU version 0: %w", ErrVersion)
	}
	if b[offActorTLV] != 1 || b[offActorTLV+1] != infoTLVLen {
		return p, fmt.Errorf("lacp: actor TLV type %d length %d: %w", b[offActorTLV], b[offActorTLV+1], ErrTLV)
	}
	if b[offPartnerTLV] != 2 || b[offPartnerTLV+1] != infoTLVLen {
		return p, fmt.Errorf("lacp: partner TLV type %d length %d: %w", b[offPartnerTLV], b[offPartnerTLV+1], ErrTLV)
	}
	if b[offCollectorTLV] != 3 || b[offCollectorTLV+1] != collectorLen {
		return p, fmt.Errorf("lacp: collector TLV type %d length %d: %w", b[offCollectorTLV], b[offCollectorTLV+1], ErrTLV)
	}
	p.Version = b[1]
	p.Actor = getInfo(b[offActorTLV+2:])
	p.Partner = getInfo(b[offPartnerTLV+2:])
	p.CollectorMaxDelay = binary.BigEndian.Uint16(b[offCollectorTLV+2:])
	return p, nil
}

// Marker is a decoded Marker PDU (802.1AX-2014 6.5.3.2, Figure 6-20): a
// Marker Information PDU from a distributor asking us to flush, or the
// Marker Response we send back.
type Marker struct {
	Response        bool // TLV type 2 (Marker Response) rather than 1 (Marker Information)
	RequesterPort   uint16
	RequesterSystem [6]byte
	TransactionID   uint32
}

// Marshal writes the 110-byte Marker PDU to b.
func (m *Marker) Marshal(b []byte) error {
	if len(b) < PDULen {
		return fmt.Errorf("lacp: marshal Marker PDU into %d bytes: %w", len(b), ErrShort)
	}
	b = b[:PDULen]
	clear(b)
	b[0], b[1] = SubtypeMark, 1
	b[2], b[3] = 1, markerTLVLen
	if m.Response {
		b[2] = 2
	}
	binary.BigEndian.PutUint16(b[4:], m.RequesterPort)
	copy(b[6:12], m.RequesterSystem[:])
	binary.BigEndian.PutUint32(b[12:], m.TransactionID)
	// Pad (2), Terminator TLV and the 90 reserved octets stay zero.
	return nil
}

// ParseMarker decodes a Marker PDU from the bytes after the EtherType.
func ParseMarker(b []byte) (Marker, error) {
	var m Marker
	if len(b) < PDULen {
		return m, fmt.Errorf("lacp: Marker PDU of %d bytes: %w", len(b), ErrShort)
	}
	if b[0] != SubtypeMark {
		return m, fmt.Errorf("lacp: subtype %d: %w", b[0], ErrSubtype)
	}
	if b[1] == 0 {
		return m, fmt.Errorf("lacp: Marker PDU version 0: %w", ErrVersion)
	}
	if (b[2] != 1 && b[2] != 2) || b[3] != markerTLVLen {
		return m, fmt.Errorf("lacp: marker TLV type %d length %d: %w", b[2], b[3], ErrTLV)
	}
	m.Response = b[2] == 2
	m.RequesterPort = binary.BigEndian.Uint16(b[4:])
	copy(m.RequesterSystem[:], b[6:12])
	m.TransactionID = binary.BigEndian.Uint32(b[12:])
	return m, nil
}

// SlowPayload checks that frame is an untagged slow-protocols Ethernet frame
// and returns the bytes after its EtherType.
func SlowPayload(frame []byte) ([]byte, error) {
	if len(frame) < HeaderLen {
		return nil, fmt.Errorf("lacp: frame of %d bytes: %w", len(frame), ErrShort)
	}
	if et := binary.BigEndian.Uint16(frame[12:]); et != EtherType {
		return nil, fmt.Errorf("lacp: EtherType %#04x: %w", et, ErrNotSlowProtocol)
	}
	return frame[HeaderLen:], nil
}

// AppendFrame appends a slow-protocols Ethernet frame (destination
// SlowProtocolsMAC, source src, EtherType 0x8809) carrying the 110-byte
// PDU payload to dst and returns the extended slice.
func AppendFrame(dst []byte, src [6]byte, payload []byte) []byte {
	dst = append(dst, SlowProtocolsMAC[:]...)
	dst = append(dst, src[:]...)
	dst = append(dst, EtherType>>8, EtherType&0xff)
	return append(dst, payload...)
}

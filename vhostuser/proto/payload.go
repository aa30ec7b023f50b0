package proto

import (
	"encoding/binary"
	"fmt"
)

// Payload sizes (vhost-user.rst "Message types" and "Front-end message
// types"): each request with a fixed layout must carry exactly this many
// bytes.
const (
	SizeU64        = 8
	SizeVringState = 8
	SizeVringAddr  = 40
	SizeMemRegion  = 32
	SizeMemTableHd = 8 // num regions + padding
	SizeSingleReg  = 8 + SizeMemRegion
	SizeIOTLBMin   = 26 // struct vhost_iotlb_msg without tail padding
	SizeIOTLB      = 32
	SizeConfigHd   = 12
	MaxConfigSize  = 256
)

func need(r Request, p []byte, n int) error {
	if len(p) != n {
		return fmt.Errorf("%w: %v: %d bytes, want %d", ErrBadPayload, r, len(p), n)
	}
	return nil
}

// DecodeU64 decodes a payload that is one 64-bit number (features, status,
// MTU, ...).
func DecodeU64(r Request, p []byte) (uint64, error) {
	if err := need(r, p, SizeU64); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(p), nil
}

// EncodeU64 returns the payload of a 64-bit reply.
func EncodeU64(v uint64) []byte {
	b := make([]byte, SizeU64)
	binary.LittleEndian.PutUint64(b, v)
	return b
}

// VringState is the vring state description (index and a number: size or
// base index; for SET_VRING_ENABLE the number is 0 or 1).
type VringState struct {
	Index uint32
	Num   uint32
}

// DecodeVringState decodes a vring state payload.
func DecodeVringState(r Request, p []byte) (VringState, error) {
	if err := need(r, p, SizeVringState); err != nil {
		return VringState{}, err
	}
	return VringState{Index: binary.LittleEndian.Uint32(p), Num: binary.LittleEndian.Uint32(p[4:])}, nil
}

// Encode returns the payload.
func (s VringState) Encode() []byte {
	b := make([]byte, SizeVringState)
	binary.LittleEndian.PutUint32(b, s.Index)
	binary.LittleEndian.PutUint32(b[4:], s.Num)
	return b
}

// VringAddrLog is the flag of VringAddr.Flags that asks for used-ring logging.
const VringAddrLog = 1

// VringAddr is the vring address description: addresses in the front-end's
// virtual address space (or IOVAs when VIRTIO_F_IOMMU_PLATFORM is on).
type VringAddr struct {
	Index uint32
	Flags uint32
	Desc  uint64
	Used  uint64
	Avail uint64
	Log   uint64
}

// DecodeVringAddr decodes a SET_VRING_ADDR payload.
func DecodeVringAddr(r Request, p []byte) (VringAddr, error) {
	if err := need(r, p, SizeVringAddr); err != nil {
		return VringAddr{}, err
	}
	le := binary.LittleEndian
	return VringAddr{
		Index: le.Uint32(p), Flags: le.Uint32(p[4:]),
		Desc: le.Uint64(p[8:]), Used: le.Uint64(p[16:]), Avail: le.Uint64(p[24:]), Log: le.Uint64(p[32:]),
	}, nil
}

// Encode returns the payload.
func (a VringAddr) Encode() []byte {
	b := make([]byte, SizeVringAddr)
	le := binary.LittleEndian
	le.PutUint32(b, a.Index)
	le.PutUint32(b[4:], a.Flags)
	le.PutUint64(b[8:], a.Desc)
	le.PutUint64(b[16:], a.Used)
	le.PutUint64(b[24:], a.Avail)
	le.PutUint64(b[32:], a.Log)
	return b
}

// MemRegion is a memory region description: where the region is in guest
// physical memory, in the front-end's address space, and at which offset of
// the fd passed with the message.
type MemRegion struct {
	GuestAddr  uint64
	Size       uint64
	UserAddr   uint64
	MmapOffset uint64
}

func decodeRegion(p []byte) MemRegion {
	le := binary.LittleEndian
	return MemRegion{GuestAddr: le.Uint64(p), Size: le.Uint64(p[8:]), UserAddr: le.Uint64(p[16:]), MmapOffset: le.Uint64(p[24:])}
}

func (m MemRegion) encode(b []byte) {
	le := binary.LittleEndian
	le.PutUint64(b, m.GuestAddr)
	le.PutUint64(b[8:], m.Size)
	le.PutUint64(b[16:], m.UserAddr)
	le.PutUint64(b[24:], m.MmapOffset)
}

// Validate checks what can be checked without mapping: a non-empty region
// whose three address ranges do not wrap around.
func (m MemRegion) Validate() error {
	switch {
	case m.Size == 0:
		return fmt.Errorf("%w: empty memory region", ErrBadPayload)
	case m.GuestAddr+m.Size < m.GuestAddr, m.UserAddr+m.Size < m.UserAddr, m.MmapOffset+m.Size < m.MmapOffset:
		return fmt.Errorf("%w: memory region %#x+%#x wraps around", ErrBadPayload, m.GuestAddr, m.Size)
	}
	return nil
}

// DecodeMemTable decodes a SET_MEM_TABLE payload: 1 to MaxRegions regions,
// the payload exactly as long as the region count says, every region valid.
func DecodeMemTable(r Request, p []byte) ([]MemRegion, error) {
	if len(p) < SizeMemTableHd {
		return nil, fmt.Errorf("%w: %v: %d bytes", ErrBadPayload, r, len(p))
	}
	n := binary.LittleEndian.Uint32(p)
	if n == 0 || n > MaxRegions {
		return nil, fmt.Errorf("%w: %v: %d regions (1..%d)", ErrBadPayload, r, n, MaxRegions)
	}
	if err := need(r, p, SizeMemTableHd+int(n)*SizeMemRegion); err != nil {
		return nil, err
	}
	regs := make([]MemRegion, n)
	for i := range regs {
		regs[i] = decodeRegion(p[SizeMemTableHd+i*SizeMemRegion:])
		if err := regs[i].Validate(); err != nil {
			return nil, fmt.Errorf("%v region %d: %w", r, i, err)
		}
	}
	return regs, nil
}

// EncodeMemTable returns a SET_MEM_TABLE payload.
func EncodeMemTable(regs []MemRegion) []byte {
	b := make([]byte, SizeMemTableHd+len(regs)*SizeMemRegion)
	binary.LittleEndian.PutUint32(b, uint32(len(regs)))
	for i, m := range regs {
		m.encode(b[SizeMemTableHd+i*SizeMemRegion:])
	}
	return b
}

// DecodeSingleRegion decodes an ADD_MEM_REG/REM_MEM_REG payload.
func DecodeSingleRegion(r Request, p []byte) (MemRegion, error) {
	if err := need(r, p, SizeSingleReg); err != nil {
		return MemRegion{}, err
	}
	m := decodeRegion(p[8:])
	if err := m.Validate(); err != nil {
		return MemRegion{}, fmt.Errorf("%v: %w", r, err)
	}
	return m, nil
}

// EncodeSingleRegion returns an ADD_MEM_REG/REM_MEM_REG payload.
func EncodeSingleRegion(m MemRegion) []byte {
	b := make([]byte, SizeSingleReg)
	m.encode(b[8:])
	return b
}

// IOTLB message types and permissions (linux/vhost_types.h, used by
// vhost-user.rst "IOTLB message").
const (
	IOTLBMiss        = 1
	IOTLBUpdate      = 2
	IOTLBInvalidate  = 3
	IOTLBAccessFail  = 4
	IOTLBPermRead    = 1
	IOTLBPermWrite   = 2
	IOTLBPermRW      = 3
	iotlbPermAllowed = IOTLBPermRW
)

// IOTLB is an IOTLB message: a device I/O address range and where it is in
// the front-end's address space.
type IOTLB struct {
	IOVA  uint64
	Size  uint64
	UAddr uint64
	Perm  uint8
	Type  uint8
}

// DecodeIOTLB decodes an IOTLB_MSG payload (26 or 32 bytes).
func DecodeIOTLB(r Request, p []byte) (IOTLB, error) {
	if len(p) != SizeIOTLB && len(p) != SizeIOTLBMin {
		return IOTLB{}, fmt.Errorf("%w: %v: %d bytes, want %d", ErrBadPayload, r, len(p), SizeIOTLB)
	}
	le := binary.LittleEndian
	m := IOTLB{IOVA: le.Uint64(p), Size: le.Uint64(p[8:]), UAddr: le.Uint64(p[16:]), Perm: p[24], Type: p[25]}
	switch {
	case m.Type < IOTLBMiss || m.Type > IOTLBAccessFail:
		return m, fmt.Errorf("%w: %v: type %d", ErrBadPayload, r, m.Type)
	case m.Perm&^iotlbPermAllowed != 0:
		return m, fmt.Errorf("%w: %v: permission %#x", ErrBadPayload, r, m.Perm)
	case m.Type == IOTLBUpdate && (m.Size == 0 || m.IOVA+m.Size < m.IOVA || m.UAddr+m.Size < m.UAddr):
		return m, fmt.Errorf("%w: %v: range %#x+%#x", ErrBadPayload, r, m.IOVA, m.Size)
	}
	return m, nil
}

// Encode returns the 32-byte payload.
func (m IOTLB) Encode() []byte {
	b := make([]byte, SizeIOTLB)
	le := binary.LittleEndian
	le.PutUint64(b, m.IOVA)
	le.PutUint64(b[8:], m.Size)
	le.PutUint64(b[16:], m.UAddr)
	b[24], b[25] = m.Perm, m.Type
	return b
}

// Config is a GET_CONFIG/SET_CONFIG payload: a window of the device's
// configuration space.
type Config struct {
	Offset uint32
	Flags  uint32
	Data   []byte
}

// DecodeConfig decodes a GET_CONFIG/SET_CONFIG payload.
func DecodeConfig(r Request, p []byte) (Config, error) {
	if len(p) < SizeConfigHd {
		return Config{}, fmt.Errorf("%w: %v: %d bytes", ErrBadPayload, r, len(p))
	}
	le := binary.LittleEndian
	c := Config{Offset: le.Uint32(p), Flags: le.Uint32(p[8:])}
	n := le.Uint32(p[4:])
	if n > MaxConfigSize || int(n) != len(p)-SizeConfigHd {
		return Config{}, fmt.Errorf("%w: %v: config size %d in %d bytes", ErrBadPayload, r, n, len(p))
	}
	c.Data = p[SizeConfigHd:]
	return c, nil
}

// Encode returns the payload.
func (c Config) Encode() []byte {
	b := make([]byte, SizeConfigHd+len(c.Data))
	le := binary.LittleEndian
	le.PutUint32(b, c.Offset)
	le.PutUint32(b[4:], uint32(len(c.Data)))
	le.PutUint32(b[8:], c.Flags)
	copy(b[SizeConfigHd:], c.Data)
	return b
}

// VringFd decodes the u64 payload of SET_VRING_KICK/CALL/ERR: the vring
// index and whether an fd is expected with the message.
func VringFd(r Request, p []byte) (index uint32, hasFd bool, err error) {
	v, err := DecodeU64(r, p)
	if err != nil {
		return 0, false, err
	}
	if v&^uint64(VringIndexMask|VringNoFd) != 0 {
		return 0, false, fmt.Errorf("%w: %v: reserved bits in %#x", ErrBadPayload, r, v)
	}
	return uint32(v & VringIndexMask), v&VringNoFd == 0, nil
}

// FdsAllowed reports whether request r with payload p may carry n
// descriptors. Malformed payloads are allowed any count here; their
// decoder says what is wrong.
func FdsAllowed(r Request, p []byte, n int) bool {
	switch r {
	case RemMemReg:
		// QEMU up to 8.x passes the region's fd, later versions none
		// (vhost-user.rst now says none); both are fine.
		return n <= 1
	}
	want := FdsExpected(r, p)
	return want < 0 || n == want
}

// FdsExpected is how many descriptors request r must carry given its
// payload, or -1 when the payload is malformed (the decoder will say why).
func FdsExpected(r Request, p []byte) int {
	switch r {
	case SetMemTable:
		if len(p) < 4 {
			return -1
		}
		n := binary.LittleEndian.Uint32(p)
		if n > MaxRegions {
			return -1
		}
		return int(n)
	case AddMemReg, SetBackendReqFd, SetLogFd, SetLogBase, SetInflightFd:
		return 1
	case SetVringKick, SetVringCall, SetVringErr:
		_, has, err := VringFd(r, p)
		if err != nil {
			return -1
		}
		if has {
			return 1
		}
	}
	return 0
}

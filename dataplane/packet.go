package dataplane

// Headroom is the space kept in front of a received frame so that tags and
// headers can be pushed without a copy (like DPDK's RTE_PKTMBUF_HEADROOM).
const Headroom = 128

// Offload flags a port may set on a packet it received (from a virtio-net
// header or PACKET_VNET_HDR) and an egress port must honour or complete.
const (
	// OffloadCsumPartial: the L4 checksum is not computed yet; the 16-bit
	// sum must be folded from CsumStart and stored at CsumStart+CsumOffset.
	OffloadCsumPartial uint8 = 1 << iota
	// OffloadCsumValid: the receiver already checked the checksums.
	OffloadCsumValid
)

// Packet is one frame in a buffer of a Pool. The buffer lives in an Arena,
// outside the Go heap; the Packet descriptor itself is allocated once with
// its pool and reused forever.
type Packet struct {
	buf  []byte // the whole buffer: headroom + data room
	iova uint64 // IOVA of buf[0]
	off  int32  // start of the frame in buf
	n    int32  // frame length
	pool *Pool

	// InPort is the bridge port number the packet arrived on.
	InPort uint32
	// Hash is an RSS or flow hash of the packet, 0 when unknown.
	Hash uint32
	// Offload metadata (see the Offload* flags).
	Offload    uint8
	CsumStart  uint16
	CsumOffset uint16
	// GSOSize is the segment size of a TCP packet larger than the MTU that a
	// port received unsegmented; 0 for an ordinary packet.
	GSOSize uint16
}

// Data is the frame.
func (p *Packet) Data() []byte { return p.buf[p.off : p.off+p.n] }

// Len is the frame length.
func (p *Packet) Len() int { return int(p.n) }

// IOVA is the I/O address of the frame's first byte.
func (p *Packet) IOVA() uint64 { return p.iova + uint64(p.off) }

// Buffer is the whole buffer, headroom included, and BufferIOVA its address;
// for drivers that post buffers to a device.
func (p *Packet) Buffer() []byte     { return p.buf }
func (p *Packet) BufferIOVA() uint64 { return p.iova }

// Room is the buffer space from the frame's start to the buffer's end: where
// a receiver writes a frame before calling SetLen.
func (p *Packet) Room() []byte { return p.buf[p.off:] }

// Reset puts the frame start back at Headroom with length 0 and clears the
// metadata.
func (p *Packet) Reset() {
	p.off = Headroom
	p.n = 0
	p.InPort = 0
	p.Hash = 0
	p.Offload = 0
	p.CsumStart = 0
	p.CsumOffset = 0
	p.GSOSize = 0
}

// SetLen sets the frame length; it reports false if n does not fit.
func (p *Packet) SetLen(n int) bool {
	if n < 0 || int(p.off)+n > len(p.buf) {
		return false
	}
	p.n = int32(n)
	return true
}

// SetFrameOffset puts the frame start at off bytes into the buffer (a
// driver that received at another offset); it reports false if off is out of
// range or the current length would no longer fit.
func (p *Packet) SetFrameOffset(off int) bool {
	if off < 0 || off+int(p.n) > len(p.buf) {
		return false
	}
	p.off = int32(off)
	return true
}

// Prepend grows the frame by n bytes at the front and returns the new
// front bytes, or nil if the headroom is too small.
func (p *Packet) Prepend(n int) []byte {
	if n < 0 || int(p.off) < n {
		return nil
	}
	p.off -= int32(n)
	p.n += int32(n)
	return p.buf[p.off : p.off+int32(n)]
}

// TrimFront removes n bytes from the front of the frame; false if the frame
// is shorter.
func (p *Packet) TrimFront(n int) bool {
	if n < 0 || n > int(p.n) {
		return false
	}
	p.off += int32(n)
	p.n -= int32(n)
	return true
}

// Pool is the pool the packet belongs to.
func (p *Packet) Pool() *Pool { return p.pool }

// Free gives the packet back to its pool.
func (p *Packet) Free() { p.pool.Put(p) }

// CopyFrom makes p a copy of q's frame and metadata (for flooding); false if
// q's frame does not fit in p's buffer.
func (p *Packet) CopyFrom(q *Packet) bool {
	if int(q.n) > len(p.buf)-Headroom {
		return false
	}
	p.off = Headroom
	p.n = q.n
	copy(p.buf[p.off:p.off+p.n], q.buf[q.off:q.off+q.n])
	p.InPort, p.Hash = q.InPort, q.Hash
	p.Offload, p.CsumStart, p.CsumOffset, p.GSOSize = q.Offload, q.CsumStart, q.CsumOffset, q.GSOSize
	return true
}

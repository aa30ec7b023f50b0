package afxdp

import (
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"gvswitch/dataplane"
)

// FrameSize is the size of a UMEM chunk: one Packet buffer (Headroom plus
// its data room). The kernel writes a received frame XDP_PACKET_HEADROOM
// (256) bytes into the chunk, so frames of up to 1792 bytes fit.
const FrameSize = 2048

const frameShift = 11 // log2(FrameSize)

// frameDataRoom is the data room of the UMEM Pool: its buffers are then
// exactly FrameSize bytes (dataplane.NewPool rounds Headroom+dataRoom to 64).
const frameDataRoom = FrameSize - dataplane.Headroom

// Ring and UMEM defaults.
const (
	DefaultRingSize = 1024
	// DefaultFrames per queue: the fill and rx rings full, the tx and
	// completion rings full, and as much again for packets the bridge
	// holds.
	DefaultFrames = 4 * DefaultRingSize
)

// ring is one of the four rings an XSK shares with the kernel
// (af_xdp.rst "Rings"): single producer, single consumer, a power-of-two
// number of entries indexed by free-running 32-bit counters.
type ring struct {
	mem      []byte
	producer *uint32
	consumer *uint32
	flags    *uint32
	mask     uint32
	size     uint32
	// The fill and completion rings carry UMEM addresses, the rx and tx
	// rings descriptors; one of these is set.
	addrs []uint64
	descs []unix.XDPDesc

	// local is our end's counter (producer of fill and tx, consumer of rx
	// and completion); cached the kernel's end as last read.
	local  uint32
	cached uint32
}

func mmapRing(fd int, pgoff int64, off unix.XDPRingOffset, size uint32, descSize uintptr) (*ring, error) {
	n := int(off.Desc) + int(size)*int(descSize)
	mem, err := unix.Mmap(fd, pgoff, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, err
	}
	return newRing(mem, off, size, descSize), nil
}

// newRing lays a ring over mem at the kernel's offsets.
func newRing(mem []byte, off unix.XDPRingOffset, size uint32, descSize uintptr) *ring {
	r := &ring{
		mem:      mem,
		producer: (*uint32)(unsafe.Pointer(&mem[off.Producer])),
		consumer: (*uint32)(unsafe.Pointer(&mem[off.Consumer])),
		flags:    (*uint32)(unsafe.Pointer(&mem[off.Flags])),
		mask:     size - 1,
		size:     size,
	}
	if descSize == 8 {
		r.addrs = unsafe.Slice((*uint64)(unsafe.Pointer(&mem[off.Desc])), size)
	} else {
		r.descs = unsafe.Slice((*unix.XDPDesc)(unsafe.Pointer(&mem[off.Desc])), size)
	}
	return r
}

func (r *ring) unmap() {
	if r != nil && r.mem != nil {
		unix.Munmap(r.mem)
		r.mem = nil
	}
}

// needWakeup reports whether the kernel asks for a system call to make
// progress on this ring (XDP_USE_NEED_WAKEUP).
func (r *ring) needWakeup() bool { return atomic.LoadUint32(r.flags)&unix.XDP_RING_NEED_WAKEUP != 0 }

// prodFree is how many entries a producer ring (fill, tx) can take now.
func (r *ring) prodFree() uint32 {
	free := r.size - (r.local - r.cached)
	if free == 0 || free < r.size/2 {
		r.cached = atomic.LoadUint32(r.consumer)
		free = r.size - (r.local - r.cached)
	}
	return free
}

// consAvail is how many entries a consumer ring (rx, completion) holds.
func (r *ring) consAvail() uint32 {
	n := r.cached - r.local
	if n == 0 {
		r.cached = atomic.LoadUint32(r.producer)
		n = r.cached - r.local
	}
	return n
}

// publish makes produced entries visible to the kernel, or gives consumed
// ones back (the atomic store orders the entries' writes or reads before
// it, as the ring's release semantics require).
func (r *ring) publishProducer() { atomic.StoreUint32(r.producer, r.local) }
func (r *ring) publishConsumer() { atomic.StoreUint32(r.consumer, r.local) }

// xsk is one AF_XDP socket with its UMEM.
type xsk struct {
	fd    int
	arena *dataplane.Arena
	pool  *dataplane.Pool
	base  uintptr             // address of the UMEM's first byte
	frame []*dataplane.Packet // the Packet of each chunk
	fill  *ring
	comp  *ring
	rx    *ring
	tx    *ring
}

// newXSK creates the socket and registers a UMEM of frames chunks over a
// fresh arena (hugepages when huge and available), with rings of ringSize
// entries. It does not bind.
func newXSK(name string, q, frames, ringSize int, huge bool) (*xsk, error) {
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket(AF_XDP): %w", err)
	}
	x := &xsk{fd: fd}
	if err := x.setup(name, q, frames, ringSize, huge); err != nil {
		x.close()
		return nil, err
	}
	return x, nil
}

func (x *xsk) setup(name string, q, frames, ringSize int, huge bool) error {
	if err := x.newUMEM(name, q, frames, huge); err != nil {
		return err
	}
	// af_xdp.rst "XDP_UMEM_REG setsockopt": the UMEM is the whole pool,
	// in aligned chunks of FrameSize bytes, no extra headroom.
	reg := unix.XDPUmemReg{Addr: uint64(x.base), Len: uint64(frames * FrameSize), Size: FrameSize}
	if err := setsockopt(x.fd, unix.XDP_UMEM_REG, unsafe.Pointer(&reg), unsafe.Sizeof(reg)); err != nil {
		return fmt.Errorf("XDP_UMEM_REG: %w", err)
	}
	for _, o := range []int{unix.XDP_UMEM_FILL_RING, unix.XDP_UMEM_COMPLETION_RING, unix.XDP_RX_RING, unix.XDP_TX_RING} {
		if err := unix.SetsockoptInt(x.fd, unix.SOL_XDP, o, ringSize); err != nil {
			return fmt.Errorf("ring size %d (option %d): %w", ringSize, o, err)
		}
	}
	var off unix.XDPMmapOffsets
	sz := uint32(unsafe.Sizeof(off))
	if _, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(x.fd), unix.SOL_XDP, unix.XDP_MMAP_OFFSETS,
		uintptr(unsafe.Pointer(&off)), uintptr(unsafe.Pointer(&sz)), 0); e != 0 {
		return fmt.Errorf("XDP_MMAP_OFFSETS: %w", e)
	}
	rs := uint32(ringSize)
	var err error
	if x.fill, err = mmapRing(x.fd, unix.XDP_UMEM_PGOFF_FILL_RING, off.Fr, rs, 8); err != nil {
		return fmt.Errorf("mmap fill ring: %w", err)
	}
	if x.comp, err = mmapRing(x.fd, unix.XDP_UMEM_PGOFF_COMPLETION_RING, off.Cr, rs, 8); err != nil {
		return fmt.Errorf("mmap completion ring: %w", err)
	}
	if x.rx, err = mmapRing(x.fd, unix.XDP_PGOFF_RX_RING, off.Rx, rs, unsafe.Sizeof(unix.XDPDesc{})); err != nil {
		return fmt.Errorf("mmap rx ring: %w", err)
	}
	if x.tx, err = mmapRing(x.fd, unix.XDP_PGOFF_TX_RING, off.Tx, rs, unsafe.Sizeof(unix.XDPDesc{})); err != nil {
		return fmt.Errorf("mmap tx ring: %w", err)
	}
	return nil
}

// newUMEM makes the UMEM memory: an arena of frames chunks (hugepages
// when huge and available) carved into a Pool of one Packet per chunk,
// and the index from chunk to Packet.
func (x *xsk) newUMEM(name string, q, frames int, huge bool) error {
	a, err := dataplane.NewArena(frames*FrameSize, dataplane.ArenaOptions{HugePages: huge})
	if err != nil {
		return err
	}
	x.arena = a
	pool, _, err := dataplane.NewPool(fmt.Sprintf("afxdp-%s-q%d", name, q), a, 0, frames, frameDataRoom)
	if err != nil {
		return err
	}
	if pool.DataRoom()+dataplane.Headroom != FrameSize {
		return fmt.Errorf("UMEM pool buffers are %d bytes, want %d", pool.DataRoom()+dataplane.Headroom, FrameSize)
	}
	x.pool = pool
	mem := a.Bytes()
	x.base = uintptr(unsafe.Pointer(&mem[0]))
	// Index every Packet by its chunk: take them all once, and give
	// them back.
	all := make([]*dataplane.Packet, frames)
	if n := pool.GetBurst(all); n != frames {
		return fmt.Errorf("UMEM pool gave %d of %d buffers", n, frames)
	}
	x.frame = make([]*dataplane.Packet, frames)
	for _, pk := range all {
		x.frame[x.addrOf(pk)>>frameShift] = pk
	}
	dataplane.PutBurst(all)
	return nil
}

// bindBusyWait is how long bind retries a queue that is busy.
const bindBusyWait = 2 * time.Second

// bind binds the socket to queue q of ifindex with XDP_COPY or
// XDP_ZEROCOPY, plus XDP_USE_NEED_WAKEUP when wakeup.
func (x *xsk) bind(ifindex, q int, bindFlags uint16, wakeup bool) error {
	if wakeup {
		bindFlags |= unix.XDP_USE_NEED_WAKEUP
	}
	sa := &unix.SockaddrXDP{Flags: bindFlags, Ifindex: uint32(ifindex), QueueID: uint32(q)}
	// EBUSY: a socket bound to this queue before is still being torn
	// down (the kernel releases its buffer pool from a work queue after
	// close), or another socket holds the queue; the first passes soon.
	deadline := time.Now().Add(bindBusyWait)
	for {
		err := unix.Bind(x.fd, sa)
		if err == nil {
			return nil
		}
		if err != unix.EBUSY || time.Now().After(deadline) {
			return fmt.Errorf("bind queue %d: %w", q, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// addrOf is the UMEM address of a Packet's chunk.
func (x *xsk) addrOf(pk *dataplane.Packet) uint64 {
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(pk.Buffer()))) - x.base)
}

// frameAddr is the UMEM address of a Packet's frame start (chunk plus the
// frame's offset in it), for a tx descriptor.
func (x *xsk) frameAddr(pk *dataplane.Packet) uint64 {
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(pk.Room()))) - x.base)
}

// owns reports whether pk is a buffer of this UMEM.
func (x *xsk) owns(pk *dataplane.Packet) bool { return pk.Pool() == x.pool }

// statistics reads XDP_STATISTICS (cumulative since bind).
func (x *xsk) statistics() (unix.XDPStatistics, error) {
	var st unix.XDPStatistics
	sz := uint32(unsafe.Sizeof(st))
	if _, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(x.fd), unix.SOL_XDP, unix.XDP_STATISTICS,
		uintptr(unsafe.Pointer(&st)), uintptr(unsafe.Pointer(&sz)), 0); e != 0 {
		return st, e
	}
	return st, nil
}

// close releases the socket (the kernel unbinds it and drops its UMEM
// pages), its rings, and then the UMEM memory.
func (x *xsk) close() {
	x.fill.unmap()
	x.comp.unmap()
	x.rx.unmap()
	x.tx.unmap()
	if x.fd >= 0 {
		unix.Close(x.fd)
		x.fd = -1
	}
	if x.arena != nil {
		x.arena.Close()
		x.arena = nil
	}
}

func setsockopt(fd, opt int, p unsafe.Pointer, n uintptr) error {
	if _, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt), uintptr(p), n, 0); e != 0 {
		return e
	}
	return nil
}

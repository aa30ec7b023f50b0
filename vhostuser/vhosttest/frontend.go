package vhosttest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"gvswitch/vhostuser/proto"
)

// Feature bits a test front-end asks for by default (virtio 1.1 5.1.3, 6).
const (
	FeatureMrgRxbuf  = 1 << 15
	FeatureMQ        = 1 << 22
	FeatureIndirect  = 1 << 28
	FeatureEventIdx  = 1 << 29
	FeatureProtocol  = 1 << 30
	FeatureVersion1  = 1 << 32
	FeatureIOMMU     = 1 << 33
	DefaultFeatures  = FeatureMrgRxbuf | FeatureIndirect | FeatureEventIdx | FeatureProtocol | FeatureVersion1
	DefaultProtocols = 1<<proto.ProtoMQ | 1<<proto.ProtoReplyAck | 1<<proto.ProtoStatus
)

// Frontend is the driver side of one vhost-user connection.
type Frontend struct {
	Conn          *proto.Conn
	Mem           *Memory
	Features      uint64
	ProtoFeatures uint64
	// Rings[2q] is queue pair q's receive ring (device writes), Rings[2q+1]
	// its transmit ring.
	Rings []*Ring
	Calls []int // eventfds the device signals
	Kicks []int
	ln    *net.UnixListener

	// IOMMU makes Setup negotiate VIRTIO_F_IOMMU_PLATFORM: ring and
	// buffer addresses are then I/O addresses (here equal to the guest
	// physical ones), which the back-end learns through IOTLB messages;
	// Setup starts answering its misses (IOTLBAnswered counts them).
	IOMMU         bool
	IOTLBAnswered atomic.Int64
	// Backend is the back-end's request channel (SET_BACKEND_REQ_FD).
	Backend *proto.Conn

	// ReplyTimeout bounds the wait for a reply (0: 5 s); a back-end on
	// a loaded host (OVS-DPDK adding a device) can take longer.
	ReplyTimeout time.Duration

	mu sync.Mutex // one request/reply at a time on Conn
}

// Dial connects to a back-end listening at path (a dpdkvhostuser port).
func Dial(path string) (*Frontend, error) {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	return &Frontend{Conn: proto.NewConn(c)}, nil
}

// Listen makes a front-end that listens at path, like QEMU with
// server=on; Accept waits for the back-end (a dpdkvhostuserclient port).
func Listen(path string) (*Frontend, error) {
	os.Remove(path)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	return &Frontend{ln: ln}, nil
}

// Accept waits up to timeout for the back-end to connect.
func (f *Frontend) Accept(timeout time.Duration) error {
	f.ln.SetDeadline(time.Now().Add(timeout))
	c, err := f.ln.AcceptUnix()
	if err != nil {
		return err
	}
	f.Conn = proto.NewConn(c)
	return nil
}

// Close closes the connection, the listener, the eventfds and the memory.
func (f *Frontend) Close() {
	if f.Conn != nil {
		f.Conn.Close()
	}
	if f.Backend != nil {
		f.Backend.Close()
	}
	if f.ln != nil {
		f.ln.Close()
	}
	for _, fd := range append(f.Calls, f.Kicks...) {
		unix.Close(fd)
	}
	f.Calls, f.Kicks = nil, nil
	if f.Mem != nil {
		f.Mem.Close()
		f.Mem = nil
	}
}

// Send writes a raw message (for hostile tests).
func (f *Frontend) Send(r proto.Request, flags uint32, payload []byte, fds ...int) error {
	return f.Conn.Write(proto.Header{Request: r, Flags: flags}, payload, fds...)
}

// ErrNack is returned by Call when the back-end answered a REPLY_ACK with
// a failure.
var ErrNack = errors.New("back-end reported failure")

// Call sends a request and, when it has a reply (GET_*) or REPLY_ACK is
// negotiated, waits for the reply and returns its payload.
func (f *Frontend) Call(r proto.Request, payload []byte, fds ...int) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	flags := uint32(proto.Version)
	get := isGet(r)
	ack := !get && f.ProtoFeatures&(1<<proto.ProtoReplyAck) != 0
	if ack {
		flags |= proto.FlagNeedReply
	}
	if err := f.Send(r, flags, payload, fds...); err != nil {
		return nil, err
	}
	if !get && !ack {
		return nil, nil
	}
	timeout := f.ReplyTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	f.Conn.UnixConn().SetReadDeadline(time.Now().Add(timeout))
	defer f.Conn.UnixConn().SetReadDeadline(time.Time{})
	m, err := f.Conn.Read()
	if err != nil {
		return nil, fmt.Errorf("%v: reading reply: %w", r, err)
	}
	m.CloseFds()
	if m.Request != r || m.Flags&proto.FlagReply == 0 {
		return nil, fmt.Errorf("%v: got reply %v flags %#x", r, m.Request, m.Flags)
	}
	if ack {
		v, err := proto.DecodeU64(r, m.Payload)
		if err != nil {
			return nil, err
		}
		if v != 0 {
			return nil, fmt.Errorf("%v: %w (%d)", r, ErrNack, v)
		}
	}
	return m.Payload, nil
}

func isGet(r proto.Request) bool {
	switch r {
	case proto.GetFeatures, proto.GetProtocolFeatures, proto.GetQueueNum, proto.GetVringBase,
		proto.GetMaxMemSlots, proto.GetStatus, proto.GetConfig:
		return true
	}
	return false
}

// GetU64 calls a GET_* request with a 64-bit answer.
func (f *Frontend) GetU64(r proto.Request) (uint64, error) {
	p, err := f.Call(r, nil)
	if err != nil {
		return 0, err
	}
	return proto.DecodeU64(r, p)
}

// Setup negotiates features (want & offered), shares memSize bytes of
// memory and starts pairs queue pairs of ringSize entries with bufSize-byte
// buffers, the way QEMU and DPDK's virtio-user do. Receive rings get all
// their buffers posted.
func (f *Frontend) Setup(want, wantProto uint64, pairs int, ringSize uint16, bufSize int, memSize int) error {
	if f.Mem == nil {
		m, err := NewMemory(memSize)
		if err != nil {
			return err
		}
		f.Mem = m
	}
	offered, err := f.GetU64(proto.GetFeatures)
	if err != nil {
		return err
	}
	if f.IOMMU {
		want |= FeatureIOMMU | FeatureProtocol
		wantProto |= 1 << proto.ProtoBackendReq
	}
	f.Features = want & offered
	if f.Features&FeatureProtocol != 0 {
		po, err := f.GetU64(proto.GetProtocolFeatures)
		if err != nil {
			return err
		}
		f.ProtoFeatures = wantProto & po
		if _, err := f.Call(proto.SetProtocolFeatures, proto.EncodeU64(f.ProtoFeatures)); err != nil {
			return err
		}
	}
	if f.IOMMU {
		if f.Features&FeatureIOMMU == 0 || f.ProtoFeatures&(1<<proto.ProtoBackendReq) == 0 {
			return fmt.Errorf("back-end does not offer IOMMU_PLATFORM and BACKEND_REQ")
		}
		if err := f.openBackendChannel(); err != nil {
			return err
		}
		go f.ServeIOTLB()
	}
	if _, err := f.Call(proto.SetOwner, nil); err != nil {
		return err
	}
	if _, err := f.Call(proto.SetFeatures, proto.EncodeU64(f.Features)); err != nil {
		return err
	}
	if _, err := f.Call(proto.SetMemTable, proto.EncodeMemTable([]proto.MemRegion{f.Mem.Region()}), f.Mem.Fd()); err != nil {
		return err
	}
	hdr := 12
	if f.Features&(FeatureMrgRxbuf|FeatureVersion1) == 0 {
		hdr = 10
	}
	for i := 0; i < 2*pairs; i++ {
		r, err := NewRing(f.Mem, ringSize, bufSize)
		if err != nil {
			return err
		}
		r.HdrLen = hdr
		f.Rings = append(f.Rings, r)
		if err := f.StartRing(i); err != nil {
			return err
		}
		if i%2 == 0 {
			r.PostRx(int(ringSize))
		}
	}
	if f.ProtoFeatures&(1<<proto.ProtoStatus) != 0 {
		if _, err := f.Call(proto.SetStatus, proto.EncodeU64(0xf)); err != nil {
			return err
		}
	}
	return nil
}

// StartRing sends NUM, BASE, ADDR, KICK, CALL and ENABLE for ring i.
func (f *Frontend) StartRing(i int) error {
	r := f.Rings[i]
	idx := uint32(i)
	if _, err := f.Call(proto.SetVringNum, proto.VringState{Index: idx, Num: uint32(r.Size)}.Encode()); err != nil {
		return err
	}
	if _, err := f.Call(proto.SetVringBase, proto.VringState{Index: idx, Num: uint32(r.availIdx)}.Encode()); err != nil {
		return err
	}
	d, a, u := r.Addrs()
	if f.IOMMU {
		d, a, u = f.Mem.GPA(r.DescOff), f.Mem.GPA(r.AvailOff), f.Mem.GPA(r.UsedOff)
	}
	if _, err := f.Call(proto.SetVringAddr, proto.VringAddr{Index: idx, Desc: d, Avail: a, Used: u}.Encode()); err != nil {
		return err
	}
	kick, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return err
	}
	call, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(kick)
		return err
	}
	f.Kicks = append(f.Kicks, kick)
	f.Calls = append(f.Calls, call)
	if _, err := f.Call(proto.SetVringKick, proto.EncodeU64(uint64(idx)), kick); err != nil {
		return err
	}
	if _, err := f.Call(proto.SetVringCall, proto.EncodeU64(uint64(idx)), call); err != nil {
		return err
	}
	if f.Features&FeatureProtocol != 0 {
		if _, err := f.Call(proto.SetVringEnable, proto.VringState{Index: idx, Num: 1}.Encode()); err != nil {
			return err
		}
	}
	return nil
}

func (f *Frontend) openBackendChannel() error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	file := os.NewFile(uintptr(fds[0]), "backend")
	c, err := net.FileConn(file)
	file.Close()
	if err != nil {
		unix.Close(fds[1])
		return err
	}
	f.Backend = proto.NewConn(c.(*net.UnixConn))
	_, err = f.Call(proto.SetBackendReqFd, nil, fds[1])
	unix.Close(fds[1])
	return err
}

// ServeIOTLB answers the back-end's IOTLB misses, page by page with the
// identity I/O mapping (I/O address = guest physical address), until the
// channel closes.
func (f *Frontend) ServeIOTLB() {
	for {
		m, err := f.Backend.Read()
		if err != nil {
			return
		}
		m.CloseFds()
		if m.Request != proto.BackendIOTLBMsg {
			continue
		}
		miss, err := proto.DecodeIOTLB(m.Request, m.Payload)
		if err != nil || miss.Type != proto.IOTLBMiss {
			continue
		}
		page := miss.IOVA &^ 4095
		if page < f.Mem.GPABase || page >= f.Mem.GPA(uint64(len(f.Mem.Bytes()))) {
			continue
		}
		up := proto.IOTLB{IOVA: page, Size: 4096, UAddr: f.Mem.UVA(page - f.Mem.GPABase), Perm: proto.IOTLBPermRW, Type: proto.IOTLBUpdate}
		if _, err := f.Call(proto.IOTLBMsg, up.Encode()); err != nil {
			return
		}
		f.IOTLBAnswered.Add(1)
	}
}

// Transmit posts frames on queue pair q's transmit ring.
func (f *Frontend) Transmit(q int, frames ...[]byte) error {
	for _, fr := range frames {
		if err := f.Rings[2*q+1].PostTx(fr); err != nil {
			return err
		}
	}
	return nil
}

// Reclaim frees the transmit descriptors the device has used.
func (f *Frontend) Reclaim(q int) int { return len(f.Rings[2*q+1].PopUsed()) }

// Receive collects frames from queue pair q's receive ring and posts its
// buffers again.
func (f *Frontend) Receive(q int) ([][]byte, error) {
	r := f.Rings[2*q]
	out, err := r.RecvFrames()
	r.PostRx(r.Free())
	return out, err
}

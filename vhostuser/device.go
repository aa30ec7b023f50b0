package vhostuser

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"sync"

	"golang.org/x/sys/unix"

	"gvswitch/dataplane"
	"gvswitch/vhostuser/guestmem"
	"gvswitch/vhostuser/proto"
	"gvswitch/vhostuser/virtq"
)

// errUnsupported is wrapped for requests this back-end does not implement.
var errUnsupported = errors.New("unsupported request")

// vringConfig is the control goroutine's view of one vring: what the
// front-end told us, from which a virtq.Queue is built and published.
type vringConfig struct {
	num               uint16
	addr              proto.VringAddr
	base              uint16
	kick, call, errFd int
	numSet, addrSet   bool
	started, enabled  bool
	referenced        bool
}

// device is the state of one connection (vhost-user.rst calls it the
// back-end's device). It lives on the control goroutine only.
type device struct {
	p    *Port
	conn *proto.Conn
	path string

	features      uint64
	protoFeatures uint64
	mem           *guestmem.Table
	iotlb         *guestmem.IOTLB
	vr            [maxVrings]vringConfig
	status        uint64
	mtu           uint64
	ready         bool

	// backend is the SET_BACKEND_REQ_FD channel, written by the control
	// goroutine and by missLoop.
	backendMu sync.Mutex
	backend   *proto.Conn
	done      chan struct{}
}

func newDevice(p *Port, c *proto.Conn, path string) *device {
	d := &device{p: p, conn: c, path: path, done: make(chan struct{})}
	for i := range d.vr {
		d.vr[i].kick, d.vr[i].call, d.vr[i].errFd = -1, -1, -1
	}
	return d
}

func (d *device) logf(format string, args ...any) {
	d.p.log.Info(fmt.Sprintf("VHOST_CONFIG: (%s) ", d.path) + fmt.Sprintf(format, args...))
}

func (d *device) warnf(format string, args ...any) {
	d.p.log.Warn(fmt.Sprintf("VHOST_CONFIG: (%s) ", d.path) + fmt.Sprintf(format, args...))
}

func (d *device) has(f uint) bool      { return d.features&bit(f) != 0 }
func (d *device) hasProto(f uint) bool { return d.protoFeatures&bit(f) != 0 }

// serve runs one connection until the peer goes away, a fatal protocol
// error, or Close/SetSocketPath.
func (p *Port) serve(c *net.UnixConn) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.conn = c
	path := p.path
	p.mu.Unlock()
	p.everConnected.Store(true)
	for i := range p.vrings {
		p.vrings[i].stats.Reset()
		p.vrings[i].retries.Store(0)
	}
	p.noDevDrops.Store(0)
	d := newDevice(p, proto.NewConn(c), path)
	d.logf("new device")
	if p.miss != nil {
		go d.missLoop()
	}
	for {
		m, err := d.conn.Read()
		if err != nil {
			switch {
			case errors.Is(err, io.EOF):
				d.logf("vhost peer closed")
			case p.isClosed() || errors.Is(err, net.ErrClosed):
			default:
				d.warnf("%v; closing the connection", err)
			}
			break
		}
		if err := d.dispatch(m); err != nil {
			d.warnf("%v; closing the connection", err)
			break
		}
	}
	close(d.done)
	d.destroy()
	c.Close()
	p.mu.Lock()
	p.conn = nil
	p.mu.Unlock()
}

// dispatch handles one message. A returned error ends the connection.
// Accesses to guest memory made here (ring setup) are fault-protected like
// the PMD's.
func (d *device) dispatch(m proto.Message) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		m.CloseFds()
		if r := recover(); r != nil {
			err = fmt.Errorf("%v: %s", m.Request, describePanic(r))
		}
	}()
	var reply []byte
	if !proto.FdsAllowed(m.Request, m.Payload, len(m.Fds)) {
		err = fmt.Errorf("%w: %v carries %d fds, want %d", proto.ErrBadFds, m.Request, len(m.Fds), proto.FdsExpected(m.Request, m.Payload))
	} else {
		reply, err = d.handle(&m)
	}
	ack := d.hasProto(proto.ProtoReplyAck) && m.NeedReply()
	if err != nil {
		if errors.Is(err, errUnsupported) && !ack {
			// The front-end may wait for an answer we cannot give.
			return err
		}
		d.warnf("%v", err)
		if ack {
			return d.conn.Reply(m.Header, proto.EncodeU64(1))
		}
		if reply == nil && expectsReply(m.Request) {
			return err
		}
		return nil
	}
	if reply != nil {
		return d.conn.Reply(m.Header, reply)
	}
	if ack {
		return d.conn.Reply(m.Header, proto.EncodeU64(0))
	}
	return nil
}

// expectsReply lists the requests whose reply is not a REPLY_ACK.
func expectsReply(r proto.Request) bool {
	switch r {
	case proto.GetFeatures, proto.GetProtocolFeatures, proto.GetQueueNum, proto.GetVringBase,
		proto.GetMaxMemSlots, proto.GetStatus, proto.GetConfig, proto.GetInflightFd:
		return true
	}
	return false
}

// acceptFeatures decodes the feature bits of a SET_FEATURES or
// SET_PROTOCOL_FEATURES payload; the front-end may only take bits that
// were offered (vhost-user.rst: "Feature negotiation").
func acceptFeatures(r proto.Request, p []byte, offered uint64, what string) (uint64, error) {
	v, err := proto.DecodeU64(r, p)
	if err != nil {
		return 0, err
	}
	if extra := v &^ offered; extra != 0 {
		return 0, fmt.Errorf("%w: %v: %s %#x were not offered", proto.ErrBadPayload, r, what, extra)
	}
	return v, nil
}

// takeFd removes the i-th fd from m so that dispatch does not close it.
func takeFd(m *proto.Message) int {
	if len(m.Fds) == 0 {
		return -1
	}
	fd := m.Fds[0]
	m.Fds = m.Fds[1:]
	return fd
}

func (d *device) vring(r proto.Request, idx uint32) (*vringConfig, int, error) {
	if idx >= maxVrings {
		return nil, 0, fmt.Errorf("%w: %v: vring %d of %d", proto.ErrBadPayload, r, idx, maxVrings)
	}
	v := &d.vr[idx]
	v.referenced = true
	return v, int(idx), nil
}

// vringState decodes a vring state payload and finds the vring it names.
func (d *device) vringState(r proto.Request, p []byte) (proto.VringState, *vringConfig, int, error) {
	s, err := proto.DecodeVringState(r, p)
	if err != nil {
		return s, nil, 0, err
	}
	v, i, err := d.vring(r, s.Index)
	return s, v, i, err
}

func (d *device) handle(m *proto.Message) ([]byte, error) {
	r, p := m.Request, m.Payload
	switch r {
	case proto.GetFeatures:
		return proto.EncodeU64(offeredFeatures(d.p.opts.IOMMU)), nil
	case proto.SetFeatures:
		v, err := acceptFeatures(r, p, offeredFeatures(d.p.opts.IOMMU), "features")
		if err != nil {
			return nil, err
		}
		d.features = v
		d.logf("negotiated Virtio features: %#x", v)
		d.restartAll()
		return nil, nil
	case proto.GetProtocolFeatures:
		return proto.EncodeU64(offeredProtocolFeatures(d.p.opts.IOMMU)), nil
	case proto.SetProtocolFeatures:
		v, err := acceptFeatures(r, p, offeredProtocolFeatures(d.p.opts.IOMMU), "protocol features")
		if err != nil {
			return nil, err
		}
		d.protoFeatures = v
		d.logf("negotiated Vhost-user protocol features: %#x", v)
		return nil, nil
	case proto.SetOwner:
		return nil, nil
	case proto.ResetOwner, proto.ResetDevice:
		d.reset()
		return nil, nil
	case proto.GetQueueNum:
		return proto.EncodeU64(MaxQueuePairs), nil
	case proto.GetMaxMemSlots:
		return proto.EncodeU64(guestmem.MaxSlots), nil
	case proto.SetMemTable:
		regs, err := proto.DecodeMemTable(r, p)
		if err != nil {
			return nil, err
		}
		fds := m.Fds
		m.Fds = nil
		t, err := guestmem.Map(regs, fds)
		if err != nil {
			return nil, fmt.Errorf("%v: %w", r, err)
		}
		for _, rg := range regs {
			d.logf("guest memory region size: %#x", rg.Size)
		}
		d.replaceMem(t)
		return nil, nil
	case proto.AddMemReg:
		rg, err := proto.DecodeSingleRegion(r, p)
		if err != nil {
			return nil, err
		}
		t, err := d.mem.With(rg, takeFd(m))
		if err != nil {
			return nil, fmt.Errorf("%v: %w", r, err)
		}
		d.logf("guest memory region size: %#x", rg.Size)
		d.replaceMem(t)
		return nil, nil
	case proto.RemMemReg:
		rg, err := proto.DecodeSingleRegion(r, p)
		if err != nil {
			return nil, err
		}
		for _, fd := range m.Fds { // QEMU passes the region's fd; we need none
			unix.Close(fd)
		}
		m.Fds = nil
		t, err := d.mem.Without(rg)
		if err != nil {
			return nil, fmt.Errorf("%v: %w", r, err)
		}
		d.replaceMem(t)
		return nil, nil
	case proto.SetVringNum:
		s, v, i, err := d.vringState(r, p)
		if err != nil {
			return nil, err
		}
		if s.Num == 0 || s.Num > virtq.MaxSize || s.Num&(s.Num-1) != 0 {
			return nil, fmt.Errorf("%w: %v: vring %d size %d", proto.ErrBadPayload, r, i, s.Num)
		}
		v.num, v.numSet = uint16(s.Num), true
		d.restart(i)
		return nil, nil
	case proto.SetVringAddr:
		a, err := proto.DecodeVringAddr(r, p)
		if err != nil {
			return nil, err
		}
		v, i, err := d.vring(r, a.Index)
		if err != nil {
			return nil, err
		}
		v.addr, v.addrSet = a, true
		d.restart(i)
		return nil, nil
	case proto.SetVringBase:
		s, v, i, err := d.vringState(r, p)
		if err != nil {
			return nil, err
		}
		if s.Num > 0xffff {
			return nil, fmt.Errorf("%w: %v: base %d", proto.ErrBadPayload, r, s.Num)
		}
		d.p.stopVring(i)
		v.base = uint16(s.Num)
		d.startVring(i)
		return nil, nil
	case proto.GetVringBase:
		s, v, i, err := d.vringState(r, p)
		if err != nil {
			return nil, err
		}
		// vhost-user.rst GET_VRING_BASE: stop the ring and report where
		// it stopped.
		d.stop(i)
		v.started = false
		closeFd(&v.kick)
		d.updateLink()
		return proto.VringState{Index: s.Index, Num: uint32(v.base)}.Encode(), nil
	case proto.SetVringKick, proto.SetVringCall, proto.SetVringErr:
		idx, hasFd, err := proto.VringFd(r, p)
		if err != nil {
			return nil, err
		}
		v, i, err := d.vring(r, idx)
		if err != nil {
			return nil, err
		}
		fd := -1
		if hasFd {
			fd = takeFd(m)
		}
		switch r {
		case proto.SetVringKick:
			// The ring starts with its kick fd (or the no-fd bit:
			// polling, which is all we do anyway).
			d.stop(i)
			closeFd(&v.kick)
			v.kick, v.started = fd, true
			if !d.has(FeatureProtocolFeatures) {
				v.enabled = true // vhost-user.rst: rings start enabled without PROTOCOL_FEATURES
			}
			d.startVring(i)
		case proto.SetVringCall:
			d.stop(i)
			closeFd(&v.call)
			v.call = fd
			d.startVring(i)
		default:
			closeFd(&v.errFd)
			v.errFd = fd
		}
		d.updateLink()
		return nil, nil
	case proto.SetVringEnable:
		s, v, i, err := d.vringState(r, p)
		if err != nil {
			return nil, err
		}
		if s.Num > 1 {
			return nil, fmt.Errorf("%w: %v: %d", proto.ErrBadPayload, r, s.Num)
		}
		v.enabled = s.Num == 1
		d.restart(i)
		d.updateLink()
		state := "disabled"
		if v.enabled {
			state = "enabled"
		}
		kind := "tx_qid" // our tx queue is the guest's receive ring (even)
		if i%2 == 1 {
			kind = "rx_qid"
		}
		d.p.log.Info(fmt.Sprintf("State of queue %d ( %s %d ) of vhost device '%s' changed to '%s'", i, kind, i/2, d.path, state))
		return nil, nil
	case proto.SendRARP:
		if len(p) != proto.SizeU64 {
			return nil, fmt.Errorf("%w: %v: %d bytes", proto.ErrBadPayload, r, len(p))
		}
		var mac [6]byte
		copy(mac[:], p)
		d.p.rarp.Store(&mac)
		return nil, nil
	case proto.NetSetMTU:
		v, err := proto.DecodeU64(r, p)
		if err != nil {
			return nil, err
		}
		if v < 68 || v > 65535 {
			return nil, fmt.Errorf("%w: %v: MTU %d", proto.ErrBadPayload, r, v)
		}
		d.mtu = v
		return nil, nil
	case proto.SetBackendReqFd:
		if !d.hasProto(proto.ProtoBackendReq) {
			return nil, fmt.Errorf("%w: %v without BACKEND_REQ", errUnsupported, r)
		}
		f := os.NewFile(uintptr(takeFd(m)), "vhost-user-backend")
		fc, err := net.FileConn(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%v: %w", r, err)
		}
		uc, ok := fc.(*net.UnixConn)
		if !ok {
			fc.Close()
			return nil, fmt.Errorf("%w: %v: not a Unix socket", proto.ErrBadPayload, r)
		}
		d.backendMu.Lock()
		if d.backend != nil {
			d.backend.Close()
		}
		d.backend = proto.NewConn(uc)
		d.backendMu.Unlock()
		return nil, nil
	case proto.IOTLBMsg:
		if !d.p.opts.IOMMU {
			return nil, fmt.Errorf("%w: %v without vhost-iommu-support", errUnsupported, r)
		}
		msg, err := proto.DecodeIOTLB(r, p)
		if err != nil {
			return nil, err
		}
		switch msg.Type {
		case proto.IOTLBUpdate:
			n, ok := d.iotlb.Update(msg)
			if !ok {
				return nil, fmt.Errorf("%v: IOTLB full (%d entries)", r, guestmem.MaxIOTLBEntries)
			}
			d.iotlb = n
		case proto.IOTLBInvalidate:
			d.iotlb = d.iotlb.Invalidate(msg.IOVA, msg.Size)
		default:
			return nil, fmt.Errorf("%w: %v: type %d from the front-end", proto.ErrBadPayload, r, msg.Type)
		}
		d.restartAll()
		return nil, nil
	case proto.SetStatus:
		v, err := proto.DecodeU64(r, p)
		if err != nil {
			return nil, err
		}
		if v > 0xff {
			return nil, fmt.Errorf("%w: %v: %#x", proto.ErrBadPayload, r, v)
		}
		d.status = v
		d.logf("new device status(0x%08x):", v)
		d.updateLink()
		return nil, nil
	case proto.GetStatus:
		return proto.EncodeU64(d.status), nil
	}
	return nil, fmt.Errorf("%w: %v", errUnsupported, r)
}

func closeFd(fd *int) {
	if *fd >= 0 {
		unix.Close(*fd)
		*fd = -1
	}
}

// replaceMem installs a new memory table: live rings are stopped, rebuilt
// over the new table and restarted, and only then is the old one unmapped.
func (d *device) replaceMem(t *guestmem.Table) {
	for i := range d.vr {
		d.stop(i)
	}
	old := d.mem
	d.mem = t
	for i := range d.vr {
		d.startVring(i)
	}
	old.Close()
	d.updateLink()
}

// stop stops vring i, if it runs, keeping where it stopped as the base it
// restarts from.
func (d *device) stop(i int) {
	if q := d.p.stopVring(i); q != nil {
		d.vr[i].base = q.LastAvail()
	}
}

// restart rebuilds vring i after its configuration changed.
func (d *device) restart(i int) {
	d.stop(i)
	d.startVring(i)
}

func (d *device) restartAll() {
	for i := range d.vr {
		d.restart(i)
	}
	d.updateLink()
}

// startVring publishes vring i to the PMDs if it is complete, started and
// enabled. The caller has stopped it.
func (d *device) startVring(i int) {
	v := &d.vr[i]
	if !v.started || !v.enabled || !v.numSet || !v.addrSet || d.mem == nil {
		return
	}
	cfg := virtq.Config{
		Size: v.num, Desc: v.addr.Desc, Avail: v.addr.Avail, Used: v.addr.Used, Base: v.base,
		EventIdx: d.has(FeatureEventIdx), MrgRxbuf: d.has(FeatureNetMrgRxbuf),
		Indirect: d.has(FeatureIndirectDesc), Version1: d.has(FeatureVersion1),
		CallFd: v.call, Mem: d.mem, Stats: &d.p.vrings[i].stats,
	}
	if d.has(FeatureIOMMUPlatform) {
		cfg.IOTLB = d.iotlb
		if cfg.IOTLB == nil {
			cfg.IOTLB = &guestmem.IOTLB{}
		}
	}
	q, err := virtq.New(cfg)
	if err != nil {
		if cfg.IOTLB != nil {
			// The rings' I/O addresses may just not be translated yet:
			// ask, and start when the updates come (restartAll).
			for _, a := range []uint64{v.addr.Desc, v.addr.Avail, v.addr.Used} {
				d.sendMiss(iotlbMiss{a, proto.IOTLBPermRW})
			}
			return
		}
		d.warnf("vring %d not started: %v", i, err)
		return
	}
	d.p.vrings[i].reported.Store(false)
	d.p.vrings[i].live.Store(q)
}

// updateLink recomputes readiness, queue pairs and status after a change.
func (d *device) updateLink() {
	p := d.p
	ready := p.vrings[0].live.Load() != nil && p.vrings[1].live.Load() != nil
	if d.hasProto(proto.ProtoStatus) && d.status&statusDriverOK == 0 {
		ready = false
	}
	nvr := 0
	for i := range d.vr {
		if d.vr[i].addrSet {
			nvr = i + 1
		}
	}
	pairs := int32(max(1, (nvr+1)/2))
	if ready && p.queuePairs.Load() != pairs {
		p.queuePairs.Store(pairs)
		if f := p.notifyQueue.Load(); f != nil {
			(*f)()
		}
	}
	if ready {
		sizes := make([]uint16, 0, nvr)
		for i := 0; i < nvr; i++ {
			sizes = append(sizes, d.vr[i].num)
		}
		p.publishStatus(&deviceInfo{features: d.features, sizes: sizes})
	}
	if ready == d.ready {
		return
	}
	d.ready = ready
	if ready {
		d.logf("virtio is now ready for processing.")
		p.log.Info(fmt.Sprintf("vHost Device '%s' has been added on numa node 0", d.path))
		p.link.Store(true)
	} else {
		p.link.Store(false)
		p.publishStatus(nil)
		p.log.Info(fmt.Sprintf("vHost Device '%s' has been removed", d.path))
	}
}

// reset stops every vring and forgets the negotiation (RESET_OWNER).
func (d *device) reset() {
	for i := range d.vr {
		d.p.stopVring(i)
		v := &d.vr[i]
		closeFd(&v.kick)
		closeFd(&v.call)
		closeFd(&v.errFd)
		*v = vringConfig{kick: -1, call: -1, errFd: -1}
	}
	d.features, d.status = 0, 0
	d.updateLink()
}

// destroy releases everything the connection held.
func (d *device) destroy() {
	d.reset()
	d.mem.Close()
	d.mem = nil
	d.backendMu.Lock()
	if d.backend != nil {
		d.backend.Close()
		d.backend = nil
	}
	d.backendMu.Unlock()
	d.p.log.Info(fmt.Sprintf("vHost Device '%s' connection has been destroyed", d.path))
}

// describePanic tells a guest-memory fault (recoverable by design, with
// runtime/debug.SetPanicOnFault: the runtime error carries the faulting
// address) from a bug in this package, which gets its stack logged.
func describePanic(r any) string {
	if _, ok := r.(interface{ Addr() uintptr }); ok {
		return fmt.Sprintf("guest memory access faulted: %v", r)
	}
	return fmt.Sprintf("internal error: %v\n%s", r, debug.Stack())
}

// missLoop forwards the PMDs' IOTLB misses to the front-end until the
// connection ends.
func (d *device) missLoop() {
	for {
		select {
		case <-d.done:
			return
		case m := <-d.p.miss:
			d.sendMiss(m)
		}
	}
}

// sendMiss asks the front-end to translate iova (vhost-user.rst
// "VHOST_USER_BACKEND_IOTLB_MSG"); it answers with an IOTLB_MSG update.
func (d *device) sendMiss(m iotlbMiss) {
	d.backendMu.Lock()
	defer d.backendMu.Unlock()
	if d.backend == nil {
		return
	}
	msg := proto.IOTLB{IOVA: m.iova, Perm: m.perm, Type: proto.IOTLBMiss}
	if err := d.backend.Write(proto.Header{Request: proto.BackendIOTLBMsg, Flags: proto.Version}, msg.Encode()); err != nil {
		d.warnf("IOTLB miss for %#x: %v", m.iova, err)
	}
}

// injectRARP puts a RARP frame announcing the guest's MAC (SEND_RARP,
// sent by QEMU after a migration) in front of the burst so the switch
// learns where the guest now is.
func (p *Port) injectRARP(pkts []*dataplane.Packet) int {
	if len(pkts) == 0 {
		return 0
	}
	mac := p.rarp.Swap(nil)
	if mac == nil {
		return 0
	}
	pk := p.pool.Get()
	if pk == nil {
		return 0
	}
	f := pk.Room()[:60]
	clear(f)
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], mac[:])
	binary.BigEndian.PutUint16(f[12:], 0x8035) // RFC 903 RARP
	binary.BigEndian.PutUint16(f[14:], 1)      // Ethernet
	binary.BigEndian.PutUint16(f[16:], 0x0800)
	f[18], f[19] = 6, 4
	binary.BigEndian.PutUint16(f[20:], 3) // reverse request
	copy(f[22:28], mac[:])
	copy(f[32:38], mac[:])
	pk.SetLen(60)
	pkts[0] = pk
	return 1
}

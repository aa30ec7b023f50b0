package virtq_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"gvswitch/dataplane"
	"gvswitch/vhostuser/guestmem"
	"gvswitch/vhostuser/proto"
	"gvswitch/vhostuser/vhosttest"
	"gvswitch/vhostuser/virtq"
)

type env struct {
	mem   *vhosttest.Memory
	table *guestmem.Table
	pool  *dataplane.Pool
	cache *dataplane.PoolCache // the PMD's, in front of pool
}

func newEnv(tb testing.TB, memSize int) *env {
	tb.Helper()
	m, err := vhosttest.NewMemory(memSize)
	if err != nil {
		tb.Fatal(err)
	}
	tbl, err := guestmem.Map([]proto.MemRegion{m.Region()}, []int{m.DupFd()})
	if err != nil {
		tb.Fatal(err)
	}
	pool, ar, err := dataplane.NewArenaPool("test", 512, dataplane.DefaultDataRoom, dataplane.ArenaOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tbl.Close(); m.Close(); ar.Close() })
	return &env{mem: m, table: tbl, pool: pool, cache: pool.NewCache(0)}
}

// leaked is how many packets are neither in the pool nor in the cache.
func (e *env) leaked() int {
	e.cache.Flush()
	return e.pool.Size() - e.pool.Available()
}

func (e *env) queue(tb testing.TB, r *vhosttest.Ring, mod func(*virtq.Config)) *virtq.Queue {
	tb.Helper()
	d, a, u := r.Addrs()
	cfg := virtq.Config{Size: r.Size, Desc: d, Avail: a, Used: u, MrgRxbuf: true, Version1: true, Indirect: true, CallFd: -1, Mem: e.table}
	if mod != nil {
		mod(&cfg)
	}
	q, err := virtq.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return q
}

func frame(n int, seed byte) []byte {
	f := make([]byte, n)
	copy(f, []byte{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00})
	for i := 14; i < n; i++ {
		f[i] = seed + byte(i)
	}
	return f
}

func TestDequeueFrames(t *testing.T) {
	e := newEnv(t, 1<<20)
	r, _ := vhosttest.NewRing(e.mem, 256, 2048)
	q := e.queue(t, r, nil)
	want := [][]byte{frame(60, 1), frame(1514, 2), frame(64, 3)}
	for _, f := range want {
		if err := r.PostTx(f); err != nil {
			t.Fatal(err)
		}
	}
	pkts := make([]*dataplane.Packet, 32)
	n := q.Dequeue(e.cache, pkts)
	if n != 3 {
		t.Fatalf("dequeued %d, want 3 (broken: %q)", n, q.Broken())
	}
	for i := 0; i < n; i++ {
		if !bytes.Equal(pkts[i].Data(), want[i]) {
			t.Errorf("frame %d: got %d bytes, want %d", i, pkts[i].Len(), len(want[i]))
		}
		pkts[i].Free()
	}
	if got := r.UsedIdx(); got != 3 {
		t.Fatalf("used index %d, want 3", got)
	}
	if len(r.PopUsed()) != 3 || q.LastAvail() != 3 {
		t.Fatal("used ring / last avail wrong")
	}
	if r.UsedFlags()&1 == 0 {
		t.Error("device did not set VIRTQ_USED_F_NO_NOTIFY while polling")
	}
	s := q.Stats()
	if s.Packets.Load() != 3 || s.Bytes.Load() != 60+1514+64 || s.Sizes[virtq.Size64].Load() != 1 || s.Sizes[virtq.SizeUnder64].Load() != 1 {
		t.Fatalf("stats: %d packets %d bytes", s.Packets.Load(), s.Bytes.Load())
	}
	if n := q.Dequeue(e.cache, pkts); n != 0 {
		t.Fatalf("second dequeue got %d", n)
	}
}

func TestDequeueBurstLimitAndPoolDry(t *testing.T) {
	e := newEnv(t, 4<<20)
	r, _ := vhosttest.NewRing(e.mem, 1024, 256)
	q := e.queue(t, r, nil)
	for i := 0; i < 600; i++ {
		r.PostTx(frame(64, byte(i)))
	}
	pkts := make([]*dataplane.Packet, 600)
	// The pool has 512 buffers: the rest stays in the ring.
	n := q.Dequeue(e.cache, pkts)
	if n != 512 {
		t.Fatalf("dequeued %d, want 512 (pool size)", n)
	}
	dataplane.PutBurst(pkts[:n])
	if n := q.Dequeue(e.cache, pkts[:32]); n != 32 {
		t.Fatalf("dequeued %d, want burst of 32", n)
	}
	dataplane.PutBurst(pkts[:32])
	if got := r.UsedIdx(); got != 544 {
		t.Fatalf("used idx %d", got)
	}
}

func TestDequeueIndirectAndSplitHeader(t *testing.T) {
	e := newEnv(t, 1<<20)
	r, _ := vhosttest.NewRing(e.mem, 16, 2048)
	q := e.queue(t, r, nil)
	f := frame(300, 7)
	// Indirect table of 3 entries: header alone, then the frame in two.
	tblOff, _ := e.mem.Alloc(48, 16)
	dataOff, _ := e.mem.Alloc(512, 16)
	copy(e.mem.Bytes()[dataOff+12:], f)
	tb := e.mem.Bytes()[tblOff:]
	put := func(i int, addr uint64, n uint32, flags, next uint16) {
		binary.LittleEndian.PutUint64(tb[16*i:], addr)
		binary.LittleEndian.PutUint32(tb[16*i+8:], n)
		binary.LittleEndian.PutUint16(tb[16*i+12:], flags)
		binary.LittleEndian.PutUint16(tb[16*i+14:], next)
	}
	put(0, e.mem.GPA(dataOff), 12, vhosttest.DescNext, 2)
	put(2, e.mem.GPA(dataOff+12), 100, vhosttest.DescNext, 1)
	put(1, e.mem.GPA(dataOff+112), 200, 0, 0)
	r.SetDesc(5, e.mem.GPA(tblOff), 48, vhosttest.DescIndirect, 0)
	r.PushAvail(5)
	pkts := make([]*dataplane.Packet, 4)
	if n := q.Dequeue(e.cache, pkts); n != 1 {
		t.Fatalf("dequeued %d (broken %q)", n, q.Broken())
	}
	if !bytes.Equal(pkts[0].Data(), f) {
		t.Fatal("indirect frame content differs")
	}
	pkts[0].Free()
}

func TestEnqueueMergeable(t *testing.T) {
	e := newEnv(t, 1<<20)
	r, _ := vhosttest.NewRing(e.mem, 64, 512)
	q := e.queue(t, r, nil)
	r.PostRx(64)
	want := [][]byte{frame(64, 1), frame(1514, 2), frame(500, 3), frame(501, 4)}
	pkts := packets(t, e.pool, want)
	if n := q.Enqueue(pkts); n != 4 {
		t.Fatalf("enqueued %d (broken %q)", n, q.Broken())
	}
	dataplane.PutBurst(pkts)
	got, err := r.RecvFrames()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("guest got %d frames", len(got))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("frame %d: %d bytes, want %d", i, len(got[i]), len(want[i]))
		}
	}
	// 1 + 3 (12+1514 in 512s) + 1 (12+500 exactly) + 2
	if u := r.UsedIdx(); u != 7 {
		t.Errorf("used %d buffers, want 7", u)
	}
}

func TestEnqueueOutOfBuffers(t *testing.T) {
	e := newEnv(t, 1<<20)
	r, _ := vhosttest.NewRing(e.mem, 64, 512)
	q := e.queue(t, r, nil)
	r.PostRx(3)
	pkts := packets(t, e.pool, [][]byte{frame(100, 1), frame(1000, 2), frame(100, 3)})
	// 100 fits in one buffer; 1000 needs 2 (12+1000 > 512*1, <= 1024): fits
	// in the 2 left; the third finds none.
	if n := q.Enqueue(pkts); n != 2 {
		t.Fatalf("enqueued %d, want 2", n)
	}
	if q.Stats().Dropped.Load() != 1 {
		t.Fatalf("dropped %d", q.Stats().Dropped.Load())
	}
	dataplane.PutBurst(pkts)
	got, _ := r.RecvFrames()
	if len(got) != 2 || len(got[1]) != 1000 {
		t.Fatalf("guest got %d frames", len(got))
	}
	// A frame that needs 3 buffers when 2 are posted: not delivered, and
	// the 2 buffers stay available.
	r.PostRx(2)
	pkts = packets(t, e.pool, [][]byte{frame(1200, 9)})
	if n := q.Enqueue(pkts); n != 0 {
		t.Fatal("partial frame delivered")
	}
	dataplane.PutBurst(pkts)
	if r.UsedIdx() != 3 {
		t.Fatalf("used idx moved to %d for an undelivered frame", r.UsedIdx())
	}
}

func TestEnqueueWithoutMergeable(t *testing.T) {
	e := newEnv(t, 1<<20)
	r, _ := vhosttest.NewRing(e.mem, 64, 512)
	r.HdrLen = 10
	q := e.queue(t, r, func(c *virtq.Config) { c.MrgRxbuf, c.Version1 = false, false })
	r.PostRx(4)
	pkts := packets(t, e.pool, [][]byte{frame(600, 1), frame(400, 2)})
	if n := q.Enqueue(pkts); n != 1 {
		t.Fatalf("enqueued %d, want 1 (600 bytes do not fit a 512-byte chain)", n)
	}
	dataplane.PutBurst(pkts)
	got, err := r.RecvFrames()
	if err != nil || len(got) != 1 || !bytes.Equal(got[0], frame(400, 2)) {
		t.Fatalf("got %d frames, %v", len(got), err)
	}
}

func packets(tb testing.TB, pool *dataplane.Pool, frames [][]byte) []*dataplane.Packet {
	out := make([]*dataplane.Packet, len(frames))
	for i, f := range frames {
		p := pool.Get()
		if p == nil {
			tb.Fatal("pool empty")
		}
		copy(p.Room(), f)
		p.SetLen(len(f))
		out[i] = p
	}
	return out
}

func eventfd(t *testing.T) int {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func readEvent(fd int) uint64 {
	var b [8]byte
	if n, _ := unix.Read(fd, b[:]); n != 8 {
		return 0
	}
	return binary.LittleEndian.Uint64(b[:])
}

func TestNotificationSuppression(t *testing.T) {
	for _, eventIdx := range []bool{false, true} {
		t.Run(fmt.Sprintf("event_idx=%v", eventIdx), func(t *testing.T) {
			e := newEnv(t, 1<<20)
			r, _ := vhosttest.NewRing(e.mem, 64, 256)
			call := eventfd(t)
			q := e.queue(t, r, func(c *virtq.Config) { c.CallFd, c.EventIdx = call, eventIdx })
			pkts := make([]*dataplane.Packet, 32)
			deq := func(k int) {
				for i := 0; i < k; i++ {
					r.PostTx(frame(64, 0))
				}
				n := q.Dequeue(e.cache, pkts)
				dataplane.PutBurst(pkts[:n])
				r.PopUsed()
			}
			deq(2)
			if readEvent(call) != 1 {
				t.Fatal("no interrupt with suppression off")
			}
			if eventIdx {
				// Interrupt only when used idx passes used_event = 5.
				r.SetUsedEvent(5)
				deq(2) // used 2 -> 4
				if readEvent(call) != 0 {
					t.Fatal("interrupt before used_event")
				}
				deq(3) // 4 -> 7 crosses 5
				if readEvent(call) != 1 {
					t.Fatal("no interrupt when crossing used_event")
				}
			} else {
				r.SetAvailFlags(vhosttest.AvailNoInterrupt)
				deq(3)
				if readEvent(call) != 0 {
					t.Fatal("interrupt despite VIRTQ_AVAIL_F_NO_INTERRUPT")
				}
			}
			if q.Stats().Notifications.Load() != 2 && eventIdx || q.Stats().Notifications.Load() != 1 && !eventIdx {
				t.Fatalf("notifications counted %d", q.Stats().Notifications.Load())
			}
		})
	}
}

// TestHostileDescriptors: each violation breaks that queue, with a reason,
// and nothing outside guest memory is touched (the process survives).
func TestHostileDescriptors(t *testing.T) {
	type setup func(e *env, r *vhosttest.Ring)
	cases := []struct {
		name, reason string
		rx           bool
		set          setup
	}{
		{"address outside memory", "outside guest memory", false, func(e *env, r *vhosttest.Ring) {
			r.SetDesc(0, 1<<40, 100, 0, 0)
			r.PushAvail(0)
		}},
		{"length past the end", "outside guest memory", false, func(e *env, r *vhosttest.Ring) {
			r.SetDesc(0, r.BufGPA(0), 1<<30, 0, 0)
			r.PushAvail(0)
		}},
		{"oversized length wraps", "outside guest memory", true, func(e *env, r *vhosttest.Ring) {
			r.SetDesc(0, ^uint64(0)-10, 0xffffffff, vhosttest.DescWrite, 0)
			r.PushAvail(0)
		}},
		{"descriptor loop", "loop", false, func(e *env, r *vhosttest.Ring) {
			r.SetDesc(0, r.BufGPA(0), 20, vhosttest.DescNext, 1)
			r.SetDesc(1, r.BufGPA(1), 20, vhosttest.DescNext, 0)
			r.PushAvail(0)
		}},
		{"self loop on receive", "loop", true, func(e *env, r *vhosttest.Ring) {
			r.SetDesc(0, r.BufGPA(0), 0, vhosttest.DescWrite|vhosttest.DescNext, 0)
			r.PushAvail(0)
		}},
		{"next beyond table", "beyond table", false, func(e *env, r *vhosttest.Ring) {
			r.SetDesc(0, r.BufGPA(0), 20, vhosttest.DescNext, 500)
			r.PushAvail(0)
		}},
		{"head beyond ring", "names descriptor", false, func(e *env, r *vhosttest.Ring) {
			r.PushAvail(999)
		}},
		{"avail index jump", "ahead", true, func(e *env, r *vhosttest.Ring) {
			r.SetAvailIdx(5000)
		}},
		{"indirect table odd size", "indirect table", false, func(e *env, r *vhosttest.Ring) {
			r.SetDesc(0, r.BufGPA(0), 20, vhosttest.DescIndirect, 0)
			r.PushAvail(0)
		}},
		{"indirect table outside memory", "indirect table", false, func(e *env, r *vhosttest.Ring) {
			r.SetDesc(0, 1<<40, 32, vhosttest.DescIndirect, 0)
			r.PushAvail(0)
		}},
		{"indirect table too big", "indirect table", false, func(e *env, r *vhosttest.Ring) {
			r.SetDesc(0, r.BufGPA(0), 16*1024, vhosttest.DescIndirect, 0)
			r.PushAvail(0)
		}},
		{"nested indirect", "nested", false, func(e *env, r *vhosttest.Ring) {
			tb := e.mem.At(r.BufGPA(0), 16)
			binary.LittleEndian.PutUint64(tb, r.BufGPA(1))
			binary.LittleEndian.PutUint32(tb[8:], 16)
			binary.LittleEndian.PutUint16(tb[12:], vhosttest.DescIndirect)
			r.SetDesc(0, r.BufGPA(0), 16, vhosttest.DescIndirect, 0)
			r.PushAvail(0)
		}},
		{"indirect loop", "loop", false, func(e *env, r *vhosttest.Ring) {
			tb := e.mem.At(r.BufGPA(0), 32)
			for i := 0; i < 2; i++ {
				binary.LittleEndian.PutUint64(tb[16*i:], r.BufGPA(2))
				binary.LittleEndian.PutUint32(tb[16*i+8:], 10)
				binary.LittleEndian.PutUint16(tb[16*i+12:], vhosttest.DescNext)
				binary.LittleEndian.PutUint16(tb[16*i+14:], uint16(1-i))
			}
			r.SetDesc(0, r.BufGPA(0), 32, vhosttest.DescIndirect, 0)
			r.PushAvail(0)
		}},
		{"writable descriptor in transmit chain", "device-writable", false, func(e *env, r *vhosttest.Ring) {
			r.SetDesc(0, r.BufGPA(0), 100, vhosttest.DescWrite, 0)
			r.PushAvail(0)
		}},
		{"readable descriptor in receive chain", "device-readable", true, func(e *env, r *vhosttest.Ring) {
			r.SetDesc(0, r.BufGPA(0), 100, 0, 0)
			r.PushAvail(0)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 1<<20)
			r, _ := vhosttest.NewRing(e.mem, 16, 256)
			q := e.queue(t, r, nil)
			tc.set(e, r)
			pkts := make([]*dataplane.Packet, 8)
			if tc.rx {
				in := packets(t, e.pool, [][]byte{frame(64, 1)})
				if n := q.Enqueue(in); n != 0 {
					t.Fatal("delivered into a hostile ring")
				}
				dataplane.PutBurst(in)
			} else if n := q.Dequeue(e.cache, pkts); n != 0 {
				t.Fatalf("dequeued %d from a hostile ring", n)
			}
			if !strings.Contains(q.Broken(), tc.reason) {
				t.Fatalf("Broken() = %q, want it to mention %q", q.Broken(), tc.reason)
			}
			if q.Stats().Errors.Load() == 0 {
				t.Fatal("violation not counted")
			}
			if n := e.leaked(); n != 0 {
				t.Fatalf("leaked %d packets", n)
			}
			// A broken queue stays quiet even when the guest posts good
			// frames afterwards.
			r.SetDesc(3, r.BufGPA(3), 80, 0, 0)
			r.PushAvail(3)
			if n := q.Dequeue(e.cache, pkts); n != 0 {
				t.Fatal("broken queue still processed")
			}
		})
	}
}

func TestOversizedFrameDroppedNotBroken(t *testing.T) {
	e := newEnv(t, 1<<20)
	r, _ := vhosttest.NewRing(e.mem, 16, 8192)
	q := e.queue(t, r, nil)
	r.PostTx(frame(5000, 1)) // larger than a 2048-byte packet buffer
	r.PostTx(frame(100, 2))
	pkts := make([]*dataplane.Packet, 8)
	n := q.Dequeue(e.cache, pkts)
	if n != 1 || !bytes.Equal(pkts[0].Data(), frame(100, 2)) || q.Broken() != "" {
		t.Fatalf("dequeued %d, broken %q", n, q.Broken())
	}
	pkts[0].Free()
	if q.Stats().Dropped.Load() != 1 || r.UsedIdx() != 2 {
		t.Fatal("oversized frame not dropped and returned")
	}
}

func TestNewRejectsBadRings(t *testing.T) {
	e := newEnv(t, 1<<20)
	r, _ := vhosttest.NewRing(e.mem, 16, 256)
	d, a, u := r.Addrs()
	for _, c := range []virtq.Config{
		{Size: 0, Desc: d, Avail: a, Used: u},
		{Size: 24, Desc: d, Avail: a, Used: u},
		{Size: 16, Desc: d + 8, Avail: a, Used: u},
		{Size: 16, Desc: d, Avail: a + 1, Used: u},
		{Size: 16, Desc: 0x1000, Avail: a, Used: u},
		{Size: 16, Desc: d, Avail: a, Used: e.mem.UVA(uint64(len(e.mem.Bytes())) - 64)},
	} {
		c.Mem, c.CallFd = e.table, -1
		if _, err := virtq.New(c); err == nil {
			t.Errorf("New accepted %+v", c)
		}
	}
}

// TestDescriptorAcrossRegions: a buffer contiguous in guest physical
// memory across two regions (two fds, as after memory hot-plug) is read
// and written piece by piece.
func TestDescriptorAcrossRegions(t *testing.T) {
	m1, _ := vhosttest.NewMemory(1 << 20)
	m2, _ := vhosttest.NewMemory(1 << 20)
	defer m1.Close()
	defer m2.Close()
	m2.GPABase = m1.GPABase + 1<<20
	tbl, err := guestmem.Map([]proto.MemRegion{m1.Region(), m2.Region()}, []int{m1.DupFd(), m2.DupFd()})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	e := newEnv(t, 4096)
	e.table = tbl
	tx, _ := vhosttest.NewRing(m1, 16, 256)
	rx, _ := vhosttest.NewRing(m1, 16, 256)
	qt, qr := e.queue(t, tx, nil), e.queue(t, rx, nil)
	f := frame(300, 5)
	edge := m2.GPABase - 100 // 100 bytes in region 1, the rest in region 2
	buf := append(make([]byte, 12), f...)
	copy(m1.Bytes()[len(m1.Bytes())-100:], buf[:100])
	copy(m2.Bytes(), buf[100:])
	tx.SetDesc(0, edge, uint32(len(buf)), 0, 0)
	tx.PushAvail(0)
	pkts := make([]*dataplane.Packet, 4)
	if n := qt.Dequeue(e.cache, pkts); n != 1 || !bytes.Equal(pkts[0].Data(), f) {
		t.Fatalf("dequeued %d (broken %q)", n, qt.Broken())
	}
	// And back into a receive buffer that crosses the same boundary.
	rx.SetDesc(0, edge, 1024, vhosttest.DescWrite, 0)
	rx.PushAvail(0)
	if n := qr.Enqueue(pkts[:1]); n != 1 {
		t.Fatalf("enqueued %d (broken %q)", n, qr.Broken())
	}
	pkts[0].Free()
	got := append(append([]byte(nil), m1.Bytes()[len(m1.Bytes())-100:]...), m2.Bytes()[:212]...)
	if !bytes.Equal(got[12:], f) || got[10] != 1 {
		t.Fatal("frame written across the regions differs")
	}
}

package vhostuser_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gvswitch/vhostuser"
	"gvswitch/vhostuser/proto"
	"gvswitch/vhostuser/vhosttest"
)

// TestHostileFrontends attacks a dpdkvhostuser port with broken messages
// and broken rings while two other ports forward traffic. After each
// attack the process is alive, the victim port accepts a well-behaved
// front-end again, and the other ports' traffic was not disturbed.
func TestHostileFrontends(t *testing.T) {
	dir := t.TempDir()
	pool := newPool(t)
	var logs logBuf
	sock := filepath.Join(dir, "victim")
	victim, err := vhostuser.NewServer("vhs0", sock, vhostuser.Options{Pool: pool, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	// The bystanders: two client ports joined by a forwarder.
	ga, gb := newGuest(t, dir, "a.sock"), newGuest(t, dir, "b.sock")
	pa, _ := vhostuser.NewClient("vhu0", ga.path, vhostuser.Options{Pool: pool})
	defer pa.Close()
	pb, _ := vhostuser.NewClient("vhu1", gb.path, vhostuser.Options{Pool: pool})
	defer pb.Close()
	ga.setup(t, 1)
	gb.setup(t, 1)
	stop := forward(pa, pb)
	defer stop()
	// The victim is polled too, so its broken rings are exercised.
	vpeer := newGuest(t, dir, "vpeer.sock")
	vp, _ := vhostuser.NewClient("vhu2", vpeer.path, vhostuser.Options{Pool: pool})
	defer vp.Close()
	vpeer.setup(t, 1)
	stopV := forward(victim, vp)
	defer stopV()

	dial := func(t *testing.T) *vhosttest.Frontend {
		f, err := vhosttest.Dial(sock)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	// goodSetup dials and sets up a well-behaved device.
	goodSetup := func(t *testing.T) *vhosttest.Frontend {
		f := dial(t)
		if err := f.Setup(vhosttest.DefaultFeatures, vhosttest.DefaultProtocols, 1, 64, 2048, 2<<20); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "victim link up", 5*time.Second, victim.Link)
		return f
	}
	ring := func(f *vhosttest.Frontend, i int) *vhosttest.Ring { return f.Rings[i] }

	cases := []struct {
		name string
		// attack runs against a fresh connection; it returns the
		// front-end to close afterwards.
		attack func(t *testing.T) *vhosttest.Frontend
		log    string
	}{
		{"garbage bytes", func(t *testing.T) *vhosttest.Frontend {
			f := dial(t)
			f.Conn.UnixConn().Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
			return f
		}, "bad message header"},
		{"payload size beyond limit", func(t *testing.T) *vhosttest.Frontend {
			f := dial(t)
			h := make([]byte, 12)
			proto.Header{Request: proto.SetMemTable, Flags: proto.Version, Size: 1 << 31}.Encode(h)
			f.Conn.UnixConn().Write(h)
			return f
		}, "payload size"},
		{"mis-sized SET_FEATURES", func(t *testing.T) *vhosttest.Frontend {
			f := dial(t)
			f.ProtoFeatures = 1 << proto.ProtoReplyAck
			f.Call(proto.SetProtocolFeatures, proto.EncodeU64(1<<proto.ProtoReplyAck))
			if _, err := f.Call(proto.SetFeatures, []byte{1, 2, 3, 4}); err == nil {
				t.Error("mis-sized SET_FEATURES acknowledged")
			}
			return f
		}, "SET_FEATURES: 4 bytes, want 8"},
		{"SET_MEM_TABLE without fd", func(t *testing.T) *vhosttest.Frontend {
			f := dial(t)
			f.ProtoFeatures = 1 << proto.ProtoReplyAck
			f.Call(proto.SetProtocolFeatures, proto.EncodeU64(1<<proto.ProtoReplyAck))
			reg := proto.MemRegion{GuestAddr: 0, Size: 1 << 20, UserAddr: 0x10000}
			if _, err := f.Call(proto.SetMemTable, proto.EncodeMemTable([]proto.MemRegion{reg})); err == nil {
				t.Error("fd-less SET_MEM_TABLE acknowledged")
			}
			return f
		}, "carries 0 fds, want 1"},
		{"region beyond its file", func(t *testing.T) *vhosttest.Frontend {
			f := dial(t)
			m, _ := vhosttest.NewMemory(1 << 20)
			f.Mem = m
			reg := m.Region()
			reg.Size = 1 << 30
			f.Send(proto.SetMemTable, proto.Version, proto.EncodeMemTable([]proto.MemRegion{reg}), m.Fd())
			return f
		}, "beyond the file"},
		{"unknown request", func(t *testing.T) *vhosttest.Frontend {
			f := dial(t)
			f.Send(proto.Request(200), proto.Version, nil)
			return f
		}, "unsupported request: request 200"},
		{"vring index out of range", func(t *testing.T) *vhosttest.Frontend {
			f := dial(t)
			f.Send(proto.SetVringNum, proto.Version, proto.VringState{Index: 4000, Num: 256}.Encode())
			return f
		}, "vring 4000"},
		{"ring outside memory", func(t *testing.T) *vhosttest.Frontend {
			f := goodSetup(t)
			f.Call(proto.SetVringAddr, proto.VringAddr{Index: 1, Desc: 1 << 50, Avail: 1 << 50, Used: 1 << 50}.Encode())
			return f
		}, "not inside guest memory"},
		{"descriptor outside memory", func(t *testing.T) *vhosttest.Frontend {
			f := goodSetup(t)
			r := ring(f, 1)
			r.SetDesc(0, 1<<45, 100, 0, 0)
			r.PushAvail(0)
			return f
		}, "outside guest memory"},
		{"descriptor loop", func(t *testing.T) *vhosttest.Frontend {
			f := goodSetup(t)
			r := ring(f, 1)
			r.SetDesc(0, r.BufGPA(0), 60, vhosttest.DescNext, 1)
			r.SetDesc(1, r.BufGPA(1), 60, vhosttest.DescNext, 0)
			r.PushAvail(0)
			return f
		}, "a loop"},
		{"oversized length", func(t *testing.T) *vhosttest.Frontend {
			f := goodSetup(t)
			r := ring(f, 1)
			r.SetDesc(0, r.BufGPA(0), 0xfffffff0, 0, 0)
			r.PushAvail(0)
			return f
		}, "outside guest memory"},
		{"bad indirect table", func(t *testing.T) *vhosttest.Frontend {
			f := goodSetup(t)
			r := ring(f, 1)
			r.SetDesc(0, r.BufGPA(0), 17, vhosttest.DescIndirect, 0)
			r.PushAvail(0)
			return f
		}, "indirect table of 17 bytes"},
		{"bad receive ring", func(t *testing.T) *vhosttest.Frontend {
			f := goodSetup(t)
			r := ring(f, 0)
			r.SetAvailIdx(r.UsedIdx() + 1000)
			// Traffic towards the victim makes the PMD look at it.
			vpeer.Transmit(0, frame(64, 9, 9, 0))
			return f
		}, "ahead of ours"},
		{"memory truncated under the mapping", func(t *testing.T) *vhosttest.Frontend {
			f := goodSetup(t)
			f.Mem.Truncate(0)
			return f
		}, "faulted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(logs.String())
			f := tc.attack(t)
			waitFor(t, "log line "+tc.log, 5*time.Second, func() bool {
				return strings.Contains(logs.String()[before:], tc.log)
			})
			// The bystanders still forward, both ways.
			exchange(t, ga.Frontend, gb.Frontend, 0, 100, 64)
			exchange(t, gb.Frontend, ga.Frontend, 0, 100, 64)
			f.Close()
			waitFor(t, "victim link down", 5*time.Second, func() bool { return !victim.Link() })
			// The victim serves a good front-end again.
			g := goodSetup(t)
			exchange(t, g, vpeer.Frontend, 0, 50, 64)
			exchange(t, vpeer.Frontend, g, 0, 50, 64)
			g.Close()
			waitFor(t, "victim link down", 5*time.Second, func() bool { return !victim.Link() })
		})
	}
	if testing.Verbose() {
		t.Log(logs.String())
	}
}

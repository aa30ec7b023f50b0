package e2e

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gvswitch/internal/testenv"
	"gvswitch/vhostuser/proto"
	"gvswitch/vhostuser/vhosttest"
)

// A hostile vhost-user front-end on a dpdkvhostuser port of gvswitchd
// (garbage, mis-sized and fd-less messages, descriptors outside memory, a
// descriptor loop, a bad indirect table, its memory truncated under the
// mapping) cannot crash gvswitchd, and two well-behaved front-ends on
// other ports of the same bridge keep exchanging frames throughout.
func TestVhostUserHostileFrontend(t *testing.T) {
	testenv.NeedRoot(t)
	dir := t.TempDir()
	ns := NewNetns(t, "vhhost")
	d := StartDaemon(t, DaemonOptions{Netns: ns})
	mustVsctl(t, d, "add-br", "br0", "--", "set", "Bridge", "br0", "datapath_type=netdev")
	mustVsctl(t, d, "add-port", "br0", "vhs0", "tag=300", "--", "set", "Interface", "vhs0", "type=dpdkvhostuser")
	var good [2]*vhosttest.Frontend
	for i := range good {
		name := fmt.Sprintf("vhu%d", i)
		sock := filepath.Join(dir, name+".sock")
		f, err := vhosttest.Listen(sock)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(f.Close)
		good[i] = f
		mustVsctl(t, d, "add-port", "br0", name, "tag=300", "--", "set", "Interface", name,
			"type=dpdkvhostuserclient", "options:vhost-server-path="+sock)
		if err := f.Accept(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		if err := f.Setup(vhosttest.DefaultFeatures, vhosttest.DefaultProtocols, 1, 256, 2048, 8<<20); err != nil {
			t.Fatal(err)
		}
	}
	mac := func(i int) []byte { return []byte{2, 0, 0, 0, 4, byte(i + 1)} }
	frame := func(from, to, seq int) []byte {
		f := make([]byte, 64)
		copy(f, mac(to))
		copy(f[6:], mac(from))
		f[12], f[13] = 0x88, 0xb5
		f[14], f[15] = byte(seq>>8), byte(seq)
		return f
	}
	// traffic sends n frames each way between the good front-ends and
	// checks that (nearly) all arrive: the bridge may flood the first
	// ones before it learned, and drops what a full ring cannot take.
	seq := 0
	traffic := func(n int) {
		t.Helper()
		for dir := 0; dir < 2; dir++ {
			a, b := good[dir], good[1-dir]
			got := 0
			deadline := time.Now().Add(10 * time.Second)
			for sent := 0; got < n; {
				for k := 0; k < 8 && sent < 4*n && a.Rings[1].Free() > 0; k++ {
					a.Transmit(0, frame(dir, 1-dir, seq))
					sent++
					seq++
				}
				time.Sleep(time.Millisecond)
				a.Reclaim(0)
				fs, err := b.Receive(0)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range fs {
					if !bytes.Equal(f[:12], append(mac(1-dir), mac(dir)...)) {
						t.Fatalf("unexpected frame % x", f[:16])
					}
					got++
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d frames arrived (%d sent)\ngvswitchd log:\n%s", got, n, sent, d.Log())
				}
			}
		}
	}
	traffic(100)

	sock := filepath.Join(d.Rundir, "vhs0")
	dial := func(t *testing.T) *vhosttest.Frontend {
		f, err := vhosttest.Dial(sock)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	setup := func(t *testing.T) *vhosttest.Frontend {
		f := dial(t)
		if err := f.Setup(vhosttest.DefaultFeatures, vhosttest.DefaultProtocols, 1, 64, 2048, 2<<20); err != nil {
			t.Fatal(err)
		}
		return f
	}
	attacks := []struct {
		name string
		run  func(t *testing.T) *vhosttest.Frontend
	}{
		{"garbage", func(t *testing.T) *vhosttest.Frontend {
			f := dial(t)
			f.Conn.UnixConn().Write(bytes.Repeat([]byte{0xff}, 4096))
			return f
		}},
		{"mis-sized messages", func(t *testing.T) *vhosttest.Frontend {
			f := dial(t)
			f.Send(proto.SetFeatures, proto.Version, []byte{1})
			f.Send(proto.SetVringAddr, proto.Version, make([]byte, 7))
			f.Send(proto.SetMemTable, proto.Version, make([]byte, 300))
			return f
		}},
		{"SET_MEM_TABLE without fd", func(t *testing.T) *vhosttest.Frontend {
			f := dial(t)
			f.Send(proto.SetMemTable, proto.Version, proto.EncodeMemTable([]proto.MemRegion{{Size: 1 << 20, UserAddr: 1 << 30}}))
			return f
		}},
		{"descriptor outside memory", func(t *testing.T) *vhosttest.Frontend {
			f := setup(t)
			f.Rings[1].SetDesc(0, 1<<44, 64, 0, 0)
			f.Rings[1].PushAvail(0)
			return f
		}},
		{"descriptor loop", func(t *testing.T) *vhosttest.Frontend {
			f := setup(t)
			r := f.Rings[1]
			r.SetDesc(0, r.BufGPA(0), 64, vhosttest.DescNext, 1)
			r.SetDesc(1, r.BufGPA(1), 64, vhosttest.DescNext, 0)
			r.PushAvail(0)
			return f
		}},
		{"bad indirect table", func(t *testing.T) *vhosttest.Frontend {
			f := setup(t)
			r := f.Rings[1]
			r.SetDesc(0, r.BufGPA(0), 24, vhosttest.DescIndirect, 0)
			r.PushAvail(0)
			return f
		}},
		{"memory truncated", func(t *testing.T) *vhosttest.Frontend {
			f := setup(t)
			f.Mem.Truncate(0)
			return f
		}},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			f := a.run(t)
			traffic(50)
			f.Close()
			if d.Wait(0) {
				t.Fatalf("gvswitchd died\nlog:\n%s", d.Log())
			}
		})
	}
	traffic(100)
	log := d.Log()
	for _, want := range []string{"bad message header", "carries 0 fds", "outside guest memory", "a loop", "indirect table of 24 bytes", "faulted"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not show the %q attack being caught", want)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("gvswitchd log:\n%s", log)
	}
}

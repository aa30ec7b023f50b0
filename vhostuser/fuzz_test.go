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

// FuzzMessages sends a front-end's worth of arbitrary messages to a port:
// each record of the input is a request code, flags, an fd flag and a
// payload; a record can carry a memfd (as SET_MEM_TABLE and the vring fd
// requests do). Whatever the sequence, the port must neither panic nor log
// an internal error, and must serve a well-behaved front-end afterwards.
func FuzzMessages(f *testing.F) {
	rec := func(r proto.Request, withFd bool, p []byte) []byte {
		b := []byte{byte(r), proto.Version, 0, byte(len(p))}
		if withFd {
			b[2] = 1
		}
		return append(b, p...)
	}
	var seed []byte
	seed = append(seed, rec(proto.GetFeatures, false, nil)...)
	seed = append(seed, rec(proto.SetFeatures, false, proto.EncodeU64(vhosttest.DefaultFeatures))...)
	seed = append(seed, rec(proto.SetMemTable, true, proto.EncodeMemTable([]proto.MemRegion{{GuestAddr: 0, Size: 1 << 16, UserAddr: 1 << 30}}))...)
	seed = append(seed, rec(proto.SetVringNum, false, proto.VringState{Index: 1, Num: 16}.Encode())...)
	seed = append(seed, rec(proto.SetVringAddr, false, proto.VringAddr{Index: 1, Desc: 1 << 30, Avail: 1<<30 + 256, Used: 1<<30 + 4096}.Encode())...)
	seed = append(seed, rec(proto.SetVringKick, true, proto.EncodeU64(1))...)
	seed = append(seed, rec(proto.GetVringBase, false, proto.VringState{Index: 1}.Encode())...)
	f.Add(seed)
	f.Add(rec(proto.AddMemReg, true, proto.EncodeSingleRegion(proto.MemRegion{Size: 4096, UserAddr: 4096})))
	f.Add(rec(proto.IOTLBMsg, false, make([]byte, 32)))

	dir := f.TempDir()
	sock := filepath.Join(dir, "fz")
	var logs logBuf
	port, err := vhostuser.NewServer("fz", sock, vhostuser.Options{Pool: newPool(f), Logger: logs.logger(), IOMMU: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { port.Close() })
	mem, err := vhosttest.NewMemory(1 << 16)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { mem.Close() })

	f.Fuzz(func(t *testing.T, in []byte) {
		fe, err := vhosttest.Dial(sock)
		if err != nil {
			t.Fatal(err)
		}
		for len(in) >= 4 {
			r, flags, withFd, n := proto.Request(in[0]), uint32(in[1]), in[2]&1 != 0, int(in[3])
			in = in[4:]
			n = min(n, len(in))
			p := in[:n]
			in = in[n:]
			var fds []int
			if withFd {
				fds = append(fds, mem.Fd())
			}
			// Requests whose answer we would wait for are sent without
			// waiting: the port must cope with a front-end that never
			// reads too.
			if err := fe.Send(r, flags, p, fds...); err != nil {
				break
			}
		}
		fe.Close()
		if l := logs.String(); strings.Contains(l, "internal error") {
			t.Fatalf("internal error in the port:\n%s", l)
		}
		// Still serving: a good front-end gets its features answered.
		deadline := time.Now().Add(5 * time.Second)
		for {
			g, err := vhosttest.Dial(sock)
			if err == nil {
				v, err := g.GetU64(proto.GetFeatures)
				g.Close()
				if err == nil && v&(1<<32) != 0 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("port no longer serves: %v", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

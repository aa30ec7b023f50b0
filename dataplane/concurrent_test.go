package dataplane_test

import (
	"bytes"
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"gvswitch/dataplane"
	"gvswitch/dataplane/memport"
)

// TestReconfigureUnderTraffic: two workers forward between ports 1 and 2
// while the control plane keeps adding, reconfiguring and removing port 3.
// Traffic between 1 and 2 never stops, a removed port is never used after
// RemovePort returned (the caller closes it right away), and no buffer is
// lost on the way.
//
// The test waits for events (a worker finished a burst, port 3 was sent
// to), never for a time: on a loaded machine a goroutine can be off the CPU
// for tens of milliseconds, and a wall-clock budget only measured that.
func TestReconfigureUnderTraffic(t *testing.T) {
	r := newRig(t, dataplane.BridgeConfig{})
	p1 := r.add(1, dataplane.PortConfig{})
	p2 := r.add(2, dataplane.PortConfig{})
	var stop atomic.Bool
	var wg sync.WaitGroup
	// Cleanups run last-registered first: this one runs before newRig's,
	// so the workers are gone before the arena under their packets is
	// unmapped, however the test ends.
	t.Cleanup(func() {
		stop.Store(true)
		wg.Wait()
	})
	var forwarded, bursts [3]atomic.Uint64
	for w, in := range []uint32{1, 2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := r.ports[in]
			other := p2
			if in == 2 {
				other = p1
			}
			f := frame(broadcast, hostMAC(byte(in)), 0, 0, 0x0800, 64)
			frames := [][]byte{f, f, f, f, f, f, f, f}
			pkts := make([]*dataplane.Packet, 32)
			for !stop.Load() {
				src.Feed(0, frames...)
				n := src.RxBurst(0, pkts)
				r.br.Process(w+1, in, -1, pkts[:n])
				forwarded[in].Add(uint64(len(other.Take())))
				bursts[in].Add(1)
				// Unlike a PMD, let the control goroutine in at once
				// rather than at the next preemption (10 ms) when the
				// workers hold every P.
				runtime.Gosched()
			}
		}()
	}
	// waitFor polls cond; the bound only turns a hang into a failure.
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10 s (forwarded %d/%d)", what, forwarded[1].Load(), forwarded[2].Load())
			}
			time.Sleep(50 * time.Microsecond)
		}
	}
	// bothRan waits until each worker ran a whole burst begun after the
	// call (two completions: the first may have begun before) and both
	// directions forwarded frames meanwhile.
	bothRan := func(what string) {
		t.Helper()
		b1, b2 := bursts[1].Load(), bursts[2].Load()
		f1, f2 := forwarded[1].Load(), forwarded[2].Load()
		waitFor("traffic between ports 1 and 2 "+what, func() bool {
			return bursts[1].Load() >= b1+2 && bursts[2].Load() >= b2+2 &&
				forwarded[1].Load() > f1 && forwarded[2].Load() > f2
		})
	}
	const rounds = 200
	for range rounds {
		p3 := memport.New("p3", r.pool, memport.Options{Discard: true})
		if err := r.br.AddPort(3, dataplane.PortConfig{Name: "p3", Port: p3}); err != nil {
			t.Fatal(err)
		}
		waitFor("flooding to an added port", func() bool { return p3.TxBursts() > 0 })
		bothRan("after AddPort")
		if err := r.br.SetPortConfig(3, dataplane.PortConfig{Name: "p3", Port: p3, Tag: 9, HasTag: true}); err != nil {
			t.Fatal(err)
		}
		// The new VLAN holds from the next burst on: VLAN 0 floods
		// no longer reach the port.
		used := p3.TxBursts()
		bothRan("after moving port 3 to VLAN 9")
		if p3.TxBursts() != used {
			t.Fatal("a port moved to VLAN 9 still gets VLAN 0 floods after SetPortConfig returned")
		}
		if err := r.br.SetPortConfig(3, dataplane.PortConfig{Name: "p3", Port: p3}); err != nil {
			t.Fatal(err)
		}
		// Remove the port while the workers are sending to it.
		used = p3.TxBursts()
		waitFor("flooding to a port back in VLAN 0", func() bool { return p3.TxBursts() > used })
		if _, err := r.br.RemovePort(3); err != nil {
			t.Fatal(err)
		}
		p3.Close()
		bothRan("after RemovePort")
		if n := p3.UsedAfterClose(); n != 0 {
			t.Fatalf("a removed port was transmitted on %d times after RemovePort returned", n)
		}
	}
	stop.Store(true)
	wg.Wait()
	p1.Take()
	p2.Take()
	r.br.ReleaseWorker(1)
	r.br.ReleaseWorker(2)
	if r.pool.Available() != r.pool.Size() {
		t.Fatalf("pool has %d of %d buffers after %d reconfigurations: leaked", r.pool.Available(), r.pool.Size(), rounds)
	}
}

func TestCapturePcap(t *testing.T) {
	r := newRig(t, dataplane.BridgeConfig{})
	r.add(1, dataplane.PortConfig{Tag: 10, HasTag: true})
	r.add(2, dataplane.PortConfig{})
	c := dataplane.NewCapture(dataplane.CaptureOptions{Records: 8})
	if err := r.br.SetCapture(2, c); err != nil {
		t.Fatal(err)
	}
	in := frame(broadcast, hostMAC(2), 0, 0, 0x0806, 60)
	r.send(2, in)                                              // rx on port 2
	r.send(1, frame(broadcast, hostMAC(1), 0, 0, 0x0800, 100)) // tx on port 2, tagged
	r.send(1, frame(broadcast, hostMAC(1), 0, 0, 0x0800, 100))
	var buf bytes.Buffer
	n, err := c.WritePcap(context.Background(), &buf, 3, time.Millisecond)
	if err != nil || n != 3 {
		t.Fatalf("WritePcap wrote %d: %v", n, err)
	}
	rd, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	for {
		d, ci, err := rd.ReadPacketData()
		if err != nil {
			break
		}
		if ci.Length != len(d) {
			t.Fatalf("orig len %d, cap len %d", ci.Length, len(d))
		}
		got = append(got, d)
	}
	if len(got) != 3 || !bytes.Equal(got[0], in) || len(got[1]) != 104 {
		t.Fatalf("pcap has %d frames; first equal=%v; second %d bytes", len(got), len(got) > 0 && bytes.Equal(got[0], in), len(got[1]))
	}
	if tp, vid := tagOf(got[1]); tp != 0x8100 || vid != 10 {
		t.Fatal("tx capture is not the frame as sent (tagged)")
	}
	// A full buffer drops and counts; detaching stops the copying.
	for range 10 {
		r.send(2, in)
	}
	if c.Dropped() != 2 {
		t.Fatalf("dropped %d, want 2", c.Dropped())
	}
	r.br.SetCapture(2, nil)
	before := c.Captured()
	r.send(2, in)
	if c.Captured() != before {
		t.Fatal("capture continued after detach")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	c.Drain(func(dataplane.CapturedFrame) {})
	if _, err := c.WritePcap(ctx, &buf, 1, time.Millisecond); err == nil {
		t.Fatal("WritePcap returned without frames or error")
	}
}

// panicPort is a device whose TxBurst panics, like a vhost-user port whose
// guest memory disappeared (the PMD recovers such panics).
type panicPort struct {
	*memport.Port
	panics atomic.Bool
}

func (p *panicPort) TxBurst(q int, pkts []*dataplane.Packet) int {
	if p.panics.Load() {
		panic("fault in guest memory")
	}
	return p.Port.TxBurst(q, pkts)
}

func TestPanickingDevice(t *testing.T) {
	r := newRig(t, dataplane.BridgeConfig{})
	r.add(1, dataplane.PortConfig{})
	r.add(2, dataplane.PortConfig{})
	bad := &panicPort{Port: memport.New("bad", r.pool, memport.Options{})}
	if err := r.br.AddPort(3, dataplane.PortConfig{Name: "bad", Port: bad}); err != nil {
		t.Fatal(err)
	}
	bad.panics.Store(true)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		r.send(1, frame(broadcast, hostMAC(1), 0, 0, 0x0800, 64))
	}()
	r.takeAll()
	// The worker is quiescent (RemovePort returns) and its tx locks free.
	done := make(chan struct{})
	go func() {
		r.br.RemovePort(3)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RemovePort hangs after a panic inside Process")
	}
	r.send(1, frame(broadcast, hostMAC(1), 0, 0, 0x0800, 64))
	if got := r.takeAll(); len(got[2]) != 1 {
		t.Fatalf("after the panic: %v", counts(got))
	}
	bad.panics.Store(false)
	if err := r.br.AddPort(3, dataplane.PortConfig{Name: "bad", Port: bad}); err != nil {
		t.Fatal(err)
	}
	r.send(1, frame(broadcast, hostMAC(1), 0, 0, 0x0800, 64))
	if got := bad.Take(); len(got) != 1 {
		t.Fatalf("device got %d frames after its panic", len(got))
	}
}

func TestBridgeCaptureHelper(t *testing.T) {
	r := newRig(t, dataplane.BridgeConfig{})
	r.add(1, dataplane.PortConfig{})
	r.add(2, dataplane.PortConfig{})
	var buf bytes.Buffer
	done := make(chan error, 1)
	// A failure below must not leave the capture running into the
	// arena's clean-up (this one runs first).
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, err := r.br.Capture(ctx, 2, &buf, 2, dataplane.CaptureOptions{Direction: dataplane.CaptureTx})
		done <- err
	}()
	// Send until the capture has seen two frames sent on port 2.
	deadline := time.Now().Add(5 * time.Second)
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			rd, err := pcapgo.NewReader(&buf)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for {
				if _, _, err := rd.ReadPacketData(); err != nil {
					break
				}
				n++
			}
			if n != 2 {
				t.Fatalf("pcap has %d frames, want 2", n)
			}
			if err := r.br.SetCapture(9, nil); err == nil {
				t.Fatal("capture on an unknown port accepted")
			}
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("capture did not finish")
		}
		r.send(1, frame(broadcast, hostMAC(1), 0, 0, 0x0800, 64))
		r.takeAll()
		time.Sleep(time.Millisecond)
	}
}

package dataplane_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"gvswitch/dataplane"
)

// gateWriter blocks its second write (the first frame's record header,
// after the file header) until release is closed.
type gateWriter struct {
	buf     bytes.Buffer
	writes  int
	blocked chan struct{}
	release chan struct{}
}

func (g *gateWriter) Write(b []byte) (int, error) {
	g.writes++
	if g.writes == 2 {
		close(g.blocked)
		<-g.release
	}
	return g.buf.Write(b)
}

// WritePcap stopped by its context still writes the frames recorded
// before the cancel, even when they came after its last poll (gvswitchctl
// capture's Ctrl-C lost the last frames on a loaded machine).
func TestCaptureStopKeepsRecordedFrames(t *testing.T) {
	r := newRig(t, dataplane.BridgeConfig{})
	r.add(1, dataplane.PortConfig{})
	r.add(2, dataplane.PortConfig{})
	c := dataplane.NewCapture(dataplane.CaptureOptions{Direction: dataplane.CaptureRx})
	if err := r.br.SetCapture(2, c); err != nil {
		t.Fatal(err)
	}
	r.send(2, frame(broadcast, hostMAC(2), 0, 0, 0x0806, 60))
	g := &gateWriter{blocked: make(chan struct{}), release: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		// A poll interval longer than the test: only the cancel wakes it.
		n, err := c.WritePcap(ctx, g, 0, time.Hour)
		done <- result{n, err}
	}()
	<-g.blocked // the first frame is being written: its drain is over
	r.send(2, frame(broadcast, hostMAC(2), 0, 0, 0x0806, 60))
	cancel()
	close(g.release)
	res := <-done
	if res.n != 2 || !errors.Is(res.err, dataplane.ErrCaptureDone) {
		t.Fatalf("WritePcap = %d, %v; want both frames and ErrCaptureDone", res.n, res.err)
	}
	rd, err := pcapgo.NewReader(&g.buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, _, err := rd.ReadPacketData(); err != nil {
			t.Fatalf("frame %d not in the pcap: %v", i, err)
		}
	}
}

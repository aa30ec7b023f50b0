package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// CaptureDirection selects what a Capture records of its port's traffic.
type CaptureDirection uint8

const (
	CaptureRx   CaptureDirection = 1 << iota // frames the port received
	CaptureTx                                // frames the bridge sent on it
	CaptureBoth = CaptureRx | CaptureTx
)

// CaptureOptions size a Capture. Zero values pick the defaults.
type CaptureOptions struct {
	// Records is how many frames the buffer holds before new ones are
	// dropped (default 4096).
	Records int
	// SnapLen is how many bytes of each frame are kept (default 2048).
	SnapLen int
	// Direction is what to record (default CaptureBoth).
	Direction CaptureDirection
}

// CapturedFrame is one recorded frame, valid only during the Drain callback.
type CapturedFrame struct {
	Time      time.Time
	Direction CaptureDirection
	OrigLen   int
	Data      []byte
}

type captureRecord struct {
	ts      int64
	dir     CaptureDirection
	origLen int32
	capLen  int32
}

// Capture is a packet capture attached to a bridge port (Bridge.SetCapture):
// the poll-mode threads copy each captured frame into a bounded buffer, once
// per burst under a short lock, and a reader drains it (Drain, WritePcap).
// A port without a capture pays one atomic pointer load per burst. When the
// buffer is full, frames are dropped and counted, never waited for.
type Capture struct {
	dir     CaptureDirection
	snapLen int

	mu      sync.Mutex
	recs    []captureRecord // filled part of the active buffer
	data    []byte          // slab of the active buffer: record i at i*snapLen
	spare   []captureRecord
	spareD  []byte
	dropped atomic.Uint64
	total   atomic.Uint64
}

// NewCapture makes an empty capture buffer.
func NewCapture(opt CaptureOptions) *Capture {
	if opt.Records <= 0 {
		opt.Records = 4096
	}
	if opt.SnapLen <= 0 {
		opt.SnapLen = 2048
	}
	if opt.Direction == 0 {
		opt.Direction = CaptureBoth
	}
	return &Capture{
		dir:     opt.Direction,
		snapLen: opt.SnapLen,
		recs:    make([]captureRecord, 0, opt.Records),
		data:    make([]byte, opt.Records*opt.SnapLen),
		spare:   make([]captureRecord, 0, opt.Records),
		spareD:  make([]byte, opt.Records*opt.SnapLen),
	}
}

// Dropped counts frames lost because the reader was too slow.
func (c *Capture) Dropped() uint64 { return c.dropped.Load() }

// Captured counts frames recorded so far.
func (c *Capture) Captured() uint64 { return c.total.Load() }

// SnapLen is the largest number of bytes kept per frame.
func (c *Capture) SnapLen() int { return c.snapLen }

// record copies a burst; called by a PMD with the time it read for the burst.
func (c *Capture) record(pkts []*Packet, dir CaptureDirection, now int64) {
	if c.dir&dir == 0 || len(pkts) == 0 {
		return
	}
	c.mu.Lock()
	room := cap(c.recs) - len(c.recs)
	n := min(room, len(pkts))
	for _, p := range pkts[:n] {
		i := len(c.recs)
		d := p.Data()
		k := copy(c.data[i*c.snapLen:(i+1)*c.snapLen], d)
		c.recs = append(c.recs, captureRecord{ts: now, dir: dir, origLen: int32(len(d)), capLen: int32(k)})
	}
	c.mu.Unlock()
	c.total.Add(uint64(n))
	if n < len(pkts) {
		c.dropped.Add(uint64(len(pkts) - n))
	}
}

// Drain hands every buffered frame to fn, oldest first, and empties the
// buffer; it returns how many frames it handed over. The PMDs keep
// recording into the other half of a double buffer meanwhile. Only one
// goroutine may drain a Capture.
func (c *Capture) Drain(fn func(CapturedFrame)) int {
	c.mu.Lock()
	recs, data := c.recs, c.data
	c.recs, c.data = c.spare[:0], c.spareD
	c.mu.Unlock()
	for i, r := range recs {
		fn(CapturedFrame{
			Time:      time.Unix(0, r.ts),
			Direction: r.dir,
			OrigLen:   int(r.origLen),
			Data:      data[i*c.snapLen : i*c.snapLen+int(r.capLen)],
		})
	}
	c.spare, c.spareD = recs[:0], data
	return len(recs)
}

// ErrCaptureDone is returned by WritePcap when its context ends before count
// frames were written (the frames written so far are complete).
var ErrCaptureDone = errors.New("capture stopped")

// WritePcap writes a pcap file (Ethernet link type, microsecond stamps) of
// the captured frames to w until count frames were written (count <= 0:
// until ctx ends), polling the buffer every poll interval (default 10 ms).
// This is `gvswitchctl capture PORT -w file.pcap -c N`.
func (c *Capture) WritePcap(ctx context.Context, w io.Writer, count int, poll time.Duration) (int, error) {
	if poll <= 0 {
		poll = 10 * time.Millisecond
	}
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(uint32(c.snapLen), layers.LinkTypeEthernet); err != nil {
		return 0, fmt.Errorf("capture: pcap header: %w", err)
	}
	written := 0
	var werr error
	t := time.NewTicker(poll)
	defer t.Stop()
	stopping := false
	for {
		c.Drain(func(f CapturedFrame) {
			if werr != nil || (count > 0 && written >= count) {
				return
			}
			ci := gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(f.Data), Length: f.OrigLen}
			if werr = pw.WritePacket(ci, f.Data); werr == nil {
				written++
			}
		})
		if werr != nil {
			return written, fmt.Errorf("capture: write pcap: %w", werr)
		}
		if count > 0 && written >= count {
			return written, nil
		}
		if stopping {
			return written, fmt.Errorf("%w after %d frames: %w", ErrCaptureDone, written, ctx.Err())
		}
		select {
		case <-ctx.Done():
			// One last drain: frames recorded before the cancel (a
			// capture/stop, Ctrl-C of gvswitchctl capture) belong in
			// the file, however late this goroutine got to run.
			stopping = true
		case <-t.C:
		}
	}
}

// Capture records port no's traffic as pcap to w until count frames were
// written (count <= 0: until ctx ends) and detaches again: all that
// `gvswitchctl capture PORT -w file.pcap -c N` needs. Only one capture per
// port at a time: a second one replaces the first.
func (b *Bridge) Capture(ctx context.Context, no uint32, w io.Writer, count int, opt CaptureOptions) (int, error) {
	c := NewCapture(opt)
	if err := b.SetCapture(no, c); err != nil {
		return 0, err
	}
	defer b.SetCapture(no, nil)
	return c.WritePcap(ctx, w, count, 0)
}

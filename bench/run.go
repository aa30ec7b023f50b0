package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Config is one generator run.
type Config struct {
	// Ports are the generator ports the streams name by index.
	Ports []Port
	// Streams are sent together, each at its own rate.
	Streams []Stream
	// Duration bounds the sending time; Count bounds the frames sent per
	// stream. With both 0 the run lasts until its context is done.
	Duration time.Duration
	Count    uint64
	// Burst is the number of frames moved per port call (0: 32).
	Burst int
	// Pin pins the generator's thread to CPU.
	Pin bool
	CPU int
	// Drain is how long to keep receiving after sending stops, for the
	// frames still in flight (0: 200 ms). Receiving stops earlier once
	// every sent frame is back.
	Drain time.Duration
	// Epoch tells this run's frames from an earlier run's late ones.
	Epoch byte
	// Progress, if set, is called about every ProgressEvery (0: 1 s)
	// from another goroutine while the run sends.
	Progress      func(Progress)
	ProgressEvery time.Duration
}

// Progress is a live snapshot.
type Progress struct {
	Elapsed      time.Duration
	TxPPS, RxPPS float64 // over the last interval
	TxPackets    uint64
	RxPackets    uint64
}

// StreamResult is what one stream (or all of them, Result.Total) did.
type StreamResult struct {
	Name      string  `json:"name"`
	FrameSize float64 `json:"frame_size"` // mean, bytes with FCS
	Flows     int     `json:"flows"`
	RatePPS   float64 `json:"rate_pps"` // asked for; 0: max
	TxPackets uint64  `json:"tx_packets"`
	RxPackets uint64  `json:"rx_packets"`
	TxBytes   uint64  `json:"tx_bytes"`
	RxBytes   uint64  `json:"rx_bytes"`
	TxPPS     float64 `json:"tx_pps"`
	RxPPS     float64 `json:"rx_pps"`
	TxGbps    float64 `json:"tx_gbps"` // frame bits with FCS (no preamble or gap)
	RxGbps    float64 `json:"rx_gbps"`
	Lost      int64   `json:"lost"` // sent minus received (negative: duplicates)
	LossPct   float64 `json:"loss_pct"`
	Reordered uint64  `json:"reordered"` // frames that came after a later one
	Latency   Latency `json:"latency"`
}

// Result is a run's outcome.
type Result struct {
	Start       time.Time      `json:"start"`
	Seconds     float64        `json:"seconds"` // sending time
	Interrupted bool           `json:"interrupted,omitempty"`
	Streams     []StreamResult `json:"streams"`
	Total       StreamResult   `json:"total"`
	// Foreign counts received frames that are not this run's (other
	// traffic, or late frames of an earlier run).
	Foreign uint64 `json:"foreign"`
}

// ErrConfig is wrapped by Run for an unusable Config.
var ErrConfig = errors.New("bad generator config")

// streamState is one stream's live state; tx and rx counters are atomic
// for the progress reader, the rest belongs to the loop.
type streamState struct {
	gen      frameGen
	port     Port
	rate     float64
	flows    int
	txPkts   atomic.Uint64
	rxPkts   atomic.Uint64 // rx, published once per burst
	rx       uint64
	txBytes  uint64
	rxBytes  uint64
	next     uint32 // sequence number expected next
	seen     bool
	reorder  uint64
	hist     Histogram
	done     bool
	slots    [][]byte // MaxFrame-byte buffers the frames are built in
	txFrames [][]byte // the current burst's frames (slots cut to size)
}

// Run sends the streams and receives them back until Duration or Count
// is reached or ctx is done (then Result.Interrupted is set and the
// partial result returned with a nil error). The loop runs on the calling
// goroutine's thread, locked and optionally pinned.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if len(cfg.Ports) == 0 || len(cfg.Streams) == 0 {
		return nil, fmt.Errorf("%w: need ports and streams", ErrConfig)
	}
	if len(cfg.Streams) > 256 {
		return nil, fmt.Errorf("%w: at most 256 streams", ErrConfig)
	}
	burst := cfg.Burst
	if burst == 0 {
		burst = 32
	}
	if burst < 1 || burst > MaxBurst {
		return nil, fmt.Errorf("%w: burst %d outside 1..%d", ErrConfig, burst, MaxBurst)
	}
	drain := cfg.Drain
	if drain == 0 {
		drain = 200 * time.Millisecond
	}
	ss := make([]*streamState, len(cfg.Streams))
	for i := range cfg.Streams {
		s := &cfg.Streams[i]
		if err := s.Validate(len(cfg.Ports)); err != nil {
			return nil, fmt.Errorf("stream %d: %w", i, err)
		}
		if fl, ok := cfg.Ports[s.Tx].(FrameLimiter); ok {
			for _, n := range s.Sizes {
				if n > fl.MaxFrameSize() {
					return nil, fmt.Errorf("stream %d: %w: frame size %d larger than port %s carries (%d)",
						i, ErrBadStream, n, cfg.Ports[s.Tx].Name(), fl.MaxFrameSize())
				}
			}
		}
		st := &streamState{gen: newFrameGen(s, cfg.Epoch, byte(i)), port: cfg.Ports[s.Tx], rate: s.Rate, flows: s.Flows(),
			slots: make([][]byte, burst), txFrames: make([][]byte, burst)}
		slab := make([]byte, burst*MaxFrame)
		for k := range st.slots {
			st.slots[k] = slab[k*MaxFrame : (k+1)*MaxFrame : (k+1)*MaxFrame]
		}
		ss[i] = st
	}
	// Receive from each distinct port once.
	var rxPorts []Port
	for _, s := range cfg.Streams {
		p := cfg.Ports[s.Rx]
		dup := false
		for _, q := range rxPorts {
			dup = dup || q == p
		}
		if !dup {
			rxPorts = append(rxPorts, p)
		}
	}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if cfg.Pin {
		var old, set unix.CPUSet
		if err := unix.SchedGetaffinity(0, &old); err == nil {
			defer unix.SchedSetaffinity(0, &old)
		}
		set.Set(cfg.CPU)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			return nil, fmt.Errorf("pin generator to CPU %d: %w", cfg.CPU, err)
		}
	}

	var stop atomic.Bool
	watchDone := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			stop.Store(true)
		case <-watchDone:
		}
	}()
	start := time.Now()
	if cfg.Progress != nil {
		wg.Add(1)
		go progressLoop(&wg, watchDone, start, ss, cfg.Progress, cfg.ProgressEvery)
	}

	l := loop{ss: ss, rxPorts: rxPorts, rxFrames: make([][]byte, burst), burst: burst, start: start}
	deadline := int64(cfg.Duration)
	for !stop.Load() {
		now := l.nanos()
		if deadline > 0 && now >= deadline {
			break
		}
		if !l.send(now, cfg.Count) && cfg.Count > 0 {
			break // every stream sent its count
		}
		l.receive()
	}
	sendEnd := time.Since(start)
	interrupted := stop.Load()
	// Drain what is in flight; a second interrupt is not waited for.
	drainEnd := time.Now().Add(drain)
	for time.Now().Before(drainEnd) && !l.allBack() {
		l.receive()
	}
	close(watchDone)
	wg.Wait()
	return l.result(start, sendEnd, interrupted), nil
}

// loop is the generator's per-run hot state.
type loop struct {
	ss       []*streamState
	rxPorts  []Port
	rxFrames [][]byte
	burst    int
	start    time.Time
	foreign  uint64
}

func (l *loop) nanos() int64 { return int64(time.Since(l.start)) }

// send transmits one burst per stream that may send now; it reports
// whether any stream still has frames to send.
func (l *loop) send(now int64, count uint64) bool {
	active := false
	for _, st := range l.ss {
		if st.done {
			continue
		}
		sent := st.txPkts.Load()
		n := uint64(l.burst)
		if st.rate > 0 {
			allowed := uint64(st.rate * float64(now) / 1e9)
			if allowed <= sent {
				active = true
				continue
			}
			n = min(n, allowed-sent)
		}
		if count > 0 {
			if sent >= count {
				st.done = true
				continue
			}
			n = min(n, count-sent)
		}
		active = true
		frames := st.txFrames[:n]
		var bytes uint64
		for k := range frames {
			frames[k] = st.gen.fill(st.slots[k], uint32(sent)+uint32(k), now)
		}
		k := st.port.Tx(frames)
		for _, f := range frames[:k] {
			bytes += uint64(len(f) + FCSLen)
		}
		st.txBytes += bytes
		st.txPkts.Store(sent + uint64(k))
	}
	return active
}

// receive polls every receive port and accounts the frames. A port is
// polled again while it returns full bursts (up to rxRounds times), so the
// receive side drains faster than the send side fills: a generator that
// fell behind on receiving would lose frames in its own receive ring.
func (l *loop) receive() {
	for _, p := range l.rxPorts {
		for r := 0; r < rxRounds; r++ {
			if l.receiveBurst(p) < len(l.rxFrames) {
				break
			}
		}
	}
}

const rxRounds = 4

func (l *loop) receiveBurst(p Port) int {
	{
		n := p.Rx(l.rxFrames)
		if n == 0 {
			return 0
		}
		now := l.nanos()
		for _, f := range l.rxFrames[:n] {
			sig, ok := ParseSignature(f)
			if !ok || int(sig.Stream) >= len(l.ss) || sig.Epoch != l.ss[sig.Stream].gen.epoch {
				l.foreign++
				continue
			}
			st := l.ss[sig.Stream]
			st.rx++
			st.rxBytes += uint64(len(f) + FCSLen)
			if sig.Sent <= now {
				st.hist.Add(uint64(now - sig.Sent))
			}
			// Serial number arithmetic: the sequence wraps at 2^32.
			if st.seen && int32(sig.Seq-st.next) < 0 {
				st.reorder++
			} else {
				st.next = sig.Seq + 1
				st.seen = true
			}
		}
		for _, st := range l.ss {
			st.rxPkts.Store(st.rx)
		}
		return n
	}
}

func (l *loop) allBack() bool {
	for _, st := range l.ss {
		if st.rxPkts.Load() < st.txPkts.Load() {
			return false
		}
	}
	return true
}

func (l *loop) result(start time.Time, sendTime time.Duration, interrupted bool) *Result {
	secs := sendTime.Seconds()
	r := &Result{Start: start, Seconds: secs, Interrupted: interrupted, Foreign: l.foreign}
	var total Histogram
	var tot StreamResult
	tot.Name = "total"
	for i, st := range l.ss {
		name := strconv.Itoa(i)
		sr := summarize(name, st.txPkts.Load(), st.rxPkts.Load(), st.txBytes, st.rxBytes, st.reorder, &st.hist, secs)
		sr.RatePPS = st.rate
		sr.Flows = st.flows
		sizes := st.gen.sizes
		t := 0
		for _, n := range sizes {
			t += n
		}
		sr.FrameSize = float64(t) / float64(len(sizes))
		r.Streams = append(r.Streams, sr)
		total.Merge(&st.hist)
		tot.TxPackets += sr.TxPackets
		tot.RxPackets += sr.RxPackets
		tot.TxBytes += sr.TxBytes
		tot.RxBytes += sr.RxBytes
		tot.Reordered += sr.Reordered
		tot.RatePPS += st.rate
		tot.Flows += st.flows
	}
	t := summarize("total", tot.TxPackets, tot.RxPackets, tot.TxBytes, tot.RxBytes, tot.Reordered, &total, secs)
	t.RatePPS = tot.RatePPS
	t.Flows = tot.Flows
	if t.TxPackets > 0 {
		t.FrameSize = float64(t.TxBytes) / float64(t.TxPackets)
	}
	r.Total = t
	return r
}

func summarize(name string, tx, rx, txb, rxb, reorder uint64, h *Histogram, secs float64) StreamResult {
	sr := StreamResult{Name: name, TxPackets: tx, RxPackets: rx, TxBytes: txb, RxBytes: rxb,
		Lost: int64(tx) - int64(rx), Reordered: reorder, Latency: h.Summary()}
	if secs > 0 {
		sr.TxPPS, sr.RxPPS = float64(tx)/secs, float64(rx)/secs
		sr.TxGbps, sr.RxGbps = float64(txb)*8/secs/1e9, float64(rxb)*8/secs/1e9
	}
	if tx > 0 {
		sr.LossPct = 100 * float64(sr.Lost) / float64(tx)
	}
	return sr
}

func progressLoop(wg *sync.WaitGroup, done <-chan struct{}, start time.Time, ss []*streamState, f func(Progress), every time.Duration) {
	defer wg.Done()
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var lastTx, lastRx uint64
	last := start
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			var tx, rx uint64
			for _, st := range ss {
				tx += st.txPkts.Load()
				rx += st.rxPkts.Load()
			}
			dt := now.Sub(last).Seconds()
			f(Progress{Elapsed: now.Sub(start), TxPPS: float64(tx-lastTx) / dt, RxPPS: float64(rx-lastRx) / dt, TxPackets: tx, RxPackets: rx})
			lastTx, lastRx, last = tx, rx, now
		}
	}
}

package bench

import (
	"context"
	"testing"
	"time"
)

// policedPort is a loopback port that delivers at most rate frames per
// second (a token bucket refilled by the wall clock) and drops the rest,
// like a switch whose forwarding rate is rate.
type policedPort struct {
	*memPort
	rate   float64
	tokens float64
	last   time.Time
}

func (p *policedPort) Tx(frames [][]byte) int {
	now := time.Now()
	if !p.last.IsZero() {
		p.tokens = min(p.tokens+now.Sub(p.last).Seconds()*p.rate, policerBurst)
	}
	p.last = now
	pass := 0
	for pass < len(frames) && p.tokens >= 1 {
		p.tokens--
		pass++
	}
	p.memPort.Tx(frames[:pass])
	return len(frames) // the rest were "sent" and lost
}

// policerBurst lets the policer absorb a generator catching up after
// being descheduled for 25 ms at 20 kpps (a loaded test machine).
const policerBurst = 512

// TestRFC2544Search: the search finds the policer's rate within the
// resolution, and measures latency at it.
func TestRFC2544Search(t *testing.T) {
	const rate = 20000
	p := &policedPort{memPort: newMemPort(), rate: rate}
	s := DefaultStream()
	r, err := RFC2544(context.Background(), RFC2544Config{
		Base:       Config{Ports: []Port{p}, Streams: []Stream{s}, Drain: 20 * time.Millisecond},
		Sizes:      []int{64, 512},
		Trial:      300 * time.Millisecond,
		Resolution: 0.02,
		MaxTrials:  12,
		Latency:    100 * time.Millisecond,
		Log:        func(s string) { t.Log(s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Sizes) != 2 {
		t.Fatalf("%d sizes", len(r.Sizes))
	}
	for _, s := range r.Sizes {
		// The bucket's burst allowance lets up to 512 frames more
		// through in a 300 ms trial (+8.5 %); scheduling hiccups may
		// cost a little below the rate.
		if s.ThroughputPPS < 0.7*rate || s.ThroughputPPS > 1.15*rate {
			t.Errorf("size %d: throughput %.0f pps, the policer passes %d", s.FrameSize, s.ThroughputPPS, rate)
		}
		if s.MaxTxPPS < 2*rate {
			t.Errorf("size %d: full-speed trial sent only %.0f pps", s.FrameSize, s.MaxTxPPS)
		}
		if s.Latency.Samples == 0 {
			t.Errorf("size %d: no latency samples", s.FrameSize)
		}
	}
}

// TestRFC2544Interrupted: a cancelled context ends the test with what
// it has.
func TestRFC2544Interrupted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	r, err := RFC2544(ctx, RFC2544Config{Base: Config{Ports: []Port{newMemPort()}, Streams: []Stream{DefaultStream()}},
		Trial: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Interrupted {
		t.Fatal("not marked interrupted")
	}
}

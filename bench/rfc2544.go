package bench

import (
	"context"
	"fmt"
	"time"
)

// RFC2544Sizes are the Ethernet frame sizes of RFC 2544 section 9.1.
var RFC2544Sizes = []int{64, 128, 256, 512, 1024, 1280, 1518}

// RFC2544Config is a throughput and latency test.
type RFC2544Config struct {
	// Base gives the ports and the streams; each stream's Sizes and Rate
	// are set by the test (the rate is split evenly between streams).
	Base Config
	// Sizes are the frame sizes to test (nil: RFC2544Sizes).
	Sizes []int
	// Trial is the length of one throughput trial (RFC 2544 26.1 asks
	// for 60 s; 0: 10 s).
	Trial time.Duration
	// LossTolerance is the loss, in percent, a trial may have and still
	// pass (RFC 2544 asks for 0).
	LossTolerance float64
	// Resolution ends the search when the pass/fail bracket is narrower
	// than this fraction of the highest rate (0: 0.01).
	Resolution float64
	// MaxTrials bounds the trials per size (0: 12).
	MaxTrials int
	// Latency is the length of the latency trial at the found rate
	// (RFC 2544 26.2 asks for 120 s; 0: Trial).
	Latency time.Duration
	// Log, if set, is told about every trial.
	Log func(string)
}

// SizeResult is the outcome for one frame size.
type SizeResult struct {
	FrameSize int `json:"frame_size"`
	// MaxTxPPS is what the generator sent at full speed (the search's
	// upper bound); MaxRxPPS what came back then.
	MaxTxPPS float64 `json:"max_tx_pps"`
	MaxRxPPS float64 `json:"max_rx_pps"`
	// ThroughputPPS is the highest rate that passed (RFC 2544 26.1).
	ThroughputPPS  float64 `json:"throughput_pps"`
	ThroughputGbps float64 `json:"throughput_gbps"` // frame bits
	LineRatePct    float64 `json:"line_rate_pct"`   // of 10 Gbit/s
	Trials         int     `json:"trials"`
	// Latency at ThroughputPPS (RFC 2544 26.2), all frames timestamped.
	Latency Latency `json:"latency"`
	LossPct float64 `json:"latency_trial_loss_pct"`
}

// RFC2544Result is the whole test.
type RFC2544Result struct {
	Start         time.Time    `json:"start"`
	TrialSeconds  float64      `json:"trial_seconds"`
	LossTolerance float64      `json:"loss_tolerance_pct"`
	Interrupted   bool         `json:"interrupted,omitempty"`
	Sizes         []SizeResult `json:"sizes"`
}

// minOffered is the share of a trial's rate that must have been sent for
// the trial to count.
const minOffered = 0.99

// RFC2544 runs the throughput binary search for each frame size, then
// measures latency at the rate found. When ctx is done it returns what it
// has, with Interrupted set.
func RFC2544(ctx context.Context, rc RFC2544Config) (*RFC2544Result, error) {
	sizes := rc.Sizes
	if sizes == nil {
		sizes = RFC2544Sizes
	}
	if rc.Trial == 0 {
		rc.Trial = 10 * time.Second
	}
	if rc.Resolution == 0 {
		rc.Resolution = 0.01
	}
	if rc.MaxTrials == 0 {
		rc.MaxTrials = 12
	}
	if rc.Latency == 0 {
		rc.Latency = rc.Trial
	}
	if len(rc.Base.Streams) == 0 {
		return nil, fmt.Errorf("%w: rfc2544 needs a stream", ErrConfig)
	}
	logf := func(format string, args ...any) {
		if rc.Log != nil {
			rc.Log(fmt.Sprintf(format, args...))
		}
	}
	out := &RFC2544Result{Start: time.Now(), TrialSeconds: rc.Trial.Seconds(), LossTolerance: rc.LossTolerance}
	epoch := rc.Base.Epoch
	trial := func(size int, rate float64, d time.Duration) (*Result, error) {
		epoch++
		cfg := rc.Base
		cfg.Epoch = epoch
		cfg.Duration, cfg.Count = d, 0
		cfg.Progress = nil
		cfg.Streams = append([]Stream(nil), rc.Base.Streams...)
		for i := range cfg.Streams {
			cfg.Streams[i].Sizes = []int{size}
			cfg.Streams[i].Rate = rate / float64(len(cfg.Streams))
		}
		return Run(ctx, cfg)
	}
	pass := func(r *Result) bool { return r.Total.LossPct <= rc.LossTolerance }
	for _, size := range sizes {
		sr := SizeResult{FrameSize: size}
		r, err := trial(size, 0, rc.Trial)
		if err != nil {
			return out, fmt.Errorf("size %d: %w", size, err)
		}
		if r.Interrupted {
			out.Interrupted = true
			return out, nil
		}
		sr.Trials++
		sr.MaxTxPPS, sr.MaxRxPPS = r.Total.TxPPS, r.Total.RxPPS
		logf("size %d: max rate: tx %.0f pps, rx %.0f pps, loss %.4f %%", size, r.Total.TxPPS, r.Total.RxPPS, r.Total.LossPct)
		lo, hi := 0.0, r.Total.TxPPS
		if pass(r) {
			lo = hi
		} else {
			// The receive rate at full load is a good first guess, and
			// the answer is usually near it: after the guess, probe 10 %
			// to the side it points to before bisecting.
			guess := r.Total.RxPPS
			nudge := false
			for sr.Trials < rc.MaxTrials && hi-lo > rc.Resolution*hi {
				rate := (lo + hi) / 2
				switch {
				case guess > lo && guess < hi:
					rate, guess, nudge = guess, 0, true
				case nudge && lo > 0:
					rate, nudge = min(lo*1.1, rate), false
				case nudge:
					rate, nudge = max(hi*0.9, rate), false
				}
				r, err := trial(size, rate, rc.Trial)
				if err != nil {
					return out, fmt.Errorf("size %d: %w", size, err)
				}
				if r.Interrupted {
					out.Interrupted = true
					return out, nil
				}
				sr.Trials++
				// A trial that could not offer the rate fails too: a
				// vhost-user switch that does not empty its rings
				// refuses frames instead of dropping them, as a NIC
				// would on the wire.
				offered := r.Total.TxPPS >= minOffered*rate
				ok := offered && pass(r)
				verdict := "pass"
				if !offered {
					verdict = "fail (rate not offered: the port refused frames)"
				} else if !ok {
					verdict = "fail"
				}
				logf("size %d: trial at %.0f pps: tx %.0f rx %.0f loss %.4f %% -> %s", size, rate, r.Total.TxPPS, r.Total.RxPPS, r.Total.LossPct, verdict)
				if ok {
					lo = max(lo, rate)
				} else {
					hi = rate
				}
			}
		}
		sr.ThroughputPPS = lo
		sr.ThroughputGbps = lo * float64(size) * 8 / 1e9
		sr.LineRatePct = 100 * lo / LineRatePPS(10e9, float64(size))
		if lo > 0 {
			r, err := trial(size, lo, rc.Latency)
			if err != nil {
				return out, fmt.Errorf("size %d latency: %w", size, err)
			}
			if r.Interrupted {
				out.Interrupted = true
				out.Sizes = append(out.Sizes, sr)
				return out, nil
			}
			sr.Latency, sr.LossPct = r.Total.Latency, r.Total.LossPct
		}
		logf("size %d: throughput %.0f pps (%.2f %% of 10G) after %d trials", size, lo, sr.LineRatePct, sr.Trials)
		out.Sizes = append(out.Sizes, sr)
	}
	return out, nil
}

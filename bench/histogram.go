package bench

import (
	"math"
	"math/bits"
)

// histSub is the number of sub-buckets per power of two: values are kept
// with at most 1/histSub (3 %) relative error.
const histSub = 32

// Histogram counts latencies in nanoseconds in log-linear buckets (exact
// below histSub ns, then histSub buckets per power of two), like
// HdrHistogram, in a fixed array: Add never allocates.
type Histogram struct {
	counts   [64 * histSub]uint64
	n, sum   uint64
	min, max uint64
}

func bucketOf(v uint64) int {
	if v < histSub {
		return int(v)
	}
	l := bits.Len64(v) // >= 6
	return (l-5)*histSub + int(v>>(l-6))&(histSub-1)
}

// bucketLow is the smallest value of bucket i.
func bucketLow(i int) uint64 {
	g, s := i/histSub, uint64(i%histSub)
	if g == 0 {
		return s
	}
	return (histSub + s) << (g - 1)
}

// bucketMid is a bucket's representative value.
func bucketMid(i int) uint64 {
	lo := bucketLow(i)
	if i/histSub == 0 {
		return lo
	}
	w := uint64(1) << (i/histSub - 1)
	return lo + w/2
}

// Add records one value.
func (h *Histogram) Add(v uint64) {
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Count is the number of values.
func (h *Histogram) Count() uint64 { return h.n }

// Quantile is the value below which fraction q of the values lie (within
// the bucket precision; min and max are exact).
func (h *Histogram) Quantile(q float64) uint64 {
	if h.n == 0 {
		return 0
	}
	if q <= 0 {
		return h.min
	}
	if q >= 1 {
		return h.max
	}
	want := uint64(math.Ceil(q * float64(h.n)))
	var cum uint64
	for i, c := range h.counts {
		cum += c
		if cum >= want {
			return min(max(bucketMid(i), h.min), h.max)
		}
	}
	return h.max
}

// Latency summarises a histogram, in nanoseconds.
type Latency struct {
	Samples uint64  `json:"samples"`
	MinNs   uint64  `json:"min_ns"`
	AvgNs   float64 `json:"avg_ns"`
	P50Ns   uint64  `json:"p50_ns"`
	P99Ns   uint64  `json:"p99_ns"`
	P999Ns  uint64  `json:"p99_9_ns"`
	MaxNs   uint64  `json:"max_ns"`
}

// Summary is the histogram's Latency.
func (h *Histogram) Summary() Latency {
	if h.n == 0 {
		return Latency{}
	}
	return Latency{Samples: h.n, MinNs: h.min, AvgNs: float64(h.sum) / float64(h.n),
		P50Ns: h.Quantile(0.5), P99Ns: h.Quantile(0.99), P999Ns: h.Quantile(0.999), MaxNs: h.max}
}

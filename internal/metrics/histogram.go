package metrics

import (
	"sort"
	"time"
)

// latencyBuckets are the upper bounds, in seconds, of the latency histograms
// (the registry's own and the Prometheus ones): 1 ms to 60 s, plus +Inf.
var latencyBuckets = [...]float64{
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75,
	1, 1.5, 2, 3, 4, 5, 7.5, 10, 15, 20, 30, 45, 60,
}

// histogram is a fixed-bucket latency histogram; counts[len(latencyBuckets)]
// is the +Inf bucket. Zero durations are "not measured" and are not observed.
type histogram struct {
	counts   [len(latencyBuckets) + 1]int64
	count    int64
	sum      time.Duration
	min, max float64 // seconds
}

func (h *histogram) observe(d time.Duration) {
	if d <= 0 {
		return
	}
	s := d.Seconds()
	// Buckets are inclusive upper bounds ("le"), like Prometheus.
	h.counts[sort.SearchFloat64s(latencyBuckets[:], s)]++
	if h.count == 0 || s < h.min {
		h.min = s
	}
	if s > h.max {
		h.max = s
	}
	h.count++
	h.sum += d
}

func (h *histogram) merge(o *histogram) {
	if o.count == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.count == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.count += o.count
	h.sum += o.sum
}

// quantile estimates the q-quantile in seconds: find the bucket that holds
// rank q·count and interpolate linearly between its bounds, narrowed to the
// observed [min, max] (which also bounds the +Inf bucket).
func (h *histogram) quantile(q float64) float64 {
	if h.count == 0 {
		return 0
	}
	rank := q * float64(h.count)
	var cum int64
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		if float64(cum+c) >= rank {
			lo, hi := 0.0, h.max
			if i > 0 {
				lo = latencyBuckets[i-1]
			}
			if i < len(latencyBuckets) {
				hi = latencyBuckets[i]
			}
			lo, hi = max(lo, h.min), min(hi, h.max)
			if hi < lo {
				hi = lo
			}
			return lo + (hi-lo)*(rank-float64(cum))/float64(c)
		}
		cum += c
	}
	return h.max
}

func (h *histogram) summary() Latency {
	if h.count == 0 {
		return Latency{}
	}
	return Latency{
		Count:  h.count,
		MeanMS: float64(h.sum) / float64(h.count) / float64(time.Millisecond),
		P50MS:  h.quantile(0.50) * 1000,
		P95MS:  h.quantile(0.95) * 1000,
		P99MS:  h.quantile(0.99) * 1000,
		MaxMS:  h.max * 1000,
	}
}

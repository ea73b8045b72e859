package push

import (
	"slices"
	"sync/atomic"
	"time"
)

// Histogram names one of the engine's duration histograms.
type Histogram uint8

const (
	// StanzaToPush is the time from a stanza reaching the engine to its
	// push, on the events' clock: the batch window for a batched stanza,
	// zero for one pushed at once.
	StanzaToPush Histogram = iota
	// HandlerLatency is the wall time Handle takes for one event, measured
	// only with Config.MeasureLatency.
	HandlerLatency
	// NumHistograms is the number of histograms.
	NumHistograms
)

// String returns the histogram's name as metrics show it.
func (h Histogram) String() string {
	switch h {
	case StanzaToPush:
		return "stanza_to_push"
	case HandlerLatency:
		return "handler_latency"
	}
	return "unknown"
}

// bucketBounds are the histograms' upper bounds, inclusive; a last bucket
// holds the rest.
var bucketBounds = [...]time.Duration{
	time.Microsecond, 10 * time.Microsecond, 100 * time.Microsecond, time.Millisecond,
	10 * time.Millisecond, 100 * time.Millisecond, time.Second, 10 * time.Second,
	time.Minute, 10 * time.Minute, time.Hour,
}

// NumBuckets is the number of buckets of every histogram.
const NumBuckets = len(bucketBounds) + 1

// BucketBounds returns the histograms' bucket upper bounds (inclusive), in
// increasing order; the last bucket, past them, has none. The slice is the
// caller's.
func BucketBounds() []time.Duration { return slices.Clone(bucketBounds[:]) }

func bucket(d time.Duration) int {
	for i, b := range bucketBounds {
		if d <= b {
			return i
		}
	}
	return len(bucketBounds)
}

// HistogramSnapshot is a histogram's state: how many durations fell in
// each bucket (see BucketBounds), their count and their sum.
type HistogramSnapshot struct {
	Buckets [NumBuckets]uint64
	Count   uint64
	Sum     time.Duration
}

// histogram is a histogram updated with atomics (where no lock is held).
type histogram struct {
	buckets    [NumBuckets]atomic.Uint64
	count, sum atomic.Uint64
}

func (h *histogram) observe(d time.Duration) {
	d = max(d, 0)
	h.buckets[bucket(d)].Add(1)
	h.count.Add(1)
	h.sum.Add(uint64(d))
}

func (h *histogram) addTo(s *HistogramSnapshot) {
	for i := range h.buckets {
		s.Buckets[i] += h.buckets[i].Load()
	}
	s.Count += h.count.Load()
	s.Sum += time.Duration(h.sum.Load())
}

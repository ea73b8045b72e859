package push

import (
	"encoding/json"
	"expvar"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"
)

// Expvar returns an expvar.Var showing e's metrics as one JSON object, for
// expvar.Publish (served by the standard library at /debug/vars):
//
//	{"counts": {"published_important": 12, "suppressed_dedup": 3, ...},
//	 "errors": {"cancel/item-not-found": 1, ...},
//	 "changes": {"enabled": 3, "disabled": 1, ...},
//	 "histograms": {"stanza_to_push": {"le_seconds": [0.000001, ...],
//	   "buckets": [0, ...], "count": 12, "sum_seconds": 9.5}, ...}}
//
// Every reason is present, zero or not; "buckets" has one more entry than
// "le_seconds": the durations past the last bound. Each read takes a
// Snapshot (Engine.Metrics).
func Expvar(e *Engine) expvar.Var {
	return expvar.Func(func() any { return e.Metrics().jsonValue() })
}

type jsonHistogram struct {
	LeSeconds  []float64 `json:"le_seconds"`
	Buckets    []uint64  `json:"buckets"`
	Count      uint64    `json:"count"`
	SumSeconds float64   `json:"sum_seconds"`
}

type jsonSnapshot struct {
	Counts     map[string]uint64        `json:"counts"`
	Errors     map[string]uint64        `json:"errors"`
	Changes    map[string]uint64        `json:"changes"`
	Histograms map[string]jsonHistogram `json:"histograms"`
}

func (s Snapshot) jsonValue() jsonSnapshot {
	j := jsonSnapshot{Counts: make(map[string]uint64, NumReasons), Errors: map[string]uint64{}, Changes: map[string]uint64{},
		Histograms: make(map[string]jsonHistogram, NumHistograms)}
	for r, n := range s.Counts {
		j.Counts[Reason(r).String()] = n
	}
	for k, n := range s.Errors {
		j.Errors[k] = n
	}
	for k, n := range s.Changes {
		j.Changes[k] = n
	}
	bounds := make([]float64, len(bucketBounds))
	for i, b := range bucketBounds {
		bounds[i] = b.Seconds()
	}
	for h := range s.Histograms {
		hs := &s.Histograms[h]
		j.Histograms[Histogram(h).String()] = jsonHistogram{LeSeconds: bounds, Buckets: hs.Buckets[:],
			Count: hs.Count, SumSeconds: hs.Sum.Seconds()}
	}
	return j
}

// MarshalJSON writes the snapshot as Expvar shows it.
func (s Snapshot) MarshalJSON() ([]byte, error) { return json.Marshal(s.jsonValue()) }

// WriteTable writes the snapshot as a text table for people: every reason
// with its count (those counted zero left out), the error answers by type
// and condition, the registration changes by reason, and each histogram's
// count, mean and buckets. It returns
// the writer's first error.
func (s Snapshot) WriteTable(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("%-36s %12s\n", "reason", "count")
	for r, n := range s.Counts {
		if n > 0 {
			ew.printf("%-36s %12d\n", Reason(r), n)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Errors)) {
		ew.printf("%-36s %12d\n", "error "+k, s.Errors[k])
	}
	for _, k := range slices.Sorted(maps.Keys(s.Changes)) {
		ew.printf("%-36s %12d\n", "registration "+k, s.Changes[k])
	}
	for h := range s.Histograms {
		hs := &s.Histograms[h]
		if hs.Count == 0 {
			continue
		}
		ew.printf("%s: %d, mean %v\n", Histogram(h), hs.Count, hs.Sum/time.Duration(hs.Count))
		for i, n := range hs.Buckets {
			if n == 0 {
				continue
			}
			if i < len(bucketBounds) {
				ew.printf("  <= %-10v %12d\n", bucketBounds[i], n)
			} else {
				ew.printf("  >  %-10v %12d\n", bucketBounds[len(bucketBounds)-1], n)
			}
		}
	}
	return ew.err
}

// errWriter keeps a writer's first error and writes nothing after it.
type errWriter struct {
	w   io.Writer
	err error
}

func (ew *errWriter) printf(format string, args ...any) {
	if ew.err == nil {
		_, ew.err = fmt.Fprintf(ew.w, format, args...)
	}
}

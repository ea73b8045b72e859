// Package pushtest runs conformance scenarios (the JSON format described in
// testdata/conformance/FORMAT.md of this repository) through the push
// rules: the project's own suite, and scenarios host authors write for
// their configurations. Its API is LoadScenario, Scenario.Run (or RunInto)
// and the Result's Diff and TraceJSON.
//
// A scenario runs on a fresh push.Engine with an in-memory registry wrapped
// in a fault-injecting store, under a virtual clock: its trace of decisions
// is compared with the trace it expects. When they differ, Result.Diff
// lists the entries missing and unexpected as JSON lines and, where one
// step (or timer) has both, sets them side by side field by field (a
// go-cmp difference, meant for reading: its exact text is not stable).
//
//	sc, err := pushtest.LoadScenario("testdata/conformance/enable-without-node.json")
//	if err != nil {
//		t.Fatal(err)
//	}
//	res, err := sc.Run(ctx)
//	if err != nil {
//		t.Fatal(err)
//	}
//	if d := res.Diff(); d != "" {
//		t.Errorf("trace differs:\n%s", d)
//	}
package pushtest

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/pushrules/pushrules/push"
)

// recorder is a push.Sender that keeps every Publish it is given, in the
// order sent, and never fails. It is safe for concurrent use; its zero
// value is ready to use.
type recorder struct {
	mu   sync.Mutex
	pubs []push.Publish
}

var _ push.Sender = (*recorder)(nil)

// Send records p and returns nil.
func (r *recorder) Send(_ context.Context, p push.Publish) error {
	r.mu.Lock()
	r.pubs = append(r.pubs, p)
	r.mu.Unlock()
	return nil
}

// Publishes returns a copy of the publishes recorded, oldest first.
func (r *recorder) Publishes() []push.Publish {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.pubs)
}

// epoch is the instant a clock starts at, and the instant scenario time 0
// stands for: 2026-01-01T00:00:00Z.
var epoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// clock is a virtual clock: it moves only when told to. It is safe for
// concurrent use; its zero value reads epoch.
type clock struct {
	mu     sync.Mutex
	offset time.Duration // since epoch
}

// Now returns the clock's current time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return epoch.Add(c.offset)
}

// Set sets the clock to t.
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.offset = t.Sub(epoch)
	c.mu.Unlock()
}

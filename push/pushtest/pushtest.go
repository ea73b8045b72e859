// Package pushtest provides utilities for testing code built on package
// push, in the spirit of net/http/httptest: a recording Sender, a virtual
// Clock, and a runner for conformance scenarios (the JSON format described
// in testdata/conformance/FORMAT.md of this repository) that host authors
// can also use for scenarios of their own.
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

// Recorder is a push.Sender that keeps every Publish it is given, in the
// order sent, and never fails. It is safe for concurrent use; its zero
// value is ready to use.
type Recorder struct {
	mu   sync.Mutex
	pubs []push.Publish
}

var _ push.Sender = (*Recorder)(nil)

// Send records p and returns nil.
func (r *Recorder) Send(_ context.Context, p push.Publish) error {
	r.mu.Lock()
	r.pubs = append(r.pubs, p)
	r.mu.Unlock()
	return nil
}

// Publishes returns a copy of the publishes recorded since the last Reset,
// oldest first.
func (r *Recorder) Publishes() []push.Publish {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.pubs)
}

// Len returns the number of publishes recorded since the last Reset.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pubs)
}

// Reset forgets every publish recorded so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.pubs = nil
	r.mu.Unlock()
}

// Epoch is the instant a Clock starts at, and the instant scenario time 0
// stands for: 2026-01-01T00:00:00Z.
var Epoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// Clock is a virtual clock: it moves only when told to. It is safe for
// concurrent use; its zero value reads Epoch. Its Now method can serve as
// push.DriverConfig.Now.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration // since Epoch
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Epoch.Add(c.offset)
}

// Advance moves the clock forward by d (backward when d is negative) and
// returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
	return Epoch.Add(c.offset)
}

// Set sets the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.offset = t.Sub(Epoch)
	c.mu.Unlock()
}

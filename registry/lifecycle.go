package registry

import (
	"context"
	"slices"
	"time"
)

// Tracker is an optional Store capability: a Store that keeps each
// registration's publish history (Registration.LastSuccess, FailingSince
// and LastError) besides its error count. The push engine uses it when the
// Store has it, and needs it to remove registrations after a span of
// failures (push.ErrorPolicy.FailureSpan); without it the engine counts
// errors with AddError and ResetErrors only.
//
// Like every Store method, each call is one atomic step and leaves what is
// stored unchanged when it fails.
type Tracker interface {
	Store
	// Fail counts one publish failure of the registration (user, id) of
	// the given generation, as AddError does, records condition as its
	// LastError and, when its count was zero, at as its FailingSince. It
	// returns the registration as now stored; ErrNotFound when that
	// registration is not stored.
	Fail(ctx context.Context, user string, id Identifier, generation uint64, at time.Time, condition string) (Registration, error)
	// Succeed records a successful publish of the registration: Errors
	// becomes 0, FailingSince zero and LastSuccess at; LastError is kept
	// for people to read. ErrNotFound when that registration is not stored.
	Succeed(ctx context.Context, user string, id Identifier, generation uint64, at time.Time) error
}

// Fail implements Tracker.
func (m *Memory) Fail(ctx context.Context, user string, id Identifier, generation uint64, at time.Time, condition string) (Registration, error) {
	if err := ctx.Err(); err != nil {
		return Registration{}, err
	}
	s := m.shard(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := find(s.users[user], id, generation)
	if e == nil {
		return Registration{}, ErrNotFound
	}
	x := e.rareFields()
	if e.errors == 0 {
		x.failing = at.UnixNano()
	}
	if e.errors < maxErrorCount {
		e.errors++
	}
	x.lastError = condition
	e.setRare(x)
	return e.registration(user), nil
}

// Succeed implements Tracker.
func (m *Memory) Succeed(ctx context.Context, user string, id Identifier, generation uint64, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := m.shard(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := find(s.users[user], id, generation)
	if e == nil {
		return ErrNotFound
	}
	x := e.rareFields()
	x.failing = 0
	e.errors, e.success = 0, at.UnixNano()
	e.setRare(x)
	return nil
}

// unixNano gives t in unix nanoseconds, 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// timeOf undoes unixNano, in UTC.
func timeOf(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// Expirer is an optional Store capability the push engine needs for
// push.Config.Expiry: removing the registrations left unused.
type Expirer interface {
	Store
	// Expire removes every registration neither enabled nor successfully
	// pushed to since before (the later of Enabled and LastSuccess is
	// before it) and returns them, in any order. Each user's
	// registrations are removed in one atomic step; a registration
	// enabled or pushed to meanwhile is kept.
	Expire(ctx context.Context, before time.Time) ([]Registration, error)
}

// Expire implements Expirer. It visits every user, one shard at a time.
func (m *Memory) Expire(ctx context.Context, before time.Time) ([]Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := before.UnixNano()
	var removed []Registration
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for user, entries := range s.users {
			if !slices.ContainsFunc(entries, func(e memoryEntry) bool { return e.lastUsed() < limit }) {
				continue
			}
			kept := make([]memoryEntry, 0, len(entries))
			for _, e := range entries {
				if e.lastUsed() < limit {
					removed = append(removed, e.registration(user))
				} else {
					kept = append(kept, e)
				}
			}
			if len(kept) == 0 {
				delete(s.users, user)
			} else {
				s.users[user] = kept
			}
		}
		s.mu.Unlock()
	}
	return removed, nil
}

// lastUsed is the later of the entry's enable time and last success, in
// unix nanoseconds.
func (e *memoryEntry) lastUsed() int64 {
	return max(e.sec*int64(time.Second)+int64(e.nsec), e.success)
}

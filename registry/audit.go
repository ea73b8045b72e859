package registry

import (
	"context"
	"slices"
	"time"
)

// AuditEntry is one change to a user's registration, as an audit trail
// keeps it (push.Change.Entry makes one).
type AuditEntry struct {
	// At is when the change was made.
	At time.Time
	// User is the account; ID the registration changed.
	User string
	ID   Identifier
	// Reason names the change ("enabled", "failed", "expired", ...).
	Reason string
	// By is the session or person that made it, "" for none.
	By string
	// Errors and Condition are the error count and the last error's
	// condition the change was made with ("" for none).
	Errors    int
	Condition string
}

// Auditor is an optional Store capability: keeping the last changes of
// each user's registrations, for an admin or the user to read. The push
// engine does not call it; the host records Decisions.Changes with it.
type Auditor interface {
	// Record appends entries, in order, to their users' histories and
	// keeps the last keep entries of each user (keep <= 0: all). A user's
	// history outlives the user's registrations. On an error, some of the
	// entries may have been recorded (a Store that can, records none).
	Record(ctx context.Context, keep int, entries ...AuditEntry) error
	// History returns the user's kept entries, oldest first; none gives
	// an empty (possibly nil) slice. The caller owns the slice.
	History(ctx context.Context, user string) ([]AuditEntry, error)
}

var _ Auditor = (*Memory)(nil)

// Record implements Auditor. Times are kept in UTC.
func (m *Memory) Record(ctx context.Context, keep int, entries ...AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, e := range entries {
		s := m.shard(e.User)
		s.mu.Lock()
		if s.audit == nil {
			s.audit = make(map[string][]AuditEntry)
		}
		e.At = e.At.UTC()
		h := append(s.audit[e.User], e)
		if keep > 0 && len(h) > keep {
			h = slices.Clone(h[len(h)-keep:])
		}
		s.audit[e.User] = h
		s.mu.Unlock()
	}
	return nil
}

// History implements Auditor.
func (m *Memory) History(ctx context.Context, user string) ([]AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := m.shard(user)
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.audit[user]), nil
}

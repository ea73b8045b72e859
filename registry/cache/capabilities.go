package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pushrules/pushrules/registry"
)

// The optional Store capabilities the engine uses (registry.Tracker,
// registry.Expirer, registry.Auditor) pass through the cache to the
// underlying store. Where the underlying store lacks one, Fail and Succeed
// fall back to AddError and ResetErrors (the history they would keep is
// not kept), and Expire, Record and History return an error that
// errors.Is(err, errors.ErrUnsupported) matches.

var (
	_ registry.Tracker = (*Store)(nil)
	_ registry.Expirer = (*Store)(nil)
	_ registry.Auditor = (*Store)(nil)
)

// Fail implements registry.Tracker through the underlying store, and sets
// the cached count to the stored one.
func (s *Store) Fail(ctx context.Context, user string, id registry.Identifier, generation uint64, at time.Time, condition string) (registry.Registration, error) {
	t, ok := s.store.(registry.Tracker)
	if !ok {
		n, err := s.AddError(ctx, user, id, generation)
		if err != nil {
			return registry.Registration{}, err
		}
		return registry.Registration{User: user, ID: id, Generation: generation, Errors: n}, nil
	}
	reg, err := t.Fail(ctx, user, id, generation, at, condition)
	s.counted(user, id, generation, reg.Errors, err)
	return reg, err
}

// Succeed implements registry.Tracker through the underlying store, and
// sets the cached count to zero.
func (s *Store) Succeed(ctx context.Context, user string, id registry.Identifier, generation uint64, at time.Time) error {
	t, ok := s.store.(registry.Tracker)
	if !ok {
		return s.ResetErrors(ctx, user, id, generation)
	}
	err := t.Succeed(ctx, user, id, generation, at)
	s.counted(user, id, generation, 0, err)
	return err
}

// Expire implements registry.Expirer through the underlying store. Every
// user who lost a registration has their entry dropped and, with a
// Notifier, the other nodes are told.
func (s *Store) Expire(ctx context.Context, before time.Time) ([]registry.Registration, error) {
	x, ok := s.store.(registry.Expirer)
	if !ok {
		return nil, fmt.Errorf("registry cache: %T cannot expire registrations: %w", s.store, errors.ErrUnsupported)
	}
	removed, err := x.Expire(ctx, before)
	seen := map[string]bool{}
	for _, r := range removed {
		if !seen[r.User] {
			seen[r.User] = true
			s.wrote(ctx, r.User, true)
		}
	}
	if err != nil {
		s.InvalidateAll() // some users may have lost registrations we were not told of
	}
	return removed, err
}

// Record implements registry.Auditor through the underlying store.
func (s *Store) Record(ctx context.Context, keep int, entries ...registry.AuditEntry) error {
	a, ok := s.store.(registry.Auditor)
	if !ok {
		return fmt.Errorf("registry cache: %T keeps no audit trail: %w", s.store, errors.ErrUnsupported)
	}
	return a.Record(ctx, keep, entries...)
}

// History implements registry.Auditor through the underlying store.
func (s *Store) History(ctx context.Context, user string) ([]registry.AuditEntry, error) {
	a, ok := s.store.(registry.Auditor)
	if !ok {
		return nil, fmt.Errorf("registry cache: %T keeps no audit trail: %w", s.store, errors.ErrUnsupported)
	}
	return a.History(ctx, user)
}

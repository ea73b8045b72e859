package registrytest

import (
	"context"
	"fmt"
	"time"

	"github.com/pushrules/pushrules/registry"
)

var _ registry.Tracker = (*Faulty)(nil)

// Fail implements registry.Tracker; it is a write. When the wrapped store
// is no Tracker it counts the error with AddError and returns the
// registration with its new count but no history.
func (f *Faulty) Fail(ctx context.Context, user string, id registry.Identifier, generation uint64, at time.Time, condition string) (registry.Registration, error) {
	if err := f.fail("Fail", true); err != nil {
		return registry.Registration{}, err
	}
	if t, ok := f.store.(registry.Tracker); ok {
		return t.Fail(ctx, user, id, generation, at, condition)
	}
	n, err := f.store.AddError(ctx, user, id, generation)
	if err != nil {
		return registry.Registration{}, err
	}
	return registry.Registration{User: user, ID: id, Generation: generation, Errors: n}, nil
}

// Succeed implements registry.Tracker; it is a write. When the wrapped
// store is no Tracker it resets the count with ResetErrors.
func (f *Faulty) Succeed(ctx context.Context, user string, id registry.Identifier, generation uint64, at time.Time) error {
	if err := f.fail("Succeed", true); err != nil {
		return err
	}
	if t, ok := f.store.(registry.Tracker); ok {
		return t.Succeed(ctx, user, id, generation, at)
	}
	return f.store.ResetErrors(ctx, user, id, generation)
}

var _ registry.Expirer = (*Faulty)(nil)

// Expire implements registry.Expirer; it is a write. It fails when the
// wrapped store is no Expirer.
func (f *Faulty) Expire(ctx context.Context, before time.Time) ([]registry.Registration, error) {
	if err := f.fail("Expire", true); err != nil {
		return nil, err
	}
	x, ok := f.store.(registry.Expirer)
	if !ok {
		return nil, fmt.Errorf("registrytest: the wrapped %T cannot Expire", f.store)
	}
	return x.Expire(ctx, before)
}

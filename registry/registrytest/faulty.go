package registrytest

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/pushrules/pushrules/registry"
)

// ErrInjected is the error a Faulty store returns for a call it was told to
// fail. Errors returned by Faulty wrap it: test with errors.Is.
const ErrInjected Error = "registrytest: injected store failure"

// Faulty wraps a registry.Store and makes chosen calls fail with an error
// wrapping ErrInjected, to test how a caller copes with a failing store.
//
// Load is a read; Save, Delete, DeleteUser, AddError and ResetErrors are
// writes. A call that Faulty fails never reaches the wrapped store, so a
// failed write changes nothing and a failed read loses nothing. Calls that
// are not failed are passed through unchanged, with their results.
//
// The switches (FailReads, FailWrites, FailNth) may be flipped at any time,
// also while other goroutines use the store: Faulty is safe for concurrent
// use whenever the wrapped store is. A call decides whether it fails when it
// starts. Create it with NewFaulty; the zero value is not usable.
type Faulty struct {
	store      registry.Store
	failReads  atomic.Bool
	failWrites atomic.Bool
	countdown  atomic.Int64
}

var _ registry.Store = (*Faulty)(nil)

// NewFaulty returns a Faulty wrapping s, failing nothing until told to.
func NewFaulty(s registry.Store) *Faulty {
	return &Faulty{store: s}
}

// FailReads makes every later Load fail (on is true) or pass (on is false).
func (f *Faulty) FailReads(on bool) { f.failReads.Store(on) }

// FailWrites makes every later Save, Delete, DeleteUser, AddError and
// ResetErrors fail (on is true) or pass (on is false).
func (f *Faulty) FailWrites(on bool) { f.failWrites.Store(on) }

// FailNth makes the n-th call from now fail, once, whatever its method (1 is
// the very next call); n <= 0 cancels a pending FailNth. Every call through
// Faulty counts, including calls failed by FailReads or FailWrites. Among
// concurrent calls, exactly one is the n-th.
func (f *Faulty) FailNth(n int) {
	if n < 0 {
		n = 0
	}
	f.countdown.Store(int64(n))
}

// fail reports whether the call op (a write when write is true) must fail,
// and the error to return if so.
func (f *Faulty) fail(op string, write bool) error {
	nth := false
	for {
		n := f.countdown.Load()
		if n <= 0 {
			break
		}
		if f.countdown.CompareAndSwap(n, n-1) {
			nth = n == 1
			break
		}
	}
	switch {
	case nth:
		return fmt.Errorf("registrytest: %s failed (FailNth): %w", op, ErrInjected)
	case write && f.failWrites.Load():
		return fmt.Errorf("registrytest: %s failed (FailWrites): %w", op, ErrInjected)
	case !write && f.failReads.Load():
		return fmt.Errorf("registrytest: %s failed (FailReads): %w", op, ErrInjected)
	}
	return nil
}

// Load implements registry.Store; it is a read.
func (f *Faulty) Load(ctx context.Context, user string) ([]registry.Registration, error) {
	if err := f.fail("Load", false); err != nil {
		return nil, err
	}
	return f.store.Load(ctx, user)
}

// Save implements registry.Store; it is a write.
func (f *Faulty) Save(ctx context.Context, reg registry.Registration, maxDevices int) (registry.Registration, []registry.Registration, error) {
	if err := f.fail("Save", true); err != nil {
		return registry.Registration{}, nil, err
	}
	return f.store.Save(ctx, reg, maxDevices)
}

// Delete implements registry.Store; it is a write.
func (f *Faulty) Delete(ctx context.Context, user string, ids ...registry.Identifier) ([]registry.Registration, error) {
	if err := f.fail("Delete", true); err != nil {
		return nil, err
	}
	return f.store.Delete(ctx, user, ids...)
}

// DeleteUser implements registry.Store; it is a write.
func (f *Faulty) DeleteUser(ctx context.Context, user string) ([]registry.Registration, error) {
	if err := f.fail("DeleteUser", true); err != nil {
		return nil, err
	}
	return f.store.DeleteUser(ctx, user)
}

// AddError implements registry.Store; it is a write.
func (f *Faulty) AddError(ctx context.Context, user string, id registry.Identifier, generation uint64) (int, error) {
	if err := f.fail("AddError", true); err != nil {
		return 0, err
	}
	return f.store.AddError(ctx, user, id, generation)
}

// ResetErrors implements registry.Store; it is a write.
func (f *Faulty) ResetErrors(ctx context.Context, user string, id registry.Identifier, generation uint64) error {
	if err := f.fail("ResetErrors", true); err != nil {
		return err
	}
	return f.store.ResetErrors(ctx, user, id, generation)
}

// Error is the type of the package's sentinel errors. They are constants:
// compare with errors.Is.
type Error string

// Error returns the message.
func (e Error) Error() string { return string(e) }

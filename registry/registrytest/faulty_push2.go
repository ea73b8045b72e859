package registrytest

import (
	"context"
	"fmt"
	"time"

	"github.com/pushrules/pushrules/registry"
)

// ErrNoPush2 is returned by Faulty's Push 2.0 writes when the store it
// wraps has no registry.Push2Store capability (its reads then find
// nothing).
const ErrNoPush2 Error = "registrytest: the wrapped store keeps no Push 2.0 registrations"

// push2 returns the wrapped store's Push 2.0 capability, or nil.
func (f *Faulty) push2() registry.Push2Store {
	s, _ := f.store.(registry.Push2Store)
	return s
}

// LoadPush2 implements registry.Push2Store; it is a read.
func (f *Faulty) LoadPush2(ctx context.Context, user string) ([]registry.Push2Registration, error) {
	if err := f.fail("LoadPush2", false); err != nil {
		return nil, err
	}
	if s := f.push2(); s != nil {
		return s.LoadPush2(ctx, user)
	}
	return nil, ctx.Err()
}

// SavePush2 implements registry.Push2Store; it is a write.
func (f *Faulty) SavePush2(ctx context.Context, reg registry.Push2Registration, maxDevices int) (registry.Push2Registration, []registry.Push2Registration, error) {
	if err := f.fail("SavePush2", true); err != nil {
		return registry.Push2Registration{}, nil, err
	}
	if s := f.push2(); s != nil {
		return s.SavePush2(ctx, reg, maxDevices)
	}
	return registry.Push2Registration{}, nil, fmt.Errorf("SavePush2: %w", ErrNoPush2)
}

// DeletePush2 implements registry.Push2Store; it is a write.
func (f *Faulty) DeletePush2(ctx context.Context, user string, clients ...string) ([]registry.Push2Registration, error) {
	if err := f.fail("DeletePush2", true); err != nil {
		return nil, err
	}
	if s := f.push2(); s != nil {
		return s.DeletePush2(ctx, user, clients...)
	}
	return nil, fmt.Errorf("DeletePush2: %w", ErrNoPush2)
}

// DeleteUserPush2 implements registry.Push2Store; it is a write.
func (f *Faulty) DeleteUserPush2(ctx context.Context, user string) ([]registry.Push2Registration, error) {
	if err := f.fail("DeleteUserPush2", true); err != nil {
		return nil, err
	}
	if s := f.push2(); s != nil {
		return s.DeleteUserPush2(ctx, user)
	}
	return nil, ctx.Err() // nothing to delete
}

// AddPush2Error implements registry.Push2Store; it is a write.
func (f *Faulty) AddPush2Error(ctx context.Context, user, client string, generation uint64, at time.Time) (registry.Push2Registration, error) {
	if err := f.fail("AddPush2Error", true); err != nil {
		return registry.Push2Registration{}, err
	}
	if s := f.push2(); s != nil {
		return s.AddPush2Error(ctx, user, client, generation, at)
	}
	return registry.Push2Registration{}, registry.ErrNotFound
}

// ResetPush2Errors implements registry.Push2Store; it is a write.
func (f *Faulty) ResetPush2Errors(ctx context.Context, user, client string, generation uint64) error {
	if err := f.fail("ResetPush2Errors", true); err != nil {
		return err
	}
	if s := f.push2(); s != nil {
		return s.ResetPush2Errors(ctx, user, client, generation)
	}
	return registry.ErrNotFound
}

package registrytest_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/registrytest"
)

const user = "alice@example.org"

func reg(node string, gen uint64) registry.Registration {
	return registry.Registration{
		User:       user,
		ID:         registry.NewIdentifier("push.example.net", node),
		Enabled:    time.Unix(1700000000, 0),
		Generation: gen,
	}
}

func ids(t *testing.T, s registry.Store) []registry.Identifier {
	t.Helper()
	regs, err := s.Load(t.Context(), user)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var out []registry.Identifier
	for _, r := range regs {
		out = append(out, r.ID)
	}
	return out
}

func TestFaultyFailWrites(t *testing.T) {
	ctx := t.Context()
	f := registrytest.NewFaulty(registry.NewMemory())
	a := reg("a", 1)
	if _, _, err := f.Save(ctx, a, 5); err != nil {
		t.Fatalf("Save: %v", err)
	}

	f.FailWrites(true)
	if _, _, err := f.Save(ctx, reg("b", 2), 5); !errors.Is(err, registrytest.ErrInjected) {
		t.Errorf("Save with FailWrites: err = %v, want ErrInjected", err)
	}
	if _, _, err := f.Save(ctx, reg("a", 3), 1); !errors.Is(err, registrytest.ErrInjected) {
		t.Errorf("Save (replace) with FailWrites: err = %v, want ErrInjected", err)
	}
	if _, err := f.Delete(ctx, user, a.ID); !errors.Is(err, registrytest.ErrInjected) {
		t.Errorf("Delete with FailWrites: err = %v, want ErrInjected", err)
	}
	if _, err := f.DeleteUser(ctx, user); !errors.Is(err, registrytest.ErrInjected) {
		t.Errorf("DeleteUser with FailWrites: err = %v, want ErrInjected", err)
	}
	if _, err := f.AddError(ctx, user, a.ID, a.Generation); !errors.Is(err, registrytest.ErrInjected) {
		t.Errorf("AddError with FailWrites: err = %v, want ErrInjected", err)
	}
	if err := f.ResetErrors(ctx, user, a.ID, a.Generation); !errors.Is(err, registrytest.ErrInjected) {
		t.Errorf("ResetErrors with FailWrites: err = %v, want ErrInjected", err)
	}
	// Reads still work, and no failed write reached the wrapped store.
	regs, err := f.Load(ctx, user)
	if err != nil {
		t.Fatalf("Load with FailWrites: %v", err)
	}
	if len(regs) != 1 || regs[0].ID != a.ID || regs[0].Errors != 0 || regs[0].Generation != 1 {
		t.Errorf("after failed writes: %+v, want only a, untouched", regs)
	}

	f.FailWrites(false)
	if n, err := f.AddError(ctx, user, a.ID, a.Generation); err != nil || n != 1 {
		t.Errorf("AddError after FailWrites(false) = %d, %v; want 1, nil", n, err)
	}
}

func TestFaultyFailReads(t *testing.T) {
	ctx := t.Context()
	inner := registry.NewMemory()
	f := registrytest.NewFaulty(inner)
	f.FailReads(true)
	if _, err := f.Load(ctx, user); !errors.Is(err, registrytest.ErrInjected) {
		t.Errorf("Load with FailReads: err = %v, want ErrInjected", err)
	}
	// Writes go through while reads fail.
	if _, _, err := f.Save(ctx, reg("a", 1), 5); err != nil {
		t.Fatalf("Save with FailReads: %v", err)
	}
	if got := ids(t, inner); len(got) != 1 {
		t.Errorf("wrapped store holds %q, want one registration", got)
	}
	f.FailReads(false)
	if got := ids(t, f); len(got) != 1 {
		t.Errorf("Load after FailReads(false) = %q, want one registration", got)
	}
}

func TestFaultyFailNth(t *testing.T) {
	ctx := t.Context()
	f := registrytest.NewFaulty(registry.NewMemory())
	f.FailNth(3)
	if _, _, err := f.Save(ctx, reg("a", 1), 5); err != nil { // 1st
		t.Fatalf("1st call: %v", err)
	}
	if _, err := f.Load(ctx, user); err != nil { // 2nd
		t.Fatalf("2nd call: %v", err)
	}
	if _, _, err := f.Save(ctx, reg("b", 2), 5); !errors.Is(err, registrytest.ErrInjected) { // 3rd
		t.Errorf("3rd call: err = %v, want ErrInjected", err)
	}
	if _, _, err := f.Save(ctx, reg("c", 3), 5); err != nil { // 4th: once only
		t.Errorf("4th call: %v", err)
	}
	want := []registry.Identifier{reg("a", 0).ID, reg("c", 0).ID}
	if got := ids(t, f); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("stored %q, want %q", got, want)
	}

	// Cancelled before it fires.
	f.FailNth(1)
	f.FailNth(0)
	if _, err := f.Load(ctx, user); err != nil {
		t.Errorf("Load after FailNth(0): %v", err)
	}

	// Calls failed by a switch count too.
	f.FailReads(true)
	f.FailNth(2)
	if _, err := f.Load(ctx, user); !errors.Is(err, registrytest.ErrInjected) {
		t.Errorf("Load with FailReads: %v", err)
	}
	f.FailReads(false)
	if _, err := f.DeleteUser(ctx, user); !errors.Is(err, registrytest.ErrInjected) {
		t.Errorf("2nd call after FailNth(2): err = %v, want ErrInjected", err)
	}
	if got := ids(t, f); len(got) != 2 {
		t.Errorf("failed DeleteUser removed something: %q", got)
	}
}

// Exactly one of many concurrent calls is the n-th; run with -race.
func TestFaultyConcurrent(t *testing.T) {
	ctx := t.Context()
	f := registrytest.NewFaulty(registry.NewMemory())
	f.FailNth(50)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed int
	)
	for range 10 {
		wg.Go(func() {
			for range 20 {
				if _, err := f.Load(ctx, user); err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 100 {
			f.FailWrites(i%2 == 0)
		}
		f.FailWrites(false)
	})
	wg.Wait()
	if failed != 1 {
		t.Errorf("%d of 200 concurrent calls failed after FailNth(50), want 1", failed)
	}
}

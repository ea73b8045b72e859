package registrytest

import (
	"context"
	"errors"
	"testing"

	"github.com/pushrules/pushrules/registry"
)

// runLifecycle runs the cases of the optional capabilities
// (registry.Tracker, registry.Expirer), each skipped for a store without
// it.
func runLifecycle(t *testing.T, newStore func(t *testing.T) registry.Store) {
	for _, c := range []struct {
		name string
		f    func(t *testing.T, s registry.Store)
	}{
		{"TrackerHistory", testTrackerHistory},
		{"TrackerNotFound", testTrackerNotFound},
		{"Expire", testExpire},
		{"Client", testClient},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.f(t, newStore(t))
		})
	}
}

func tracker(t *testing.T, s registry.Store) registry.Tracker {
	tr, ok := s.(registry.Tracker)
	if !ok {
		t.Skipf("%T is no registry.Tracker", s)
	}
	return tr
}

func testTrackerHistory(t *testing.T, s registry.Store) {
	ctx := context.Background()
	tr := tracker(t, s)
	saved, _ := mustSave(t, s, newReg(alice, id("A"), 7, at(0), registry.Form{}), 0)
	if !saved.LastSuccess.IsZero() || !saved.FailingSince.IsZero() || saved.LastError != "" {
		t.Fatalf("new registration with history: %+v", saved)
	}
	if err := tr.Succeed(ctx, alice, id("A"), 7, at(1)); err != nil {
		t.Fatal(err)
	}
	r, err := tr.Fail(ctx, alice, id("A"), 7, at(2), "item-not-found")
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 1 || !r.FailingSince.Equal(at(2)) || r.LastError != "item-not-found" || !r.LastSuccess.Equal(at(1)) {
		t.Fatalf("after one failure: %+v", r)
	}
	r, err = tr.Fail(ctx, alice, id("A"), 7, at(3), "timeout")
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 2 || !r.FailingSince.Equal(at(2)) || r.LastError != "timeout" || r.User != alice || r.ID != id("A") || r.Generation != 7 {
		t.Fatalf("after two failures: %+v", r)
	}
	// Enabled again: the same life keeps its history.
	saved, _ = mustSave(t, s, newReg(alice, id("A"), 8, at(4), registry.Form{}), 0)
	if saved.Generation != 7 || saved.Errors != 2 || !saved.FailingSince.Equal(at(2)) || saved.LastError != "timeout" || !saved.LastSuccess.Equal(at(1)) {
		t.Fatalf("re-enabled: %+v", saved)
	}
	if err := tr.Succeed(ctx, alice, id("A"), 7, at(5)); err != nil {
		t.Fatal(err)
	}
	got := mustLoad(t, s, alice)
	if len(got) != 1 || got[0].Errors != 0 || !got[0].FailingSince.IsZero() || !got[0].LastSuccess.Equal(at(5)) || got[0].LastError != "timeout" {
		t.Fatalf("after a success: %+v", got)
	}
}

func testTrackerNotFound(t *testing.T, s registry.Store) {
	ctx := context.Background()
	tr := tracker(t, s)
	mustSave(t, s, newReg(alice, id("A"), 7, at(0), registry.Form{}), 0)
	if _, err := tr.Fail(ctx, alice, id("A"), 8, at(1), "x"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Fail of another generation: %v", err)
	}
	if err := tr.Succeed(ctx, bob, id("A"), 7, at(1)); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Succeed of another user: %v", err)
	}
	if got := mustLoad(t, s, alice); len(got) != 1 || got[0].Errors != 0 || !got[0].LastSuccess.IsZero() {
		t.Errorf("changed by calls that found nothing: %+v", got)
	}
}

func testExpire(t *testing.T, s registry.Store) {
	ctx := context.Background()
	x, ok := s.(registry.Expirer)
	if !ok {
		t.Skipf("%T is no registry.Expirer", s)
	}
	mustSave(t, s, newReg(alice, id("old"), 1, at(0), registry.Form{}), 0)
	mustSave(t, s, newReg(alice, id("used"), 2, at(0), registry.Form{}), 0)
	mustSave(t, s, newReg(alice, id("new"), 3, at(100), registry.Form{}), 0)
	mustSave(t, s, newReg(bob, id("old"), 4, at(10), registry.Form{}), 0)
	if tr, ok := s.(registry.Tracker); ok {
		if err := tr.Succeed(ctx, alice, id("used"), 2, at(100)); err != nil {
			t.Fatal(err)
		}
	} else {
		mustSave(t, s, newReg(alice, id("used"), 2, at(100), registry.Form{}), 0)
	}
	removed, err := x.Expire(ctx, at(50))
	if err != nil {
		t.Fatal(err)
	}
	checkRegsAnyOrder(t, "expired", removed, []registry.Registration{
		newReg(alice, id("old"), 1, at(0), registry.Form{}), newReg(bob, id("old"), 4, at(10), registry.Form{})})
	checkIDs(t, "alice's left", mustLoad(t, s, alice), id("used"), id("new"))
	checkIDs(t, "bob's left", mustLoad(t, s, bob))
	removed, err = x.Expire(ctx, at(100))
	if err != nil || len(removed) != 0 {
		t.Errorf("expire at the boundary: %v, %v", removed, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := x.Expire(cctx, at(1000)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Expire: %v", err)
	}
	checkIDs(t, "after a cancelled Expire", mustLoad(t, s, alice), id("used"), id("new"))
}

func testClient(t *testing.T, s registry.Store) {
	reg := newReg(alice, id("A"), 1, at(0), registry.Form{})
	reg.Client = "c1"
	saved, _ := mustSave(t, s, reg, 0)
	mustSave(t, s, newReg(alice, id("B"), 2, at(1), registry.Form{}), 0)
	if saved.Client != "c1" {
		t.Errorf("saved client %q", saved.Client)
	}
	got := mustLoad(t, s, alice)
	if got[0].Client != "c1" || got[1].Client != "" {
		t.Fatalf("clients %q, %q; want c1 and none", got[0].Client, got[1].Client)
	}
	reg.Client, reg.Enabled = "c2", at(2)
	if saved, _ = mustSave(t, s, reg, 0); saved.Client != "c2" {
		t.Errorf("replaced with client %q, want c2", saved.Client)
	}
	if got := mustLoad(t, s, alice); got[1].ID != id("A") || got[1].Client != "c2" {
		t.Errorf("after replacing: %+v", got)
	}
}

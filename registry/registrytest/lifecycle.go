package registrytest

import (
	"context"
	"errors"
	"testing"
	"time"

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
		{"Audit", testAudit},
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

func testAudit(t *testing.T, s registry.Store) {
	ctx := context.Background()
	a, ok := s.(registry.Auditor)
	if !ok {
		t.Skipf("%T is no registry.Auditor", s)
	}
	entry := func(user string, i int) registry.AuditEntry {
		return registry.AuditEntry{At: at(i), User: user, ID: id("A"), Reason: "failed", By: "", Errors: i, Condition: "item-not-found"}
	}
	if err := a.Record(ctx, 2, entry(alice, 1), entry(bob, 1), entry(alice, 2)); err != nil {
		t.Fatal(err)
	}
	if err := a.Record(ctx, 2, entry(alice, 3)); err != nil {
		t.Fatal(err)
	}
	got, err := a.History(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	want := []registry.AuditEntry{entry(alice, 2), entry(alice, 3)}
	if len(got) != len(want) {
		t.Fatalf("alice's history %+v, want %+v", got, want)
	}
	for i := range want {
		if !got[i].At.Equal(want[i].At) || got[i].At.Location() != time.UTC || got[i].User != want[i].User || got[i].ID != want[i].ID ||
			got[i].Reason != want[i].Reason || got[i].Errors != want[i].Errors || got[i].Condition != want[i].Condition || got[i].By != "" {
			t.Errorf("alice's entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if err := a.Record(ctx, 0, registry.AuditEntry{At: at(4), User: bob, ID: id("B"), Reason: "disabled", By: bob + "/phone"}); err != nil {
		t.Fatal(err)
	}
	got, _ = a.History(ctx, bob)
	if len(got) != 2 || got[1].By != bob+"/phone" || got[1].Reason != "disabled" {
		t.Errorf("bob's history %+v", got)
	}
	if got, err := a.History(ctx, "nobody@example.org"); err != nil || len(got) != 0 {
		t.Errorf("history of a user without one: %+v, %v", got, err)
	}
}

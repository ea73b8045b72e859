package registrytest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/pushrules/pushrules/push2"
	"github.com/pushrules/pushrules/registry"
)

// runPush2 runs the cases of Push 2.0 registrations (Registration.Push2
// set), which every Store keeps through its ordinary methods beside the
// XEP-0357 ones.
func runPush2(t *testing.T, newStore func(t *testing.T) registry.Store) {
	for _, c := range []struct {
		name string
		f    func(t *testing.T, s registry.Store)
	}{
		{"Push2SaveThenLoad", testPush2SaveLoad},
		{"Push2ReplaceKeepsGenerationAndErrors", testPush2Replace},
		{"Push2DeviceLimitCountsBothKinds", testPush2Eviction},
		{"Push2DeleteAndErrors", testPush2DeleteErrors},
		{"Push2Lifecycle", testPush2Lifecycle},
	} {
		t.Run(c.name, func(t *testing.T) { c.f(t, newStore(t)) })
	}
}

// push2Req is an enable of the service with one match of the given
// profile; a Store treats it as opaque but must give it back equal.
func push2Req(service, device string, profile push2.MatchProfile) *push2.Request {
	return &push2.Request{Service: service, Client: device, Matches: []push2.Match{{
		Profile: profile, Grace: 30 * time.Second,
		Filters: []push2.Filter{{JID: "room@muc.example.org", Mention: true}},
		Send:    push2.Send{Profile: push2.SendNotifyOnly},
	}}}
}

// p2 is a Push 2.0 registration of client with push.example.net.
func p2(user, client string, gen uint64, enabled time.Time) registry.Registration {
	return registry.Registration{User: user, ID: registry.Push2Identifier("push.example.net", client), Client: client,
		Enabled: enabled, Generation: gen, Push2: push2Req("push.example.net", "device-"+client, push2.MatchImportant)}
}

// samePush2 compares two requests by value (nil only with nil).
func samePush2(a, b *push2.Request) bool {
	return a == nil && b == nil || a != nil && b != nil && reflect.DeepEqual(*a, *b)
}

func testPush2SaveLoad(t *testing.T, s registry.Store) {
	a, p, b := newReg(alice, id("a"), 1, at(0), registry.Form{}), p2(alice, "phone", 2, at(1)), newReg(alice, id("b"), 3, at(2), registry.Form{})
	c := p2(bob, "phone", 4, at(3))
	for _, r := range []registry.Registration{a, p, b, c} {
		if saved, evicted := mustSave(t, s, r, 5); !sameReg(saved, r) || saved.Client != r.Client || len(evicted) != 0 {
			t.Errorf("Save(%s) = %s, evicted %s", r.ID, regString(saved), regsString(evicted))
		}
	}
	got := mustLoad(t, s, alice)
	checkRegs(t, "alice", got, []registry.Registration{a, p, b})
	if len(got) == 3 && (got[1].Client != "phone" || got[0].Push2 != nil) {
		t.Errorf("alice's Push 2.0 registration has client %q; the XEP-0357 one Push2 %v", got[1].Client, got[0].Push2)
	}
	checkRegs(t, "bob", mustLoad(t, s, bob), []registry.Registration{c})
	// The identifiers of the two kinds never meet, even for a node that
	// spells the client.
	x := newReg(alice, registry.NewIdentifier("push.example.net", "phone"), 5, at(4), registry.Form{})
	mustSave(t, s, x, 0)
	checkRegs(t, "with a XEP-0357 node named like the client", mustLoad(t, s, alice), []registry.Registration{a, p, b, x})
}

func testPush2Replace(t *testing.T, s registry.Store) {
	p := p2(alice, "phone", 7, at(0))
	mustSave(t, s, p, 0)
	mustSave(t, s, newReg(alice, id("a"), 8, at(1), registry.Form{}), 0)
	if n := mustAddError(t, s, alice, p.ID, 7); n != 1 {
		t.Fatalf("AddError = %d", n)
	}
	again := p2(alice, "phone", 9, at(2))
	again.Push2 = push2Req("push.example.net", "device-renewed", push2.MatchAll)
	saved, _ := mustSave(t, s, again, 0)
	want := again
	want.Generation, want.Errors = 7, 1
	if !sameReg(saved, want) {
		t.Errorf("replaced: %s, want %s", regString(saved), regString(want))
	}
	checkRegs(t, "after the replacement", mustLoad(t, s, alice), []registry.Registration{newReg(alice, id("a"), 8, at(1), registry.Form{}), want})
}

func testPush2Eviction(t *testing.T, s registry.Store) {
	a, p := newReg(alice, id("a"), 1, at(0), registry.Form{}), p2(alice, "phone", 2, at(1))
	b, q := newReg(alice, id("b"), 3, at(2), registry.Form{}), p2(alice, "tablet", 4, at(3))
	mustSave(t, s, a, 2)
	mustSave(t, s, p, 2)
	if _, evicted := mustSave(t, s, b, 2); !sameRegs(evicted, a) {
		t.Errorf("a XEP-0357 enable evicted %s, want the older XEP-0357 one", regsString(evicted))
	}
	if _, evicted := mustSave(t, s, q, 2); !sameRegs(evicted, p) {
		t.Errorf("a Push 2.0 enable evicted %s, want the older Push 2.0 one", regsString(evicted))
	}
	checkRegs(t, "kept", mustLoad(t, s, alice), []registry.Registration{b, q})
}

// sameRegs reports whether got is exactly want.
func sameRegs(got []registry.Registration, want ...registry.Registration) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		if !sameReg(got[i], want[i]) {
			return false
		}
	}
	return true
}

func testPush2DeleteErrors(t *testing.T, s registry.Store) {
	ctx := context.Background()
	a, p, q := newReg(alice, id("a"), 1, at(0), registry.Form{}), p2(alice, "phone", 2, at(1)), p2(alice, "tablet", 3, at(2))
	for _, r := range []registry.Registration{a, p, q} {
		mustSave(t, s, r, 0)
	}
	if n := mustAddError(t, s, alice, q.ID, 3); n != 1 {
		t.Errorf("AddError = %d", n)
	}
	if _, err := s.AddError(ctx, alice, q.ID, 2); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("AddError of another generation: %v", err)
	}
	if err := s.ResetErrors(ctx, alice, q.ID, 3); err != nil {
		t.Errorf("ResetErrors: %v", err)
	}
	checkRegsAnyOrder(t, "deleted", mustDelete(t, s, alice, p.ID), []registry.Registration{p})
	checkRegs(t, "left", mustLoad(t, s, alice), []registry.Registration{a, q})
	removed, err := s.DeleteUser(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	checkRegsAnyOrder(t, "DeleteUser", removed, []registry.Registration{a, q})
}

// testPush2Lifecycle: the Tracker and Expirer capabilities serve Push 2.0
// registrations too.
func testPush2Lifecycle(t *testing.T, s registry.Store) {
	ctx := context.Background()
	p, q := p2(alice, "phone", 2, at(0)), p2(alice, "tablet", 3, at(0))
	mustSave(t, s, p, 0)
	mustSave(t, s, q, 0)
	if tr, ok := s.(registry.Tracker); ok {
		r, err := tr.Fail(ctx, alice, p.ID, 2, at(5), "service-unavailable")
		if err != nil || r.Errors != 1 || !r.FailingSince.Equal(at(5)) || r.LastError != "service-unavailable" || !samePush2(r.Push2, p.Push2) {
			t.Fatalf("Fail = %+v, %v", r, err)
		}
		if err := tr.Succeed(ctx, alice, p.ID, 2, at(100)); err != nil {
			t.Fatal(err)
		}
	} else {
		mustSave(t, s, p2(alice, "phone", 2, at(100)), 0)
	}
	x, ok := s.(registry.Expirer)
	if !ok {
		return
	}
	removed, err := x.Expire(ctx, at(50))
	if err != nil {
		t.Fatal(err)
	}
	checkRegsAnyOrder(t, "expired", removed, []registry.Registration{q})
	got := mustLoad(t, s, alice)
	if len(got) != 1 || got[0].ID != p.ID || got[0].Errors != 0 || !got[0].FailingSince.IsZero() {
		t.Errorf("left after Expire: %s", regsString(got))
	}
}

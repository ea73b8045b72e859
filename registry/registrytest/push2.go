package registrytest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pushrules/pushrules/push2"
	"github.com/pushrules/pushrules/registry"
)

// RunPush2 is the conformance suite of the registry.Push2Store capability:
// a Store that has it calls RunPush2 beside Run, with a constructor of
// fresh, empty stores (the same rules as Run's). It pins down the same
// readings of the contract as Run (order is Save order, users told apart
// as given, Enabled equal to the nanosecond, a done context changes
// nothing) for registrations keyed by client.
func RunPush2(t *testing.T, newStore func(t *testing.T) registry.Push2Store) {
	t.Helper()
	cases := []struct {
		name string
		f    func(t *testing.T, s registry.Push2Store)
	}{
		{"SaveThenLoad", testPush2SaveLoad},
		{"UpsertKeepsGenerationAndErrors", testPush2Upsert},
		{"Eviction", testPush2Eviction},
		{"Delete", testPush2Delete},
		{"DeleteUser", testPush2DeleteUser},
		{"Errors", testPush2Errors},
		{"DoneContext", testPush2DoneContext},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.f(t, newStore(t)) })
	}
}

// push2Req is an enable of the service, with one notify-only match of the
// given profile (the rest of a Request is opaque to a store, but must come
// back equal).
func push2Req(service, device string, profile push2.MatchProfile) push2.Request {
	return push2.Request{Service: service, Client: device, Matches: []push2.Match{{
		Profile: profile, Grace: 30 * time.Second,
		Filters: []push2.Filter{{JID: "room@muc.example.org", Mention: true}},
		Send:    push2.Send{Profile: push2.SendNotifyOnly},
	}}}
}

func p2(user, client string, gen uint64, sec int) registry.Push2Registration {
	return registry.Push2Registration{User: user, Client: client, Generation: gen,
		Request: push2Req("push.example.net", "device-"+client, push2.MatchImportant),
		Enabled: time.Date(2026, 12, 4, 10, 0, sec, 123456789, time.UTC)}
}

func samePush2(a, b registry.Push2Registration) bool {
	return a.User == b.User && a.Client == b.Client && a.Enabled.Equal(b.Enabled) && a.FailingSince.Equal(b.FailingSince) &&
		a.Generation == b.Generation && a.Errors == b.Errors && reflect.DeepEqual(a.Request, b.Request)
}

func checkPush2(t *testing.T, what string, got, want []registry.Push2Registration) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d registrations %v, want %d", what, len(got), clients(got), len(want))
	}
	for i := range want {
		if !samePush2(got[i], want[i]) {
			t.Errorf("%s: [%d] = %+v, want %+v", what, i, got[i], want[i])
		}
	}
}

func clients(regs []registry.Push2Registration) []string {
	out := make([]string, len(regs))
	for i, r := range regs {
		out[i] = r.Client
	}
	return out
}

func loadPush2(t *testing.T, s registry.Push2Store, user string) []registry.Push2Registration {
	t.Helper()
	regs, err := s.LoadPush2(context.Background(), user)
	if err != nil {
		t.Fatalf("LoadPush2(%q): %v", user, err)
	}
	return regs
}

func savePush2(t *testing.T, s registry.Push2Store, r registry.Push2Registration, max int) (registry.Push2Registration, []registry.Push2Registration) {
	t.Helper()
	saved, evicted, err := s.SavePush2(context.Background(), r, max)
	if err != nil {
		t.Fatalf("SavePush2(%s/%s): %v", r.User, r.Client, err)
	}
	return saved, evicted
}

func testPush2SaveLoad(t *testing.T, s registry.Push2Store) {
	if got := loadPush2(t, s, alice); len(got) != 0 {
		t.Fatalf("new store: LoadPush2 = %v", clients(got))
	}
	a, b, c := p2(alice, "phone", 1, 0), p2(alice, "laptop", 2, 1), p2(bob, "phone", 3, 2)
	for _, r := range []registry.Push2Registration{a, b, c} {
		if saved, evicted := savePush2(t, s, r, 0); !samePush2(saved, r) || len(evicted) != 0 {
			t.Errorf("SavePush2(%s) = %+v, evicted %v", r.Client, saved, clients(evicted))
		}
	}
	got := loadPush2(t, s, alice)
	checkPush2(t, "alice", got, []registry.Push2Registration{a, b})
	checkPush2(t, "bob", loadPush2(t, s, bob), []registry.Push2Registration{c})
	got[0].Client = "changed" // the caller owns the slice
	checkPush2(t, "alice after changing a loaded slice", loadPush2(t, s, alice), []registry.Push2Registration{a, b})
}

func testPush2Upsert(t *testing.T, s registry.Push2Store) {
	a, b := p2(alice, "phone", 1, 0), p2(alice, "laptop", 2, 1)
	savePush2(t, s, a, 0)
	savePush2(t, s, b, 0)
	failed := time.Date(2026, 12, 4, 11, 0, 0, 5, time.UTC)
	if _, err := s.AddPush2Error(context.Background(), alice, "phone", 1, failed); err != nil {
		t.Fatal(err)
	}
	again := p2(alice, "phone", 99, 5)
	again.Request = push2Req("other.example.net", "new-device", push2.MatchAll)
	saved, evicted := savePush2(t, s, again, 0)
	want := again
	want.Generation, want.Errors, want.FailingSince = 1, 1, failed
	if !samePush2(saved, want) || len(evicted) != 0 {
		t.Errorf("re-enable returned %+v, evicted %v; want %+v", saved, clients(evicted), want)
	}
	checkPush2(t, "after re-enable", loadPush2(t, s, alice), []registry.Push2Registration{b, want})
}

func testPush2Eviction(t *testing.T, s registry.Push2Store) {
	regs := []registry.Push2Registration{p2(alice, "a", 1, 0), p2(alice, "b", 2, 1), p2(alice, "c", 3, 2)}
	for _, r := range regs {
		savePush2(t, s, r, 3)
	}
	_, evicted := savePush2(t, s, p2(alice, "d", 4, 3), 2)
	checkPush2(t, "evicted", evicted, regs[:2])
	checkPush2(t, "kept", loadPush2(t, s, alice), []registry.Push2Registration{regs[2], p2(alice, "d", 4, 3)})
}

func testPush2Delete(t *testing.T, s registry.Push2Store) {
	a, b, c := p2(alice, "a", 1, 0), p2(alice, "b", 2, 1), p2(alice, "c", 3, 2)
	for _, r := range []registry.Push2Registration{a, b, c} {
		savePush2(t, s, r, 0)
	}
	removed, err := s.DeletePush2(context.Background(), alice, "c", "a", "unknown")
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(removed, func(x, y registry.Push2Registration) int { return int(x.Generation) - int(y.Generation) })
	checkPush2(t, "removed", removed, []registry.Push2Registration{a, c})
	checkPush2(t, "kept", loadPush2(t, s, alice), []registry.Push2Registration{b})
	if removed, err := s.DeletePush2(context.Background(), bob, "b"); err != nil || len(removed) != 0 {
		t.Errorf("DeletePush2 of another user's client: %v, %v", clients(removed), err)
	}
}

func testPush2DeleteUser(t *testing.T, s registry.Push2Store) {
	a, c := p2(alice, "a", 1, 0), p2(bob, "c", 3, 2)
	savePush2(t, s, a, 0)
	savePush2(t, s, c, 0)
	removed, err := s.DeleteUserPush2(context.Background(), alice)
	if err != nil {
		t.Fatal(err)
	}
	checkPush2(t, "removed", removed, []registry.Push2Registration{a})
	checkPush2(t, "alice", loadPush2(t, s, alice), nil)
	checkPush2(t, "bob", loadPush2(t, s, bob), []registry.Push2Registration{c})
}

func testPush2Errors(t *testing.T, s registry.Push2Store) {
	ctx := context.Background()
	savePush2(t, s, p2(alice, "a", 7, 0), 0)
	first := time.Date(2026, 12, 4, 12, 0, 0, 7, time.UTC)
	for want := 1; want <= 3; want++ {
		reg, err := s.AddPush2Error(ctx, alice, "a", 7, first.Add(time.Duration(want-1)*time.Hour))
		if reg.Errors != want || !reg.FailingSince.Equal(first) || err != nil {
			t.Fatalf("AddPush2Error = %d errors since %v, %v; want %d since %v", reg.Errors, reg.FailingSince, err, want, first)
		}
	}
	for _, c := range []struct {
		user, client string
		gen          uint64
	}{{alice, "a", 8}, {alice, "b", 7}, {bob, "a", 7}} {
		if _, err := s.AddPush2Error(ctx, c.user, c.client, c.gen, first); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("AddPush2Error(%s, %s, %d): %v, want ErrNotFound", c.user, c.client, c.gen, err)
		}
		if err := s.ResetPush2Errors(ctx, c.user, c.client, c.gen); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("ResetPush2Errors(%s, %s, %d): %v, want ErrNotFound", c.user, c.client, c.gen, err)
		}
	}
	if got := loadPush2(t, s, alice)[0]; got.Errors != 3 || !got.FailingSince.Equal(first) {
		t.Errorf("after three errors: %d since %v", got.Errors, got.FailingSince)
	}
	if err := s.ResetPush2Errors(ctx, alice, "a", 7); err != nil {
		t.Fatal(err)
	}
	if got := loadPush2(t, s, alice)[0]; got.Errors != 0 || !got.FailingSince.IsZero() {
		t.Errorf("after reset: %d since %v", got.Errors, got.FailingSince)
	}
	// A new run starts at its own first error.
	if reg, err := s.AddPush2Error(ctx, alice, "a", 7, first.Add(24*time.Hour)); err != nil || !reg.FailingSince.Equal(first.Add(24*time.Hour)) {
		t.Errorf("new run: since %v, %v", reg.FailingSince, err)
	}
}

func testPush2DoneContext(t *testing.T, s registry.Push2Store) {
	a := p2(alice, "a", 1, 0)
	savePush2(t, s, a, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"LoadPush2": func() error { _, err := s.LoadPush2(ctx, alice); return err },
		"SavePush2": func() error { _, _, err := s.SavePush2(ctx, p2(alice, "b", 2, 1), 0); return err },
		"DeletePush2": func() error {
			_, err := s.DeletePush2(ctx, alice, "a")
			return err
		},
		"DeleteUserPush2": func() error { _, err := s.DeleteUserPush2(ctx, alice); return err },
		"AddPush2Error":   func() error { _, err := s.AddPush2Error(ctx, alice, "a", 1, time.Time{}); return err },
		"ResetPush2Errors": func() error {
			return s.ResetPush2Errors(ctx, alice, "a", 1)
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a done context: %v", name, err)
		}
	}
	checkPush2(t, "after calls with a done context", loadPush2(t, s, alice), []registry.Push2Registration{a})
}

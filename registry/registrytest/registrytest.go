// Package registrytest helps test code that implements or uses a
// registry.Store.
//
// Run is a conformance suite: every Store implementation should call it from
// its own tests, giving it a constructor of fresh, empty stores:
//
//	func TestConformance(t *testing.T) {
//		registrytest.Run(t, func(t *testing.T) registry.Store {
//			return registry.NewMemory()
//		})
//	}
//
// Faulty wraps any Store and makes chosen calls fail, to test how a caller
// (the push engine, a host) behaves when its store fails.
//
// The suite pins down these readings of the registry.Store contract, which
// every implementation must share:
//
//   - Load of a user with no registrations returns no error and a slice of
//     length 0; both nil and an empty non-nil slice are accepted.
//   - maxDevices <= 0 given to Save means no limit: nothing is evicted.
//   - Order is the order of Save calls ("enabled" means saved), never the
//     order of the Enabled times, which are only stored and given back.
//   - Evicted registrations are returned least recently enabled first;
//     Delete and DeleteUser may return what they removed in any order.
//   - Users are told apart exactly as given (the caller normalises JIDs): a
//     store must not fold case or otherwise merge users or identifiers.
//   - Enabled is given back equal (time.Time.Equal) to what was saved, to
//     the nanosecond, including the zero time; its location may change.
//   - Options come back equal (==) to what was saved, and
//     nil when nil was saved; a form with no fields stays a non-nil form.
//   - Extensions come back equal (==) to what was saved, and are replaced
//     (not merged) by a Save of the same identifier.
//   - A Push 2.0 registration (Registration.Push2 set, its ID a
//     registry.Push2Identifier) is kept by the same methods as a XEP-0357
//     one: its request comes back equal (reflect.DeepEqual) and its Client
//     as saved, it shares the user's order and device limit, and the
//     optional capabilities serve it too.
//   - A method called with a context that is already done returns an error
//     for which errors.Is(err, ctx.Err()) holds, and changes nothing.
//
// The suite saves only registrations with a non-zero Generation, a
// non-negative Errors and an Identifier with a non-empty service JID, and
// Enabled times between the years 1678 and 2262 or the zero time.
package registrytest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushrules/pushrules/registry"
)

// Run runs the conformance suite against the stores newStore makes, each
// case as a subtest of t. newStore is called once per subtest and must
// return a new, empty store that no other subtest uses; it may register
// clean-up with t.Cleanup and may call t.Fatal or t.Skip. Subtests run one
// after another (Run does not call t.Parallel), but some subtests call the
// store from many goroutines at once. Run with -race to make the
// concurrency case meaningful.
func Run(t *testing.T, newStore func(t *testing.T) registry.Store) {
	t.Helper()
	cases := []struct {
		name string
		f    func(t *testing.T, s registry.Store)
	}{
		{"SaveThenLoad", testSaveThenLoad},
		{"LoadUnknownUser", testLoadUnknownUser},
		{"LoadResultOwnedByCaller", testLoadResultOwnedByCaller},
		{"UpsertReplacesOptionsKeepsGenerationAndErrors", testUpsert},
		{"LoadOrderIsEnableOrder", testLoadOrder},
		{"EvictionAtMaxDevices", testEviction},
		{"MaxDevicesNotPositiveMeansNoLimit", testNoLimit},
		{"DeleteOne", testDeleteOne},
		{"DeleteSeveral", testDeleteSeveral},
		{"DeleteUnknownIgnored", testDeleteUnknown},
		{"DeleteByService", testDeleteByService},
		{"DeleteUser", testDeleteUser},
		{"UsersAreIsolated", testUsersIsolated},
		{"ErrorCounts", testErrorCounts},
		{"ErrorCountsNotFound", testErrorCountsNotFound},
		{"OptionsStoredLosslessly", testFormsLossless},
		{"ExtensionsStoredLosslessly", testExtensionsLossless},
		{"LoadAppendMatchesLoad", testLoadAppend},
		{"IdentifierWithoutNode", testIdentifierWithoutNode},
		{"IdentifiersAroundLessThan", testIdentifiersAroundLessThan},
		{"EnabledTimeKept", testEnabledTime},
		{"Concurrent", testConcurrent},
		{"CancelledContext", testCancelledContext},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			c.f(t, s)
		})
	}
	runLifecycle(t, newStore)
	runPush2(t, newStore)
}

// Fixtures.

const (
	alice = "alice@example.org"
	bob   = "bob@example.org"
)

var t0 = time.Date(2026, time.March, 14, 15, 9, 26, 535897932, time.UTC)

func at(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }

func id(node string) registry.Identifier {
	return registry.NewIdentifier("push.example.net", node)
}

func publishOptions(secret string) registry.Form {
	return registry.NewForm("submit",
		registry.Field{Var: "FORM_TYPE", Type: "hidden", Values: []string{"http://jabber.org/protocol/pubsub#publish-options"}},
		registry.Field{Var: "secret", Values: []string{secret}},
	)
}

func newReg(user string, ident registry.Identifier, gen uint64, enabled time.Time, opts registry.Form) registry.Registration {
	return registry.Registration{User: user, ID: ident, Options: opts, Enabled: enabled, Generation: gen}
}

// Helpers that fail the test on an unexpected error.

func mustSave(t *testing.T, s registry.Store, reg registry.Registration, maxDevices int) (registry.Registration, []registry.Registration) {
	t.Helper()
	saved, evicted, err := s.Save(t.Context(), reg, maxDevices)
	if err != nil {
		t.Fatalf("Save(%s %s, max %d): %v", reg.User, reg.ID, maxDevices, err)
	}
	return saved, evicted
}

func mustLoad(t *testing.T, s registry.Store, user string) []registry.Registration {
	t.Helper()
	regs, err := s.Load(t.Context(), user)
	if err != nil {
		t.Fatalf("Load(%s): %v", user, err)
	}
	return regs
}

func mustDelete(t *testing.T, s registry.Store, user string, ids ...registry.Identifier) []registry.Registration {
	t.Helper()
	removed, err := s.Delete(t.Context(), user, ids...)
	if err != nil {
		t.Fatalf("Delete(%s, %v): %v", user, ids, err)
	}
	return removed
}

func mustAddError(t *testing.T, s registry.Store, user string, ident registry.Identifier, gen uint64) int {
	t.Helper()
	n, err := s.AddError(t.Context(), user, ident, gen)
	if err != nil {
		t.Fatalf("AddError(%s, %s, %d): %v", user, ident, gen, err)
	}
	return n
}

// Comparisons.

func sameForm(a, b registry.Form) bool {
	return a == b
}

func sameReg(a, b registry.Registration) bool {
	return a.User == b.User && a.ID == b.ID && a.Generation == b.Generation &&
		a.Errors == b.Errors && a.Enabled.Equal(b.Enabled) && sameForm(a.Options, b.Options) &&
		a.Extensions == b.Extensions && samePush2(a.Push2, b.Push2)
}

func formString(f registry.Form) string {
	return fmt.Sprintf("%q %+v", f.Type(), f.Fields())
}

func regString(r registry.Registration) string {
	return fmt.Sprintf("{%s %q gen=%d errors=%d enabled=%s options=%s ext=%s push2=%v}",
		r.User, r.ID, r.Generation, r.Errors, r.Enabled.UTC().Format(time.RFC3339Nano), formString(r.Options), r.Extensions, r.Push2 != nil)
}

func regsString(regs []registry.Registration) string {
	parts := make([]string, len(regs))
	for i, r := range regs {
		parts[i] = regString(r)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// checkRegs fails the test unless got holds exactly want, in that order.
func checkRegs(t *testing.T, what string, got, want []registry.Registration) {
	t.Helper()
	if !slices.EqualFunc(got, want, sameReg) {
		t.Errorf("%s:\n got  %s\n want %s", what, regsString(got), regsString(want))
	}
}

// checkRegsAnyOrder fails the test unless got holds exactly want, in any
// order.
func checkRegsAnyOrder(t *testing.T, what string, got, want []registry.Registration) {
	t.Helper()
	sorted := func(regs []registry.Registration) []registry.Registration {
		regs = slices.Clone(regs)
		sort.SliceStable(regs, func(i, j int) bool {
			if regs[i].User != regs[j].User {
				return regs[i].User < regs[j].User
			}
			return regs[i].ID < regs[j].ID
		})
		return regs
	}
	checkRegs(t, what+" (in any order)", sorted(got), sorted(want))
}

func checkIDs(t *testing.T, what string, got []registry.Registration, want ...registry.Identifier) {
	t.Helper()
	ids := make([]registry.Identifier, len(got))
	for i, r := range got {
		ids[i] = r.ID
	}
	if !slices.Equal(ids, want) {
		t.Errorf("%s: got identifiers %q, want %q", what, ids, want)
	}
}

// The cases.

func testSaveThenLoad(t *testing.T, s registry.Store) {
	a := newReg(alice, id("a"), 11, at(0), publishOptions("s3cr3t"))
	saved, evicted := mustSave(t, s, a, 5)
	if !sameReg(saved, a) {
		t.Errorf("Save returned %s, want %s", regString(saved), regString(a))
	}
	if len(evicted) != 0 {
		t.Errorf("Save evicted %s from an empty store", regsString(evicted))
	}
	checkRegs(t, "Load after one Save", mustLoad(t, s, alice), []registry.Registration{a})

	// Any uint64 is a valid Generation, the highest bit set too.
	b := newReg(alice, registry.NewIdentifier("push.other.example", "b"), math.MaxUint64, at(1), registry.Form{})
	b.Errors = 2 // a new registration keeps the Errors it is given
	saved, _ = mustSave(t, s, b, 5)
	if !sameReg(saved, b) {
		t.Errorf("Save returned %s, want %s", regString(saved), regString(b))
	}
	checkRegs(t, "Load after two Saves", mustLoad(t, s, alice), []registry.Registration{a, b})
	c := newReg(alice, id("c"), 1<<63, at(2), registry.Form{})
	mustSave(t, s, c, 5)
	checkRegs(t, "Load after three Saves", mustLoad(t, s, alice), []registry.Registration{a, b, c})
	if n := mustAddError(t, s, alice, b.ID, b.Generation); n != 3 {
		t.Errorf("AddError with Generation %d = %d, want 3", b.Generation, n)
	}
	if err := s.ResetErrors(t.Context(), alice, c.ID, c.Generation); err != nil {
		t.Errorf("ResetErrors with Generation %d: %v", c.Generation, err)
	}
}

func testLoadUnknownUser(t *testing.T, s registry.Store) {
	if regs := mustLoad(t, s, alice); len(regs) != 0 {
		t.Errorf("Load of an empty store = %s, want none", regsString(regs))
	}
	mustSave(t, s, newReg(bob, id("b"), 1, at(0), registry.Form{}), 5)
	if regs := mustLoad(t, s, alice); len(regs) != 0 {
		t.Errorf("Load of a user with no registrations = %s, want none", regsString(regs))
	}
	// A user whose registrations were all deleted has none either.
	mustDelete(t, s, bob, id("b"))
	if regs := mustLoad(t, s, bob); len(regs) != 0 {
		t.Errorf("Load after deleting the only registration = %s, want none", regsString(regs))
	}
}

func testLoadResultOwnedByCaller(t *testing.T, s registry.Store) {
	a := newReg(alice, id("a"), 1, at(0), publishOptions("x"))
	b := newReg(alice, id("b"), 2, at(1), registry.Form{})
	mustSave(t, s, a, 5)
	mustSave(t, s, b, 5)
	regs := mustLoad(t, s, alice)
	if len(regs) != 2 {
		t.Fatalf("Load = %s, want 2 registrations", regsString(regs))
	}
	regs[0].Errors, regs[0].ID, regs[0].Generation = 99, id("changed"), 99
	regs[1] = registry.Registration{}
	_ = append(regs[:1], newReg(alice, id("appended"), 3, at(2), registry.Form{}))
	checkRegs(t, "Load after the caller changed an earlier result", mustLoad(t, s, alice),
		[]registry.Registration{a, b})
}

func testUpsert(t *testing.T, s registry.Store) {
	a := newReg(alice, id("a"), 1, at(0), publishOptions("old"))
	b := newReg(alice, id("b"), 2, at(1), registry.Form{})
	mustSave(t, s, a, 5)
	mustSave(t, s, b, 5)
	mustAddError(t, s, alice, a.ID, a.Generation)
	mustAddError(t, s, alice, a.ID, a.Generation)

	// Enable a again: other options, another time, and a Generation and
	// Errors that must be ignored because a is already stored.
	again := newReg(alice, a.ID, 77, at(2), publishOptions("new"))
	again.Errors = 9
	saved, evicted := mustSave(t, s, again, 5)
	want := again
	want.Generation, want.Errors = a.Generation, 2
	if !sameReg(saved, want) {
		t.Errorf("Save of a stored identifier returned %s, want %s", regString(saved), regString(want))
	}
	if len(evicted) != 0 {
		t.Errorf("replacing a registration evicted %s", regsString(evicted))
	}
	checkRegs(t, "Load after replacing the older registration", mustLoad(t, s, alice),
		[]registry.Registration{b, want})

	// Replacing with nil options drops the stored ones.
	again2 := newReg(alice, a.ID, 78, at(3), registry.Form{})
	saved, _ = mustSave(t, s, again2, 5)
	want2 := again2
	want2.Generation, want2.Errors = a.Generation, 2
	if !sameReg(saved, want2) {
		t.Errorf("Save with nil options returned %s, want %s", regString(saved), regString(want2))
	}
	checkRegs(t, "Load after replacing with nil options", mustLoad(t, s, alice),
		[]registry.Registration{b, want2})

	// Replacing the most recent one keeps the order.
	saved, _ = mustSave(t, s, newReg(alice, a.ID, 79, at(4), registry.Form{}), 5)
	if saved.Generation != a.Generation {
		t.Errorf("second replacement: Generation %d, want %d", saved.Generation, a.Generation)
	}
	checkIDs(t, "Load after replacing the newest", mustLoad(t, s, alice), b.ID, a.ID)
}

func testLoadOrder(t *testing.T, s registry.Store) {
	// Equal Enabled times: the order of Save calls decides.
	for i, node := range []string{"c", "a", "d", "b"} {
		mustSave(t, s, newReg(alice, id(node), uint64(i+1), t0, registry.Form{}), 0)
	}
	checkIDs(t, "Load with equal Enabled times", mustLoad(t, s, alice), id("c"), id("a"), id("d"), id("b"))

	// Decreasing Enabled times: still the order of Save calls.
	for i, node := range []string{"x", "y", "z"} {
		mustSave(t, s, newReg(bob, id(node), uint64(i+1), at(-i), registry.Form{}), 0)
	}
	checkIDs(t, "Load with decreasing Enabled times", mustLoad(t, s, bob), id("x"), id("y"), id("z"))

	// Enabling one again (even with an older time) makes it the most recent.
	mustSave(t, s, newReg(alice, id("a"), 9, at(-100), registry.Form{}), 0)
	checkIDs(t, "Load after enabling a again", mustLoad(t, s, alice), id("c"), id("d"), id("b"), id("a"))
	mustSave(t, s, newReg(alice, id("c"), 9, t0, registry.Form{}), 0)
	checkIDs(t, "Load after enabling c again", mustLoad(t, s, alice), id("d"), id("b"), id("a"), id("c"))

	// Deleting keeps the order of the rest, and a new one goes last.
	mustDelete(t, s, alice, id("b"))
	mustSave(t, s, newReg(alice, id("e"), 10, at(-5), registry.Form{}), 0)
	checkIDs(t, "Load after delete and save", mustLoad(t, s, alice), id("d"), id("a"), id("c"), id("e"))
}

func testEviction(t *testing.T, s registry.Store) {
	a := newReg(alice, id("a"), 1, at(0), publishOptions("a"))
	b := newReg(alice, id("b"), 2, at(1), registry.Form{})
	c := newReg(alice, id("c"), 3, at(2), registry.Form{})
	d := newReg(alice, id("d"), 4, at(3), registry.Form{})
	for _, r := range []registry.Registration{a, b, c} {
		if _, evicted := mustSave(t, s, r, 3); len(evicted) != 0 {
			t.Errorf("Save of %s under the limit evicted %s", r.ID, regsString(evicted))
		}
	}
	a.Errors = mustAddError(t, s, alice, a.ID, a.Generation)

	// One over the limit: the least recently enabled goes, as it was stored.
	saved, evicted := mustSave(t, s, d, 3)
	if !sameReg(saved, d) {
		t.Errorf("Save returned %s, want %s", regString(saved), regString(d))
	}
	checkRegs(t, "evicted at the limit", evicted, []registry.Registration{a})
	checkRegs(t, "Load after eviction", mustLoad(t, s, alice), []registry.Registration{b, c, d})
	if _, err := s.AddError(t.Context(), alice, a.ID, a.Generation); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("AddError of an evicted registration: err = %v, want ErrNotFound", err)
	}

	// Replacing one at the limit evicts nothing and moves it last.
	b2 := newReg(alice, b.ID, 99, at(4), publishOptions("b2"))
	if _, evicted := mustSave(t, s, b2, 3); len(evicted) != 0 {
		t.Errorf("replacing at the limit evicted %s", regsString(evicted))
	}
	b2.Generation = b.Generation
	checkRegs(t, "Load after replacing at the limit", mustLoad(t, s, alice), []registry.Registration{c, d, b2})

	// A lower limit evicts several, least recently enabled first.
	e := newReg(alice, id("e"), 5, at(5), registry.Form{})
	_, evicted = mustSave(t, s, e, 2)
	checkRegs(t, "evicted by a lower limit", evicted, []registry.Registration{c, d})
	checkRegs(t, "Load after evicting two", mustLoad(t, s, alice), []registry.Registration{b2, e})

	// Replacing with a lower limit evicts the others, never the saved one.
	e2 := newReg(alice, e.ID, 6, at(6), registry.Form{})
	_, evicted = mustSave(t, s, e2, 1)
	e2.Generation = e.Generation
	checkRegs(t, "evicted when replacing under limit 1", evicted, []registry.Registration{b2})
	checkRegs(t, "Load after limit 1", mustLoad(t, s, alice), []registry.Registration{e2})
}

func testNoLimit(t *testing.T, s registry.Store) {
	var want []registry.Registration
	for i := range 10 {
		limit := 0
		if i%2 == 1 {
			limit = -1
		}
		r := newReg(alice, id(fmt.Sprint("n", i)), uint64(i+1), at(i), registry.Form{})
		if _, evicted := mustSave(t, s, r, limit); len(evicted) != 0 {
			t.Errorf("Save with maxDevices %d evicted %s", limit, regsString(evicted))
		}
		want = append(want, r)
	}
	checkRegs(t, "Load after saving 10 with no limit", mustLoad(t, s, alice), want)

	// A positive limit applies again at once, to what was stored without one.
	r := newReg(alice, id("last"), 100, at(100), registry.Form{})
	_, evicted := mustSave(t, s, r, 4)
	checkRegs(t, "evicted by limit 4 after 10 unlimited", evicted, want[:7])
	checkRegs(t, "Load after limit 4", mustLoad(t, s, alice), append(slices.Clone(want[7:]), r))
}

func testDeleteOne(t *testing.T, s registry.Store) {
	a := newReg(alice, id("a"), 1, at(0), publishOptions("a"))
	b := newReg(alice, id("b"), 2, at(1), registry.Form{})
	c := newReg(alice, id("c"), 3, at(2), registry.Form{})
	for _, r := range []registry.Registration{a, b, c} {
		mustSave(t, s, r, 5)
	}
	b.Errors = mustAddError(t, s, alice, b.ID, b.Generation)
	checkRegs(t, "Delete(b) removed", mustDelete(t, s, alice, b.ID), []registry.Registration{b})
	checkRegs(t, "Load after Delete(b)", mustLoad(t, s, alice), []registry.Registration{a, c})
	if _, err := s.AddError(t.Context(), alice, b.ID, b.Generation); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("AddError of a deleted registration: err = %v, want ErrNotFound", err)
	}
	// Saved again, it is a new registration: its own Generation, no errors.
	b2 := newReg(alice, b.ID, 20, at(3), registry.Form{})
	saved, _ := mustSave(t, s, b2, 5)
	if !sameReg(saved, b2) {
		t.Errorf("Save after Delete returned %s, want %s", regString(saved), regString(b2))
	}
}

func testDeleteSeveral(t *testing.T, s registry.Store) {
	var all []registry.Registration
	for i, node := range []string{"a", "b", "c", "d", "e"} {
		r := newReg(alice, id(node), uint64(i+1), at(i), registry.Form{})
		mustSave(t, s, r, 10)
		all = append(all, r)
	}
	removed := mustDelete(t, s, alice, id("d"), id("a"), id("b"))
	checkRegsAnyOrder(t, "Delete(d, a, b) removed", removed, []registry.Registration{all[0], all[1], all[3]})
	checkRegs(t, "Load after Delete(d, a, b)", mustLoad(t, s, alice), []registry.Registration{all[2], all[4]})

	removed = mustDelete(t, s, alice, id("c"), id("e"))
	checkRegsAnyOrder(t, "Delete of all that is left removed", removed, []registry.Registration{all[2], all[4]})
	if regs := mustLoad(t, s, alice); len(regs) != 0 {
		t.Errorf("Load after deleting everything = %s, want none", regsString(regs))
	}
}

func testDeleteUnknown(t *testing.T, s registry.Store) {
	a := newReg(alice, id("a"), 1, at(0), registry.Form{})
	b := newReg(alice, id("b"), 2, at(1), registry.Form{})
	mustSave(t, s, a, 5)
	mustSave(t, s, b, 5)

	if removed := mustDelete(t, s, alice); len(removed) != 0 {
		t.Errorf("Delete with no identifiers removed %s", regsString(removed))
	}
	if removed := mustDelete(t, s, alice, id("nope"), registry.NewIdentifier("push.other.example", "a")); len(removed) != 0 {
		t.Errorf("Delete of unknown identifiers removed %s", regsString(removed))
	}
	if removed := mustDelete(t, s, bob, a.ID); len(removed) != 0 {
		t.Errorf("Delete for a user with no registrations removed %s", regsString(removed))
	}
	checkRegs(t, "Load after deleting unknown identifiers", mustLoad(t, s, alice), []registry.Registration{a, b})

	// Known and unknown mixed, with a duplicate: only what was stored, once.
	removed := mustDelete(t, s, alice, id("nope"), b.ID, id("other"), b.ID)
	checkRegs(t, "Delete of a mix removed", removed, []registry.Registration{b})
	checkRegs(t, "Load after deleting a mix", mustLoad(t, s, alice), []registry.Registration{a})
}

func testDeleteByService(t *testing.T, s registry.Store) {
	const svc = "push.example.net"
	regs := []registry.Registration{
		newReg(alice, registry.NewIdentifier(svc, "n1"), 1, at(0), registry.Form{}),
		newReg(alice, registry.NewIdentifier("push.example.net.evil", "n1"), 2, at(1), registry.Form{}),
		newReg(alice, registry.NewIdentifier(svc, ""), 3, at(2), registry.Form{}),
		newReg(alice, registry.NewIdentifier("other.example.net", "n1"), 4, at(3), registry.Form{}),
		newReg(alice, registry.NewIdentifier(svc, "n2"), 5, at(4), registry.Form{}),
		newReg(alice, registry.NewIdentifier("evil.push.example.net", ""), 6, at(5), registry.Form{}),
		newReg(bob, registry.NewIdentifier(svc, "n1"), 7, at(6), registry.Form{}),
	}
	for _, r := range regs {
		mustSave(t, s, r, 10)
	}
	// The caller (disable without a node) loads the user's registrations and
	// deletes those of the service.
	var ids []registry.Identifier
	for _, r := range mustLoad(t, s, alice) {
		if r.ID.JID() == svc {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) != 3 {
		t.Fatalf("found %q of service %s, want 3 identifiers", ids, svc)
	}
	removed := mustDelete(t, s, alice, ids...)
	checkRegsAnyOrder(t, "Delete of one service removed", removed, []registry.Registration{regs[0], regs[2], regs[4]})
	checkRegs(t, "Load after deleting one service", mustLoad(t, s, alice), []registry.Registration{regs[1], regs[3], regs[5]})
	checkRegs(t, "other user after deleting one service", mustLoad(t, s, bob), []registry.Registration{regs[6]})
}

func testDeleteUser(t *testing.T, s registry.Store) {
	a := newReg(alice, id("a"), 1, at(0), publishOptions("a"))
	b := newReg(alice, registry.NewIdentifier("push.other.example", ""), 2, at(1), registry.Form{})
	c := newReg(bob, id("a"), 3, at(2), registry.Form{})
	for _, r := range []registry.Registration{a, b, c} {
		mustSave(t, s, r, 5)
	}
	a.Errors = mustAddError(t, s, alice, a.ID, a.Generation)

	removed, err := s.DeleteUser(t.Context(), alice)
	if err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	checkRegsAnyOrder(t, "DeleteUser removed", removed, []registry.Registration{a, b})
	if regs := mustLoad(t, s, alice); len(regs) != 0 {
		t.Errorf("Load after DeleteUser = %s, want none", regsString(regs))
	}
	checkRegs(t, "other user after DeleteUser", mustLoad(t, s, bob), []registry.Registration{c})

	removed, err = s.DeleteUser(t.Context(), alice)
	if err != nil || len(removed) != 0 {
		t.Errorf("second DeleteUser = %s, %v; want none, nil", regsString(removed), err)
	}
	removed, err = s.DeleteUser(t.Context(), "nobody@example.org")
	if err != nil || len(removed) != 0 {
		t.Errorf("DeleteUser of an unknown user = %s, %v; want none, nil", regsString(removed), err)
	}

	// The user can enable again afterwards, from scratch.
	a2 := newReg(alice, a.ID, 10, at(3), registry.Form{})
	saved, evicted := mustSave(t, s, a2, 1)
	if !sameReg(saved, a2) || len(evicted) != 0 {
		t.Errorf("Save after DeleteUser = %s, evicted %s; want %s, none",
			regString(saved), regsString(evicted), regString(a2))
	}
	checkRegs(t, "Load after DeleteUser and Save", mustLoad(t, s, alice), []registry.Registration{a2})
}

func testUsersIsolated(t *testing.T, s registry.Store) {
	shared := id("same")
	a := newReg(alice, shared, 1, at(0), publishOptions("alice"))
	b := newReg(bob, shared, 2, at(1), publishOptions("bob"))
	b2 := newReg(bob, id("b2"), 3, at(2), registry.Form{})
	upper := newReg(strings.ToUpper(alice[:1])+alice[1:], shared, 4, at(3), registry.Form{}) // users are not case-folded
	for _, r := range []registry.Registration{a, b, b2, upper} {
		mustSave(t, s, r, 1)
	}
	// Limit 1 applied to alice's and bob's saves: bob's first one was evicted
	// by bob's second, and nothing of alice's by bob's.
	checkRegs(t, "alice", mustLoad(t, s, alice), []registry.Registration{a})
	checkRegs(t, "bob (limit 1)", mustLoad(t, s, bob), []registry.Registration{b2})
	checkRegs(t, "Alice", mustLoad(t, s, upper.User), []registry.Registration{upper})

	// Error counts are per user, and a generation of one user's
	// registration does not name another user's.
	mustSave(t, s, b, 5)
	if n := mustAddError(t, s, alice, shared, a.Generation); n != 1 {
		t.Errorf("alice's first AddError = %d, want 1", n)
	}
	if n := mustAddError(t, s, bob, shared, b.Generation); n != 1 {
		t.Errorf("bob's first AddError after alice's = %d, want 1", n)
	}
	if _, err := s.AddError(t.Context(), bob, shared, a.Generation); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("AddError for bob with alice's generation: err = %v, want ErrNotFound", err)
	}
	if err := s.ResetErrors(t.Context(), alice, shared, a.Generation); err != nil {
		t.Fatalf("ResetErrors: %v", err)
	}
	a.Errors, b.Errors = 0, 1
	checkRegs(t, "bob after alice's ResetErrors", mustLoad(t, s, bob), []registry.Registration{b2, b})

	// Re-enabling under one user does not move or evict the other's.
	mustSave(t, s, newReg(alice, shared, 9, at(5), registry.Form{}), 1)
	checkRegs(t, "bob after alice re-enabled", mustLoad(t, s, bob), []registry.Registration{b2, b})

	// Deleting under one user leaves the other's.
	checkRegs(t, "Delete for alice removed", mustDelete(t, s, alice, shared),
		[]registry.Registration{newReg(alice, shared, a.Generation, at(5), registry.Form{})})
	checkRegs(t, "bob after alice's Delete", mustLoad(t, s, bob), []registry.Registration{b2, b})
	checkRegs(t, "Alice after alice's Delete", mustLoad(t, s, upper.User), []registry.Registration{upper})
	if _, err := s.DeleteUser(t.Context(), upper.User); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	checkRegs(t, "bob after Alice's DeleteUser", mustLoad(t, s, bob), []registry.Registration{b2, b})
}

func testErrorCounts(t *testing.T, s registry.Store) {
	a := newReg(alice, id("a"), 42, at(0), registry.Form{})
	b := newReg(alice, id("b"), 43, at(1), registry.Form{})
	mustSave(t, s, a, 5)
	mustSave(t, s, b, 5)
	for want := 1; want <= 3; want++ {
		if n := mustAddError(t, s, alice, a.ID, a.Generation); n != want {
			t.Errorf("AddError #%d = %d, want %d", want, n, want)
		}
	}
	a.Errors = 3
	checkRegs(t, "Load after 3 AddError", mustLoad(t, s, alice), []registry.Registration{a, b})

	if err := s.ResetErrors(t.Context(), alice, a.ID, a.Generation); err != nil {
		t.Fatalf("ResetErrors: %v", err)
	}
	a.Errors = 0
	checkRegs(t, "Load after ResetErrors", mustLoad(t, s, alice), []registry.Registration{a, b})
	if err := s.ResetErrors(t.Context(), alice, a.ID, a.Generation); err != nil {
		t.Errorf("ResetErrors of a zero count: %v", err)
	}
	if n := mustAddError(t, s, alice, a.ID, a.Generation); n != 1 {
		t.Errorf("AddError after ResetErrors = %d, want 1", n)
	}
	if n := mustAddError(t, s, alice, b.ID, b.Generation); n != 1 {
		t.Errorf("AddError of b = %d, want 1", n)
	}
	a.Errors, b.Errors = 1, 1
	checkRegs(t, "Load after counting both", mustLoad(t, s, alice), []registry.Registration{a, b})
}

func testErrorCountsNotFound(t *testing.T, s registry.Store) {
	a := newReg(alice, id("a"), 42, at(0), registry.Form{})
	mustSave(t, s, a, 5)
	a.Errors = mustAddError(t, s, alice, a.ID, a.Generation)

	cases := []struct {
		what string
		user string
		id   registry.Identifier
		gen  uint64
	}{
		{"unknown identifier", alice, id("b"), a.Generation},
		{"wrong generation", alice, a.ID, a.Generation + 1},
		{"generation 0", alice, a.ID, 0},
		{"unknown user", bob, a.ID, a.Generation},
		{"identifier without node", alice, registry.NewIdentifier("push.example.net", ""), a.Generation},
	}
	for _, c := range cases {
		n, err := s.AddError(t.Context(), c.user, c.id, c.gen)
		if !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("AddError, %s: %d, %v; want ErrNotFound", c.what, n, err)
		}
		if err := s.ResetErrors(t.Context(), c.user, c.id, c.gen); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("ResetErrors, %s: %v; want ErrNotFound", c.what, err)
		}
	}
	checkRegs(t, "Load after calls that found nothing", mustLoad(t, s, alice), []registry.Registration{a})
	if regs := mustLoad(t, s, bob); len(regs) != 0 {
		t.Errorf("calls for an unknown user stored %s", regsString(regs))
	}
}

func testFormsLossless(t *testing.T, s registry.Store) {
	forms := []struct {
		name string
		form registry.Form
	}{
		{"no form", registry.Form{}},
		{"no fields, no type", registry.NewForm("")},
		{"no fields", registry.NewForm("submit")},
		{"empty fields slice", registry.NewForm("submit", []registry.Field{}...)},
		{"publish-options", publishOptions("eruio234vzxc2kla-12")},
		{"everything", registry.NewForm("submit", []registry.Field{
			{Var: "zeta", Type: "text-single", Values: []string{"last in the alphabet, first in the form"}},
			{Var: "FORM_TYPE", Type: "hidden", Values: []string{"http://jabber.org/protocol/pubsub#publish-options"}},
			{Var: "multi", Type: "list-multi", Values: []string{"one", "two", "", "two", "three"}},
			{Var: "no-values", Type: "boolean"},
			{Var: "no-values-empty-slice", Values: []string{}},
			{Var: "one-empty-value", Values: []string{""}},
			{Var: "", Type: "", Values: []string{"a field without var"}},
			{Var: "unicode", Values: []string{"héllo wörld — 世界 🚀 \u00a0\u200b", "ÅÄÖ"}},
			{Var: "xml <&'\"> specials", Type: "text-<&'\">", Values: []string{`<&'">`, "]]>", "&amp;&lt;", "<![CDATA[x]]>"}},
			{Var: "whitespace", Values: []string{" leading", "trailing ", "\ttab\nnew line\r\n", "   "}},
			{Var: "json-ish", Values: []string{`{"type":"x","fields":null}`, `\u0000`, `\"`, "null", "[]"}},
			{Var: "zeta", Values: []string{"a second field with the same var"}},
		}...)},
		{"type only, odd", registry.NewForm("<&'\">")},
	}
	var want []registry.Registration
	for i, f := range forms {
		r := newReg(alice, id(fmt.Sprint("form", i)), uint64(i+1), at(i), f.form)
		saved, _ := mustSave(t, s, r, 0)
		if !sameForm(saved.Options, f.form) {
			t.Errorf("%s: Save returned options %s, want %s", f.name, formString(saved.Options), formString(f.form))
		}
		want = append(want, r)
	}
	got := mustLoad(t, s, alice)
	if len(got) != len(want) {
		t.Fatalf("Load = %d registrations, want %d", len(got), len(want))
	}
	for i := range got {
		if !sameForm(got[i].Options, want[i].Options) {
			t.Errorf("%s: loaded options %s,\n want %s", forms[i].name, formString(got[i].Options), formString(want[i].Options))
		}
	}
	checkRegs(t, "Load of registrations with all kinds of forms", got, want)

	// A form survives replacement and eviction unchanged too.
	everything := forms[5].form
	saved, _ := mustSave(t, s, newReg(alice, id("form0"), 99, at(50), everything), 0)
	if !sameForm(saved.Options, everything) {
		t.Errorf("replacing: Save returned options %s", formString(saved.Options))
	}
	_, evicted := mustSave(t, s, newReg(alice, id("last"), 100, at(51), registry.Form{}), 1)
	for _, r := range evicted {
		if r.ID == id("form0") && !sameForm(r.Options, everything) {
			t.Errorf("evicted options %s, want %s", formString(r.Options), formString(everything))
		}
	}
	if len(evicted) != len(forms) {
		t.Errorf("evicted %d registrations, want %d", len(evicted), len(forms))
	}
}

func testIdentifierWithoutNode(t *testing.T, s registry.Store) {
	bare := registry.Identifier("push.example.net<")
	withNode := registry.Identifier("push.example.net<node")
	odd := registry.NewIdentifier("push.example.net", `n<&'"> é`) // a node may hold anything, '<' too
	a := newReg(alice, bare, 1, at(0), publishOptions("bare"))
	b := newReg(alice, withNode, 2, at(1), registry.Form{})
	c := newReg(alice, odd, 3, at(2), registry.Form{})
	for _, r := range []registry.Registration{a, b, c} {
		mustSave(t, s, r, 5)
	}
	got := mustLoad(t, s, alice)
	checkRegs(t, "Load with and without node", got, []registry.Registration{a, b, c})
	if len(got) == 3 {
		if got[0].ID.JID() != "push.example.net" || got[0].ID.Node() != "" {
			t.Errorf("loaded %q: JID %q, node %q", got[0].ID, got[0].ID.JID(), got[0].ID.Node())
		}
		if got[2].ID.Node() != `n<&'"> é` {
			t.Errorf("loaded %q: node %q", got[2].ID, got[2].ID.Node())
		}
	}
	if n := mustAddError(t, s, alice, bare, a.Generation); n != 1 {
		t.Errorf("AddError without node = %d, want 1", n)
	}
	a.Errors = 1
	checkRegs(t, "Delete without node removed", mustDelete(t, s, alice, bare), []registry.Registration{a})
	checkRegs(t, "Load after deleting the one without node", mustLoad(t, s, alice), []registry.Registration{b, c})
}

func testEnabledTime(t *testing.T, s registry.Store) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("UTC+2", 2*60*60)
	}
	times := []time.Time{
		time.Now(), // with a monotonic clock reading
		time.Date(2026, 7, 1, 12, 0, 0, 1, paris),
		time.Date(2026, 1, 1, 0, 0, 0, 999999999, time.FixedZone("odd", -(3*60*60+30*60))),
		time.Unix(0, 0),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond),
		time.Date(2200, 12, 31, 23, 59, 59, 123456789, time.UTC),
		time.Date(1700, 6, 1, 0, 0, 0, 7, time.UTC),
		{}, // the zero time
	}
	var want []registry.Registration
	for i, tm := range times {
		r := newReg(alice, id(fmt.Sprint("t", i)), uint64(i+1), tm, registry.Form{})
		saved, _ := mustSave(t, s, r, 0)
		if !saved.Enabled.Equal(tm) {
			t.Errorf("Save returned Enabled %v, want %v", saved.Enabled, tm)
		}
		want = append(want, r)
	}
	got := mustLoad(t, s, alice)
	if len(got) != len(want) {
		t.Fatalf("Load = %d registrations, want %d", len(got), len(want))
	}
	for i := range got {
		if !got[i].Enabled.Equal(want[i].Enabled) {
			t.Errorf("%s: loaded Enabled %v, want %v", got[i].ID, got[i].Enabled, want[i].Enabled)
		}
		if got[i].Enabled.IsZero() != want[i].Enabled.IsZero() {
			t.Errorf("%s: loaded Enabled IsZero %v, want %v", got[i].ID, got[i].Enabled.IsZero(), want[i].Enabled.IsZero())
		}
	}
}

// testConcurrent runs goroutines doing random operations on a few
// overlapping users, then checks that every registration created was
// removed exactly once (evicted, deleted) or is still stored, and that no
// user ever had more than maxDevices.
func testConcurrent(t *testing.T, s registry.Store) {
	const (
		workers    = 8
		ops        = 200
		maxDevices = 3
	)
	users := []string{alice, bob, "carol@example.org"}
	nodes := []string{"a", "b", "c", "d", "e"}

	type life struct {
		user string
		id   registry.Identifier
		gen  uint64
	}
	var (
		mu      sync.Mutex
		created = map[life]int{}
		removed = map[life]int{}
	)
	record := func(m map[life]int, regs ...registry.Registration) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range regs {
			m[life{r.User, r.ID, r.Generation}]++
		}
	}
	checkLoaded := func(user string, regs []registry.Registration) {
		if len(regs) > maxDevices {
			t.Errorf("Load(%s) = %d registrations, more than %d: %s", user, len(regs), maxDevices, regsString(regs))
		}
		seen := map[registry.Identifier]bool{}
		for _, r := range regs {
			if seen[r.ID] || r.User != user || r.Generation == 0 || r.Errors < 0 {
				t.Errorf("Load(%s) = %s: duplicate or malformed %s", user, regsString(regs), r.ID)
			}
			seen[r.ID] = true
		}
	}

	ctx := t.Context()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 0x5eed))
			for i := range ops {
				user := users[rng.IntN(len(users))]
				ident := id(nodes[rng.IntN(len(nodes))])
				switch op := rng.IntN(100); {
				case op < 40:
					gen := uint64(w)<<32 | uint64(i+1) // unique per call
					reg := newReg(user, ident, gen, at(i), publishOptions(fmt.Sprint(w, i)))
					saved, evicted, err := s.Save(ctx, reg, maxDevices)
					if err != nil {
						t.Errorf("Save: %v", err)
						continue
					}
					if saved.Generation == gen {
						record(created, saved)
					}
					if len(evicted) > 0 && len(evicted) != 1 {
						t.Errorf("Save at limit %d evicted %d: %s", maxDevices, len(evicted), regsString(evicted))
					}
					for _, e := range evicted {
						if e.User != user || e.ID == ident {
							t.Errorf("Save of %s %s evicted %s", user, ident, regString(e))
						}
					}
					record(removed, evicted...)
				case op < 55:
					regs, err := s.Load(ctx, user)
					if err != nil {
						t.Errorf("Load: %v", err)
						continue
					}
					checkLoaded(user, regs)
				case op < 75:
					regs, err := s.Load(ctx, user)
					if err != nil {
						t.Errorf("Load: %v", err)
						continue
					}
					if len(regs) == 0 {
						continue
					}
					r := regs[rng.IntN(len(regs))]
					if op < 68 {
						n, err := s.AddError(ctx, user, r.ID, r.Generation)
						if err == nil && n < 1 {
							t.Errorf("AddError = %d, want at least 1", n)
						}
						if err != nil && !errors.Is(err, registry.ErrNotFound) {
							t.Errorf("AddError: %v", err)
						}
					} else {
						err := s.ResetErrors(ctx, user, r.ID, r.Generation)
						if err != nil && !errors.Is(err, registry.ErrNotFound) {
							t.Errorf("ResetErrors: %v", err)
						}
					}
				case op < 97:
					ids := []registry.Identifier{ident, id(nodes[rng.IntN(len(nodes))])}
					got, err := s.Delete(ctx, user, ids...)
					if err != nil {
						t.Errorf("Delete: %v", err)
						continue
					}
					for _, r := range got {
						if r.User != user || !slices.Contains(ids, r.ID) {
							t.Errorf("Delete(%s, %q) removed %s", user, ids, regString(r))
						}
					}
					record(removed, got...)
				default:
					got, err := s.DeleteUser(ctx, user)
					if err != nil {
						t.Errorf("DeleteUser: %v", err)
						continue
					}
					for _, r := range got {
						if r.User != user {
							t.Errorf("DeleteUser(%s) removed %s", user, regString(r))
						}
					}
					record(removed, got...)
				}
			}
		})
	}
	wg.Wait()

	stored := map[life]bool{}
	for _, user := range users {
		regs := mustLoad(t, s, user)
		checkLoaded(user, regs)
		for _, r := range regs {
			stored[life{r.User, r.ID, r.Generation}] = true
		}
	}
	if len(created) == 0 {
		t.Fatal("no registration was created")
	}
	for l, n := range removed {
		if n != 1 || created[l] != 1 {
			t.Errorf("%s %s gen %d: removed %d times, created %d times; want once each", l.user, l.id, l.gen, n, created[l])
		}
		if stored[l] {
			t.Errorf("%s %s gen %d: still stored after it was removed", l.user, l.id, l.gen)
		}
	}
	for l := range stored {
		if created[l] != 1 {
			t.Errorf("%s %s gen %d: stored but created %d times", l.user, l.id, l.gen, created[l])
		}
	}
	for l := range created {
		if !stored[l] && removed[l] == 0 {
			t.Errorf("%s %s gen %d: created, then lost (neither stored nor removed)", l.user, l.id, l.gen)
		}
	}
}

func testCancelledContext(t *testing.T, s registry.Store) {
	a := newReg(alice, id("a"), 1, at(0), publishOptions("a"))
	b := newReg(alice, id("b"), 2, at(1), registry.Form{})
	mustSave(t, s, a, 5)
	mustSave(t, s, b, 5)
	a.Errors = mustAddError(t, s, alice, a.ID, a.Generation)
	before := mustLoad(t, s, alice)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel2()

	for _, c := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"cancelled", cancelled, context.Canceled},
		{"deadline exceeded", expired, context.DeadlineExceeded},
	} {
		check := func(op string, err error) {
			t.Helper()
			if !errors.Is(err, c.want) {
				t.Errorf("%s with a %s context: err = %v, want %v", op, c.name, err, c.want)
			}
		}
		ctx := c.ctx
		_, err := s.Load(ctx, alice)
		check("Load", err)
		_, _, err = s.Save(ctx, newReg(alice, id("new"), 3, at(2), registry.Form{}), 1)
		check("Save (new)", err)
		_, _, err = s.Save(ctx, newReg(alice, a.ID, 4, at(3), publishOptions("changed")), 5)
		check("Save (replace)", err)
		_, err = s.Delete(ctx, alice, a.ID, b.ID)
		check("Delete", err)
		_, err = s.DeleteUser(ctx, alice)
		check("DeleteUser", err)
		_, err = s.AddError(ctx, alice, a.ID, a.Generation)
		check("AddError", err)
		err = s.ResetErrors(ctx, alice, a.ID, a.Generation)
		check("ResetErrors", err)

		checkRegs(t, "Load after calls with a "+c.name+" context", mustLoad(t, s, alice), before)
	}
	checkRegs(t, "Load after calls with done contexts", mustLoad(t, s, alice), []registry.Registration{a, b})
}

// testLoadAppend checks the optional registry.Appender against Load.
func testLoadAppend(t *testing.T, s registry.Store) {
	a, ok := s.(registry.Appender)
	if !ok {
		t.Skip("the store has no LoadAppend")
	}
	for i, node := range []string{"a", "b", "c"} {
		mustSave(t, s, newReg(alice, id(node), uint64(i+1), at(i), publishOptions(node)), 0)
	}
	want := mustLoad(t, s, alice)
	prefix := newReg(bob, id("x"), 9, at(9), registry.Form{})
	got, err := a.LoadAppend(t.Context(), alice, []registry.Registration{prefix})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want)+1 || !sameReg(got[0], prefix) {
		t.Fatalf("LoadAppend did not append to dst: %s", regsString(got))
	}
	checkRegs(t, "LoadAppend", got[1:], want)
	if got, err := a.LoadAppend(t.Context(), "nobody@example.org", nil); err != nil || len(got) != 0 {
		t.Fatalf("LoadAppend of an unknown user: %v, %v", got, err)
	}
}

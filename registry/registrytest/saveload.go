package registrytest

// Cases of Save and Load: round trip, ownership, replacement, order, eviction.

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/pushrules/pushrules/registry"
)

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

package registrytest

// Cases checking that users, options, identifiers and Enabled times are kept
// exactly as given.

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pushrules/pushrules/registry"
)

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

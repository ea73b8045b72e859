package registrytest

// Cases of AddError and ResetErrors.

import (
	"errors"
	"testing"

	"github.com/pushrules/pushrules/registry"
)

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

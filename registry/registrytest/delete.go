package registrytest

// Cases of Delete and DeleteUser.

import (
	"errors"
	"testing"

	"github.com/pushrules/pushrules/registry"
)

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

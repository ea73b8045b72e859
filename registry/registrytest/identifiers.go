package registrytest

import (
	"testing"

	"github.com/pushrules/pushrules/registry"
)

// testIdentifiersAroundLessThan stores pairs whose texts joined naively
// ("jid<node") would be the same or would split elsewhere, and checks each
// stays its own registration: saved, read back, counted and deleted alone.
func testIdentifiersAroundLessThan(t *testing.T, s registry.Store) {
	pairs := [][2]string{
		{"push.example.net/a<b", "c"},
		{"push.example.net/a", "b<c"},
		{"push.example.net/a", "b"},
		{`push.example.net/a\`, "<c"},
		{`push.example.net/a\<`, "c"},
		{`push.example.net/a\<b`, "c"},
		{`push.example.net/a`, `\<b<c`},
		{"push.example.net/a<", "b<c"},
		{"push.example.net/<<", ""},
		{"push.example.net/é<用", "<"},
	}
	var want []registry.Registration
	for i, p := range pairs {
		want = append(want, newReg(alice, registry.NewIdentifier(p[0], p[1]), uint64(i+1), at(i), registry.Form{}))
		mustSave(t, s, want[i], 0)
	}
	got := mustLoad(t, s, alice)
	checkRegs(t, "Load of pairs differing around '<'", got, want)
	for i, r := range got {
		if i < len(pairs) && (r.ID.JID() != pairs[i][0] || r.ID.Node() != pairs[i][1]) {
			t.Errorf("loaded %q as JID %q node %q, want %q %q", r.ID, r.ID.JID(), r.ID.Node(), pairs[i][0], pairs[i][1])
		}
	}

	// An error counted for one pair is counted for it alone.
	if n := mustAddError(t, s, alice, want[0].ID, want[0].Generation); n != 1 {
		t.Errorf("AddError = %d, want 1", n)
	}
	want[0].Errors = 1
	checkRegs(t, "Load after one AddError", mustLoad(t, s, alice), want)

	// A delete with the exact pair of an enable removes that one only.
	checkRegs(t, "Delete of (push.example.net/a<b, c)", mustDelete(t, s, alice, registry.NewIdentifier(pairs[0][0], pairs[0][1])), want[:1])
	checkRegs(t, "Delete of (push.example.net/a, b<c)", mustDelete(t, s, alice, registry.NewIdentifier(pairs[1][0], pairs[1][1])), want[1:2])
	checkRegs(t, "Load after the two deletes", mustLoad(t, s, alice), want[2:])
}

package registrytest

// Fixtures, helpers that fail the test on an unexpected error, and comparisons,
// shared by the cases of the suite.

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pushrules/pushrules/registry"
)

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

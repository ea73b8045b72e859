package registry

import (
	"strings"
	"testing"

	"github.com/pushrules/pushrules/internal/jid"
)

// is is how Room and Muted ask addrMatch.
func is(m *addrMatch, stored string) bool { return !m.differs(stored) && m.compare(stored) }

// addrOracle is what is must say: stored is the bare JID of
// addr, compared case-insensitively.
func addrOracle(stored, addr string) bool {
	bare := jid.Bare(addr)
	return stored == bare || strings.EqualFold(stored, bare)
}

// TestAddrMatch compares addrMatch (differs, then compare) with its oracle on addresses that
// match exactly, by case, by Unicode folding (the Kelvin sign folds to
// 'k', the long s to 's'), by prefix only, and not at all; each match
// answers several stored JIDs in turn, as a registration's list of rooms
// does.
func TestAddrMatch(t *testing.T) {
	stored := []string{"capulets@muc.example.org", "kitchen@muc.example.org", "solar@muc.example.org", "c@x", "ça@muc.example.org", "other@muc.example.org"}
	addrs := []string{
		"capulets@muc.example.org/Nurse", "capulets@muc.example.org", "Capulets@MUC.example.org/Nurse",
		"capulets@muc.example.org.evil/x", "capulets@muc.example.or", "capulets@muc.example.org/",
		"\u212Aitchen@muc.example.org/k", "KITCHEN@muc.example.org", "\u017Folar@muc.example.org",
		"Ça@muc.example.org/x", "ÇA@MUC.EXAMPLE.ORG", "c@x/y", "C@X", "/capulets@muc.example.org", "", "c",
	}
	for _, a := range addrs {
		m := matchAddr(a)
		for _, s := range stored {
			if got, want := is(&m, s), addrOracle(s, a); got != want {
				t.Errorf("is(%q) for %q = %v, want %v", s, a, got, want)
			}
		}
	}
}

// FuzzAddrMatch checks addrMatch against its oracle, for a stored JID
// prepared as NewExtensions prepares them.
func FuzzAddrMatch(f *testing.F) {
	f.Add("capulets@muc.example.org", "Capulets@muc.example.org/Nurse")
	f.Add("kitchen@muc.example.org", "\u212Aitchen@muc.example.org")
	f.Fuzz(func(t *testing.T, room, addr string) {
		e, err := NewExtensions(ExtensionSettings{Rooms: []Room{{JID: room}}})
		if err != nil {
			return
		}
		stored := e.Settings().Rooms[0].JID
		m := matchAddr(addr)
		if got, want := is(&m, stored), addrOracle(stored, addr); got != want {
			t.Fatalf("is(%q) for %q = %v, want %v", stored, addr, got, want)
		}
		if _, ok := e.Room(addr); ok != addrOracle(stored, addr) {
			t.Fatalf("Room(%q) found %v for %q", addr, ok, stored)
		}
	})
}

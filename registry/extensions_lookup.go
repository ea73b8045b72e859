package registry

import (
	"strings"
	"unicode/utf8"

	"github.com/pushrules/pushrules/internal/jid"
)

// The lookups the push engine makes for every stanza a filtered
// registration may get: they read the encoding (see Extensions) in place,
// without allocating.

// Muted reports whether the bare JID of addr is muted (compared
// case-insensitively). It does not allocate.
func (e Extensions) Muted(addr string) bool {
	return e.has(extMuted) && e.muted(addr) // inlined: no call when nobody is muted, the usual case
}

// muted is Muted once some JID is muted.
func (e Extensions) muted(addr string) bool {
	rest := e.enc[3:]
	for n := e.enc[2]; n > 0; n-- {
		_, end := roomEnds(rest)
		rest = rest[end:]
	}
	from := matchAddr(addr)
	n := rest[0]
	for rest = rest[1:]; n > 0; n-- {
		var m string
		if m, rest = nextMuted(rest); !from.differs(m) && from.compare(m) {
			return true
		}
	}
	return false
}

// Room returns the rule of the room whose bare JID is that of addr
// (compared case-insensitively), and false when the room is not listed.
// It does not allocate.
func (e Extensions) Room(addr string) (Room, bool) {
	if !e.has(extGroupchat) {
		return Room{}, false
	}
	from := matchAddr(addr)
	rest := e.enc[3:]
	for n := e.enc[2]; n > 0; n-- {
		jidEnd, end := roomEnds(rest)
		if stored := rest[extRoomHead:jidEnd]; !from.differs(stored) && from.compare(stored) {
			return roomOf(rest, jidEnd, end), true
		}
		rest = rest[end:]
	}
	return Room{}, false
}

// addrMatch compares the JIDs NewExtensions stored (prepared bare JIDs,
// so lower-cased and without a resource) with the bare JID of addr, an
// address of the host's, case-insensitively. It strips addr's resource
// only when a comparison needs it: a stored JID that addr starts with
// exactly, or whose first letter is not addr's in any case, needs neither
// the bare JID nor a case-insensitive comparison.
type addrMatch struct {
	addr, bare string
	stripped   bool
	first      byte // addr's first byte | 0x20 when it is ASCII, else 0
}

func matchAddr(addr string) addrMatch {
	m := addrMatch{addr: addr}
	if addr != "" && addr[0] < utf8.RuneSelf {
		m.first = addr[0] | 0x20
	}
	return m
}

// differs reports that stored, a JID NewExtensions stored (never
// empty), is not the bare JID of m.addr, when first bytes tell: ASCII
// runes fold together only as upper and lower case, which differ in bit
// 0x20 alone. Small enough to be inlined, it settles most stored JIDs;
// compare settles the others. (Callers write the two out: a method
// calling both is too large to be inlined.)
func (m *addrMatch) differs(stored string) bool {
	c := stored[0]
	return m.first != 0 && c < utf8.RuneSelf && c|0x20 != m.first
}

// compare reports whether stored is the bare JID of m.addr, once
// differs has said false.
func (m *addrMatch) compare(stored string) bool {
	a := m.addr
	if len(a) >= len(stored) && a[:len(stored)] == stored && (len(a) == len(stored) || a[len(stored)] == '/') {
		return true
	}
	if !m.stripped {
		m.bare, m.stripped = jid.Bare(a), true
	}
	return strings.EqualFold(stored, m.bare)
}

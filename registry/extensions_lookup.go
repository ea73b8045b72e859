package registry

import (
	"strings"

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
	bare := jid.Bare(addr)
	n := rest[0]
	for rest = rest[1:]; n > 0; n-- {
		var m string
		if m, rest = nextMuted(rest); sameJID(m, bare) {
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
	bare := jid.Bare(addr)
	rest := e.enc[3:]
	for n := e.enc[2]; n > 0; n-- {
		jidEnd, end := roomEnds(rest)
		if sameJID(rest[extRoomHead:jidEnd], bare) {
			return roomOf(rest, jidEnd, end), true
		}
		rest = rest[end:]
	}
	return Room{}, false
}

// sameJID reports whether a JID NewExtensions stored (prepared, so
// lower-cased) is bare, an address of the host's, compared
// case-insensitively.
func sameJID(stored, bare string) bool {
	return stored == bare || strings.EqualFold(stored, bare)
}

package registry

import (
	"strings"

	"github.com/pushrules/pushrules/internal/jid"
)

// The lookups the push engine makes for every stanza a filtered
// registration may get: they read the encoding in place, without
// allocating.

// Muted reports whether the bare JID of addr is muted (compared
// case-insensitively). It does not allocate.
func (e Extensions) Muted(addr string) bool {
	if len(e.enc) < 3 || e.enc[2] == 0 { // none muted: the count, first, is a zero byte
		return false
	}
	r := formReader{rest: e.enc[2:]}
	n := r.uvarint()
	bare := jid.Bare(addr)
	for ; n > 0 && !r.bad; n-- {
		if m := r.string(); m == bare || strings.EqualFold(m, bare) {
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
	r := formReader{rest: e.enc[2:]}
	for n := r.uvarint(); n > 0 && !r.bad; n-- {
		r.string()
	}
	bare := jid.Bare(addr)
	for n := r.uvarint(); n > 0 && !r.bad && r.rest != ""; n-- {
		j := r.string()
		if r.rest == "" {
			break
		}
		allow := Allow(r.rest[0])
		r.rest = r.rest[1:]
		nick := r.string()
		if !r.bad && (j == bare || strings.EqualFold(j, bare)) {
			return Room{JID: j, Allow: allow, Nick: nick}, true
		}
	}
	return Room{}, false
}

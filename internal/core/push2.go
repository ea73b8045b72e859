package core

import (
	"strings"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/jid"
	"github.com/pushrules/pushrules/push2"
	"github.com/pushrules/pushrules/registry"
)

// This file holds the Push 2.0 rules: a registration with Push2 set takes
// part in every trigger, batch and deduplication mark like a XEP-0357
// one; what differs is whether a stanza gives it a push at all (its
// matches, their filters and grace periods: in a batch, the first stanza
// of each class a match takes) and what the push carries.

// push gives the push of st for reg, the XEP-0357 publish or the Push 2.0
// notification, to the delivery policy (gate), which sends or holds it,
// and reports whether there is one (a Push 2.0 registration none of whose
// matches takes the stanza gets none: SuppressedFilter). since is when the
// stanza reached the engine, in Unix nanoseconds.
func (r *Rules) push(now time.Time, since int64, u *User, reg *registry.Registration, st *events.Stanza, important, voip bool, out *Out) bool {
	call := st.CallProposal || st.CallEnd
	if reg.Push2 == nil {
		if !r.Policy.on() { // built in place: a Publish is large
			r.publish(out.slot(), reg, st, important, voip, since)
			out.count(published(important), 1)
			if r.ClearOnRead {
				r.notePushed(now, u, reg.ID)
			}
			return true
		}
		var p Publish
		r.publish(&p, reg, st, important, voip, since)
		r.hold(now, u, &p, call, out)
		return true
	}
	m := r.match(now, u, reg, st)
	if m < 0 {
		out.count(SuppressedFilter, 1)
		return false
	}
	p := Publish{User: reg.User, Registration: reg.ID, Generation: reg.Generation,
		Important: important, Push2: reg.Push2, Match: m, Raw: st.Extras().Raw, Call: call, Since: since}
	r.gate(now, u, &p, call, out)
	return true
}

// taker tells which stanzas of a batch a registration takes at all: a
// XEP-0357 one those its extension filters pass (Passes), a Push 2.0 one
// those a match of its takes (match), so that Select offers it the first
// stanza of each class it takes rather than one it would refuse.
type taker struct {
	r   *Rules
	u   *User
	reg *registry.Registration
	now time.Time
}

// taker returns the taker of reg, nil when reg takes every stanza (a
// XEP-0357 registration without extension filters).
func (r *Rules) taker(now time.Time, u *User, reg *registry.Registration) *taker {
	if reg.Push2 == nil && reg.Extensions.IsZero() {
		return nil
	}
	return &taker{r: r, u: u, reg: reg, now: now}
}

func (t *taker) takes(st *events.Stanza) bool {
	if t.reg.Push2 != nil {
		return t.r.match(t.now, t.u, t.reg, st) >= 0
	}
	return t.r.Passes(t.reg, st)
}

// match returns the index of the first match of the Push 2.0 registration
// reg that takes st, -1 for none (and for a ping: Push 2.0 has none). A
// match with a grace period takes no stanza but a call's while another
// session of the user is active (see User.activeWithin).
func (r *Rules) match(now time.Time, u *User, reg *registry.Registration, st *events.Stanza) int {
	if st == nil {
		return -1
	}
	f := Facts(reg.User, st)
	call := st.CallProposal || st.CallEnd
	for i := range reg.Push2.Matches {
		m := &reg.Push2.Matches[i]
		if !m.Matches(st, f) {
			continue
		}
		if m.Grace > 0 && !call && u.activeWithin(now, m.Grace, reg.ID) {
			continue
		}
		return i
	}
	return -1
}

// Facts are the facts push2.Match.Matches needs about st for user (a bare
// JID): archived when st has a XEP-0359 stanza-id; mentioned by a XEP-0372
// reference to the user, a MUC mention notification, or the user's local
// part as a word of the body; a reply when the XEP-0461 reply is to the
// user; a call retraction for the end of a call.
func Facts(user string, st *events.Stanza) push2.Facts {
	return push2.Facts{
		Archived:       st.StanzaID,
		Mentioned:      st.MUCMention || st.Mentioned(user) || hasWord(st.Body, localPart(user)),
		Reply:          st.Extras().ReplyTo != "" && jid.Equal(jid.Bare(st.Extras().ReplyTo), user),
		CallRetraction: st.CallEnd,
	}
}

func localPart(user string) string {
	if i := strings.IndexByte(user, '@'); i > 0 {
		return user[:i]
	}
	return ""
}

// hasWord reports whether w occurs in s, case-folded, with no letter or
// digit right before or after it.
func hasWord(s, w string) bool {
	if w == "" || len(s) < len(w) {
		return false
	}
	ls, lw := strings.ToLower(s), strings.ToLower(w)
	for i := 0; ; {
		j := strings.Index(ls[i:], lw)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(lw)
		if (start == 0 || !wordByte(ls[start-1])) && (end == len(ls) || !wordByte(ls[end])) {
			return true
		}
		i = start + 1
	}
}

// wordByte reports whether c is part of a word: an ASCII letter or digit,
// or any byte of a multi-byte character.
func wordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}

// activeWithin reports whether a session of u not bound to the
// registration id was active in the grace period before now: a session
// that is live (not hibernating), or one that started hibernating less
// than grace ago. Closed sessions are forgotten, so they hold nothing.
func (u *User) activeWithin(now time.Time, grace time.Duration, id registry.Identifier) bool {
	for _, s := range u.sessions {
		if s.Bound && s.Binding.ID == id {
			continue
		}
		if !s.Hibernating || now.Sub(s.hibernated) < grace {
			return true
		}
	}
	return false
}

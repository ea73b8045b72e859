package core

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/jid"
	"github.com/pushrules/pushrules/registry"
)

// This file holds the rules of the <enable/> extensions: the filters each
// registration asked for, the calls (XEP-0353 proposals and their end) and
// the facts an extended publish carries.

// Payload is what an extended publish (an encrypted payload, a Jingle
// element) says about the stanza, beyond the summary form. The zero
// Payload is a ping's.
type Payload struct {
	// Type is "chat", "groupchat" or "call"; "" for a ping.
	Type string
	// Sender is the sender's bare JID (the room's for a group chat), or
	// the caller's full JID for a call.
	Sender string
	// Message is the body, or the important body for an encrypted message
	// (never its fallback text); "" for none and for calls.
	Message string
	// Nickname is the sender's nick in a group chat ("" for the room
	// itself).
	Nickname string
	// CallID is the XEP-0353 session id and CallMedia its media, separated
	// by spaces, for a call.
	CallID, CallMedia string
	// CallEnd is set for the push that stops a call ringing (a retract or a
	// reject).
	CallEnd bool
}

// callKey is the identity under which the marks remember which
// registrations a call proposal was pushed to: a hash of its id, apart from
// every stanza's Key only by chance (2^-64).
func callKey(id string) events.Key {
	h := uint64(14695981039346656037) ^ 'J'
	h *= 1099511628211
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	if h == 0 {
		h = 1
	}
	return events.Key(h)
}

// rings reports whether reg takes VoIP pushes: it asked for Jingle or for
// encryption. Only such registrations get the call rules: a proposal
// pushed at once (no batch window), marked VoIP, and its end pushed to
// them, marked VoIP too. The others push calls as any other stanza.
func rings(reg *registry.Registration) bool {
	return reg.Extensions.Jingle() || reg.Extensions.Encrypted()
}

// voip reports whether st, pushed to reg, rings a call or stops one that
// was pushed to reg ringing.
// Only a stanza with a call id can: that check is inlined into every
// stanza's path.
func (u *User) voip(st *events.Stanza, reg *registry.Registration, now time.Time) bool {
	return st != nil && st.Extra != nil && st.Extra.CallID != "" && u.callRings(st, reg, now)
}

func (u *User) callRings(st *events.Stanza, reg *registry.Registration, now time.Time) bool {
	if !rings(reg) {
		return false
	}
	return st.CallProposal || st.CallEnd && u.marks.Has(callKey(st.Extra.CallID), reg.ID, now)
}

// markCall remembers that st, a call proposal, was pushed to reg.
func (u *User) markCall(st *events.Stanza, reg *registry.Registration, now time.Time) {
	if st.CallProposal && st.Extra != nil && st.Extra.CallID != "" && rings(reg) {
		u.marks.Add(callKey(st.Extra.CallID), reg.ID, now)
	}
}

// Passes reports whether the filters of reg let st be pushed to it. A call
// (its proposal or its end) passes every filter but the muted one. The
// ignore-unknown filter reads st.SenderUnknown, which the shell sets from
// the host's roster; the groupchat filter applies to groupchat messages
// (and MUC mention notifications) and pushes rooms it does not list.
func (r *Rules) Passes(reg *registry.Registration, st *events.Stanza) bool {
	ext := reg.Extensions
	if ext.IsZero() || st == nil {
		return true
	}
	if st.From != "" && ext.Muted(st.From) {
		return false
	}
	if st.CallProposal || st.CallEnd {
		return true
	}
	if st.Type == "groupchat" {
		if !ext.Groupchat() {
			return true
		}
		room, ok := ext.Room(st.From)
		switch {
		case !ok || room.Allow == registry.AllowAlways:
			return true
		case room.Allow == registry.AllowNever:
			return false
		}
		return r.mentioned(reg.User, room, st)
	}
	return !(st.SenderUnknown && ext.IgnoreUnknown())
}

// mentioned reports whether a groupchat message from room mentions user:
// the room says so (a MUC mention notification), a XEP-0372 mention names
// the user's bare JID or occupant JID, a XEP-0461 reply answers one of the
// user's messages, or (with NickMentions) the nick stands as a whole word
// in the body.
func (r *Rules) mentioned(user string, room registry.Room, st *events.Stanza) bool {
	if st.MUCMention {
		return true
	}
	if x := st.Extra; x != nil {
		for m := range strings.SplitSeq(x.Mentions, "\n") {
			if m != "" && isUser(m, user, room) {
				return true
			}
		}
		if x.ReplyTo != "" && isUser(x.ReplyTo, user, room) {
			return true
		}
	}
	return r.NickMentions && room.Nick != "" && wholeWord(st.Body, room.Nick)
}

// isUser reports whether addr is the user's bare JID or the user's occupant
// JID in room (room@service/nick), bare parts compared case-insensitively.
func isUser(addr, user string, room registry.Room) bool {
	bare, res, hasRes := strings.Cut(addr, "/")
	if !hasRes {
		return strings.EqualFold(bare, user)
	}
	return room.Nick != "" && res == room.Nick && strings.EqualFold(bare, room.JID)
}

// wholeWord reports whether word occurs in text with no letter, digit or
// '_' right before or after it, compared case-insensitively ("Bob" in
// "bob: hi" and "@bob", not in "bobby" or "kebob").
func wholeWord(text, word string) bool {
	for i := 0; i+len(word) <= len(text); {
		j := indexFold(text[i:], word)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(word)
		before, _ := utf8.DecodeLastRuneInString(text[:start])
		after, _ := utf8.DecodeRuneInString(text[end:])
		if (start == 0 || !isWordRune(before)) && (end == len(text) || !isWordRune(after)) {
			return true
		}
		_, w := utf8.DecodeRuneInString(text[start:])
		i = start + w
	}
	return false
}

// indexFold is strings.Index under simple case folding, without
// allocating. When sub starts with an ASCII byte it skips, without
// comparing, the places that start with another ASCII byte than sub's in
// either case (ASCII runes fold together only as upper and lower case,
// which differ in bit 0x20 alone): a long message is scanned once, not
// compared at every byte.
func indexFold(s, sub string) int {
	if sub == "" {
		return 0
	}
	first := sub[0] | 0x20
	ascii := sub[0] < utf8.RuneSelf
	for i := 0; i+len(sub) <= len(s); i++ {
		if c := s[i]; ascii && c < utf8.RuneSelf && c|0x20 != first {
			continue
		}
		if w := s[i : i+len(sub)]; w == sub || strings.EqualFold(w, sub) {
			return i
		}
	}
	return -1
}

func isWordRune(c rune) bool {
	return c == '_' || unicode.IsLetter(c) || unicode.IsDigit(c)
}

// payload gives the facts an extended publish for st (nil for a ping)
// carries; voip says the push rings or stops a call.
func (r *Rules) payload(st *events.Stanza, voip bool) *Payload {
	if st == nil {
		return &Payload{}
	}
	p := Payload{Type: "chat", Sender: jid.Bare(st.From)}
	switch {
	case st.CallProposal || voip:
		p = Payload{Type: "call", Sender: st.From, CallID: st.Extras().CallID, CallEnd: st.CallEnd}
		if st.CallProposal {
			p.CallMedia = st.Extras().CallMedia
		}
		return &p
	case st.Type == "groupchat":
		p.Type = "groupchat"
		if _, nick, ok := strings.Cut(st.From, "/"); ok {
			p.Nickname = nick
		}
	}
	p.Message = st.Body
	if st.Encrypted {
		p.Message = r.ImportantBody
	}
	return &p
}

package push

import (
	"context"
	"log/slog"
	"strings"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/jid"
	"github.com/pushrules/pushrules/registry"
)

// Roster is the host's answer to the ignore-unknown filter
// (tigase:push:filter:ignore-unknown:0): whether contact, a bare JID, is
// in user's roster with a subscription that lets it reach the user
// (Prosody and Tigase count "both" and "from"). The engine calls it with no
// lock held, possibly from many goroutines at once, and only for stanzas
// to a user with a registration that asked for the filter. An error is
// logged and the stanza pushed: a failing roster never drops a push.
type Roster interface {
	InRoster(ctx context.Context, user, contact string) (bool, error)
}

// Payload is what an extended publish says about its stanza: the JSON of
// an encrypted payload (tigase:push:encrypt:0) and the <jingle/> of a call
// push (tigase:push:jingle:0). The zero Payload is a ping's.
type Payload struct {
	// Type is "chat", "groupchat" or "call"; "" for a ping.
	Type string
	// Sender is the sender's bare JID (the room's for a group chat), or
	// the caller's full JID for a call.
	Sender string
	// Message is the body, whatever Config.WithBody says (the payload is
	// encrypted to the device), or the important body for an encrypted
	// message (never its fallback text); "" for none and for calls.
	Message string
	// Nickname is the sender's nick in a group chat ("" for the room).
	Nickname string
	// CallID is the XEP-0353 session id and CallMedia its media, separated
	// by spaces ("audio video"), for a call.
	CallID, CallMedia string
	// CallEnd is set for the push that stops a call ringing.
	CallEnd bool
}

// Features returns the disco#info features the host must list on an
// account for the engine's push support: urn:xmpp:push:0 and one for each
// extension of <enable/> the engine implements (registry.Features), in a
// fixed order; a new slice each time.
func (e *Engine) Features() []string {
	return append([]string{NSPush}, registry.Features()...)
}

// askRoster reports whether any of regs asked for the ignore-unknown
// filter, so that the roster must be asked about st's sender.
func askRoster(st *events.Stanza, user string, regs []registry.Registration) bool {
	for i := range regs {
		if regs[i].Extensions.IgnoreUnknown() {
			return needsRoster(st, user)
		}
	}
	return false
}

// needsRoster reports whether the ignore-unknown filter would read st's
// SenderUnknown: a stanza from someone else that is neither a groupchat
// message (the groupchat filter's) nor a call, not already marked.
func needsRoster(st *events.Stanza, user string) bool {
	return !st.SenderUnknown && st.From != "" && st.Type != "groupchat" && !st.CallProposal && !st.CallEnd &&
		!strings.EqualFold(jid.Bare(st.From), user)
}

// markUnknown asks the Roster about st's sender and sets st.SenderUnknown
// when it is not in the user's roster. No lock may be held.
func (e *Engine) markUnknown(ctx context.Context, user string, st *events.Stanza) {
	if e.cfg.Roster == nil {
		return
	}
	in, err := e.cfg.Roster.InRoster(ctx, user, jid.Bare(st.From))
	if err != nil {
		e.stats.rosterErrors.Add(1)
		e.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "push: roster lookup failed; pushing", slog.String("user", user), slog.Any("error", err))
		return
	}
	st.SenderUnknown = !in
}

// markQueue returns a copy of queue with SenderUnknown set from the Roster
// on the stanzas that need it, or nil when none does (the host's slice is
// never written to). No lock may be held.
func (e *Engine) markQueue(ctx context.Context, user string, queue []events.Stanza) []events.Stanza {
	var out []events.Stanza
	for i := range queue {
		if !needsRoster(&queue[i], user) {
			continue
		}
		if out == nil {
			out = append([]events.Stanza(nil), queue...)
		}
		e.markUnknown(ctx, user, &out[i])
	}
	return out
}

// appendExtensions appends the <priority/> and <jingle/> elements the
// registration asked for.
func (p *Publish) appendExtensions(b []byte) []byte {
	ext := p.Extensions
	if ext.IsZero() {
		return b
	}
	if ext.Priority() {
		if p.Important {
			b = append(b, "<priority xmlns='"+registry.NSPriority+"'>high</priority>"...)
		} else {
			b = append(b, "<priority xmlns='"+registry.NSPriority+"'>low</priority>"...)
		}
	}
	if ext.Jingle() && p.VoIP && p.Payload != nil {
		action := "propose"
		if p.Payload.CallEnd {
			action = "retract"
		}
		b = append(b, "<jingle xmlns='"+registry.NSJingle+"' action='"+action+"' sid='"...)
		b = appendEscaped(b, p.Payload.CallID)
		b = append(b, "'>"...)
		for m := range strings.FieldsSeq(p.Payload.CallMedia) {
			b = append(b, "<media>"...)
			b = appendEscaped(b, m)
			b = append(b, "</media>"...)
		}
		b = append(b, "</jingle>"...)
	}
	return b
}

// rosterQueue returns a copy of the queue for session full marked with the
// Roster's answers when the session's registration asked for the
// ignore-unknown filter and a stanza needs an answer; nil when none is
// needed. It is called as enter returns (sh.mu held; owned says whether
// the caller holds the user's turn). To ask, it takes the turn if need be
// and asks with no lock held; it returns with sh.mu held again and owned
// set when the caller must pass the turn on.
func (e *Engine) rosterQueue(ctx context.Context, sh *userShard, user string, u *userEntry, owned bool, full string, queue []events.Stanza) (marked []events.Stanza, _ bool) {
	if e.cfg.Roster == nil || u == nil {
		return nil, owned
	}
	s := u.Session(full)
	if s == nil || !s.Bound || !s.Binding.Extensions.IgnoreUnknown() {
		return nil, owned
	}
	need := false
	for i := range queue {
		need = need || needsRoster(&queue[i], user)
	}
	if !need {
		return nil, owned
	}
	u.busy = true // the turn: ours already when owned
	sh.mu.Unlock()
	marked = e.markQueue(ctx, user, queue)
	sh.finish()
	return marked, true
}

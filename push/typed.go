package push

import (
	"context"

	"github.com/pushrules/pushrules/events"
)

// The typed handlers below are shorthand for Handle with an event of their
// type: the same handler behind Handle's dispatch, the same decisions and
// errors, without boxing the event in an interface.

// SessionOpened records a new session of the user (every session counts
// for the archive rule, push-enabled or not). Shorthand for Handle.
func (e *Engine) SessionOpened(ctx context.Context, ev events.SessionOpened) (Decisions, error) {
	return e.Handle(ctx, ev)
}

// SessionClosed forgets the session and its pending batch; the
// registration it was bound to stays stored. Shorthand for Handle.
func (e *Engine) SessionClosed(ctx context.Context, ev events.SessionClosed) (Decisions, error) {
	return e.Handle(ctx, ev)
}

// IQ answers a session's <enable/> or <disable/> (ev.Payload, parsed with
// ParseRequest); the reply is always in the Decisions. Shorthand for
// Handle.
func (e *Engine) IQ(ctx context.Context, ev events.IQ) (Decisions, error) {
	return e.Handle(ctx, ev)
}

// AckDelayed collects the unacknowledged queue of a bound session into
// its batch, pushed when it falls due. Shorthand for Handle.
func (e *Engine) AckDelayed(ctx context.Context, ev events.AckDelayed) (Decisions, error) {
	var d Decisions
	err := e.ackDelayed(ctx, &ev, &d)
	return d, err
}

// HibernationStart marks the session hibernating; a bound session gets the
// extended timeout, its pending batch is discarded and its queue is
// processed at once (at most one important and one unimportant push).
// Shorthand for Handle.
func (e *Engine) HibernationStart(ctx context.Context, ev events.HibernationStarted) (Decisions, error) {
	return e.Handle(ctx, ev)
}

// StanzaQueued adds a stanza queued for a hibernating bound session to its
// batch. Shorthand for Handle.
func (e *Engine) StanzaQueued(ctx context.Context, ev events.StanzaQueued) (Decisions, error) {
	var d Decisions
	err := e.stanzaQueued(ctx, &ev, &d)
	return d, err
}

// HibernationEnd marks the resumed session live again and discards its
// pending batch. Shorthand for Handle.
func (e *Engine) HibernationEnd(ctx context.Context, ev events.HibernationEnded) (Decisions, error) {
	return e.Handle(ctx, ev)
}

// ArchiveAdded wakes, for a message archived for its recipient, every
// registration not bound to a current session of the user (all of them
// for a call proposal); nothing when the user has no session at all or
// the message is not addressed to the user. Shorthand for Handle.
func (e *Engine) ArchiveAdded(ctx context.Context, ev events.MessageArchived) (Decisions, error) {
	return e.Handle(ctx, ev)
}

// OfflineMessage wakes every registration of the user for a message stored
// offline. Shorthand for Handle.
func (e *Engine) OfflineMessage(ctx context.Context, ev events.OfflineMessage) (Decisions, error) {
	var d Decisions
	err := e.offlineMessage(ctx, &ev, &d)
	return d, err
}

// GroupchatToBare wakes every registration of the user for a groupchat
// message addressed to the user's bare JID. Shorthand for Handle.
func (e *Engine) GroupchatToBare(ctx context.Context, ev events.GroupchatToBare) (Decisions, error) {
	var d Decisions
	err := e.groupchatToBare(ctx, &ev, &d)
	return d, err
}

// Ping wakes every registration of the user (or those of the named nodes)
// with a push carrying no stanza data. Shorthand for Handle.
func (e *Engine) Ping(ctx context.Context, ev events.Ping) (Decisions, error) {
	return e.Handle(ctx, ev)
}

// UserDeleted removes every registration of the user and unbinds its
// sessions; on a Store failure nothing changes and the host should retry.
// Shorthand for Handle.
func (e *Engine) UserDeleted(ctx context.Context, ev events.UserDeleted) (Decisions, error) {
	return e.Handle(ctx, ev)
}

// RegistrationsChanged re-reads the user's registrations after another
// node changed them and unbinds the sessions whose registration is gone.
// Shorthand for Handle.
func (e *Engine) RegistrationsChanged(ctx context.Context, ev events.RegistrationsChanged) (Decisions, error) {
	return e.Handle(ctx, ev)
}

// PublishResult applies a push service's answer to a publish. A result
// resets the registration's error count; an error counts or is retried
// as Config.Errors says (by default every error but a transient one
// counts one, and at MaxErrors the registration is removed and its
// sessions unbound). Only answers from the publish's push service count:
// others are ignored (and counted in Stats) without touching the pending
// publish. Shorthand for Handle.
func (e *Engine) PublishResult(ctx context.Context, ev events.PublishResult) (Decisions, error) {
	return e.Handle(ctx, ev)
}

// RemoteDisabled removes the registration a push service says is gone
// (XEP-0357 §6) and unbinds its sessions; a notice from any other address
// than the registration's service is ignored (Stats.RemoteDisablesIgnored).
// Shorthand for Handle.
func (e *Engine) RemoteDisabled(ctx context.Context, ev events.RemoteDisabled) (Decisions, error) {
	return e.Handle(ctx, ev)
}

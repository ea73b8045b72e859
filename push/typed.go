package push

import (
	"context"

	"github.com/pushrules/pushrules/events"
)

// The typed handlers below are shorthand for Handle with an event of their
// type: the same handler behind Handle's dispatch, the same decisions and
// errors, without boxing the event in an interface. They are small enough
// to be inlined (their handlers time themselves, as HandleInto times the
// others): inlined, the event is built in the caller's frame, not copied,
// and so are the Decisions.

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

package push

import (
	"context"
	"log/slog"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/core"
	"github.com/pushrules/pushrules/registry"
)

// This file holds the shell of the wake-ups after a restart
// (events.Restarted), of the clearing pushes (events.MessagesRead,
// Config.ClearOnRead) and of the summary's counts (Config.Counter). The
// wake-up before a hibernation times out (Config.WakeBeforeTimeout) is a
// timer of the core that Wake fires like a batch's.

// Counter gives the summary counts of a user's pushes: messages, the
// message-count (unread messages in the archive, or messages stored
// offline, as the host counts them), and subscriptions, the
// pending-subscription-count (subscription requests not yet answered). A
// negative value leaves that field as without a Counter (message-count 1,
// pending-subscription-count empty). The engine calls it once per event
// that publishes for the user (and once per timer that does, in Wake),
// with no lock held and outside the user's turn, possibly from many
// goroutines at once. An error is logged,
// counted in Stats.CounterErrors, and the pushes go out without counts: a
// failing Counter never holds a push back.
type Counter interface {
	Count(ctx context.Context, user string) (messages, subscriptions int, err error)
}

// counts are a publish's summary counts; negative: not known.
type counts struct{ messages, subscriptions int }

// Counts returns the message-count and pending-subscription-count of the
// publish's summary form (an encrypted publish carries the message count
// as its payload's unread): from Config.Counter when one is set (0 messages
// for a clearing push after the user read elsewhere); otherwise 1 and
// -1, which AppendXML sends as an empty field (Prosody's counts).
func (p *Publish) Counts() (messages, subscriptions int) {
	messages, subscriptions = messageCount, -1
	if c := p.counts; c != nil {
		if c.messages >= 0 {
			messages = c.messages
		}
		subscriptions = c.subscriptions
	}
	return messages, subscriptions
}

// askCounts gives pubs, one user's publishes of one event that have no
// counts yet, the Counter's counts (read sets the message count to 0, for
// clearing pushes). No lock may be held. Small enough to be inlined: the
// hot paths pay one test when there is no Counter.
func (e *Engine) askCounts(ctx context.Context, pubs []Publish, read bool) {
	if len(pubs) > 0 && (e.cfg.Counter != nil || read) {
		e.setCounts(ctx, pubs, read)
	}
}

// setCounts is askCounts for publishes that need counts.
func (e *Engine) setCounts(ctx context.Context, pubs []Publish, read bool) {
	c := &counts{messages: -1, subscriptions: -1}
	if e.cfg.Counter != nil {
		var err error
		if c.messages, c.subscriptions, err = e.cfg.Counter.Count(ctx, pubs[0].User); err != nil {
			e.stats.counterErrors.Add(1)
			e.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "push: counter failed; pushing without counts",
				slog.String("user", pubs[0].User), slog.Any("error", err))
			c.messages, c.subscriptions = -1, -1
		}
	}
	if read {
		c.messages = 0
	}
	for i := range pubs {
		if pubs[i].counts == nil {
			pubs[i].counts = c
		}
	}
}

func (e *Engine) restarted(ctx context.Context, ev events.Restarted, d *Decisions) error {
	return e.toRegistrations(ctx, ev.Now, ev.User, "restarted", d, func(regs []registry.Registration, out *core.Out) {
		e.rules.Restart(ev.Now, regs, ev.Nodes, out)
	})
}

// messagesRead applies a read: without ClearOnRead it only checks the
// event. The Store is read only when a registration was pushed since the
// user last read.
func (e *Engine) messagesRead(ctx context.Context, ev events.MessagesRead, d *Decisions) error {
	user, err := sessionUser(ev.Session, ev.Now)
	if err != nil || !e.cfg.ClearOnRead {
		return err
	}
	sh, u, owned, err := e.enter(ctx, user, ev.Now, false)
	if err != nil {
		return err
	}
	if u == nil || !u.Unread() {
		known := u != nil && e.rules.Read(ev.Now, &u.User, ev.Session, nil, &sh.out)
		if u != nil {
			e.emit(sh, &sh.out, user, ev.Now, d)
		}
		e.done(sh, u, owned)
		if !known {
			e.stats.unknownSessions.Add(1)
		}
		return nil
	}
	u.busy = true
	sh.mu.Unlock()
	regs, lerr := e.cfg.Store.Load(ctx, user)
	start := len(d.Publishes)
	sh.finish()
	if lerr == nil {
		if !e.rules.Read(ev.Now, &u.User, ev.Session, regs, &sh.out) {
			e.stats.unknownSessions.Add(1)
		}
		e.emit(sh, &sh.out, user, ev.Now, d)
	}
	e.end(sh, u)
	e.askCounts(ctx, d.Publishes[start:], true)
	e.track(ev.Now, u, d.Publishes[start:])
	if lerr != nil {
		return e.storeError(ctx, "messages read: load", user, lerr)
	}
	return nil
}

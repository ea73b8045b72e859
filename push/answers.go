package push

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/jid"
	"github.com/pushrules/pushrules/registry"
)

// publishResult applies a push service's answer. The sender is checked
// before the pending publish is taken: an answer from any other address
// leaves it in place for the genuine answer.
func (e *Engine) publishResult(ctx context.Context, ev events.PublishResult, d *Decisions) error {
	if err := checkTime(ev.Now); err != nil {
		return err
	}
	if ev.From == "" {
		e.stats.answersWithoutFrom.Add(1)
		e.cfg.Logger.Warn("push: publish answer without From ignored; set PublishResult.From to the answer's sender", "id", ev.ID)
		return nil
	}
	p, status := e.takePending(ev.ID, ev.From, ev.Now)
	switch status {
	case pendingUnknown:
		e.stats.answersUnknown.Add(1)
		if e.cfg.Logger.Enabled(ctx, slog.LevelDebug) {
			e.cfg.Logger.Debug("push: answer to an unknown or expired publish ignored", "id", ev.ID)
		}
		return nil
	case pendingOtherSender:
		e.stats.answersForeign.Add(1)
		e.cfg.Logger.Info("push: answer from another JID than the publish's service ignored", "id", ev.ID, "from", ev.From)
		return nil
	}
	log := func() *slog.Logger { return e.cfg.Logger.With("user", p.user, "service", p.id.JID(), "id", ev.ID) }
	if ev.Error == nil {
		if err := e.cfg.Store.ResetErrors(ctx, p.user, p.id, p.gen); err != nil && !errors.Is(err, registry.ErrNotFound) {
			return e.storeError(ctx, "reset errors", p.user, err)
		}
		return nil
	}
	if ev.Error.Type == "wait" {
		return nil
	}
	sh, u, err := e.begin(ctx, p.user, ev.Now)
	if err != nil {
		return err
	}
	removed, n, serr := e.countError(ctx, p)
	sh.finish()
	if serr == nil && len(removed) > 0 {
		e.rules.Removed(ev.Now, &u.User, removed, &sh.out)
		e.emit(sh, p.user, ev.Now, d)
	}
	e.end(sh, p.user, u)
	if serr != nil {
		return serr
	}
	if n > 0 {
		log().Info("push: publish failed", "errors", n, "condition", ev.Error.Condition)
	}
	if len(removed) > 0 {
		log().Info("push: registration removed after too many errors")
	}
	return nil
}

// countError counts one error of the publish's registration and removes
// the registration at MaxErrors. An answer for a registration no longer
// stored (or stored anew) counts nothing.
func (e *Engine) countError(ctx context.Context, p pendingPublish) (removed []registry.Registration, n int, err error) {
	if client, ok := p.id.Push2Client(); ok {
		return e.countPush2Error(ctx, p, client)
	}
	n, err = e.cfg.Store.AddError(ctx, p.user, p.id, p.gen)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, e.storeError(ctx, "count error", p.user, err)
	}
	if n < e.cfg.MaxErrors {
		return nil, n, nil
	}
	removed, err = e.cfg.Store.Delete(ctx, p.user, p.id)
	if err != nil {
		return nil, n, e.storeError(ctx, "remove failing registration", p.user, err)
	}
	return removed, n, nil
}

// ForgetPublish forgets a publish the host knows will never be answered
// (sending it failed, or its transport gave up on it), so that it stops
// taking memory before PublishTimeout; it is counted in Stats as
// PublishesForgotten. An answer that still arrives for it is ignored.
// Unknown ids are ignored.
func (e *Engine) ForgetPublish(id string) {
	ps, seq, ok := e.pendingOf(id)
	if !ok {
		return
	}
	ps.mu.Lock()
	_, ok = ps.take(seq)
	ps.mu.Unlock()
	if ok {
		e.stats.publishesForgotten.Add(1)
	}
}

func newGeneration() uint64 {
	for {
		if g := rand.Uint64(); g != 0 {
			return g
		}
	}
}

// sameService reports whether an answer from from may be the answer of a
// publish to service.
func sameService(from string, service string) bool { return jid.Equal(from, service) }

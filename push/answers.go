package push

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

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
	p, rs, status := e.takePending(ev.ID, ev.From, ev.Now)
	switch status {
	case pendingUnknown:
		e.stats.answersUnknown.Add(1)
		if e.debugging(ctx) {
			e.cfg.Logger.Debug("push: answer to an unknown or expired publish ignored", "id", ev.ID)
		}
		return nil
	case pendingOtherSender:
		e.stats.answersForeign.Add(1)
		e.cfg.Logger.Info("push: answer from another JID than the publish's service ignored", "id", ev.ID, "from", ev.From)
		return nil
	}
	e.countAnswer(ev.Error)
	if ev.Error == nil {
		return e.succeed(ctx, p, ev.Now)
	}
	kind := e.cfg.Errors.Classify(p.id.JID(), ev.Error)
	if kind == FailTransient {
		if due, ok := e.scheduleRetry(ev.Now, ev.ID, rs); ok {
			d.wakeAt(due)
			return nil
		}
		if !e.cfg.Errors.Retry.CountExhausted {
			return nil
		}
		kind = FailOther
	}
	return e.fail(ctx, p, ev.Now, kind, ev.Error.Condition, d)
}

// succeed records a publish's success.
func (e *Engine) succeed(ctx context.Context, p pendingPublish, now time.Time) error {
	var err error
	if t, ok := e.cfg.Store.(registry.Tracker); ok {
		err = t.Succeed(ctx, p.user, p.id, p.gen, now)
	} else {
		err = e.cfg.Store.ResetErrors(ctx, p.user, p.id, p.gen)
	}
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		return e.storeError(ctx, "reset errors", p.user, err)
	}
	return nil
}

// fail counts one failure of kind of the publish's registration, in the
// user's turn, and removes the registration when its run of failures
// reaches the kind's limit or lasts ErrorPolicy.FailureSpan.
func (e *Engine) fail(ctx context.Context, p pendingPublish, now time.Time, kind FailureKind, condition string, d *Decisions) error {
	sh, u, err := e.begin(ctx, p.user, now)
	if err != nil {
		return err
	}
	removed, n, serr := e.countError(ctx, p, now, kind, condition)
	sh.finish()
	if serr == nil && len(removed) > 0 {
		e.rules.Removed(now, &u.User, removed, &sh.out)
		e.emit(sh, &sh.out, p.user, now, d)
		e.countChanges(ReasonFailed, len(removed))
		for i := range removed {
			d.Changes = append(d.Changes, Change{At: now, User: p.user, Registration: removed[i].ID, Reason: ReasonFailed,
				Errors: n, Condition: condition})
		}
	}
	e.end(sh, u)
	if serr != nil {
		return serr
	}
	log := func() *slog.Logger { return e.cfg.Logger.With("user", p.user, "service", p.id.JID()) }
	if n > 0 {
		log().Info("push: publish failed", "errors", n, "kind", kind, "condition", condition)
	}
	if len(removed) > 0 {
		log().Info("push: registration removed after too many errors")
	}
	return nil
}

// countError counts one failure of the publish's registration and removes
// the registration at its limit. An answer for a registration no longer
// stored (or stored anew) counts nothing.
func (e *Engine) countError(ctx context.Context, p pendingPublish, now time.Time, kind FailureKind, condition string) (removed []registry.Registration, n int, err error) {
	var since time.Time
	if t, ok := e.cfg.Store.(registry.Tracker); ok {
		var reg registry.Registration
		reg, err = t.Fail(ctx, p.user, p.id, p.gen, now, condition)
		n, since = reg.Errors, reg.FailingSince
	} else {
		n, err = e.cfg.Store.AddError(ctx, p.user, p.id, p.gen)
	}
	if errors.Is(err, registry.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, e.storeError(ctx, "count error", p.user, err)
	}
	span := e.cfg.Errors.FailureSpan
	if n < e.cfg.Errors.limit(kind, e.cfg.MaxErrors) && (span == 0 || since.IsZero() || now.Sub(since) < span) {
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
	ps.takeRetry(seq)
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

package push

import (
	"context"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/core"
	"github.com/pushrules/pushrules/registry"
)

// sessionOpenedAs opens a session that gave a client id and binds it to
// the registration last enabled with that id, if one is stored. A Store
// failure leaves the session opened, unbound.
func (e *Engine) sessionOpenedAs(ctx context.Context, user string, ev events.SessionOpened) error {
	sh, u, err := e.begin(ctx, user, ev.Now)
	if err != nil {
		return err
	}
	regs, lerr := e.load(ctx, user, nil)
	sh.finish()
	var reg *registry.Registration
	for i := len(regs) - 1; lerr == nil && i >= 0; i-- {
		if regs[i].Client == ev.Client {
			reg = &regs[i]
			break
		}
	}
	oerr := e.rules.OpenAs(&u.User, ev.Session, ev.Client, reg, &sh.out)
	e.record(sh, user, ev.Now, &sh.out) // an open decides nothing but counts what it withdraws
	sh.out.Reset()
	e.end(sh, u)
	if oerr != nil {
		e.stats.sessionsRefused.Add(1)
		return &LimitError{Limit: "MaxSessionsPerUser", User: user}
	}
	if lerr != nil {
		return e.storeError(ctx, "open: load", user, lerr)
	}
	return nil
}

// clientOf returns the client id session full opened with, "" for none.
func clientOf(u *core.User, full string) string {
	if s := u.Session(full); s != nil {
		return s.Client
	}
	return ""
}

// supersede removes the registrations reg replaces: those of stored
// enabled with reg's client id under another identifier (the same device,
// registered again: a new device it is not). It returns what it removed.
func (e *Engine) supersede(ctx context.Context, reg registry.Registration, stored []registry.Registration) ([]registry.Registration, error) {
	if reg.Client == "" {
		return nil, nil
	}
	var ids []registry.Identifier
	for _, r := range stored {
		if r.Client == reg.Client && r.ID != reg.ID {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	removed, err := e.cfg.Store.Delete(ctx, reg.User, ids...)
	if err != nil {
		return nil, e.storeError(ctx, "enable: replace", reg.User, err)
	}
	return removed, nil
}

// restore stores again, as they were, the registrations supersede removed
// for an enable whose Save then failed. It is best effort: a Store that
// failed the Save may fail this too (logged and counted).
func (e *Engine) restore(ctx context.Context, removed []registry.Registration) {
	for _, r := range removed {
		if _, _, err := e.cfg.Store.Save(ctx, r, 0); err != nil {
			_ = e.storeError(ctx, "enable: restore replaced", r.User, err)
		}
	}
}

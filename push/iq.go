package push

import (
	"context"
	"errors"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/core"
	"github.com/pushrules/pushrules/internal/jid"
	"github.com/pushrules/pushrules/registry"
)

// The shell of <enable/> and <disable/>: each takes the user's turn,
// reads and writes the Store with no lock held, then hands the result to
// the core.

func (e *Engine) iq(ctx context.Context, ev events.IQ, d *Decisions) error {
	user, err := sessionUser(ev.Session, ev.Now)
	if err != nil {
		return err
	}
	req, perr := readRequest(ev.Payload)
	if ev.ID == "" {
		ev.ID = req.IQID
	}
	if perr != nil {
		if ok, err := e.push2IQ(ctx, ev, user, d); ok {
			return err
		}
		var se *events.StanzaError
		if !errors.As(perr, &se) {
			se = errMalformedRequest
		}
		d.Replies = append(d.Replies, Reply{Session: ev.Session, ID: ev.ID, Error: fresh(se)})
		return nil
	}
	var rerr *events.StanzaError
	switch {
	case req.JID == "":
		rerr = errMissingJID
	case req.Disable:
		rerr, err = e.disable(ctx, ev.Now, user, ev.Session, req, d)
	default:
		rerr, err = e.enable(ctx, ev.Now, user, ev.Session, req, d)
	}
	d.Replies = append(d.Replies, Reply{Session: ev.Session, ID: ev.ID, Error: fresh(rerr)})
	return err
}

func (e *Engine) enable(ctx context.Context, now time.Time, user, full string, req pushRequest, d *Decisions) (*events.StanzaError, error) {
	service, err := jid.Prepare(req.JID)
	if err != nil || len(req.Node) > maxNodeLen {
		return errJIDMalformed, nil
	}
	if jid.SameAccount(user, service) {
		return errOwnJID, nil
	}
	return e.enableWith(ctx, now, user, full, func(u *core.User) registry.Registration {
		return registry.Registration{User: user, ID: registry.NewIdentifier(req.JID, req.Node), Options: req.Options,
			Enabled: now, Generation: newGeneration(), Client: clientOf(u, full), Extensions: req.Extensions}
	}, d)
}

// enableWith stores the registration of an enable, which build makes from the
// user's state (in the user's turn, under its lock), binds the enabling
// session full to it and records the changes; XEP-0357 and Push 2.0
// enables share it.
func (e *Engine) enableWith(ctx context.Context, now time.Time, user, full string, build func(u *core.User) registry.Registration, d *Decisions) (*events.StanzaError, error) {
	sh, u, err := e.begin(ctx, user, now)
	if err != nil {
		return errStorage, err
	}
	sh.mu.Lock()
	reg := build(&u.User)
	sh.mu.Unlock()
	serr := e.storeEnable(ctx, reg)
	sh.finish()
	if serr.err == nil {
		if err := e.rules.Enabled(now, &u.User, full, serr.saved, append(serr.evicted, serr.superseded...), &sh.out); err != nil {
			e.stats.sessionsRefused.Add(1) // stored; the session is not bound
		}
		e.emit(sh, &sh.out, user, now, d)
		reason := ReasonEnabled
		if serr.replaced {
			reason = ReasonReplaced
		}
		e.changes(d, now, full, reason, []registry.Registration{serr.saved})
		e.changes(d, now, full, ReasonEvicted, serr.evicted)
		e.changes(d, now, full, ReasonReplaced, serr.superseded)
	}
	e.end(sh, u)
	if serr.err != nil {
		return errStorage, serr.err
	}
	if e.debugging(ctx) {
		e.cfg.Logger.Debug("push enabled", "user", user, "registration", reg.ID, "evicted", len(serr.evicted))
	}
	return nil, nil
}

type enableResult struct {
	saved    registry.Registration
	evicted  []registry.Registration
	replaced bool // saved was stored before (same life)
	// superseded are the registrations of the same client id, under
	// another identifier, that saved replaced.
	superseded []registry.Registration
	err        error
}

// storeEnable reads (to refuse an enable while reads fail rather than
// overwrite what is stored) and saves reg, replacing the registrations of
// the same client id (see supersede). No lock is held.
func (e *Engine) storeEnable(ctx context.Context, reg registry.Registration) enableResult {
	user := reg.User
	stored, err := e.loadFresh(ctx, user)
	if err != nil {
		return enableResult{err: e.storeError(ctx, "enable: load", user, err)}
	}
	superseded, err := e.supersede(ctx, reg, stored)
	if err != nil {
		return enableResult{err: err}
	}
	saved, evicted, err := e.cfg.Store.Save(ctx, reg, e.cfg.MaxDevices)
	if err != nil {
		e.restore(ctx, superseded)
		return enableResult{err: e.storeError(ctx, "enable: save", user, err)}
	}
	return enableResult{saved: saved, evicted: evicted, replaced: saved.Generation != reg.Generation, superseded: superseded}
}

func (e *Engine) disable(ctx context.Context, now time.Time, user, full string, req pushRequest, d *Decisions) (*events.StanzaError, error) {
	return e.disableWith(ctx, now, user, full, func(*core.User) func(r *registry.Registration) bool {
		return func(r *registry.Registration) bool {
			return r.Push2 == nil && jid.Equal(r.ID.JID(), req.JID) && (req.Node == "" || r.ID.Node() == req.Node)
		}
	}, d)
}

// disableWith deletes the registrations of a disable, those which picks
// (made from the user's state, in the user's turn, under its lock)
// chooses, and records the changes; XEP-0357 and Push 2.0 disables share
// it.
func (e *Engine) disableWith(ctx context.Context, now time.Time, user, full string, picks func(u *core.User) func(r *registry.Registration) bool, d *Decisions) (*events.StanzaError, error) {
	sh, u, err := e.begin(ctx, user, now)
	if err != nil {
		return errStorage, err
	}
	sh.mu.Lock()
	pick := picks(&u.User)
	sh.mu.Unlock()
	removed, serr := e.storeDisable(ctx, user, pick)
	sh.finish()
	if serr == nil {
		e.rules.Removed(now, &u.User, removed, &sh.out)
		e.emit(sh, &sh.out, user, now, d)
		e.changes(d, now, full, ReasonDisabled, removed)
	}
	e.end(sh, u)
	if serr != nil {
		return errStorage, serr
	}
	if e.debugging(ctx) {
		e.cfg.Logger.Debug("push disabled", "user", user, "removed", len(removed))
	}
	return nil, nil
}

func (e *Engine) storeDisable(ctx context.Context, user string, pick func(r *registry.Registration) bool) ([]registry.Registration, error) {
	regs, err := e.loadFresh(ctx, user)
	if err != nil {
		return nil, e.storeError(ctx, "disable: load", user, err)
	}
	var match []registry.Identifier
	for i := range regs {
		if pick(&regs[i]) {
			match = append(match, regs[i].ID)
		}
	}
	if len(match) == 0 {
		return nil, nil
	}
	removed, err := e.cfg.Store.Delete(ctx, user, match...)
	if err != nil {
		return nil, e.storeError(ctx, "disable: delete", user, err)
	}
	return removed, nil
}

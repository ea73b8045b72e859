package push

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pushrules/pushrules/registry"
)

// Registrations lists user's registrations, least recently enabled first,
// for an admin command or a user's own ad-hoc command (XEP-0050): each
// with its service and node (ID), enable time, last success, last error
// and error count. Options are left out: they hold the app server's
// secrets, which nobody should be shown. The caller owns the slice. The
// error wraps ErrInvalidEvent for a user that is not a bare JID, or is a
// *StoreError.
func (e *Engine) Registrations(ctx context.Context, user string) ([]registry.Registration, error) {
	if user == "" || strings.IndexByte(user, '/') >= 0 {
		return nil, fmt.Errorf("%w: user %q is not a bare JID", ErrInvalidEvent, user)
	}
	regs, err := e.cfg.Store.Load(ctx, user)
	if err != nil {
		return nil, e.storeError(ctx, "list", user, err)
	}
	for i := range regs {
		regs[i].Options = registry.Form{}
	}
	return regs, nil
}

// Remove removes the user's registrations named ids, in one atomic Store
// step as a <disable/> does, on behalf of by (the admin's or the user's
// JID, reported in each Change's Session), and unbinds the sessions bound
// to them. Names not stored are ignored. Its Decisions are executed as
// Handle's: the timeouts of sessions that lose the extended hibernation
// time, and a Change of reason ReasonRemoved for each registration
// removed. Errors are those of Handle.
func (e *Engine) Remove(ctx context.Context, now time.Time, user, by string, ids ...registry.Identifier) (Decisions, error) {
	var d Decisions
	if err := checkUser(user, now); err != nil {
		return d, err
	}
	if len(ids) == 0 {
		return d, fmt.Errorf("%w: Remove names no registration", ErrInvalidEvent)
	}
	sh, u, err := e.begin(ctx, user, now)
	if err != nil {
		return d, err
	}
	removed, serr := e.cfg.Store.Delete(ctx, user, ids...)
	sh.finish()
	if serr == nil {
		e.rules.Removed(now, &u.User, removed, &sh.out)
		e.emit(sh, &sh.out, user, now, &d)
		e.changes(&d, now, by, ReasonRemoved, removed)
	}
	e.end(sh, u)
	if serr != nil {
		return d, e.storeError(ctx, "remove", user, serr)
	}
	return d, nil
}

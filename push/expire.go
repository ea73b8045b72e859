package push

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

// Expire removes the registrations neither enabled nor successfully
// pushed to for Config.Expiry before now (one Store call, a
// registry.Expirer's), unbinds the sessions bound to them and reports
// each as a Change of reason ReasonExpired, ordered by user and
// identifier. With Expiry zero it does nothing. The host calls it now and
// then (a Driver does so by itself); calls may overlap with events. The
// error is that of Handle.
func (e *Engine) Expire(ctx context.Context, now time.Time) (Decisions, error) {
	var d Decisions
	if err := checkTime(now); err != nil {
		return d, err
	}
	if e.cfg.Expiry == 0 {
		return d, nil
	}
	removed, first := e.cfg.Store.(registry.Expirer).Expire(ctx, now.Add(-e.cfg.Expiry))
	if first != nil {
		first = e.storeError(ctx, "expire", "", first) // what was removed all the same is still reported
	}
	slices.SortFunc(removed, func(a, b registry.Registration) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.ID, b.ID))
	})
	changes(&d, now, "", ReasonExpired, removed)
	for i, r := range removed {
		if i > 0 && removed[i-1].User == r.User {
			continue
		}
		// Bring the user's sessions in line with what is stored now.
		if err := e.registrationsChanged(ctx, events.RegistrationsChanged{Now: now, User: r.User}, &d); err != nil && first == nil {
			first = err
		}
	}
	return d, first
}

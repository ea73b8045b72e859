package push

import (
	"context"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/core"
)

// SessionActive records that a session sent a message or a chat state
// (see events.SessionActive and Config.GracePeriod); it decides nothing by
// itself. Shorthand for Handle.
func (e *Engine) SessionActive(ctx context.Context, ev events.SessionActive) (Decisions, error) {
	return e.Handle(ctx, ev)
}

func (e *Engine) sessionActive(ctx context.Context, ev events.SessionActive, d *Decisions) error {
	return e.local(ctx, "SessionActive", ev.Session, ev.Now, false, d, func(u *core.User, _ *core.Out) (bool, error) {
		return e.rules.Active(ev.Now, u, ev.Session), nil
	})
}

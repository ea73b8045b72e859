package push

import (
	"context"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/core"
)

func (e *Engine) sessionActive(ctx context.Context, ev events.SessionActive, d *Decisions) error {
	return e.local(ctx, "SessionActive", ev.Session, ev.Now, false, nil, d, func(u *core.User, _ *core.Out, _ []events.Stanza) (bool, error) {
		return e.rules.Active(ev.Now, u, ev.Session), nil
	})
}

// PushPolicy is what a registration wants pushed (Config.PushPolicy,
// Config.PushPolicyField). Stanzas it does not want are counted as
// SuppressedPolicy and never marked as pushed to it.
type PushPolicy uint8

// The push policies.
const (
	// PushAll pushes every stanza the rules push (Prosody's behaviour;
	// Monal wants this).
	PushAll = PushPolicy(core.FilterAll)
	// PushImportant pushes only important stanzas: messages with a body
	// or an encrypted payload, calls, mentions (ChatSecure wants this).
	PushImportant = PushPolicy(core.FilterImportant)
	// PushMessages pushes only messages with a body or an encrypted
	// payload, and calls: ejabberd's notify_on: messages.
	PushMessages = PushPolicy(core.FilterMessages)
)

// pushPolicies maps the names a client gives in PushPolicyField.
var pushPolicies = map[string]core.Filter{"all": core.FilterAll, "important": core.FilterImportant, "messages": core.FilterMessages}

// String returns the policy's name: "all", "important" or "messages".
func (p PushPolicy) String() string {
	for name, f := range pushPolicies {
		if PushPolicy(f) == p {
			return name
		}
	}
	return "unknown"
}

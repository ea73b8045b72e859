package push

import (
	"context"
	"fmt"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/jid"
	"github.com/pushrules/pushrules/registry"
)

const nsPubsub = "http://jabber.org/protocol/pubsub"

// ParseRemoteDisable reads a push service's notice that a registration is
// gone (XEP-0357 §6): a <message/> with a pubsub <affiliation/> of "none".
// The event's User is the affiliation's jid (as a bare JID), or the
// message's to when it has none; From is the message's from and Node the
// affiliation's node; the host sets Now. ok is false for anything else
// (another message, a malformed one, one without from, or more than
// MaxResultSize bytes): the host then handles the message as usual.
func ParseRemoteDisable(data []byte) (ev events.RemoteDisabled, ok bool) {
	if len(data) > MaxResultSize {
		return events.RemoteDisabled{}, false
	}
	var d decoder
	d.s.Reset(data)
	if ok, err := d.next(); err != nil || !ok || string(d.s.Local()) != "message" {
		return events.RemoteDisabled{}, false
	}
	ev = events.RemoteDisabled{From: d.attr("from"), User: jid.Bare(d.attr("to"))}
	for {
		if ok, err := d.next(); err != nil || !ok {
			return events.RemoteDisabled{}, false
		}
		if !d.is(nsPubsub, "pubsub") {
			if d.skip() != nil {
				return events.RemoteDisabled{}, false
			}
			continue
		}
		for {
			if ok, err := d.next(); err != nil || !ok {
				return events.RemoteDisabled{}, false
			}
			if d.is(nsPubsub, "affiliation") && d.attr("affiliation") == "none" {
				if j := d.attr("jid"); j != "" {
					ev.User = jid.Bare(j)
				}
				ev.Node = d.attr("node")
				if ev.From == "" || ev.User == "" {
					return events.RemoteDisabled{}, false
				}
				return ev, true
			}
			if d.skip() != nil {
				return events.RemoteDisabled{}, false
			}
		}
	}
}

// remoteDisabled removes the user's registration (From, Node) that its
// push service says is gone; a notice from any other address names none
// and is ignored (counted and logged).
func (e *Engine) remoteDisabled(ctx context.Context, ev events.RemoteDisabled, d *Decisions) error {
	if err := checkUser(ev.User, ev.Now); err != nil {
		return err
	}
	if ev.From == "" {
		return fmt.Errorf("%w: remote disable without From", ErrInvalidEvent)
	}
	sh, u, err := e.begin(ctx, ev.User, ev.Now)
	if err != nil {
		return err
	}
	removed, serr := e.storeRemoteDisable(ctx, ev)
	sh.finish()
	if serr == nil {
		e.rules.Removed(ev.Now, &u.User, removed, &sh.out)
		e.emit(sh, &sh.out, ev.User, ev.Now, d)
		e.changes(d, ev.Now, "", ReasonRemoteDisabled, removed)
	}
	e.end(sh, u)
	if serr != nil {
		return serr
	}
	if len(removed) == 0 {
		e.stats.remoteDisablesIgnored.Add(1)
		e.cfg.Logger.Info("push: remote disable names no registration; ignored", "user", ev.User, "from", ev.From, "node", ev.Node)
	}
	return nil
}

func (e *Engine) storeRemoteDisable(ctx context.Context, ev events.RemoteDisabled) ([]registry.Registration, error) {
	regs, err := e.cfg.Store.Load(ctx, ev.User)
	if err != nil {
		return nil, e.storeError(ctx, "remote disable: load", ev.User, err)
	}
	for _, r := range regs {
		if r.ID.Node() == ev.Node && jid.Equal(r.ID.JID(), ev.From) {
			removed, err := e.cfg.Store.Delete(ctx, ev.User, r.ID)
			if err != nil {
				return nil, e.storeError(ctx, "remote disable: delete", ev.User, err)
			}
			return removed, nil
		}
	}
	return nil, nil
}

package push

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/core"
	"github.com/pushrules/pushrules/internal/jid"
	"github.com/pushrules/pushrules/registry"
)

// This file holds the shell of each event: validation, the user's turn,
// the Store calls (outside every lock other users need) and the hand-over
// to the rules core under the user's shard lock.

// local runs the core's part of an event of session full that needs no
// Store, under the user's shard lock and in the user's turn, then hands
// its decisions to d. run reports whether the session was known (an event
// for a session never opened is counted and logged) and the core's
// refusal, if any (a session over MaxSessionsPerUser). With create, a user
// the engine does not know yet is added. queue is the stanzas the event
// brings (nil for none): when the session's registration asked for
// ignore-unknown, run gets a copy marked with the Roster's answers as
// marked, and should use it instead (rosterQueue); else marked is nil.
func (e *Engine) local(ctx context.Context, event, full string, now time.Time, create bool, queue []events.Stanza, d *Decisions,
	run func(u *core.User, out *core.Out, marked []events.Stanza) (known bool, err error)) error {
	user, err := sessionUser(full, now)
	if err != nil {
		return err
	}
	sh, u, owned, err := e.enter(ctx, user, now, create)
	if err != nil {
		return err
	}
	marked, owned := e.rosterQueue(ctx, sh, user, u, owned, full, queue)
	start := len(d.Publishes)
	known := false
	if u != nil {
		known, err = run(&u.User, &sh.out, marked)
		e.emit(sh, user, now, d)
	}
	e.done(sh, user, u, owned)
	e.track(now, d.Publishes[start:])
	switch {
	case err != nil:
		e.stats.sessionsRefused.Add(1)
		return &LimitError{Limit: "MaxSessionsPerUser", User: user}
	case !known:
		e.stats.unknownSessions.Add(1)
		if e.cfg.Logger.Enabled(ctx, slog.LevelDebug) {
			e.cfg.Logger.Debug("push: event for a session never opened", "event", event, "session", full)
		}
	}
	return nil
}

func (e *Engine) sessionOpened(ctx context.Context, ev events.SessionOpened, d *Decisions) error {
	if ev.Client != "" {
		user, err := sessionUser(ev.Session, ev.Now)
		if err != nil {
			return err
		}
		return e.sessionOpenedAs(ctx, user, ev)
	}
	return e.local(ctx, "SessionOpened", ev.Session, ev.Now, true, nil, d, func(u *core.User, out *core.Out, _ []events.Stanza) (bool, error) {
		return true, e.rules.Open(u, ev.Session, out)
	})
}

func (e *Engine) sessionClosed(ctx context.Context, ev events.SessionClosed, d *Decisions) error {
	return e.local(ctx, "SessionClosed", ev.Session, ev.Now, false, nil, d, func(u *core.User, out *core.Out, _ []events.Stanza) (bool, error) {
		return e.rules.Close(u, ev.Session, out), nil
	})
}

func (e *Engine) ackDelayed(ctx context.Context, ev *events.AckDelayed, d *Decisions) error {
	return e.queue(ctx, ev.Now, ev.Session, ev.Queue, d)
}

func (e *Engine) stanzaQueued(ctx context.Context, ev *events.StanzaQueued, d *Decisions) error {
	// A one-element view of the event's stanza, not a copy: the hot path
	// of every message to a sleeping phone. The core copies the stanza
	// into the session's batch and keeps nothing of the view.
	return e.queue(ctx, ev.Now, ev.Session, unsafe.Slice(&ev.Stanza, 1), d)
}

func (e *Engine) queue(ctx context.Context, now time.Time, full string, stanzas []events.Stanza, d *Decisions) error {
	return e.local(ctx, "queue", full, now, false, stanzas, d, func(u *core.User, out *core.Out, marked []events.Stanza) (bool, error) {
		if marked != nil {
			stanzas = marked
		}
		return e.rules.Queue(now, u, full, stanzas, out), nil
	})
}

func (e *Engine) hibernationStarted(ctx context.Context, ev events.HibernationStarted, d *Decisions) error {
	return e.local(ctx, "HibernationStarted", ev.Session, ev.Now, true, ev.Queue, d, func(u *core.User, out *core.Out, marked []events.Stanza) (bool, error) {
		if marked != nil {
			ev.Queue = marked
		}
		return true, e.rules.Hibernate(ev.Now, u, ev.Session, ev.Queue, out)
	})
}

func (e *Engine) hibernationEnded(ctx context.Context, ev events.HibernationEnded, d *Decisions) error {
	return e.local(ctx, "HibernationEnded", ev.Session, ev.Now, false, nil, d, func(u *core.User, out *core.Out, _ []events.Stanza) (bool, error) {
		return e.rules.Resume(u, ev.Session, out), nil
	})
}

func (e *Engine) iq(ctx context.Context, ev events.IQ, d *Decisions) error {
	user, err := sessionUser(ev.Session, ev.Now)
	if err != nil {
		return err
	}
	req, perr := ParseRequest(ev.Payload)
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

func (e *Engine) enable(ctx context.Context, now time.Time, user, full string, req Request, d *Decisions) (*events.StanzaError, error) {
	service, err := jid.Prepare(req.JID)
	if err != nil || len(req.Node) > MaxNodeLen {
		return errJIDMalformed, nil
	}
	if jid.SameAccount(user, service) {
		return errOwnJID, nil
	}
	sh, u, err := e.begin(ctx, user, now)
	if err != nil {
		return errStorage, err
	}
	sh.mu.Lock()
	client := clientOf(&u.User, full)
	sh.mu.Unlock()
	serr := e.storeEnable(ctx, now, user, client, req)
	sh.finish()
	if serr.err == nil {
		if err := e.rules.Enabled(now, &u.User, full, serr.saved, append(serr.evicted, serr.superseded...), &sh.out); err != nil {
			e.stats.sessionsRefused.Add(1) // stored; the session is not bound
		}
		e.emit(sh, user, now, d)
		reason := ReasonEnabled
		if serr.replaced {
			reason = ReasonReplaced
		}
		e.changes(d, now, full, reason, []registry.Registration{serr.saved})
		e.changes(d, now, full, ReasonEvicted, serr.evicted)
		e.changes(d, now, full, ReasonReplaced, serr.superseded)
	}
	e.end(sh, user, u)
	if serr.err != nil {
		return errStorage, serr.err
	}
	if e.cfg.Logger.Enabled(ctx, slog.LevelDebug) {
		e.cfg.Logger.Debug("push enabled", "user", user, "service", req.JID, "evicted", len(serr.evicted))
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
// overwrite what is stored) and saves the registration, replacing those
// of the same client id (see supersede). No lock is held.
func (e *Engine) storeEnable(ctx context.Context, now time.Time, user, client string, req Request) enableResult {
	stored, err := e.loadFresh(ctx, user)
	if err != nil {
		return enableResult{err: e.storeError(ctx, "enable: load", user, err)}
	}
	reg := registry.Registration{User: user, ID: registry.NewIdentifier(req.JID, req.Node), Options: req.Options,
		Enabled: now, Generation: newGeneration(), Client: client, Extensions: req.Extensions}
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

func (e *Engine) disable(ctx context.Context, now time.Time, user, full string, req Request, d *Decisions) (*events.StanzaError, error) {
	sh, u, err := e.begin(ctx, user, now)
	if err != nil {
		return errStorage, err
	}
	removed, serr := e.storeDisable(ctx, user, req)
	sh.finish()
	if serr == nil {
		e.rules.Removed(now, &u.User, removed, &sh.out)
		e.emit(sh, user, now, d)
		e.changes(d, now, full, ReasonDisabled, removed)
	}
	e.end(sh, user, u)
	if serr != nil {
		return errStorage, serr
	}
	if e.cfg.Logger.Enabled(ctx, slog.LevelDebug) {
		e.cfg.Logger.Debug("push disabled", "user", user, "service", req.JID, "removed", len(removed))
	}
	return nil, nil
}

func (e *Engine) storeDisable(ctx context.Context, user string, req Request) ([]registry.Registration, error) {
	regs, err := e.loadFresh(ctx, user)
	if err != nil {
		return nil, e.storeError(ctx, "disable: load", user, err)
	}
	var match []registry.Identifier
	for _, r := range regs {
		if jid.Equal(r.ID.JID(), req.JID) && (req.Node == "" || r.ID.Node() == req.Node) {
			match = append(match, r.ID)
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

func (e *Engine) messageArchived(ctx context.Context, ev events.MessageArchived, d *Decisions) error {
	if err := checkUser(ev.User, ev.Now); err != nil {
		return err
	}
	if ev.Stanza.To != "" && !strings.EqualFold(jid.Bare(ev.Stanza.To), ev.User) {
		return nil // not addressed to the user (an outgoing message)
	}
	return e.fanoutIf(ctx, ev.Now, ev.User, &ev.Stanza, !ev.Stanza.CallProposal, true, d)
}

func (e *Engine) offlineMessage(ctx context.Context, ev *events.OfflineMessage, d *Decisions) error {
	return e.fanout(ctx, ev.Now, ev.User, &ev.Stanza, false, d)
}

func (e *Engine) groupchatToBare(ctx context.Context, ev *events.GroupchatToBare, d *Decisions) error {
	return e.fanout(ctx, ev.Now, ev.User, &ev.Stanza, false, d)
}

func (e *Engine) fanout(ctx context.Context, now time.Time, user string, st *events.Stanza, skipBound bool, d *Decisions) error {
	if err := checkUser(user, now); err != nil {
		return err
	}
	return e.fanoutIf(ctx, now, user, st, skipBound, false, d)
}

// fanoutIf pushes st to the user's registrations that have not had it
// (skipping those bound to a session when skipBound is set); with
// needSession, only when the user has a session at all.
func (e *Engine) fanoutIf(ctx context.Context, now time.Time, user string, st *events.Stanza, skipBound, needSession bool, d *Decisions) error {
	sh, u, owned, err := e.enter(ctx, user, now, !needSession)
	if err != nil {
		return err
	}
	if u == nil || (needSession && len(u.Sessions()) == 0) {
		e.done(sh, user, u, owned)
		return nil
	}
	u.busy = true
	sh.mu.Unlock()
	buf := e.regBufs.Get().(*[]registry.Registration)
	regs, lerr := e.load(ctx, user, (*buf)[:0])
	if lerr == nil && e.cfg.Roster != nil && askRoster(st, user, regs) {
		e.markUnknown(ctx, user, st)
	}
	start := len(d.Publishes)
	sh.finish()
	if lerr == nil && len(regs) > 0 {
		e.rules.Fanout(now, &u.User, regs, st, skipBound, &sh.out)
		e.emit(sh, user, now, d)
	}
	e.end(sh, user, u)
	clear(regs)
	*buf = regs[:0]
	e.regBufs.Put(buf)
	e.track(now, d.Publishes[start:])
	if lerr != nil {
		return e.storeError(ctx, "load", user, lerr)
	}
	return nil
}

// loadFresh reads what is stored now, past any cache, before a write.
func (e *Engine) loadFresh(ctx context.Context, user string) ([]registry.Registration, error) {
	if f, ok := e.cfg.Store.(registry.FreshLoader); ok {
		return f.LoadFresh(ctx, user)
	}
	return e.cfg.Store.Load(ctx, user)
}

// load reads the user's registrations, into dst when the Store can.
func (e *Engine) load(ctx context.Context, user string, dst []registry.Registration) ([]registry.Registration, error) {
	var err error
	if a, ok := e.cfg.Store.(registry.Appender); ok {
		dst, err = a.LoadAppend(ctx, user, dst)
	} else {
		dst, err = e.cfg.Store.Load(ctx, user)
	}
	if err != nil {
		return dst, err
	}
	return e.loadPush2(ctx, user, dst)
}

func (e *Engine) ping(ctx context.Context, ev events.Ping, d *Decisions) error {
	if err := checkUser(ev.User, ev.Now); err != nil {
		return err
	}
	sh, u, err := e.begin(ctx, ev.User, ev.Now)
	if err != nil {
		return err
	}
	regs, lerr := e.cfg.Store.Load(ctx, ev.User)
	start := len(d.Publishes)
	sh.finish()
	if lerr == nil {
		e.rules.Ping(ev.Now, regs, ev.Nodes, &sh.out)
		e.emit(sh, ev.User, ev.Now, d)
	}
	e.end(sh, ev.User, u)
	e.track(ev.Now, d.Publishes[start:])
	if lerr != nil {
		return e.storeError(ctx, "ping: load", ev.User, lerr)
	}
	return nil
}

func (e *Engine) userDeleted(ctx context.Context, ev events.UserDeleted, d *Decisions) error {
	if err := checkUser(ev.User, ev.Now); err != nil {
		return err
	}
	sh, u, err := e.begin(ctx, ev.User, ev.Now)
	if err != nil {
		return err
	}
	removed, serr := e.cfg.Store.DeleteUser(ctx, ev.User)
	if serr == nil {
		removed, serr = e.deletePush2User(ctx, ev.User, removed)
	}
	sh.finish()
	if serr == nil {
		e.rules.Removed(ev.Now, &u.User, removed, &sh.out)
		e.rules.Deleted(ev.Now, &u.User, &sh.out)
		e.emit(sh, ev.User, ev.Now, d)
		e.changes(d, ev.Now, "", ReasonUserDeleted, removed)
	}
	e.end(sh, ev.User, u)
	if serr != nil {
		return e.storeError(ctx, "delete user", ev.User, serr)
	}
	return nil
}

// registrationsChanged re-reads the user's registrations after another
// node (or an admin tool) changed them behind the engine's back, and
// unbinds the sessions whose registration is gone.
func (e *Engine) registrationsChanged(ctx context.Context, ev events.RegistrationsChanged, d *Decisions) error {
	if ev.All && ev.User == "" {
		if err := checkTime(ev.Now); err != nil {
			return err
		}
		var first error
		for _, user := range e.usersWithSessions() {
			ev.User = user
			if err := e.resync(ctx, ev, d); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	if err := checkUser(ev.User, ev.Now); err != nil {
		return err
	}
	return e.resync(ctx, ev, d)
}

// usersWithSessions lists the users with a session, in name order.
func (e *Engine) usersWithSessions() []string {
	var users []string
	for i := range e.users {
		sh := &e.users[i]
		sh.mu.Lock()
		for name, u := range sh.users {
			if len(u.Sessions()) > 0 {
				users = append(users, name)
			}
		}
		sh.mu.Unlock()
	}
	slices.Sort(users)
	return users
}

func (e *Engine) resync(ctx context.Context, ev events.RegistrationsChanged, d *Decisions) error {
	sh, u, owned, err := e.enter(ctx, ev.User, ev.Now, false)
	if err != nil {
		return err
	}
	if u == nil {
		e.done(sh, ev.User, u, owned)
		return nil // no session here: nothing to bring in line
	}
	u.busy = true
	sh.mu.Unlock()
	regs, lerr := e.load(ctx, ev.User, nil)
	sh.finish()
	if lerr == nil {
		e.rules.Sync(ev.Now, &u.User, regs, &sh.out)
		e.emit(sh, ev.User, ev.Now, d)
	}
	e.end(sh, ev.User, u)
	if lerr != nil {
		return e.storeError(ctx, "registrations changed: load", ev.User, lerr)
	}
	return nil
}

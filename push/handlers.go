package push

import (
	"context"
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
		e.emit(sh, &sh.out, user, now, d)
	}
	e.done(sh, u, owned)
	e.askCounts(ctx, d.Publishes[start:], false)
	e.track(now, u, d.Publishes[start:])
	switch {
	case err != nil:
		e.stats.sessionsRefused.Add(1)
		return &LimitError{Limit: "MaxSessionsPerUser", User: user}
	case !known:
		e.unknownSession(ctx, event, full)
	}
	return nil
}

// unknownSession counts and logs an event for a session never opened.
func (e *Engine) unknownSession(ctx context.Context, event, full string) {
	e.stats.unknownSessions.Add(1)
	if e.debugging(ctx) {
		e.cfg.Logger.Debug("push: event for a session never opened", "event", event, "session", full)
	}
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

// ackDelayed, stanzaQueued and offlineMessage are the typed handlers'
// own: timed here, as HandleInto times the events it dispatches.

func (e *Engine) ackDelayed(ctx context.Context, ev *events.AckDelayed, d *Decisions) error {
	start := e.start()
	err := e.queue(ctx, ev.Now, ev.Session, ev.Queue, d)
	e.stop(start)
	return err
}

func (e *Engine) stanzaQueued(ctx context.Context, ev *events.StanzaQueued, d *Decisions) error {
	start := e.start()
	err := e.queue(ctx, ev.Now, ev.Session, queued(ev), d)
	e.stop(start)
	return err
}

// queued is a one-element view of the event's stanza, not a copy: the hot
// path of every message to a sleeping phone. The core copies the stanza
// into the session's batch and keeps nothing of the view.
func queued(ev *events.StanzaQueued) []events.Stanza { return unsafe.Slice(&ev.Stanza, 1) }

func (e *Engine) queue(ctx context.Context, now time.Time, full string, stanzas []events.Stanza, d *Decisions) error {
	if e.cfg.Roster != nil {
		return e.local(ctx, "queue", full, now, false, stanzas, d, func(u *core.User, out *core.Out, marked []events.Stanza) (bool, error) {
			if marked != nil {
				stanzas = marked
			}
			return e.rules.Queue(now, u, full, stanzas, out), nil
		})
	}
	// local without a Roster to ask, written out: the path of every
	// message to a sleeping phone.
	user, err := sessionUser(full, now)
	if err != nil {
		return err
	}
	sh, u, owned, err := e.enter(ctx, user, now, false)
	if err != nil {
		return err
	}
	start := len(d.Publishes)
	known := u != nil && e.rules.Queue(now, &u.User, full, stanzas, &sh.out)
	if sh.out.Decided() { // most queued stanzas decide nothing: no call then (2–3% of BenchmarkStanzaQueued)
		e.emit(sh, &sh.out, user, now, d)
	}
	e.done(sh, u, owned)
	if len(d.Publishes) > start {
		e.askCounts(ctx, d.Publishes[start:], false)
		e.track(now, u, d.Publishes[start:])
	}
	if !known {
		e.unknownSession(ctx, "queue", full)
	}
	return nil
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
	start := e.start()
	err := e.fanout(ctx, ev.Now, ev.User, &ev.Stanza, false, d)
	e.stop(start)
	return err
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
		e.done(sh, u, owned)
		return nil
	}
	u.busy = true
	sh.mu.Unlock()
	sc := e.scratch.Get().(*fanoutScratch)
	regs, lerr := e.load(ctx, user, sc.regs[:0])
	if lerr == nil && e.cfg.Roster != nil && askRoster(st, user, regs) {
		e.markUnknown(ctx, user, st)
	}
	start := len(d.Publishes)
	sh.finish()
	if lerr == nil && len(regs) > 0 {
		e.rules.Fanout(now, &u.User, regs, st, skipBound, &sc.out)
		e.emit(sh, &sc.out, user, now, d)
	}
	e.end(sh, u)
	sc.regs = regs[:0] // left in place, as the publishes are: the next load overwrites them
	e.scratch.Put(sc)
	e.askCounts(ctx, d.Publishes[start:], false)
	e.track(now, u, d.Publishes[start:])
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
	if a, ok := e.cfg.Store.(registry.Appender); ok {
		return a.LoadAppend(ctx, user, dst)
	}
	return e.cfg.Store.Load(ctx, user)
}

func (e *Engine) ping(ctx context.Context, ev events.Ping, d *Decisions) error {
	return e.toRegistrations(ctx, ev.Now, ev.User, "ping", d, func(regs []registry.Registration, out *core.Out) {
		e.rules.Ping(ev.Now, regs, ev.Nodes, out)
	})
}

// toRegistrations runs, in the user's turn, a core step over the user's
// stored registrations (a ping, the wake-ups after a restart) and hands
// its publishes to d. op names the event in a Store error.
func (e *Engine) toRegistrations(ctx context.Context, now time.Time, user, op string, d *Decisions, run func([]registry.Registration, *core.Out)) error {
	if err := checkUser(user, now); err != nil {
		return err
	}
	sh, u, err := e.begin(ctx, user, now)
	if err != nil {
		return err
	}
	regs, lerr := e.cfg.Store.Load(ctx, user)
	start := len(d.Publishes)
	sh.finish()
	if lerr == nil {
		run(regs, &sh.out)
		e.emit(sh, &sh.out, user, now, d)
	}
	e.end(sh, u)
	e.askCounts(ctx, d.Publishes[start:], false)
	e.track(now, u, d.Publishes[start:])
	if lerr != nil {
		return e.storeError(ctx, op+": load", user, lerr)
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
	sh.finish()
	if serr == nil {
		e.rules.Removed(ev.Now, &u.User, removed, &sh.out)
		e.rules.Deleted(ev.Now, &u.User, &sh.out)
		e.emit(sh, &sh.out, ev.User, ev.Now, d)
		e.changes(d, ev.Now, "", ReasonUserDeleted, removed)
	}
	e.end(sh, u)
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
		sh.users.each(func(u *userEntry) {
			if len(u.Sessions()) > 0 {
				users = append(users, u.name)
			}
		})
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
		e.done(sh, u, owned)
		return nil // no session here: nothing to bring in line
	}
	u.busy = true
	sh.mu.Unlock()
	regs, lerr := e.load(ctx, ev.User, nil)
	sh.finish()
	if lerr == nil {
		e.rules.Sync(ev.Now, &u.User, regs, &sh.out)
		e.emit(sh, &sh.out, ev.User, ev.Now, d)
	}
	e.end(sh, u)
	if lerr != nil {
		return e.storeError(ctx, "registrations changed: load", ev.User, lerr)
	}
	return nil
}

// fanoutScratch is a fan-out's working memory, taken from a pool so that
// it is warm in the running CPU's cache: the user's registrations as
// loaded and the core's decisions for them.
type fanoutScratch struct {
	regs []registry.Registration
	out  core.Out
}

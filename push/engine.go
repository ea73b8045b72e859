package push

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"reflect"
	"sync"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/core"
)

// Decisions is what the engine decided in answer to one event. The host
// executes it in field order, and may do so outside any lock of its own:
//
//  1. Replies: send each IQ reply to its session.
//  2. Timeouts: in order, set each session's hibernation timeout (a later
//     one for the same session replaces an earlier one).
//  3. Publishes: send each publish through the push service (a Sender),
//     and feed every answer back as an events.PublishResult.
//  4. Notifications: render each Push 2.0 push with its AppendXML and
//     send it to the push service; feed every error answer back as an
//     events.PublishResult.
//  5. Wake: when not zero, call Engine.Wake at (or soon after) that time,
//     unless a wake-up at an earlier time is already planned.
//  6. Changes: record each change to a registration in the account's
//     history (an audit trail), if the host keeps one; nothing else
//     depends on them.
//
// A Decisions and everything in it belong to the caller. Handle returns a
// new one each time; HandleInto appends to one the caller reuses (see
// Reset).
type Decisions struct {
	Replies   []Reply
	Timeouts  []Timeout
	Publishes []Publish
	// Notifications are the Push 2.0 pushes (see Notification).
	Notifications []Notification
	// Wake is when a batch opened by this event falls due (or a push it
	// made held, a wake-up or a repeat it planned); from Engine.Wake, the
	// next time any falls due. Zero: nothing new to wake for.
	Wake time.Time
	// Changes lists the changes made to registrations, in order, each
	// with its reason.
	Changes []Change
}

// Empty reports whether there is nothing to do.
func (d *Decisions) Empty() bool {
	return len(d.Replies) == 0 && len(d.Timeouts) == 0 && len(d.Publishes) == 0 && len(d.Notifications) == 0 &&
		d.Wake.IsZero() && len(d.Changes) == 0
}

// Reset empties d for reuse with HandleInto, keeping its capacity. The
// replies, timeouts and publishes it held must no longer be in use. Reset
// of a nil Decisions does nothing.
func (d *Decisions) Reset() {
	if d == nil {
		return
	}
	clear(d.Replies)
	clear(d.Timeouts)
	clear(d.Publishes)
	clear(d.Notifications)
	clear(d.Changes)
	*d = Decisions{Replies: d.Replies[:0], Timeouts: d.Timeouts[:0], Publishes: d.Publishes[:0],
		Notifications: d.Notifications[:0], Changes: d.Changes[:0]}
}

// wakeAt sets Wake to t unless it is already earlier.
func (d *Decisions) wakeAt(t time.Time) {
	if d.Wake.IsZero() || t.Before(d.Wake) {
		d.Wake = t
	}
}

// Engine applies the push rules: it is the thin, concurrent shell around
// the rules core. It orders each user's events (Store I/O included: one
// user's operations apply one after another, in the order they were handed
// in), runs different users' events in parallel, does the Store I/O
// outside every lock other users need, keeps the batch timers and assigns
// publish ids. It never calls the Store or a Sender while holding a lock
// another user needs, starts no goroutines and reads no clock: time comes
// in with each event.
//
// One sequence of events handed in one at a time gives byte-identical
// decisions (their order and publish ids included) on every run, given the
// same Config.IDPrefix and Config.IDSecret.
type Engine struct {
	cfg      Config
	rules    core.Rules
	idPrefix string
	idKey    cipher.Block // seals publish ids
	logs     bool         // Config.Logger was given: without one, nothing is logged, nor asked whether to be
	seed     maphash.Seed // which shard a user lives in: random, and without effect on decisions
	users    [userShards]userShard
	pending  [pendingShards]pendingShard
	timers   timerClock
	later    laterQueue // retries and timeout looks
	scratch  sync.Pool  // *fanoutScratch
	stats    counters
	metrics  engineMetrics
}

// New returns an Engine for cfg, or an error wrapping ErrInvalidConfig.
func New(cfg Config) (*Engine, error) {
	logs := cfg.Logger != nil
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, idPrefix: cfg.IDPrefix, logs: logs, seed: maphash.MakeSeed(), rules: core.Rules{
		WithBody:              cfg.WithBody,
		WithSender:            cfg.WithSender,
		ImportantBody:         cfg.ImportantBody,
		HibernationTimeout:    cfg.HibernationTimeout,
		MaxHibernationTimeout: cfg.MaxHibernationTimeout,
		BatchWindow:           cfg.BatchWindow,
		DedupWindow:           cfg.DedupWindow,
		MarksPerUser:          cfg.MarksPerUser,
		MaxSessions:           cfg.MaxSessionsPerUser,
		Policy: core.Policy{Debounce: cfg.DebounceWindow, PerRegistration: cfg.MaxPushesPerMinute,
			PerUser: cfg.MaxUserPushesPerMinute, Grace: cfg.GracePeriod},
		Filters:      core.Filters{Default: core.Filter(cfg.PushPolicy), Field: cfg.PushPolicyField, Names: pushPolicies},
		NickMentions: !cfg.NoNickMentions,
		WakeBefore:   cfg.WakeBeforeTimeout,
		ClearOnRead:  cfg.ClearOnRead,
		RepeatAfter:  cfg.RepeatAfter,
		MaxRepeats:   cfg.MaxRepeats,
	}}
	if e.idPrefix == "" {
		var prefix [6]byte
		_, _ = rand.Read(prefix[:])
		e.idPrefix = "push-" + hex.EncodeToString(prefix[:]) + "-"
	}
	key := make([]byte, 16)
	if cfg.IDSecret != "" {
		sum := sha256.Sum256([]byte(cfg.IDSecret))
		copy(key, sum[:])
	} else {
		_, _ = rand.Read(key)
	}
	e.idKey, _ = aes.NewCipher(key) // a 16-byte key never fails
	for i := range e.users {
		e.users[i].self = i
	}
	e.scratch.New = func() any { return new(fanoutScratch) }
	return e, nil
}

// Config returns the engine's configuration with every default filled in.
func (e *Engine) Config() Config { return e.cfg }

// Handle applies one event and returns its decisions. Every event type of
// package events is accepted; the typed methods (AckDelayed,
// HibernationStart, StanzaQueued, HibernationEnd, ArchiveAdded,
// OfflineMessage: the events of every message) are shorthand for it.
//
// What each event does:
//   - SessionOpened records a session (every session counts for the
//     archive rule); with Client set, a registration enabled from that
//     client binds it at once.
//   - SessionClosed forgets the session and its pending batch; the
//     registration it was bound to stays stored.
//   - SessionActive records that the session sent a message or a chat
//     state (Config.GracePeriod); it decides nothing by itself.
//   - IQ answers an <enable/> or <disable/> (XEP-0357 or Push 2.0); the
//     reply is always in Replies.
//   - AckDelayed, HibernationStarted and StanzaQueued collect a bound
//     session's unacknowledged stanzas into its batch, pushed when the
//     batch falls due (at most one important and one unimportant push);
//     hibernation also gives a bound session the extended timeout.
//   - HibernationEnded makes the session live again and drops its batch.
//   - MessageArchived wakes the registrations not bound to a live session
//     of the user (all of them for a call), when the user has a session
//     and the message is addressed to the user.
//   - OfflineMessage and GroupchatToBare wake every registration of the
//     user.
//   - Ping wakes every registration of the user (or the named ones) with
//     a push carrying no stanza data; Restarted does the same after the
//     host lost the user's hibernating sessions in a restart.
//   - MessagesRead, with Config.ClearOnRead, sends a push of count 0 and
//     no body to each other registration of the user pushed since the
//     last read; without it, it does nothing.
//   - PublishResult applies a push service's answer: a result resets the
//     registration's error count; an error counts, or is retried, as
//     Config.Errors says, and at the limit the registration is removed
//     and its sessions unbound. Answers from anyone but the publish's
//     service are ignored (Stats.AnswersForeign) and leave the publish
//     pending.
//   - RemoteDisabled removes the registration a push service says is gone
//     (XEP-0357 §6), when it comes from that service.
//   - UserDeleted removes every registration of the user and unbinds the
//     sessions; on a Store failure nothing changes and the host retries.
//   - RegistrationsChanged re-reads the user's registrations after another
//     node changed them and unbinds the sessions whose registration is
//     gone.
//
// The error is nil, or one of two kinds:
//   - an invalid event (errors.Is(err, ErrInvalidEvent)): nothing changed
//     and the Decisions are empty;
//   - a Store failure (errors.As(err, new(*StoreError))): the Decisions are
//     still valid and must be carried out (an enable or disable the Store
//     refused is answered wait/internal-server-error in Replies; an event
//     that needed the user's registrations pushes nothing), and nothing
//     stored was lost.
//
// A context that ends while the event waits for the user's earlier
// events, or while the Store works, gives ctx.Err() (wrapped in a
// StoreError when the Store returned it).
func (e *Engine) Handle(ctx context.Context, ev events.Event) (Decisions, error) {
	var d Decisions
	err := e.HandleInto(ctx, ev, &d)
	return d, err
}

// HandleInto is Handle appending the decisions to d instead of returning
// new ones; Wake becomes the earlier of d's and the event's. A host that
// carries out each event's decisions before it takes the next can keep one
// Decisions per goroutine and Reset it between events: the engine then
// allocates nothing for decisions in the steady state. On an invalid event
// d is left as it was. A nil d gives ErrNilDecisions.
func (e *Engine) HandleInto(ctx context.Context, ev events.Event, d *Decisions) error {
	if d == nil {
		return ErrNilDecisions
	}
	if ev == nil {
		return fmt.Errorf("%w: nil event", ErrInvalidEvent)
	}
	start := e.start()
	err := e.dispatch(ctx, ev, d)
	e.stop(start)
	return err
}

// dispatch hands ev to its handler.
func (e *Engine) dispatch(ctx context.Context, ev events.Event, d *Decisions) error {
	switch ev := ev.(type) {
	case events.SessionOpened:
		return e.sessionOpened(ctx, ev, d)
	case events.SessionClosed:
		return e.sessionClosed(ctx, ev, d)
	case events.IQ:
		return e.iq(ctx, ev, d)
	case events.AckDelayed:
		return e.queue(ctx, ev.Now, ev.Session, ev.Queue, d)
	case events.HibernationStarted:
		return e.hibernationStarted(ctx, ev, d)
	case events.StanzaQueued:
		return e.queue(ctx, ev.Now, ev.Session, queued(&ev), d)
	case events.HibernationEnded:
		return e.hibernationEnded(ctx, ev, d)
	case events.MessageArchived:
		return e.messageArchived(ctx, ev, d)
	case events.OfflineMessage:
		return e.fanout(ctx, ev.Now, ev.User, &ev.Stanza, false, d)
	case events.GroupchatToBare:
		return e.groupchatToBare(ctx, &ev, d)
	case events.Ping:
		return e.ping(ctx, ev, d)
	case events.UserDeleted:
		return e.userDeleted(ctx, ev, d)
	case events.RegistrationsChanged:
		return e.registrationsChanged(ctx, ev, d)
	case events.PublishResult:
		return e.publishResult(ctx, ev, d)
	case events.SessionActive:
		return e.sessionActive(ctx, ev, d)
	case events.RemoteDisabled:
		return e.remoteDisabled(ctx, ev, d)
	case events.MessagesRead:
		return e.messagesRead(ctx, ev, d)
	case events.Restarted:
		return e.restarted(ctx, ev, d)
	}
	return fmt.Errorf("%w: unknown event type %v", ErrInvalidEvent, reflect.TypeOf(ev))
}

// emit moves the core's decisions of the current event into d: timeouts
// (stamped with now), publishes and batch timers. The caller holds sh.mu;
// the publishes get their ids afterwards, from track.
func (e *Engine) emit(sh *userShard, out *core.Out, user string, now time.Time, d *Decisions) {
	if !out.Decided() {
		return // nothing decided, nothing to reset
	}
	for _, t := range out.Timeouts {
		d.Timeouts = append(d.Timeouts, Timeout{Session: t.Session, Duration: t.Duration, At: now})
	}
	if len(out.Publishes) > 0 && e.cfg.Errors.MaxTimeouts > 0 {
		d.wakeAt(timeoutLook(now.Add(e.cfg.PublishTimeout))) // when track's look for these publishes falls due
	}
	if n := len(out.Publishes); n > 0 && cap(d.Publishes)-len(d.Publishes) < n {
		d.Publishes = append(make([]Publish, 0, len(d.Publishes)+n), d.Publishes...)
	}
	for i := range out.Publishes {
		p := &out.Publishes[i]
		if p.Push2 != nil {
			e.notify(d, p, now)
			continue
		}
		// Every field, one by one, into the next element (a host's reused
		// slice may hold anything there): copying a whole Publish is a
		// bulk move with write barriers.
		d.Publishes = d.Publishes[:len(d.Publishes)+1]
		q := &d.Publishes[len(d.Publishes)-1]
		q.ID, q.User, q.Options, q.Sender, q.Body, q.Important = "", p.User, p.Options, p.Sender, p.Body, p.Important
		q.Registration, q.Extensions, q.VoIP, q.Payload = p.Registration, p.Extensions, p.VoIP, (*Payload)(p.Payload)
		q.gen, q.retry, q.counts = p.Generation, nil, nil
	}
	for _, due := range out.Due {
		if due.Arm {
			e.timers.add(sh, user, due.Session, due.At)
		}
		d.wakeAt(due.At)
	}
	if out.Counted != 0 { // else nothing was decided: every publish counts a reason
		e.record(sh, user, now, out)
	}
	out.Reset()
}

// Package push applies the XEP-0357 push-notification rules: the Engine
// takes a host's events (package events), keeps each user's push state, and
// returns Decisions: IQ replies, hibernation timeouts, publishes to send
// and when to wake it again. The rules are Prosody's mod_cloud_notify with
// its known bugs fixed (see the repository's README).
//
// # Using it
//
//	engine, err := push.New(push.Config{})        // zero Config: Prosody's defaults
//	d, err := engine.Handle(ctx, events.StanzaQueued{Now: now, Session: s, Stanza: st})
//	// execute d.Replies, d.Timeouts, d.Publishes; call engine.Wake(ctx, d.Wake) then
//	d, err = engine.Handle(ctx, events.PublishResult{Now: now, ID: id, From: from})
//
// Handle is the one way in (its doc says what each event does); the
// typed methods for the events of every message (AckDelayed,
// HibernationStart, StanzaQueued, HibernationEnd, ArchiveAdded,
// OfflineMessage) are shorthand for it, and HandleInto is it appending to
// a Decisions the host reuses. Driver runs an engine with a real timer and a
// Sender for hosts that prefer not to manage time.
//
// # How it runs
//
// The Engine is a thin shell around a pure rules core (one user's
// sessions, bindings, batches, dedup marks and the decisions of each
// event; no locks, no I/O, no clock). The shell orders each user's events:
// they apply one after another, in the order they were handed in, Store
// calls included, while different users' events run in parallel. It calls
// the Store outside every lock other users need, keeps the batch timers
// (Wake processes due batches by due time, then by when they opened) and
// seals publish ids with a per-engine key. The engine reads no clock,
// starts no goroutine and keeps no timer: time comes in with each event.
//
// # Errors
//
// Handle returns nil or one of: an error wrapping ErrInvalidEvent (the
// event was refused; nothing changed); a *StoreError (errors.Is(err,
// ErrStore); the decisions are still valid and must be executed, nothing
// stored was lost); a *LimitError (errors.Is(err, ErrLimit)); or the
// context's error. A client's malformed request is not a Go error: it is
// answered with an XMPP error in Decisions.Replies. Host mistakes the
// engine survives (events for sessions never opened, answers without From,
// publishes never answered) are counted in Stats and logged.
//
// # Wire format
//
// The engine reads <enable/> and <disable/> itself (events.IQ.Payload);
// Publish.AppendXML writes the publish IQ, Reply.AppendXML the answers,
// and ParseResult reads a push service's answer to a publish.
//
// # Extensions
//
// A client may switch on, per registration, the Tigase extensions of
// <enable/> (registry.Extensions, kept by every Store): filters (muted
// JIDs; senders not in the roster, asked of Config.Roster; groupchat rooms
// with always, mentioned or never), a <priority/>, an encrypted payload
// (AES-128-GCM under the client's key, written by AppendXML) and Jingle
// call pushes. Filters apply per registration and never to pings; a call
// proposal rings at once, and its end stops it, on the registrations that
// asked for Jingle or encryption. Engine.Features lists the disco#info
// features the host advertises on each account.
//
// # Registrations over time
//
// Config.Errors says which push service errors count toward removal and
// which are retried with back-off (RetryPolicy), and at what limits a
// registration is removed (consecutive failures, a span of nothing but
// failures, unanswered publishes); a push service's remote disable
// (events.RemoteDisabled) removes one at once. Expire removes those idle
// for Config.Expiry; Registrations and Remove serve admin and user
// commands. Every change to a registration comes back in
// Decisions.Changes, for the host's audit trail (registry.Auditor keeps
// one).
//
// # Delivery policy and metrics
//
// The delivery policy is off by default, keeping Prosody's behaviour:
// DebounceWindow and
// the per-minute caps coalesce bursts (calls are never held),
// GracePeriod holds pushes while another session of the user is active
// (events.SessionActive), and PushPolicy chooses what each registration
// wants pushed. Also off by default: WakeBeforeTimeout wakes a
// hibernating device shortly before its session would be destroyed,
// RepeatAfter pushes again for stanzas a woken device never
// acknowledged, ClearOnRead clears the other devices' badges when the
// user reads on one (events.MessagesRead), and a Counter gives the
// summary's real counts; events.Restarted wakes the devices whose
// sessions a restart lost. Every decision counts one Reason: Metrics returns the
// counts and histograms (Expvar publishes them), Config.Metrics receives
// them as they happen, and Stats counts the host's mistakes.
//
// # Push 2.0
//
// The engine also speaks urn:xmpp:push2:0 (package push2): a client
// enables it with an IQ like any other, its registration is keyed by the
// client id, and its pushes come back as Decisions.Notifications, the
// whole stanza encrypted for the device. It shares the triggers, batches
// and deduplication of XEP-0357, so a user may have devices of both
// kinds.
//
// # Limits
//
// Everything a remote party or a host controls is bounded:
//
//   - requests: 16 KiB of XML, 16 levels, a node of 1024 bytes, 32
//     form fields of at most 16 values and 4096 bytes in all (beyond
//     them: modify/not-acceptable);
//   - stanzas: events.MaxStanzaSize bytes and 32 levels;
//   - push service answers: MaxResultSize bytes;
//   - registrations: Config.MaxDevices per user;
//   - sessions: Config.MaxSessionsPerUser per user, found in constant time;
//   - pending batches: 1024 stanzas per session, one armed timer each;
//   - deduplication: Config.MarksPerUser stanzas per user, each for at most
//     Config.DedupWindow, telling apart 64 registrations;
//   - unanswered publishes: forgotten after Config.PublishTimeout, and at
//     most 64 × 16384 at once (the oldest is forgotten first);
//   - retries: Config.Errors.Retry.Attempts per push within Retry.Within,
//     at most one waiting per publish answered; looks for unanswered
//     publishes: one per pending shard and second.
package push

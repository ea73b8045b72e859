// Package pushrules gives XMPP servers written in Go the business rules of
// XEP-0357 push notifications: when to wake a user's phones through their
// push services, and what each notification carries. The rules are those of
// Prosody's mod_cloud_notify (now part of Prosody 13), with its known bugs
// fixed on purpose; see README.md for the list.
//
// This root package holds only documentation. The library is split by
// responsibility:
//
//	events         what the host tells the rules: the sealed set of event
//	               types, and Stanza
//	registry       push registrations, the Store interface, the in-memory store
//	push           the Engine (a thin concurrent shell around the rules core),
//	               its Config and Decisions, the XEP-0357 wire format, the
//	               Sender interface and an optional Driver
//	internal/core  the pure per-user rules core: sessions, bindings,
//	               batches, dedup marks and the decisions of each event, with
//	               no locks, no I/O, no clock
//
// # Wiring the engine into a server, step by step
//
// 1. Create one engine per server process, with the options you want and a
// Store (nil means in-memory; registry/sqlstore keeps registrations in
// PostgreSQL or SQLite and lets several server nodes share them):
//
//	engine, err := push.New(push.Config{WithSender: true})
//
// 2. Feed it the host's events, each with the time it happened. Sessions
// are named by full JID, users by bare JID:
//
//   - a session is bound or gone: events.SessionOpened, events.SessionClosed
//     (report every session, push-enabled or not);
//   - a session sends an IQ set with a urn:xmpp:push:0 <enable/> or
//     <disable/> to its own account: events.IQ with the XML;
//   - stream management (XEP-0198): events.AckDelayed when a connected
//     session leaves its acks overdue, events.HibernationStarted when its
//     connection dies (with the unacknowledged queue), events.StanzaQueued
//     for every stanza queued while it hibernates, events.HibernationEnded
//     when it is resumed;
//   - storage: events.MessageArchived for every message the archive stores,
//     events.OfflineMessage for every message stored offline (including
//     the unacknowledged queue of a session whose hibernation ran out),
//     events.GroupchatToBare for groupchat messages to the bare JID;
//   - events.Ping, events.UserDeleted when they happen;
//   - events.RegistrationsChanged when another server node (or a tool)
//     changed a user's registrations in a shared Store.
//
// Describe each stanza with an events.Stanza: events.ParseStanza fills one
// in from XML, or the host fills it from its own representation. Give the
// same Key to every event that carries the same message (its archive id
// hashed, or a counter stamped when it is first routed): a stanza is pushed
// at most once per registration, whatever path it takes.
//
// Every event goes through Engine.Handle (the typed methods, such as
// Engine.StanzaQueued, are shorthand for it).
//
// 3. Execute the Decisions Handle returns, in field order: send the IQ
// replies, set the hibernation timeouts, send the publishes (each Publish
// renders itself with AppendXML), and when Decisions.Wake is set, call
// Engine.Wake at that time (pending batches are due then). Handle's error
// is an invalid event (errors.Is(err, push.ErrInvalidEvent): nothing
// changed), a Store failure (a *push.StoreError: the decisions are still
// to be executed, nothing stored was lost) or a limit reached (a
// *push.LimitError).
//
// A host that carries out each event's decisions before it takes the next
// can keep one push.Decisions per goroutine and use Engine.HandleInto with
// Decisions.Reset: the same code path, with the decisions in its memory,
// so that the engine allocates next to nothing per event.
//
// 4. Send each publish's answer back: events.PublishResult with the IQ id,
// the address it came from and the error, if any. Repeated errors remove a
// registration; a success resets the count.
//
// Hosts that prefer not to manage time use push.Driver: it stamps events
// with the current time, owns the timer behind Decisions.Wake and executes
// decisions through a push.Sender and two callbacks (reusing its Decisions).
//
// # Contract
//
// The engine is deterministic: it reads no clock, starts no goroutine and
// keeps no timer; the same events handed in one at a time give
// byte-identical decisions, order and publish ids included (given
// Config.IDPrefix and Config.IDSecret). It is safe for concurrent use:
// events of different users proceed in parallel, one user's events apply
// one after another in the order they were handed in (Store calls
// included), and it never calls the Store or a Sender while holding a lock
// another user needs. Bad input from a client is answered with an XMPP
// error; a bad event from the host gives a Go error wrapping
// push.ErrInvalidEvent and changes nothing; a failing Store loses nothing
// that was stored; host mistakes the engine survives are counted in
// Engine.Stats and logged.
package pushrules

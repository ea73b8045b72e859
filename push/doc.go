// Package push applies the XEP-0357 push-notification rules: the Engine
// takes a host's events (package events), keeps each user's push state, and
// returns Decisions: IQ replies, hibernation timeouts, publishes to send
// and when to wake it again. The rules are Prosody's mod_cloud_notify with
// its known bugs fixed (see the repository's README).
//
// The engine is deterministic (time comes in with each event; it reads no
// clock, starts no goroutine, keeps no timer), safe for concurrent use (no
// global lock on the hot path) and never calls the Store or a Sender while
// holding a lock. Each handler returns a new Decisions; HandleInto appends
// to one the host reuses (Decisions.Reset), the allocation-free path for
// busy servers. Driver runs the engine with a real timer, and reuses its
// Decisions, for hosts that prefer not to manage time.
//
// This package also holds the wire format: ParseRequest and DecodeRequest
// for <enable/> and <disable/>, Publish.AppendXML for the publish IQ,
// Reply.AppendXML for the answers, and ParseResult for a push service's
// answer to a publish.
//
// # Limits
//
// Everything a remote party controls is bounded:
//
//   - requests: MaxRequestSize bytes (or tokens), MaxRequestDepth levels,
//     MaxNodeLen bytes of node, MaxFormFields fields of at most
//     MaxFieldValues values and MaxFormBytes bytes in all (beyond them:
//     modify/not-acceptable);
//   - stanzas: events.MaxStanzaSize bytes and events.MaxDepth levels;
//   - push service answers: MaxResultSize bytes;
//   - registrations: Config.MaxDevices per user;
//   - pending batches: session.MaxBatch stanzas per session;
//   - deduplication: Config.MarksPerUser stanzas per user, each for at most
//     Config.DedupWindow, telling apart session.MaxMarkedRegistrations
//     registrations;
//   - unanswered publishes: forgotten after Config.PublishTimeout, and at
//     most 64 × 16384 at once (the oldest is forgotten first).
package push

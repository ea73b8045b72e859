// Package cache puts a bounded, coherent in-memory cache in front of any
// registry.Store, so that the push engine's hot path (every archived,
// offline and groupchat message reads the user's registrations) does not
// query the database each time.
//
//	store, err := cache.New(sqlStore, cache.Options{})
//	engine, err := push.New(push.Config{Store: store, ...})
//
// # What it caches
//
// A Store keeps, per user, what the underlying store's Load returned, users
// with no registrations included, and serves Load and LoadAppend from it.
// It is bounded by Options.MaxUsers users and Options.MaxFormBytes bytes of
// publish-options forms; past either bound it evicts with the
// CLOCK algorithm (a hit only sets a bit under a read lock; the sweep evicts
// an entry not used since the hand last passed it). Every write goes to the
// underlying store first; the cache never holds a lock while calling it.
//
// # Coherence on this node
//
// After every write made through the Store (Save, Delete, DeleteUser,
// AddError, ResetErrors) this node never reads what was stored before it:
// Save, Delete and DeleteUser drop the user's entry (the next Load reads the
// store), AddError and ResetErrors set the count of the cached registration
// to what the store now holds. A write that fails drops the entry too, since
// an error from a database may hide a committed write; Load still returns
// what is stored, so a failed write is as if it had not happened.
//
// A load that misses reads the store without a lock, so an invalidation may
// happen while it reads. Each user with loads in progress has a generation,
// bumped by every write and invalidation of that user; InvalidateAll,
// Suspend and Resume bump a Store-wide epoch. A load fills the cache only
// if neither changed since it started: a load that read old data before an
// invalidation never puts it back.
//
// # Coherence across nodes
//
// Several server nodes may share one database, each with its own Store.
// What is shared is the database: registrations, their order, the device
// limit and the error counts. What stays per node is this cache (and the
// engine's own state: sessions, bindings, pending publishes). Nodes keep
// their caches coherent with notices:
//
//   - Options.Notifier publishes the user of every successful change
//     (Save, and Delete or DeleteUser that removed something) after the
//     write has returned; a failed Notify is tried three more times (10,
//     40 and 160 ms apart, for a pool that meets a broken connection after
//     a database restart), then logged and counted, and the
//     write still succeeds.
//   - A listener (registry/pgnotify for PostgreSQL) receives the notices of
//     the other nodes and calls Invalidate(user), which drops the entry and
//     calls Options.OnRemoteChange(user); the host wires that to the push
//     engine, so that this node's sessions bound to a registration removed
//     elsewhere are unbound.
//   - A lost notice is what a listener cannot rule out while it is not
//     listening. When its connection drops it calls Suspend: every entry is
//     dropped and every Load reads the database until it listens again;
//     then it calls Resume, which drops every entry once more (a change made
//     before the listener listened again sent its notice to nobody) and
//     caches again. Both call Options.OnReset.
//
// A node's Load may return what another node has just changed for as long
// as the notice takes to arrive (a few milliseconds on PostgreSQL), never
// longer while its listener is connected. A single node (or SQLite, which
// one process uses) needs no notifier and no listener.
//
// # Capabilities
//
// The optional capabilities the engine uses pass through to the
// underlying store: registry.Tracker (Fail, Succeed: the cached count
// follows), registry.Expirer (Expire: the users who lost registrations are
// dropped and notified) and registry.Auditor (Record, History). Over a
// store without them, Fail and Succeed fall back to AddError and
// ResetErrors, and the others return an error matching
// errors.ErrUnsupported.
//
// # Error counts
//
// AddError and ResetErrors go to the underlying store, which keeps the
// counts exact and atomic across nodes (a database UPDATE); AddError's
// return value is the exact count, and the push engine acts on that value
// alone (it removes a registration when AddError returns MaxErrors). The
// Errors field of a cached Registration may lag: this node updates it from
// its own AddError and ResetErrors, but other nodes' counts reach it only
// when the entry is next read from the store, since error counts change
// with every publish answer and notifying them would defeat the cache.
// Likewise the device limit is applied by the underlying store's Save in
// its own transaction, never from the cached list.
package cache

// Package pgnotify keeps the registry caches (registry/cache) of several
// server nodes coherent through PostgreSQL's LISTEN/NOTIFY, for nodes that
// share one database through registry/sqlstore. It is a nested module: it
// depends on github.com/jackc/pgx/v5 for the listening connection.
//
// # Wiring one node
//
//	db, _ := sql.Open("pgx", dsn)                   // the host's pool, shared with sqlstore
//	sqlStore, _ := sqlstore.New(ctx, db)
//	opts := pgnotify.Options{Node: "node-1"}        // unique per node, the same Channel on all
//	notifier, _ := pgnotify.NewNotifier(db, opts)
//	store, _ := cache.New(sqlStore, cache.Options{
//		Notifier:       notifier,
//		OnRemoteChange: func(user string) { /* tell the push engine */ },
//	})
//	listener, _ := pgnotify.Listen(ctx, dsn, store, opts)
//	defer listener.Close()
//	engine, _ := push.New(push.Config{Store: store})
//
// # How coherence works
//
// Every change made through a node's cache (Save, and Delete or DeleteUser
// that removed something) is followed by SELECT pg_notify(channel,
// payload), the payload naming the node and the user. PostgreSQL delivers
// a notice to every session listening on the channel when the sending
// statement's transaction commits, in commit order. Each node's Listener
// holds one connection of its own (LISTEN belongs to a session, so it
// cannot come from the host's pool), ignores its own node's notices (its
// cache already dropped the entry), and calls Invalidate(user) for the
// others': the next Load on that node reads the database. A user too long
// for a notice (PostgreSQL refuses payloads of 8000 bytes or more) is sent
// as "drop everything" instead; so is a payload the Listener cannot parse.
//
// # Lost notices
//
// PostgreSQL keeps no notice for a session that is not listening, so a
// Listener that loses its connection may miss changes. It cannot rule that
// out, so it suspends its cache: Suspend drops every entry and every Load
// reads the database (correct, but as slow as no cache), until the
// Listener has reconnected (with back-off) and listens again; then Resume
// drops every entry once more (changes made while it was reconnecting sent
// their notices to nobody) and the cache fills again. A connection can
// also die without a word (a network partition): after Options.
// HealthInterval without a notice the Listener pings the server, and a
// ping that fails within Options.Timeout counts as a lost connection. So a
// node serves what another node changed for at most the notice delay
// while connected, and for at most HealthInterval plus Timeout when its
// connection dies silently.
//
// A Notify that fails (the database is unreachable just after a write
// committed) is logged by the cache and counted in its Stats; the other
// nodes keep what they cached of that user until their entry is dropped
// for another reason. When the database itself is down, every Listener
// loses its connection too and suspends its cache, which covers that case.
//
// # What is shared and what stays per node
//
// Shared, in the database: the registrations, their enable order, the
// device limit (applied in sqlstore's Save transaction) and the error
// counts (updated atomically by AddError and ResetErrors). Per node: the
// cache, and the push engine's state (sessions, bindings, pending
// publishes). The error counts in cached registrations may lag behind the
// database; the engine acts only on the count AddError returns (see
// registry/cache).
//
// Error counts are not notified: they change on every publish answer.
package pgnotify

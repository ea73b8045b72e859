// Package sqlstore is a durable registry.Store kept in an SQL database
// through database/sql. The same SQL runs on PostgreSQL (9.5 or later) and
// SQLite (3.35 or later); it is a nested module so that the root module of
// pushrules keeps no dependency beyond the standard library. Its own code
// imports only the standard library and pushrules.
//
// # Drivers
//
// The host imports the database driver and opens the *sql.DB; sqlstore
// never opens, configures or closes it. Known to work:
//
//   - PostgreSQL: github.com/jackc/pgx/v5/stdlib (driver name "pgx"), or
//     github.com/lib/pq ("postgres").
//   - SQLite: modernc.org/sqlite ("sqlite"), pure Go.
//
// Open an SQLite file with a busy timeout (writers wait for each other
// rather than fail with SQLITE_BUSY), immediate write transactions, and WAL
// so that reads do not wait for writes; with modernc.org/sqlite:
//
//	file:/var/lib/xmpp/push.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate
//
// Other drivers should work if they accept "$1"-style placeholders and
// INSERT/UPDATE/DELETE ... RETURNING.
//
// # Starting
//
//	db, err := sql.Open("pgx", dsn)
//	...
//	if err := sqlstore.Migrate(ctx, db); err != nil { ... } // every start
//	store, err := sqlstore.New(ctx, db)
//
// Migrate creates the tables when they are missing and upgrades an older
// schema; it is safe to run on every start, and from several nodes at once.
// A database whose schema is newer than this package knows (written by a
// later release) is left alone: Migrate and New return an error wrapping
// ErrSchemaVersion.
//
// # Schema
//
// Schema returns the SQL that Migrate runs on an empty database. Three
// tables, all named push_*:
//
//   - push_schema_version: one row per schema version applied.
//   - push_users: one row per user with registrations, a lock row that
//     every Save, Delete and DeleteUser transaction of the user upserts
//     first (INSERT ... ON CONFLICT DO UPDATE). This serialises the writers
//     of one user with the same SQL on both databases (a PostgreSQL row
//     lock, SQLite's database write lock), so that concurrent Saves can
//     never leave a user with more than maxDevices, while writers of
//     different users do not wait for each other on PostgreSQL. AddError
//     and ResetErrors are single atomic UPDATE statements.
//   - push_registrations: one row per registration, keyed by (username,
//     identifier). identifier is the registry.Identifier text: "jid<node",
//     with each '\' and '<' of the JID escaped by a '\' (schema version 2;
//     version 1 wrote them unescaped and split at the first '<', and
//     Migrate rewrites the rows of version 1 whose JID holds a '\' so that
//     each reads back as version 1 read it). options holds the
//     publish-options form as JSON (field order, types and every value
//     kept; NULL for no form); enabled is Unix nanoseconds in UTC (NULL
//     for the zero time); generation is the uint64 stored bit for bit in a
//     BIGINT; errors is the error count; position is a per-user sequence
//     number giving the enable order (least recently enabled first);
//     extensions (schema version 4) holds registry.Extensions as JSON,
//     NULL for none: it holds the client's encryption key, so treat the
//     column as a secret.
//     push2 (schema version 6) holds, for a Push 2.0 registration (whose
//     identifier is registry.Push2Identifier(service, client)), the JSON
//     of its push2.Request, NULL for a XEP-0357 one; the request holds the
//     device's auth secret and VAPID key, so the database needs the
//     protection of a secret store. Both kinds share the user's positions,
//     lock row and device limit. Version 5 kept Push 2.0 registrations in
//     a push2_registrations table; Migrate moves its rows into
//     push_registrations (after each user's XEP-0357 ones, their
//     generation, errors and times kept) and drops it.
//
// Every write is one transaction: a crash or a failure mid-write leaves the
// old state or the new one, never a mix. A row that does not decode (bad
// JSON, generation 0, an identifier that registry.Identifier.Split refuses,
// a negative error count, a wrong column type, a push2 column set on a
// XEP-0357 identifier or missing on a Push 2.0 one) is reported as an error wrapping ErrCorrupt (a
// *CorruptError names it); the operation that met it fails and changes
// nothing, so nothing corrupt is ever deleted or overwritten by this
// package: repair or delete it by hand.
//
// # Several server nodes on one database
//
// A cluster of XMPP server nodes may share one database, each with its own
// Store and push engine. The Store keeps no cache: every Load reads the
// database, so a registration enabled, replaced or disabled through one
// node is seen by every node's next read; the device limit holds across
// nodes because Saves of one user are serialised in the database; error
// counts are shared and updated atomically in the database, so publish
// errors seen by different nodes add up, and a success on any node resets
// the count. What stays per node is the engine's in-memory state: session
// bindings, hibernation timeouts, pending batches, and the marks of what
// was already pushed (so a stanza handled by two nodes can be pushed once
// by each). The host must:
//
//   - use one database (one primary) for all nodes;
//   - run Migrate before a node starts serving (New checks the version);
//   - route the answer to a publish IQ back to the node that sent it (match
//     the IQ id), because only that node knows the publish it answers;
//   - open SQLite only from processes on one machine (it is a file): for a
//     cluster use PostgreSQL.
package sqlstore

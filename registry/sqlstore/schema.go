package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pushrules/pushrules/registry"
)

// SchemaVersion is the version of the schema this package reads and writes.
const SchemaVersion = 6

// ErrSchemaVersion is wrapped by the error Migrate and New return when the
// database holds a schema this package cannot use: a newer version than
// SchemaVersion (Migrate leaves it alone), or, for New, a schema that
// Migrate has not brought up to SchemaVersion.
const ErrSchemaVersion Error = "sqlstore: unsupported database schema version"

const versionTable = `CREATE TABLE IF NOT EXISTS push_schema_version (
	version INTEGER NOT NULL PRIMARY KEY,
	applied BIGINT NOT NULL
)`

// migration brings the schema from one version to the next: its statements
// run first, then its data step, if any, then its after statements, in
// the same transaction.
type migration struct {
	stmts []string
	data  func(ctx context.Context, tx *sql.Tx) error
	after []string
}

// migrations[i] brings the schema from version i to version i+1.
var migrations = []migration{
	{stmts: []string{
		`CREATE TABLE IF NOT EXISTS push_users (
	username TEXT NOT NULL PRIMARY KEY,
	version BIGINT NOT NULL
)`,
		`CREATE TABLE IF NOT EXISTS push_registrations (
	username TEXT NOT NULL,
	identifier TEXT NOT NULL,
	options TEXT,
	enabled BIGINT,
	generation BIGINT NOT NULL,
	errors INTEGER NOT NULL,
	position BIGINT NOT NULL,
	PRIMARY KEY (username, identifier)
)`,
		`CREATE INDEX IF NOT EXISTS push_registrations_position
	ON push_registrations (username, position)`,
	}},
	// Version 2: identifiers escape '\' and '<' in their JID part
	// (registry.NewIdentifier).
	{data: reencodeIdentifiers},
	// Version 3: each registration's publish history (registry.Tracker),
	// when it was last used (indexed for Expire) and its client id; the
	// users' audit trails (registry.Auditor).
	{stmts: []string{
		`ALTER TABLE push_registrations ADD COLUMN last_success BIGINT`,
		`ALTER TABLE push_registrations ADD COLUMN failing_since BIGINT`,
		`ALTER TABLE push_registrations ADD COLUMN last_error TEXT`,
		`ALTER TABLE push_registrations ADD COLUMN last_used BIGINT`,
		`ALTER TABLE push_registrations ADD COLUMN client TEXT`,
		`UPDATE push_registrations SET last_used = enabled`,
		`CREATE INDEX IF NOT EXISTS push_registrations_last_used ON push_registrations (last_used)`,
		`CREATE TABLE IF NOT EXISTS push_audit (
	username TEXT NOT NULL,
	seq BIGINT NOT NULL,
	at_ns BIGINT NOT NULL,
	identifier TEXT NOT NULL,
	reason TEXT NOT NULL,
	by_jid TEXT NOT NULL,
	errors INTEGER NOT NULL,
	cond TEXT NOT NULL,
	PRIMARY KEY (username, seq)
)`,
	}},
	// Version 4: the extensions of <enable/> (registry.Extensions as JSON,
	// NULL for none).
	{stmts: []string{`ALTER TABLE push_registrations ADD COLUMN extensions TEXT`}},
	// Version 5: Push 2.0 registrations in a table of their own, one per
	// user and client, the request as JSON.
	{stmts: []string{
		`CREATE TABLE IF NOT EXISTS push2_registrations (
	username TEXT NOT NULL,
	client TEXT NOT NULL,
	request TEXT NOT NULL,
	enabled BIGINT,
	generation BIGINT NOT NULL,
	errors INTEGER NOT NULL,
	position BIGINT NOT NULL,
	failing_since BIGINT,
	PRIMARY KEY (username, client)
)`,
		`CREATE INDEX IF NOT EXISTS push2_registrations_position
	ON push2_registrations (username, position)`,
	}},
	// Version 6: Push 2.0 registrations are rows of push_registrations,
	// their request (JSON) in the push2 column; version 5's rows move
	// there and their table goes.
	{
		stmts: []string{`ALTER TABLE push_registrations ADD COLUMN push2 TEXT`},
		data:  movePush2,
		after: []string{`DROP TABLE push2_registrations`},
	},
}

// Schema returns the SQL statements, separated by semicolons, that Migrate
// runs on an empty database to create the current schema (version
// SchemaVersion), for a database administrator who prefers to apply it by
// hand. The record of the version applied is the last statement. The data
// steps of the upgrades (version 2 rewrites some stored identifiers) have
// no rows to change in an empty database and are not part of it: upgrade a
// database that holds registrations with Migrate.
func Schema() string {
	var b strings.Builder
	b.WriteString(versionTable)
	b.WriteString(";\n\n")
	for _, m := range migrations {
		for _, stmt := range append(m.stmts, m.after...) {
			b.WriteString(stmt)
			b.WriteString(";\n\n")
		}
	}
	fmt.Fprintf(&b, "INSERT INTO push_schema_version (version, applied) VALUES (%d, 0);\n", SchemaVersion)
	return b.String()
}

// Migrate creates or upgrades the tables of the store in db, in one
// transaction, and records the schema version. It changes nothing when the
// schema is already current, so it is meant to run at every start, before
// New. When the database holds a newer schema than this package knows, it
// changes nothing and returns an error wrapping ErrSchemaVersion. Several
// processes may run Migrate at the same time: when their first creation of
// the tables collides (PostgreSQL reports a duplicate), Migrate tries
// again, a few times. A context error is returned as is.
func Migrate(ctx context.Context, db *sql.DB) error {
	if db == nil {
		return errors.New("sqlstore: Migrate: nil *sql.DB")
	}
	var err error
	for range 3 {
		if err = migrate(ctx, db); err == nil || errors.Is(err, ErrSchemaVersion) {
			return err
		}
		if ctxErr := ctxDone(ctx); ctxErr != nil {
			return ctxErr
		}
	}
	return err
}

func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: Migrate: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, versionTable); err != nil {
		return fmt.Errorf("sqlstore: Migrate: creating push_schema_version: %w", err)
	}
	v, err := readVersion(ctx, tx)
	if err != nil {
		return fmt.Errorf("sqlstore: Migrate: %w", err)
	}
	switch {
	case v > SchemaVersion:
		return fmt.Errorf("%w: the database has schema version %d, this package knows up to %d (written by a newer release?); nothing changed",
			ErrSchemaVersion, v, SchemaVersion)
	case v == SchemaVersion:
		return nil // nothing to do; the rollback undoes nothing
	case v < 0:
		return fmt.Errorf("%w: the database has schema version %d", ErrSchemaVersion, v)
	}
	for next := v + 1; next <= SchemaVersion; next++ {
		m := migrations[next-1]
		for _, stmt := range m.stmts {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("sqlstore: Migrate to version %d: %w", next, err)
			}
		}
		if m.data != nil {
			if err := m.data(ctx, tx); err != nil {
				return fmt.Errorf("sqlstore: Migrate to version %d: %w", next, err)
			}
		}
		for _, stmt := range m.after {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("sqlstore: Migrate to version %d: %w", next, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO push_schema_version (version, applied) VALUES ($1, $2)`,
			next, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("sqlstore: Migrate to version %d: %w", next, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: Migrate: %w", err)
	}
	return nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readVersion returns the highest schema version recorded, 0 for none.
func readVersion(ctx context.Context, q queryer) (int64, error) {
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(version) FROM push_schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("reading the schema version: %w", err)
	}
	return v.Int64, nil
}

// reencodeIdentifiers rewrites the identifiers of version 1, which were
// "jid<node" split at the first '<', into the text registry.NewIdentifier
// writes for that same (jid, node) pair, so that every registration reads
// back as version 1 read it. Only a JID part holding '\' reads differently
// (a '<' cannot be in it, version 1 having split there), so only those rows
// change; a row without '<' was already corrupt and is left as it is.
//
// A rewritten text is longer than the old one and may be the old text of
// another row to rewrite (`a\<n` becomes `a\\<n`, the old text of the row
// whose JID is `a\\`): rows are rewritten longest first, so each new text is
// free when it is written. New texts never equal a row that is kept (they
// have a '\' before their first '<', kept rows do not) nor one another.
func reencodeIdentifiers(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT username, identifier FROM push_registrations WHERE identifier LIKE '%\%' ESCAPE '!'`)
	if err != nil {
		return fmt.Errorf("reading identifiers: %w", err)
	}
	type change struct{ user, old, new string }
	var changes []change
	for rows.Next() {
		var user, id string
		if err := rows.Scan(&user, &id); err != nil {
			rows.Close()
			return fmt.Errorf("reading identifiers: %w", err)
		}
		jid, node, found := strings.Cut(id, "<")
		if found && strings.Contains(jid, `\`) {
			changes = append(changes, change{user, id, string(registry.NewIdentifier(jid, node))})
		}
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("reading identifiers: %w", err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading identifiers: %w", err)
	}
	slices.SortFunc(changes, func(a, b change) int { return cmp.Compare(len(b.old), len(a.old)) })
	for _, c := range changes {
		if _, err := tx.ExecContext(ctx, `UPDATE push_registrations SET identifier = $1 WHERE username = $2 AND identifier = $3`,
			c.new, c.user, c.old); err != nil {
			return fmt.Errorf("rewriting identifier %q of %q: %w", c.old, c.user, err)
		}
	}
	return nil
}

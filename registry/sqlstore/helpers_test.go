package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/pushrules/pushrules/registry/sqlstore"
)

// postgresEnv names the environment variable holding the DSN of a
// PostgreSQL database the tests may use (they create and drop their own
// schemas in it); without it, the PostgreSQL tests are skipped.
const postgresEnv = "PUSHRULES_TEST_POSTGRES_DSN"

// backend opens fresh, empty databases of one kind.
type backend struct {
	name string
	// open returns a new empty database, closed (and dropped) at the end of
	// the test. It skips the test when the database is not available.
	open func(tb testing.TB) *sql.DB
	// sqlite is true for SQLite, which accepts any value in any column.
	sqlite bool
}

var backends = []backend{
	{name: "sqlite", open: openSQLite, sqlite: true},
	{name: "postgres", open: openPostgres},
}

// forEachBackend runs f as a subtest per backend, skipping the backends
// that are not available.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			skipUnavailable(t, b)
			f(t, b)
		})
	}
}

func skipUnavailable(tb testing.TB, b backend) {
	tb.Helper()
	if !b.sqlite && os.Getenv(postgresEnv) == "" {
		tb.Skipf("PostgreSQL tests skipped: set %s (e.g. postgres://postgres@127.0.0.1:55432/pushrules?sslmode=disable; .ci/postgres.sh starts a server and sets it)", postgresEnv)
	}
}

func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)&_txlock=immediate"
}

func openSQLiteFile(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		tb.Fatalf("open SQLite: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func openSQLite(tb testing.TB) *sql.DB {
	tb.Helper()
	return openSQLiteFile(tb, filepath.Join(tb.TempDir(), "push.db"))
}

var (
	pgAdminOnce sync.Once
	pgAdmin     *sql.DB
	pgAdminErr  error
)

// openPostgres creates a schema of its own in the database named by
// $PUSHRULES_TEST_POSTGRES_DSN and returns a *sql.DB whose search_path is
// that schema; the schema is dropped at the end of the test.
func openPostgres(tb testing.TB) *sql.DB {
	tb.Helper()
	skipUnavailable(tb, backend{})
	dsn := os.Getenv(postgresEnv)
	pgAdminOnce.Do(func() {
		pgAdmin, pgAdminErr = sql.Open("pgx", dsn)
		if pgAdminErr == nil {
			pgAdminErr = pgAdmin.PingContext(context.Background())
		}
	})
	if pgAdminErr != nil {
		tb.Fatalf("PostgreSQL at %s: %v", postgresEnv, pgAdminErr)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := "pushrules_test_" + hex.EncodeToString(rnd[:])
	if _, err := pgAdmin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	db, err := sql.Open("pgx", withSearchPath(dsn, schema))
	if err != nil {
		tb.Fatalf("open PostgreSQL: %v", err)
	}
	tb.Cleanup(func() {
		db.Close()
		if _, err := pgAdmin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return db
}

// withSearchPath adds search_path to a PostgreSQL DSN in URL or in
// keyword/value form.
func withSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}

// newStore opens a fresh database of backend b, migrates it and returns a
// Store over it.
func newStore(tb testing.TB, b backend) (*sqlstore.Store, *sql.DB) {
	tb.Helper()
	db := b.open(tb)
	ctx := context.Background()
	if err := sqlstore.Migrate(ctx, db); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	s, err := sqlstore.New(ctx, db)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s, db
}

// snapshot returns every stored row of the store's tables as text, to
// check that a failed call changed nothing.
func snapshot(t *testing.T, db *sql.DB) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT username, identifier, COALESCE(options, 'NULL'), COALESCE(CAST(enabled AS TEXT), 'NULL'),
			CAST(generation AS TEXT), CAST(errors AS TEXT), CAST(position AS TEXT)
		FROM push_registrations ORDER BY username, identifier`,
		`SELECT username, CAST(version AS TEXT), '', '', '', '', '' FROM push_users ORDER BY username`,
		`SELECT CAST(version AS TEXT), '', '', '', '', '', '' FROM push_schema_version ORDER BY version`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		for rows.Next() {
			var c [7]string
			if err := rows.Scan(&c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6]); err != nil {
				t.Fatalf("snapshot: %v", err)
			}
			fmt.Fprintf(&b, "%q\n", c)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		rows.Close()
		b.WriteString("--\n")
	}
	return b.String()
}

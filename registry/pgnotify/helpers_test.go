package pgnotify_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/cache"
	"github.com/pushrules/pushrules/registry/pgnotify"
	"github.com/pushrules/pushrules/registry/sqlstore"
)

// postgresEnv names the environment variable holding the DSN of a
// PostgreSQL database the tests may use (each test makes its own schema
// and channel); without it, the PostgreSQL tests are skipped.
const postgresEnv = "PUSHRULES_TEST_POSTGRES_DSN"

func postgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		tb.Skipf("PostgreSQL tests skipped: set %s (.ci/postgres.sh starts a server and sets it)", postgresEnv)
	}
	return dsn
}

var (
	adminOnce sync.Once
	admin     *sql.DB
	adminErr  error
)

// adminDB is a connection pool to the test database, for setting up.
func adminDB(tb testing.TB) *sql.DB {
	tb.Helper()
	dsn := postgresDSN(tb)
	adminOnce.Do(func() {
		admin, adminErr = sql.Open("pgx", dsn)
		if adminErr == nil {
			adminErr = admin.PingContext(context.Background())
		}
	})
	if adminErr != nil {
		tb.Fatalf("PostgreSQL at %s: %v", postgresEnv, adminErr)
	}
	return admin
}

func randomName(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// newSchema creates a migrated schema of its own, dropped at the end of the
// test, and returns a DSN whose search_path is that schema.
func newSchema(tb testing.TB) string {
	tb.Helper()
	a := adminDB(tb)
	schema := randomName("pushrules_cache_test_")
	if _, err := a.Exec(`CREATE SCHEMA ` + schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		var err error
		for range 3 { // a restarted server fails each pooled connection once
			if _, err = a.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err == nil {
				return
			}
		}
		tb.Errorf("drop schema %s: %v", schema, err)
	})
	u, err := url.Parse(postgresDSN(tb))
	if err != nil {
		tb.Fatalf("the tests want %s as a URL: %v", postgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	dsn := u.String()
	db := openDB(tb, "pgx", dsn)
	if err := sqlstore.Migrate(context.Background(), db); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	return dsn
}

func openDB(tb testing.TB, driver, dsn string) *sql.DB {
	tb.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// node is one server node: its pool, sqlstore, cache, notifier and
// listener. remote receives the users of the notices its cache was told
// of (OnRemoteChange).
type node struct {
	db       *sql.DB
	sql      *sqlstore.Store
	cache    *cache.Store
	listener *pgnotify.Listener
	remote   chan string
}

// newNode starts a node on the schema of dsn, listening on channel, and
// waits until it listens.
func newNode(tb testing.TB, dsn, name, channel string, opts pgnotify.Options) *node {
	tb.Helper()
	ctx := context.Background()
	n := &node{db: openDB(tb, "pgx", dsn), remote: make(chan string, 1024)}
	var err error
	if n.sql, err = sqlstore.New(ctx, n.db); err != nil {
		tb.Fatal(err)
	}
	opts.Node, opts.Channel = name, channel
	notifier, err := pgnotify.NewNotifier(n.db, opts)
	if err != nil {
		tb.Fatal(err)
	}
	n.cache, err = cache.New(n.sql, cache.Options{Notifier: notifier, OnRemoteChange: func(user string) {
		select {
		case n.remote <- user:
		default: // nobody is reading: the test does not care
		}
	}})
	if err != nil {
		tb.Fatal(err)
	}
	if n.listener, err = pgnotify.Listen(ctx, dsn, n.cache, opts); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { n.listener.Close() })
	waitFor(tb, "the listener to listen", n.listener.Listening)
	return n
}

// waitFor polls cond until it holds, failing the test after 20 seconds (a
// generous deadline for a busy machine: the tests assert no timing).
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func sqliteStore(tb testing.TB) registry.Store {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "push.db")
	db := openDB(tb, "sqlite", "file:"+path+"?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	ctx := context.Background()
	if err := sqlstore.Migrate(ctx, db); err != nil {
		tb.Fatal(err)
	}
	s, err := sqlstore.New(ctx, db)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func reg(user, node string, gen uint64) registry.Registration {
	return registry.Registration{User: user, ID: registry.NewIdentifier("push.example.net", node), Generation: gen,
		Enabled: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		Options: registry.NewForm("submit", registry.Field{Var: "secret", Values: []string{"s-" + node}})}
}

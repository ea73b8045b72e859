package sqlstore_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/registrytest"
	"github.com/pushrules/pushrules/registry/sqlstore"
)

func TestConformance(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		registrytest.Run(t, func(t *testing.T) registry.Store {
			s, _ := newStore(t, b)
			return s
		})
	})
}

const user = "alice@example.org"

var when = time.Date(2026, 5, 1, 10, 0, 0, 123456789, time.UTC)

func form(secret string) registry.Form {
	return registry.NewForm("submit",
		registry.Field{Var: "FORM_TYPE", Type: "hidden", Values: []string{"http://jabber.org/protocol/pubsub#publish-options"}},
		registry.Field{Var: "secret", Values: []string{secret}},
	)
}

func reg(u, node string, gen uint64) registry.Registration {
	return registry.Registration{
		User:       u,
		ID:         registry.NewIdentifier("push.example.net", node),
		Options:    form(node + "<&'\">"),
		Enabled:    when.Add(time.Duration(gen) * time.Second),
		Generation: gen,
	}
}

func sameRegs(a, b []registry.Registration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.User != y.User || x.ID != y.ID || x.Generation != y.Generation || x.Errors != y.Errors ||
			!x.Enabled.Equal(y.Enabled) || x.Options != y.Options {
			return false
		}
	}
	return true
}

// TestRestart closes the database and opens it again, as a restarted
// server does: everything is there, in order, with its error counts, and
// counting goes on.
func TestRestart(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "push.db")

	db := openSQLiteFile(t, path)
	if err := sqlstore.Migrate(ctx, db); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	s, err := sqlstore.New(ctx, db)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var want []registry.Registration
	for i, node := range []string{"c", "a", "b"} {
		r := reg(user, node, uint64(100+i))
		if _, _, err := s.Save(ctx, r, 5); err != nil {
			t.Fatalf("Save: %v", err)
		}
		want = append(want, r)
	}
	want[1].Options = registry.Form{}
	if _, _, err := s.Save(ctx, want[1], 5); err != nil { // re-enable a, without options
		t.Fatalf("Save: %v", err)
	}
	want = []registry.Registration{want[0], want[2], want[1]}
	if want[0].Errors, err = s.AddError(ctx, user, want[0].ID, want[0].Generation); err != nil {
		t.Fatalf("AddError: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db2 := openSQLiteFile(t, path)
	if err := sqlstore.Migrate(ctx, db2); err != nil { // as at every start
		t.Fatalf("Migrate after restart: %v", err)
	}
	s2, err := sqlstore.New(ctx, db2)
	if err != nil {
		t.Fatalf("New after restart: %v", err)
	}
	got, err := s2.Load(ctx, user)
	if err != nil {
		t.Fatalf("Load after restart: %v", err)
	}
	if !sameRegs(got, want) {
		t.Errorf("Load after restart:\n got  %+v\n want %+v", got, want)
	}
	if n, err := s2.AddError(ctx, user, want[0].ID, want[0].Generation); err != nil || n != 2 {
		t.Errorf("AddError after restart = %d, %v; want 2, nil", n, err)
	}
	// Order goes on from where it was.
	d := reg(user, "d", 200)
	_, evicted, err := s2.Save(ctx, d, 3)
	if err != nil {
		t.Fatalf("Save after restart: %v", err)
	}
	if len(evicted) != 1 || evicted[0].ID != want[0].ID || evicted[0].Errors != 2 {
		t.Errorf("Save after restart evicted %+v, want %s with 2 errors", evicted, want[0].ID)
	}
}

// TestCorruptRows stores rows by hand that do not decode: every method
// that meets one fails with ErrCorrupt and changes nothing.
func TestCorruptRows(t *testing.T) {
	type corruption struct {
		name   string
		insert string // columns: username, identifier, options, enabled, generation, errors, position
		sqlite bool   // only SQLite can store it
	}
	corruptions := []corruption{
		{"bad JSON", `'alice@example.org', 'push.example.net<bad', '{"type":"submit","fields":[{"var":', NULL, 7, 0, 2`, false},
		{"JSON of the wrong shape", `'alice@example.org', 'push.example.net<bad', '{"type":5,"fields":"x"}', NULL, 7, 0, 2`, false},
		{"JSON null", `'alice@example.org', 'push.example.net<bad', 'null', NULL, 7, 0, 2`, false},
		{"generation 0", `'alice@example.org', 'push.example.net<bad', NULL, NULL, 0, 0, 2`, false},
		{"identifier without <", `'alice@example.org', 'push.example.net', NULL, NULL, 7, 0, 2`, false},
		{"identifier without JID", `'alice@example.org', '<bad', NULL, NULL, 7, 0, 2`, false},
		{"identifier with a stray escape", `'alice@example.org', 'push.example.net\x<bad', NULL, NULL, 7, 0, 2`, false},
		{"identifier ending in an escape", `'alice@example.org', 'push.example.net\', NULL, NULL, 7, 0, 2`, false},
		{"negative errors", `'alice@example.org', 'push.example.net<bad', NULL, NULL, 7, -3, 2`, false},
		{"text in generation", `'alice@example.org', 'push.example.net<bad', NULL, NULL, 'seven', 0, 2`, true},
		{"text in enabled", `'alice@example.org', 'push.example.net<bad', NULL, 'yesterday', 7, 0, 2`, true},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, c := range corruptions {
			if c.sqlite && !b.sqlite {
				continue
			}
			t.Run(c.name, func(t *testing.T) {
				ctx := t.Context()
				s, db := newStore(t, b)
				good := reg(user, "good", 1)
				other := reg("bob@example.org", "good", 2)
				for _, r := range []registry.Registration{good, other} {
					if _, _, err := s.Save(ctx, r, 5); err != nil {
						t.Fatalf("Save: %v", err)
					}
				}
				if _, err := db.ExecContext(ctx, `INSERT INTO push_registrations (username, identifier, options, enabled, generation, errors, position) VALUES (`+c.insert+`)`); err != nil {
					t.Fatalf("inserting the corrupt row: %v", err)
				}
				var badID registry.Identifier
				if err := db.QueryRowContext(ctx, `SELECT identifier FROM push_registrations WHERE position = 2`).Scan(&badID); err != nil {
					t.Fatal(err)
				}
				before := snapshot(t, db)

				checkCorrupt := func(op string, err error) {
					t.Helper()
					if !errors.Is(err, sqlstore.ErrCorrupt) {
						t.Errorf("%s: err = %v, want ErrCorrupt", op, err)
						return
					}
					var ce *sqlstore.CorruptError
					if !errors.As(err, &ce) || ce.User != user || ce.ID != string(badID) || ce.Reason == "" {
						t.Errorf("%s: err = %#v, want a *CorruptError naming %s %s", op, err, user, badID)
					}
				}
				_, err := s.Load(ctx, user)
				checkCorrupt("Load", err)
				_, _, err = s.Save(ctx, reg(user, "new", 3), 5)
				checkCorrupt("Save of another identifier", err)
				_, _, err = s.Save(ctx, reg(user, "new", 3), 1)
				checkCorrupt("Save that would evict it", err)
				_, _, err = s.Save(ctx, registry.Registration{User: user, ID: good.ID, Generation: 9, Enabled: when}, 5)
				checkCorrupt("Save replacing a good one", err)
				if _, _, validID := badID.Split(); validID {
					_, _, err = s.Save(ctx, registry.Registration{User: user, ID: badID, Generation: 9, Enabled: when}, 5)
					checkCorrupt("Save over the corrupt one", err)
				}
				_, err = s.Delete(ctx, user, badID, good.ID)
				checkCorrupt("Delete of it", err)
				_, err = s.DeleteUser(ctx, user)
				checkCorrupt("DeleteUser", err)
				if got := snapshot(t, db); got != before {
					t.Errorf("failed calls changed the database:\nbefore\n%s\nafter\n%s", before, got)
				}

				// What does not read the corrupt row still works.
				if _, err := s.Delete(ctx, user, good.ID); err != nil {
					t.Errorf("Delete of a good row beside a corrupt one: %v", err)
				}
				regs, err := s.Load(ctx, other.User)
				if err != nil || !sameRegs(regs, []registry.Registration{other}) {
					t.Errorf("Load of another user = %+v, %v; want %+v", regs, err, other)
				}
			})
		}
	})
}

// TestSaveInvalid: Save refuses what it could not read back, and changes
// nothing.
func TestSaveInvalid(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		s, db := newStore(t, b)
		if _, _, err := s.Save(ctx, reg(user, "a", 1), 5); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, db)
		bad := []struct {
			name string
			reg  registry.Registration
		}{
			{"new with generation 0", reg(user, "b", 0)},
			{"identifier without <", registry.Registration{User: user, ID: "push.example.net", Generation: 2}},
			{"identifier without JID", registry.Registration{User: user, ID: "<node", Generation: 2}},
			{"identifier with a stray escape", registry.Registration{User: user, ID: `x\y<node`, Generation: 2}},
			{"identifier whose '<' is escaped", registry.Registration{User: user, ID: `x\<node`, Generation: 2}},
			{"negative errors", registry.Registration{User: user, ID: "x<y", Generation: 2, Errors: -1}},
			{"huge errors", registry.Registration{User: user, ID: "x<y", Generation: 2, Errors: math.MaxInt32 + 1}},
			{"year 3000", registry.Registration{User: user, ID: "x<y", Generation: 2, Enabled: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}},
			{"year 1600", registry.Registration{User: user, ID: "x<y", Generation: 2, Enabled: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)}},
			{"NUL in user", registry.Registration{User: "a\x00b", ID: "x<y", Generation: 2}},
			{"invalid UTF-8 in identifier", registry.Registration{User: user, ID: "x<\xff", Generation: 2}},
			{"invalid UTF-8 in options", registry.Registration{User: user, ID: "x<y", Generation: 2,
				Options: registry.NewForm("", registry.Field{Var: "v", Values: []string{"ok", "\xc3("}})}},
		}
		for _, c := range bad {
			if _, _, err := s.Save(ctx, c.reg, 1); !errors.Is(err, sqlstore.ErrInvalid) {
				t.Errorf("Save, %s: err = %v, want ErrInvalid", c.name, err)
			}
		}
		if got := snapshot(t, db); got != before {
			t.Errorf("refused Saves changed the database:\nbefore\n%s\nafter\n%s", before, got)
		}
		// Generation 0 is fine when replacing: the stored one is kept.
		saved, _, err := s.Save(ctx, reg(user, "a", 0), 5)
		if err != nil || saved.Generation != 1 {
			t.Errorf("replacing with Generation 0 = %+v, %v; want Generation 1", saved, err)
		}
	})
}

// TestMigrateTwice: Migrate on a current schema changes nothing.
func TestMigrateTwice(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		s, db := newStore(t, b)
		if _, _, err := s.Save(ctx, reg(user, "a", 1), 5); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, db)
		for range 2 {
			if err := sqlstore.Migrate(ctx, db); err != nil {
				t.Fatalf("Migrate again: %v", err)
			}
		}
		if got := snapshot(t, db); got != before {
			t.Errorf("Migrate on a current schema changed the database:\nbefore\n%s\nafter\n%s", before, got)
		}
		if !strings.Contains(before, `"1" "" ""`) || strings.Count(before, "\n") < 4 {
			t.Errorf("snapshot does not show the schema version 1:\n%s", before)
		}
	})
}

// TestConcurrentMigrate: several nodes starting at once on a new database.
func TestConcurrentMigrate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db := b.open(t)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if err := sqlstore.Migrate(t.Context(), db); err != nil {
					t.Errorf("concurrent Migrate: %v", err)
				}
			})
		}
		wg.Wait()
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM push_schema_version`).Scan(&n); err != nil || n != sqlstore.SchemaVersion {
			t.Errorf("schema versions recorded = %d, %v; want %d", n, err, sqlstore.SchemaVersion)
		}
		if _, err := sqlstore.New(t.Context(), db); err != nil {
			t.Errorf("New: %v", err)
		}
	})
}

// TestUnknownSchemaVersion: a database from a newer release is left alone.
func TestUnknownSchemaVersion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		t.Run("migrated", func(t *testing.T) {
			s, db := newStore(t, b)
			if _, _, err := s.Save(ctx, reg(user, "a", 1), 5); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO push_schema_version (version, applied) VALUES (99, 0)`); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, db)
			if err := sqlstore.Migrate(ctx, db); !errors.Is(err, sqlstore.ErrSchemaVersion) || !strings.Contains(err.Error(), "99") {
				t.Errorf("Migrate on version 99: err = %v, want ErrSchemaVersion naming 99", err)
			}
			if _, err := sqlstore.New(ctx, db); !errors.Is(err, sqlstore.ErrSchemaVersion) {
				t.Errorf("New on version 99: err = %v, want ErrSchemaVersion", err)
			}
			if got := snapshot(t, db); got != before {
				t.Errorf("Migrate changed a newer database:\nbefore\n%s\nafter\n%s", before, got)
			}
		})
		t.Run("only a version table", func(t *testing.T) {
			db := b.open(t)
			if _, err := db.ExecContext(ctx, `CREATE TABLE push_schema_version (version INTEGER NOT NULL PRIMARY KEY, applied BIGINT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO push_schema_version (version, applied) VALUES ($1, 0)`, sqlstore.SchemaVersion+1); err != nil {
				t.Fatal(err)
			}
			if err := sqlstore.Migrate(ctx, db); !errors.Is(err, sqlstore.ErrSchemaVersion) {
				t.Errorf("Migrate on version %d: err = %v, want ErrSchemaVersion", sqlstore.SchemaVersion+1, err)
			}
			if _, err := db.ExecContext(ctx, `SELECT 1 FROM push_registrations`); err == nil {
				t.Errorf("Migrate on a newer schema created push_registrations")
			}
		})
	})
}

// TestNewBeforeMigrate: New refuses a database without the schema.
func TestNewBeforeMigrate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db := b.open(t)
		if _, err := sqlstore.New(t.Context(), db); err == nil || !strings.Contains(err.Error(), "Migrate") {
			t.Errorf("New on an empty database: err = %v, want an error mentioning Migrate", err)
		}
		// A version table with no version yet (an interrupted first start).
		if _, err := db.Exec(`CREATE TABLE push_schema_version (version INTEGER NOT NULL PRIMARY KEY, applied BIGINT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		if _, err := sqlstore.New(t.Context(), db); !errors.Is(err, sqlstore.ErrSchemaVersion) {
			t.Errorf("New on schema version 0: err = %v, want ErrSchemaVersion", err)
		}
		if err := sqlstore.Migrate(t.Context(), db); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		if _, err := sqlstore.New(t.Context(), db); err != nil {
			t.Errorf("New after Migrate: %v", err)
		}
		if _, err := sqlstore.New(t.Context(), nil); err == nil {
			t.Errorf("New(nil) succeeded")
		}
	})
}

// TestSchemaByHand: applying Schema() by hand gives what Migrate gives.
func TestSchemaByHand(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		db := b.open(t)
		for _, stmt := range strings.Split(sqlstore.Schema(), ";\n") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		s, err := sqlstore.New(ctx, db)
		if err != nil {
			t.Fatalf("New after applying Schema(): %v", err)
		}
		if err := sqlstore.Migrate(ctx, db); err != nil {
			t.Fatalf("Migrate after applying Schema(): %v", err)
		}
		if _, _, err := s.Save(ctx, reg(user, "a", 1), 5); err != nil {
			t.Errorf("Save: %v", err)
		}
	})
}

// TestStoredFormat pins the column encodings the package documentation
// promises, which a database administrator may rely on.
func TestStoredFormat(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		s, db := newStore(t, b)
		r := registry.Registration{
			User: user, ID: "push.example.net<n", Generation: math.MaxUint64,
			Enabled: time.Unix(1700000000, 5).In(time.FixedZone("x", 3600)),
			Options: registry.NewForm("submit", registry.Field{Var: "v", Values: []string{"<&>"}}, registry.Field{Var: "e"}),
		}
		if _, _, err := s.Save(ctx, r, 5); err != nil {
			t.Fatal(err)
		}
		var (
			options      string
			enabled, gen int64
		)
		if err := db.QueryRowContext(ctx, `SELECT options, enabled, generation FROM push_registrations`).Scan(&options, &enabled, &gen); err != nil {
			t.Fatal(err)
		}
		const wantOptions = `{"type":"submit","fields":[{"var":"v","type":"","values":["<&>"]},{"var":"e","type":"","values":[]}]}`
		if options != wantOptions || enabled != 1700000000_000000005 || gen != -1 {
			t.Errorf("stored options %s, enabled %d, generation %d;\nwant %s, 1700000000000000005, -1", options, enabled, gen, wantOptions)
		}
	})
}

// TestContextCancelledMidway: a context cancelled while calls are under
// way leaves the store consistent (no partial writes); each call either
// succeeded or returned the context's error.
func TestContextCancelledMidway(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, _ := newStore(t, b)
		for i := range 30 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i*100)*time.Microsecond)
			_, _, err := s.Save(ctx, reg(user, "n"+strings.Repeat("x", i%4), uint64(i+1)), 2)
			cancel()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Save under a deadline: err = %v, want nil or DeadlineExceeded", err)
			}
		}
		regs, err := s.Load(t.Context(), user)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if len(regs) > 2 {
			t.Errorf("Load = %d registrations, more than the limit 2", len(regs))
		}
	})
}

package sqlstore_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/pushrules/pushrules/push2"
	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/sqlstore"
)

var push2Req = push2.Request{Service: "push2.example.net", Client: "dev", Matches: []push2.Match{{Profile: push2.MatchImportant,
	Grace: time.Minute, Filters: []push2.Filter{{JID: "room@muc.example.org", Mention: true}}, Send: push2.Send{Profile: push2.SendNotifyOnly}}}}

// TestMigratePush2 (schema version 6): the Push 2.0 registrations of a
// version 5 database become ordinary registrations, after their user's
// XEP-0357 ones, with their request, generation, errors and times kept;
// their table goes, and the device limit then counts both kinds.
func TestMigratePush2(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db := b.open(t)
		sqlstore.MigrateTo(t, db, 5)
		for _, q := range []string{
			`INSERT INTO push_registrations (username, identifier, options, enabled, generation, errors, position, last_used)
VALUES ('alice@example.org', 'push.example.net<A', NULL, 1700000000000000000, 7, 1, 4, 1700000000000000000)`,
			`INSERT INTO push_registrations (username, identifier, options, enabled, generation, errors, position, last_used)
VALUES ('alice@example.org', 'push.example.net<B', NULL, 1700000001000000000, 8, 0, 9, 1700000001000000000)`,
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		request, err := push2Req.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []struct {
			user, client string
			pos          int
			since        any
		}{{"alice@example.org", "c", 1, 1700000002000000000}, {"alice@example.org", "d", 2, nil}, {"bob@example.org", "c", 1, nil}} {
			if _, err := db.ExecContext(ctx, `INSERT INTO push2_registrations (username, client, request, enabled, generation, errors, position, failing_since)
VALUES ($1, $2, $3, 1800000000000000000, $4, $5, $6, $7)`, r.user, r.client, string(request), 10+r.pos, r.pos-1, r.pos, r.since); err != nil {
				t.Fatal(err)
			}
		}
		if err := sqlstore.Migrate(ctx, db); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		if _, err := db.ExecContext(ctx, `SELECT COUNT(*) FROM push2_registrations`); err == nil {
			t.Error("push2_registrations is still there")
		}
		s, err := sqlstore.New(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		regs, err := s.Load(ctx, "alice@example.org")
		if err != nil {
			t.Fatal(err)
		}
		enabled := time.Unix(0, 1800000000000000000).UTC()
		want := []registry.Registration{
			{User: "alice@example.org", ID: "push.example.net<A", Generation: 7, Errors: 1, Enabled: time.Unix(0, 1700000000000000000).UTC()},
			{User: "alice@example.org", ID: "push.example.net<B", Generation: 8, Enabled: time.Unix(0, 1700000001000000000).UTC()},
			{User: "alice@example.org", ID: registry.Push2Identifier("push2.example.net", "c"), Client: "c", Generation: 11, Enabled: enabled,
				FailingSince: time.Unix(0, 1700000002000000000).UTC(), Push2: &push2Req},
			{User: "alice@example.org", ID: registry.Push2Identifier("push2.example.net", "d"), Client: "d", Generation: 12, Errors: 1, Enabled: enabled,
				Push2: &push2Req},
		}
		if !reflect.DeepEqual(regs, want) {
			t.Errorf("alice after Migrate:\n got  %+v\n want %+v", regs, want)
		}
		if regs, err := s.Load(ctx, "bob@example.org"); err != nil || len(regs) != 1 || regs[0].Push2 == nil || regs[0].Generation != 11 {
			t.Errorf("bob after Migrate: %+v, %v", regs, err)
		}
		// The next enable counts both kinds against the limit.
		_, evicted, err := s.Save(ctx, registry.Registration{User: "alice@example.org", ID: "push.example.net<C", Generation: 13}, 3)
		if err != nil || len(evicted) != 2 || evicted[0].ID != "push.example.net<A" || evicted[1].ID != "push.example.net<B" {
			t.Errorf("Save under a limit of 3 evicted %+v, %v", evicted, err)
		}
		// Every Push 2.0 registration was moved, once: the current version
		// has nothing left to move.
		if err := sqlstore.Migrate(ctx, db); err != nil {
			t.Errorf("Migrate again: %v", err)
		}
	})
}

// TestMigratePush2Corrupt: a version 5 Push 2.0 row whose request does
// not decode stops the migration, which changes nothing.
func TestMigratePush2Corrupt(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db := b.open(t)
		sqlstore.MigrateTo(t, db, 5)
		if _, err := db.ExecContext(ctx, `INSERT INTO push2_registrations (username, client, request, enabled, generation, errors, position)
VALUES ('alice@example.org', 'c', '{"service": 1}', NULL, 3, 0, 1)`); err != nil {
			t.Fatal(err)
		}
		var ce *sqlstore.CorruptError
		if err := sqlstore.Migrate(ctx, db); !errors.As(err, &ce) || !errors.Is(err, sqlstore.ErrCorrupt) || ce.User != "alice@example.org" {
			t.Fatalf("Migrate = %v, want a CorruptError naming alice", err)
		}
		var n, v int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM push2_registrations`).Scan(&n); err != nil || n != 1 {
			t.Errorf("push2_registrations after a failed Migrate: %d rows, %v", n, err)
		}
		if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM push_schema_version`).Scan(&v); err != nil || v != 5 {
			t.Errorf("version after a failed Migrate: %d, %v", v, err)
		}
	})
}

// TestMigrateFromEveryVersion: a database of every earlier version,
// holding a XEP-0357 registration when it has the table, migrates to the
// current one with the registration kept and Push 2.0 registrations
// stored beside it.
func TestMigrateFromEveryVersion(t *testing.T) {
	for v := range sqlstore.SchemaVersion {
		ctx := context.Background()
		db := openSQLite(t)
		sqlstore.MigrateTo(t, db, v)
		if v >= 1 {
			if _, err := db.ExecContext(ctx, `INSERT INTO push_registrations (username, identifier, options, enabled, generation, errors, position)
VALUES ('alice@example.org', 'push.example.net<A', NULL, 1700000000000000000, 7, 1, 1)`); err != nil {
				t.Fatal(err)
			}
		}
		if err := sqlstore.Migrate(ctx, db); err != nil {
			t.Fatalf("Migrate from version %d: %v", v, err)
		}
		s, err := sqlstore.New(ctx, db)
		if err != nil {
			t.Fatalf("from version %d: %v", v, err)
		}
		p := registry.Registration{User: "alice@example.org", ID: registry.Push2Identifier("push2.example.net", "c"), Client: "c",
			Generation: 3, Push2: &push2Req}
		if _, _, err := s.Save(ctx, p, 0); err != nil {
			t.Fatalf("from version %d: Save: %v", v, err)
		}
		if regs, err := s.Load(ctx, "alice@example.org"); err != nil || len(regs) != 1+min(v, 1) || regs[len(regs)-1].Push2 == nil {
			t.Errorf("from version %d: Load = %+v, %v", v, regs, err)
		}
	}
}

// TestSaveKindMismatch: a Push 2.0 request under a XEP-0357 identifier,
// or a Push 2.0 identifier without one, is refused.
func TestSaveKindMismatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, _ := newStore(t, b)
		for _, reg := range []registry.Registration{
			{User: "alice@example.org", ID: "push.example.net<A", Generation: 1, Push2: &push2Req},
			{User: "alice@example.org", ID: registry.Push2Identifier("push2.example.net", "c"), Generation: 1},
		} {
			if _, _, err := s.Save(t.Context(), reg, 0); !errors.Is(err, sqlstore.ErrInvalid) {
				t.Errorf("Save(%q, Push2 %v) = %v, want ErrInvalid", reg.ID, reg.Push2 != nil, err)
			}
		}
		if regs, err := s.Load(t.Context(), "alice@example.org"); err != nil || len(regs) != 0 {
			t.Errorf("stored %+v, %v", regs, err)
		}
	})
}

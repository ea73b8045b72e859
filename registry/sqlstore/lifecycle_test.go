package sqlstore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/sqlstore"
)

// TestMigrateFromV2 opens a database as version 2 wrote it (version 1's
// tables; version 2 only rewrote identifiers), migrates it and checks
// every registration is kept as it was, with no history, and that the
// new columns work: Expire goes by the enable times version 2 stored.
func TestMigrateFromV2(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		db := b.open(t)
		for _, stmt := range schemaV1 {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		insertV1(t, db, `INSERT INTO push_schema_version (version, applied) VALUES (2, 0)`)
		const options = `{"type":"submit","fields":[{"var":"secret","type":"","values":["s"]}]}`
		old := time.Unix(1700000000, 5).UTC()
		want := []registry.Registration{
			{User: "alice@example.org", ID: registry.NewIdentifier("push.example.net", "A"), Enabled: old, Generation: 11, Errors: 2,
				Options: registry.NewForm("submit", registry.Field{Var: "secret", Values: []string{"s"}})},
			{User: "alice@example.org", ID: registry.NewIdentifier("push.example.net", "B"), Enabled: old.Add(time.Hour), Generation: 12},
		}
		insertV1(t, db, `INSERT INTO push_users (username, version) VALUES ('alice@example.org', 2)`)
		insertV1(t, db, `INSERT INTO push_registrations (username, identifier, options, enabled, generation, errors, position) VALUES ($1, $2, $3, $4, $5, $6, 1)`,
			want[0].User, string(want[0].ID), options, want[0].Enabled.UnixNano(), 11, 2)
		insertV1(t, db, `INSERT INTO push_registrations (username, identifier, options, enabled, generation, errors, position) VALUES ($1, $2, NULL, $3, $4, 0, 2)`,
			want[1].User, string(want[1].ID), want[1].Enabled.UnixNano(), 12)

		if err := sqlstore.Migrate(ctx, db); err != nil {
			t.Fatalf("Migrate from version 2: %v", err)
		}
		s, err := sqlstore.New(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Load(ctx, "alice@example.org")
		if err != nil || len(got) != 2 {
			t.Fatalf("Load = %+v, %v", got, err)
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.ID != w.ID || !g.Enabled.Equal(w.Enabled) || g.Generation != w.Generation || g.Errors != w.Errors || g.Options != w.Options ||
				!g.LastSuccess.IsZero() || !g.FailingSince.IsZero() || g.LastError != "" {
				t.Errorf("#%d after Migrate: %+v, want %+v", i, g, w)
			}
		}
		// B was pushed to later: only A is unused past the limit.
		if err := s.Succeed(ctx, "alice@example.org", want[1].ID, 12, old.Add(48*time.Hour)); err != nil {
			t.Fatal(err)
		}
		removed, err := s.Expire(ctx, old.Add(24*time.Hour))
		if err != nil || len(removed) != 1 || removed[0].ID != want[0].ID || removed[0].Errors != 2 {
			t.Fatalf("Expire = %+v, %v", removed, err)
		}
		if b.sqlite {
			var plan strings.Builder
			rows, err := db.QueryContext(ctx, `EXPLAIN QUERY PLAN DELETE FROM push_registrations WHERE last_used < 1`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var a, b, c any
				var detail string
				if err := rows.Scan(&a, &b, &c, &detail); err != nil {
					t.Fatal(err)
				}
				plan.WriteString(detail + "\n")
			}
			rows.Close()
			if !strings.Contains(plan.String(), "push_registrations_last_used") {
				t.Errorf("Expire's statement does not use the index:\n%s", plan.String())
			}
		}
	})
}

func TestExpireInvalid(t *testing.T) {
	s, _ := newStore(t, backends[0])
	if _, err := s.Expire(t.Context(), time.Time{}); err == nil {
		t.Error("Expire before the zero time accepted")
	}
	if _, err := s.Fail(t.Context(), "a@example.org", registry.NewIdentifier("p", "n"), 1, time.Time{}.Add(-1), "x"); err == nil {
		t.Error("Fail at an impossible time accepted")
	}
}

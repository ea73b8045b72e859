package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/pushrules/pushrules/push2"
	"github.com/pushrules/pushrules/registry"
)

// migrateTo brings an empty database to version v as the releases of
// each version did (their migrations, in order).
func migrateTo(t *testing.T, db *sql.DB, v int) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, versionTable); err != nil {
		t.Fatal(err)
	}
	for next := 1; next <= v; next++ {
		m := migrations[next-1]
		for _, stmt := range m.stmts {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("version %d: %v", next, err)
			}
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO push_schema_version (version, applied) VALUES ($1, 0)`, next); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMigratePush2FromEveryVersion: a database of every earlier version,
// holding a XEP-0357 registration when it has the table, migrates to the
// current one with the registration kept and Push 2.0 registrations
// working.
func TestMigratePush2FromEveryVersion(t *testing.T) {
	for v := range SchemaVersion {
		ctx := context.Background()
		db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "p.db")+"?_pragma=busy_timeout(20000)&_txlock=immediate")
		if err != nil {
			t.Fatal(err)
		}
		migrateTo(t, db, v)
		if v >= 1 {
			if _, err := db.ExecContext(ctx, `INSERT INTO push_registrations (username, identifier, options, enabled, generation, errors, position)
VALUES ('alice@example.org', 'push.example.net<A', NULL, 1700000000000000000, 7, 1, 1)`); err != nil {
				t.Fatal(err)
			}
		}
		if err := Migrate(ctx, db); err != nil {
			t.Fatalf("Migrate from version %d: %v", v, err)
		}
		s, err := New(ctx, db)
		if err != nil {
			t.Fatalf("from version %d: %v", v, err)
		}
		if regs, err := s.Load(ctx, "alice@example.org"); err != nil || (v >= 1) != (len(regs) == 1) {
			t.Errorf("from version %d: Load = %+v, %v", v, regs, err)
		}
		req := push2.Request{Service: "push2.example.net", Client: "dev", Matches: []push2.Match{{Profile: push2.MatchAll,
			Send: push2.Send{Profile: push2.SendNotifyOnly}}}}
		reg := registry.Push2Registration{User: "alice@example.org", Client: "c", Request: req, Generation: 3,
			Enabled: time.Unix(1800000000, 0).UTC()}
		if _, _, err := s.SavePush2(ctx, reg, 0); err != nil {
			t.Fatalf("from version %d: SavePush2: %v", v, err)
		}
		if got, err := s.LoadPush2(ctx, "alice@example.org"); err != nil || len(got) != 1 || got[0].Client != "c" || !got[0].Enabled.Equal(reg.Enabled) {
			t.Errorf("from version %d: LoadPush2 = %+v, %v", v, got, err)
		}
		db.Close()
	}
}

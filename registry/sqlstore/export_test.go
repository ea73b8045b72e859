package sqlstore

import (
	"context"
	"database/sql"
	"testing"
)

// MigrateTo brings an empty database to schema version v as the releases
// of each version did: their statements, in order, without the data steps
// (which have no rows to change in an empty database).
func MigrateTo(tb testing.TB, db *sql.DB, v int) {
	tb.Helper()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, versionTable); err != nil {
		tb.Fatal(err)
	}
	for next := 1; next <= v; next++ {
		m := migrations[next-1]
		for _, stmt := range append(m.stmts, m.after...) {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				tb.Fatalf("version %d: %v", next, err)
			}
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO push_schema_version (version, applied) VALUES ($1, 0)`, next); err != nil {
			tb.Fatal(err)
		}
	}
}

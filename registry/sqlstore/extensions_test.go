package sqlstore_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/sqlstore"
)

// schemaV3Stmts are the statements that brought the schema from version 2
// to version 3, exactly as that release ran them, frozen here so that the
// test keeps building version 3 databases whatever later versions change.
var schemaV3Stmts = []string{
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
	`INSERT INTO push_schema_version (version, applied) VALUES (3, 0)`,
}

// TestMigrateExtensions opens databases written by schema versions 2 and
// 3 (no extensions column), migrates them, reads their registrations back
// with no extensions, and stores and replaces extensions in them.
func TestMigrateExtensions(t *testing.T) {
	for _, from := range []int{2, 3} {
		t.Run(fmt.Sprint("from version ", from), func(t *testing.T) { migrateExtensions(t, from) })
	}
}

func migrateExtensions(t *testing.T, from int) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		db := b.open(t)
		for _, stmt := range schemaV1 {
			insertV1(t, db, stmt)
		}
		insertV1(t, db, `INSERT INTO push_schema_version (version, applied) VALUES (2, 0)`)
		if from == 3 {
			for _, stmt := range schemaV3Stmts {
				insertV1(t, db, stmt)
			}
		}
		insertV1(t, db, `INSERT INTO push_users (username, version) VALUES ('alice@example.org', 2)`)
		insertV1(t, db, `INSERT INTO push_registrations (username, identifier, options, enabled, generation, errors, position)
VALUES ('alice@example.org', 'push.example.net<A', NULL, 1700000000000000000, 11, 2, 1)`)
		if err := sqlstore.Migrate(ctx, db); err != nil {
			t.Fatalf("Migrate from version %d: %v", from, err)
		}
		s, err := sqlstore.New(ctx, db)
		if err != nil {
			t.Fatalf("New after Migrate: %v", err)
		}
		got, err := s.Load(ctx, "alice@example.org")
		if err != nil || len(got) != 1 || got[0].Generation != 11 || got[0].Errors != 2 || !got[0].Extensions.IsZero() {
			t.Fatalf("Load after Migrate = %+v, %v; want generation 11, 2 errors, no extensions", got, err)
		}
		ext, err := registry.NewExtensions(registry.ExtensionSettings{Priority: true,
			Encrypt: &registry.Encryption{Alg: registry.AlgAES128GCM, Key: [registry.KeySize]byte{1, 2, 3}}})
		if err != nil {
			t.Fatal(err)
		}
		r := got[0]
		r.Extensions, r.Enabled = ext, time.Unix(1700000001, 0)
		if saved, _, err := s.Save(ctx, r, 5); err != nil || saved.Extensions != ext || saved.Generation != 11 {
			t.Fatalf("Save with extensions = %+v, %v", saved, err)
		}
		if got, err := s.Load(ctx, "alice@example.org"); err != nil || len(got) != 1 || got[0].Extensions != ext {
			t.Errorf("Load = %+v, %v; want the extensions saved", got, err)
		}
	})
}

// TestCorruptExtensions: an extensions column that does not decode fails
// the read with a *CorruptError that does not quote the column (it may
// hold a key).
func TestCorruptExtensions(t *testing.T) {
	const secret = "c2VjcmV0LWtleS1ieXRlcw=="
	cases := map[string]string{
		"bad JSON":      `{"encrypt":{"alg":"aes-128-gcm","key":"` + secret,
		"JSON null":     `null`,
		"bad key":       `{"encrypt":{"alg":"aes-128-gcm","key":"` + secret + `x"}}`,
		"unknown alg":   `{"encrypt":{"alg":"rot13","key":"` + secret + `"}}`,
		"wrong shape":   `{"muted":"` + secret + `"}`,
		"bad room rule": `{"groupchat":{"rooms":[{"jid":"r@muc.example.net","allow":"` + secret + `"}]}}`,
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for name, text := range cases {
			t.Run(name, func(t *testing.T) {
				ctx := t.Context()
				s, db := newStore(t, b)
				insertV1(t, db, `INSERT INTO push_registrations (username, identifier, options, enabled, generation, errors, position, extensions)
VALUES ('alice@example.org', 'push.example.net<A', NULL, NULL, 7, 0, 1, $1)`, text)
				_, err := s.Load(ctx, "alice@example.org")
				var ce *sqlstore.CorruptError
				if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "extensions") {
					t.Fatalf("Load = %v; want a *CorruptError about the extensions", err)
				}
				if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "c2VjcmV0") {
					t.Errorf("the error quotes the column: %v", err)
				}
			})
		}
	})
}

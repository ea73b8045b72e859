package sqlstore_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pushrules/pushrules/internal/jid"
	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/sqlstore"
)

// schemaV1 is the schema of version 1 exactly as that release created it,
// frozen here so that the test keeps building version 1 databases whatever
// later versions change.
var schemaV1 = []string{
	`CREATE TABLE IF NOT EXISTS push_schema_version (
	version INTEGER NOT NULL PRIMARY KEY,
	applied BIGINT NOT NULL
)`,
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
	`INSERT INTO push_schema_version (version, applied) VALUES (1, 0)`,
}

// TestMigrateIdentifiersFromV1 builds a version 1 database holding rows as
// version 1 wrote them (identifier jid+"<"+node, read back split at the
// first '<'), migrates it, and checks every registration reads back as
// version 1 read it.
func TestMigrateIdentifiersFromV1(t *testing.T) {
	const options = `{"type":"submit","fields":[{"var":"v","type":"","values":["<&>"]}]}`
	wantForm := registry.NewForm("submit", registry.Field{Var: "v", Values: []string{"<&>"}})
	// Each text is what version 1 stored for the (jid, node) a client sent.
	texts := map[string][]string{
		"alice@example.org": {
			"push.example.net<A",
			"push.example.net<",
			"push.example.net<n<&'\"> é",
			`push.example.net/a\b<n`,
			`push.example.net/a\<n`,    // jid `…/a\`; its new text is the old text of the next row
			`push.example.net/a\\<n`,   // jid `…/a\\`
			`push.example.net/a\\\\<n`, // and once more
			`push.example.net/a\<<n`,   // jid `…/a\`, node "<n"
			"push.example.net/a<b<c",   // sent as (…/a<b, c): version 1 reads (…/a, b<c), and so does version 2
			`\<\`,
		},
		"bob@example.org": {`x\y<z`, "push.example.net<A"},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		db := b.open(t)
		for _, stmt := range schemaV1 {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		type v1reg struct {
			jid, node string
			reg       registry.Registration
		}
		want := map[string][]v1reg{}
		for user, ids := range texts {
			insertV1(t, db, `INSERT INTO push_users (username, version) VALUES ($1, $2)`, user, len(ids))
			for i, text := range ids {
				r := registry.Registration{User: user, Generation: uint64(100 + i), Errors: i % 3, Enabled: time.Unix(1700000000+int64(i), 7).UTC()}
				var opts any
				if i%2 == 0 {
					opts, r.Options = options, wantForm
				}
				insertV1(t, db, `INSERT INTO push_registrations (username, identifier, options, enabled, generation, errors, position) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
					user, text, opts, r.Enabled.UnixNano(), int64(r.Generation), r.Errors, i+1)
				jid, node, _ := strings.Cut(text, "<") // how version 1 reads it
				want[user] = append(want[user], v1reg{jid, node, r})
			}
		}
		// A row version 1 already found corrupt (no '<') stays as it is.
		insertV1(t, db, `INSERT INTO push_registrations (username, identifier, options, enabled, generation, errors, position) VALUES ('carol@example.org', 'a\b', NULL, NULL, 1, 0, 1)`)

		if err := sqlstore.Migrate(ctx, db); err != nil {
			t.Fatalf("Migrate from version 1: %v", err)
		}
		s, err := sqlstore.New(ctx, db)
		if err != nil {
			t.Fatalf("New after Migrate: %v", err)
		}
		for user, regs := range want {
			got, err := s.Load(ctx, user)
			if err != nil || len(got) != len(regs) {
				t.Fatalf("Load(%s) = %d registrations, %v; want %d", user, len(got), err, len(regs))
			}
			for i, w := range regs {
				g := got[i]
				if g.ID.JID() != w.jid || g.ID.Node() != w.node || g.ID != registry.NewIdentifier(w.jid, w.node) ||
					g.User != user || g.Generation != w.reg.Generation || g.Errors != w.reg.Errors ||
					!g.Enabled.Equal(w.reg.Enabled) || g.Options != w.reg.Options {
					t.Errorf("%s #%d: got %q (jid %q, node %q) %+v; want jid %q, node %q, %+v",
						user, i, g.ID, g.ID.JID(), g.ID.Node(), g, w.jid, w.node, w.reg)
				}
			}
		}
		var carol string
		if err := db.QueryRowContext(ctx, `SELECT identifier FROM push_registrations WHERE username = 'carol@example.org'`).Scan(&carol); err != nil || carol != `a\b` {
			t.Errorf("the corrupt row of version 1 became %q, %v; want it unchanged", carol, err)
		}

		// A disable naming the pair version 1 read removes that one only.
		w := want["alice@example.org"][4]
		removed, err := s.Delete(ctx, "alice@example.org", registry.NewIdentifier(w.jid, w.node))
		if err != nil || len(removed) != 1 || removed[0].Generation != w.reg.Generation {
			t.Errorf("Delete of (%q, %q) = %+v, %v; want generation %d", w.jid, w.node, removed, err, w.reg.Generation)
		}
		before := snapshot(t, db)
		if err := sqlstore.Migrate(ctx, db); err != nil {
			t.Fatalf("Migrate again: %v", err)
		}
		if got := snapshot(t, db); got != before {
			t.Errorf("Migrate on version %d changed the database:\nbefore\n%s\nafter\n%s", sqlstore.SchemaVersion, before, got)
		}
	})
}

func insertV1(t *testing.T, db *sql.DB, stmt string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(t.Context(), stmt, args...); err != nil {
		t.Fatalf("%s %v: %v", stmt, args, err)
	}
}

// FuzzIdentifierRoundTrip: every push service JID the address parser
// accepts, with any node that can be stored (UTF-8 without NUL), comes back
// from Save and Load on SQLite as the same (jid, node) pair, and the pair
// saved again replaces the stored registration rather than adding one.
func FuzzIdentifierRoundTrip(f *testing.F) {
	for _, seed := range [][2]string{
		{"push.example.net", "A"},
		{"push.example.net", ""},
		{"push.example.net/a<b", "c"},
		{"push.example.net/a", "b<c"},
		{`push.example.net/a\`, `<\`},
		{`user\@push.example.net/r\\<`, "<<"},
		{"用户@例子.测试/é<", "ñ"},
		{"ＰＵＳＨ.example.net", "x"},
	} {
		f.Add(seed[0], seed[1])
	}
	db := openSQLite(f)
	ctx := context.Background()
	if err := sqlstore.Migrate(ctx, db); err != nil {
		f.Fatal(err)
	}
	s, err := sqlstore.New(ctx, db)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, service, node string) {
		if _, err := jid.Prepare(service); err != nil || strings.IndexByte(node, 0) >= 0 || !utf8.ValidString(node) {
			t.Skip()
		}
		const user = "fuzz@example.org"
		if _, err := s.DeleteUser(ctx, user); err != nil {
			t.Fatal(err)
		}
		id := registry.NewIdentifier(service, node)
		for gen := range uint64(2) {
			if _, _, err := s.Save(ctx, registry.Registration{User: user, ID: id, Generation: gen + 1}, 0); err != nil {
				t.Fatalf("Save(%q, %q): %v", service, node, err)
			}
		}
		got, err := s.Load(ctx, user)
		if err != nil || len(got) != 1 || got[0].ID.JID() != service || got[0].ID.Node() != node || got[0].Generation != 1 {
			t.Fatalf("(%q, %q) saved twice, loaded %+v, %v", service, node, got, err)
		}
	})
}

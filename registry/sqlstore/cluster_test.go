package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/sqlstore"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	phone  = "juliet@example.org/phone"
	tablet = "juliet@example.org/tablet"
	juliet = "juliet@example.org"
)

func engineOver(t *testing.T, st registry.Store, maxErrors int) *push.Engine {
	t.Helper()
	e, err := push.New(push.Config{Store: st, MaxErrors: maxErrors})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func enable(t *testing.T, e *push.Engine, session, node string) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.Handle(ctx, events.SessionOpened{Now: t0, Session: session}); err != nil {
		t.Fatal(err)
	}
	d, err := e.Handle(ctx, events.IQ{Now: t0, Session: session, ID: "e", Payload: []byte(
		"<enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='" + node + "'><x xmlns='jabber:x:data' type='submit'>" +
			"<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>" +
			"<field var='secret'><value>s-" + node + "</value></field></x></enable>")})
	if err != nil || len(d.Replies) != 1 || d.Replies[0].Error != nil {
		t.Fatalf("enable %s: %+v %v", node, d.Replies, err)
	}
}

func offline(t *testing.T, e *push.Engine, key events.Key) []push.Publish {
	t.Helper()
	d, err := e.OfflineMessage(context.Background(), events.OfflineMessage{Now: t0.Add(time.Second), User: juliet,
		Stanza: events.Stanza{Key: key, Kind: events.KindMessage, Type: "chat", Body: "hi", HasBody: true}})
	if err != nil {
		t.Fatal(err)
	}
	return d.Publishes
}

func nodes(pubs []push.Publish) map[string]string {
	out := map[string]string{}
	for _, p := range pubs {
		secret, _ := p.Options.Value("secret")
		out[p.Node()] = secret
	}
	return out
}

// TestTwoNodesShareRegistrations runs two engines (two server nodes) over
// one database: what one enables, disables or removes for errors, the other
// sees at once.
func TestTwoNodesShareRegistrations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		storeA, db := newStore(t, b)
		storeB, err := sqlstore.New(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		nodeA, nodeB := engineOver(t, storeA, 1), engineOver(t, storeB, 1)

		// An enable through A is used by an offline push decided by B,
		// publish-options included.
		enable(t, nodeA, phone, "A")
		enable(t, nodeA, tablet, "B")
		if got := nodes(offline(t, nodeB, 1)); len(got) != 2 || got["A"] != "s-A" || got["B"] != "s-B" {
			t.Fatalf("node B pushed %v", got)
		}

		// A registration removed by max errors on B is gone for A.
		pubs := offline(t, nodeB, 2)
		for _, p := range pubs {
			if p.Node() != "B" {
				continue
			}
			if _, err := nodeB.Handle(context.Background(), events.PublishResult{Now: t0.Add(2 * time.Second), ID: p.ID, From: p.To(),
				Error: &events.StanzaError{Type: "cancel", Condition: "item-not-found"}}); err != nil {
				t.Fatal(err)
			}
		}
		if got := nodes(offline(t, nodeA, 3)); len(got) != 1 || got["A"] == "" {
			t.Fatalf("node A pushed %v after B removed a registration", got)
		}

		// A disable through B is seen by A.
		d, err := nodeB.Handle(context.Background(), events.IQ{Now: t0, Session: "juliet@example.org/desktop", ID: "d",
			Payload: []byte("<disable xmlns='urn:xmpp:push:0' jid='push.example.net'/>")})
		if err != nil || d.Replies[0].Error != nil {
			t.Fatalf("disable: %+v %v", d.Replies, err)
		}
		if got := offline(t, nodeA, 4); len(got) != 0 {
			t.Fatalf("node A pushed %v after B disabled everything", nodes(got))
		}
	})
}

// TestRestartKeepsRegistrations: a new engine over the same database (a
// restarted server) keeps every registration.
func TestRestartKeepsRegistrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "push.db")
	ctx := context.Background()
	db := openSQLiteFile(t, path)
	if err := sqlstore.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	before := engineOver(t, st, 16)
	for _, n := range []string{"A", "B", "C"} {
		enable(t, before, juliet+"/"+n, n)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openSQLiteFile(t, path)
	if err := sqlstore.Migrate(ctx, db); err != nil { // safe on every start
		t.Fatal(err)
	}
	st, err = sqlstore.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	after := engineOver(t, st, 16)
	got := nodes(offline(t, after, 1))
	if len(got) != 3 || got["A"] != "s-A" || got["C"] != "s-C" {
		t.Fatalf("after restart: %v", got)
	}
}

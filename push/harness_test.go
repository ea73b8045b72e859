package push

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

const (
	phone   = "juliet@example.org/phone"
	tablet  = "juliet@example.org/tablet"
	desktop = "juliet@example.org/desktop"
	juliet  = "juliet@example.org"
	romeo   = "romeo@montague.example/orchard"
	service = "push.example.net"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return epoch.Add(time.Duration(sec * float64(time.Second))) }

// flakyStore fails reads and/or writes on demand.
type flakyStore struct {
	registry.Store
	reads, writes atomic.Bool
}

var errFlaky = errors.New("flaky store")

func (f *flakyStore) Load(ctx context.Context, user string) ([]registry.Registration, error) {
	if f.reads.Load() {
		return nil, errFlaky
	}
	return f.Store.Load(ctx, user)
}

func (f *flakyStore) Save(ctx context.Context, r registry.Registration, max int) (registry.Registration, []registry.Registration, error) {
	if f.writes.Load() {
		return registry.Registration{}, nil, errFlaky
	}
	return f.Store.Save(ctx, r, max)
}

func (f *flakyStore) Delete(ctx context.Context, user string, ids ...registry.Identifier) ([]registry.Registration, error) {
	if f.writes.Load() {
		return nil, errFlaky
	}
	return f.Store.Delete(ctx, user, ids...)
}

func (f *flakyStore) DeleteUser(ctx context.Context, user string) ([]registry.Registration, error) {
	if f.writes.Load() {
		return nil, errFlaky
	}
	return f.Store.DeleteUser(ctx, user)
}

func (f *flakyStore) AddError(ctx context.Context, user string, id registry.Identifier, gen uint64) (int, error) {
	if f.writes.Load() {
		return 0, errFlaky
	}
	return f.Store.AddError(ctx, user, id, gen)
}

func (f *flakyStore) ResetErrors(ctx context.Context, user string, id registry.Identifier, gen uint64) error {
	if f.writes.Load() {
		return errFlaky
	}
	return f.Store.ResetErrors(ctx, user, id, gen)
}

// harness drives an engine in tests and fails the test on Go errors.
type harness struct {
	t     *testing.T
	e     *Engine
	store *flakyStore
	key   events.Key
	lastB Publish // a publish to node B left unanswered, for fault tests
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	st := &flakyStore{Store: registry.NewMemory()}
	cfg.Store = st
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, e: e, store: st}
}

// must fails the test on an error, except a Store failure while the
// harness's store is set to fail: its decisions are still carried out.
func (h *harness) must(d Decisions, err error) Decisions {
	h.t.Helper()
	if err == nil {
		return d
	}
	var se *StoreError
	if !errors.As(err, &se) || !errors.Is(err, ErrStore) {
		h.t.Fatal(err)
	}
	if h.store != nil && !h.store.reads.Load() && !h.store.writes.Load() {
		h.t.Fatalf("store error while the store works: %v", err)
	}
	return d
}

func (h *harness) open(now time.Time, s string) {
	h.t.Helper()
	h.must(h.e.Handle(context.Background(), events.SessionOpened{Now: now, Session: s}))
}

func (h *harness) close(now time.Time, s string) {
	h.t.Helper()
	h.must(h.e.Handle(context.Background(), events.SessionClosed{Now: now, Session: s}))
}

func (h *harness) iq(now time.Time, s, xml string) Decisions {
	h.t.Helper()
	return h.must(h.e.Handle(context.Background(), events.IQ{Now: now, Session: s, ID: "i", Payload: []byte(xml)}))
}

// enable enables service<node for s and fails unless the reply is a result.
func (h *harness) enable(now time.Time, s, node string) Decisions {
	h.t.Helper()
	d := h.iq(now, s, "<enable xmlns='urn:xmpp:push:0' jid='"+service+"' node='"+node+"'/>")
	if len(d.Replies) != 1 || d.Replies[0].Error != nil {
		h.t.Fatalf("enable %s: replies %+v", node, d.Replies)
	}
	return d
}

func (h *harness) hibernate(now time.Time, s string, queue ...events.Stanza) Decisions {
	h.t.Helper()
	return h.must(h.e.HibernationStart(context.Background(), events.HibernationStarted{Now: now, Session: s, Queue: queue}))
}

func (h *harness) queued(now time.Time, s string, st events.Stanza) Decisions {
	h.t.Helper()
	return h.must(h.e.StanzaQueued(context.Background(), events.StanzaQueued{Now: now, Session: s, Stanza: st}))
}

func (h *harness) offline(now time.Time, st events.Stanza) Decisions {
	h.t.Helper()
	return h.must(h.e.OfflineMessage(context.Background(), events.OfflineMessage{Now: now, User: juliet, Stanza: st}))
}

func (h *harness) archived(now time.Time, st events.Stanza) Decisions {
	h.t.Helper()
	return h.must(h.e.ArchiveAdded(context.Background(), events.MessageArchived{Now: now, User: juliet, Stanza: st}))
}

func (h *harness) respond(now time.Time, p Publish, errType, cond string) Decisions {
	h.t.Helper()
	ev := events.PublishResult{Now: now, ID: p.ID, From: p.To()}
	if errType != "" {
		ev.Error = &events.StanzaError{Type: errType, Condition: cond}
	}
	return h.must(h.e.Handle(context.Background(), ev))
}

func (h *harness) registrations() []registry.Identifier {
	h.t.Helper()
	regs, err := h.store.Store.Load(context.Background(), juliet)
	if err != nil {
		h.t.Fatal(err)
	}
	out := []registry.Identifier{}
	for _, r := range regs {
		out = append(out, r.ID)
	}
	return out
}

// nextKey returns a fresh stanza identity.
func (h *harness) nextKey() events.Key {
	h.key++
	return h.key
}

func (h *harness) chat(body string) events.Stanza {
	return events.Stanza{Key: h.nextKey(), Kind: events.KindMessage, Type: "chat", From: romeo, To: juliet, Body: body, HasBody: true}
}

func (h *harness) chatState() events.Stanza {
	return events.Stanza{Key: h.nextKey(), Kind: events.KindMessage, Type: "chat", From: romeo, To: juliet}
}

func (h *harness) presence() events.Stanza {
	return events.Stanza{Key: h.nextKey(), Kind: events.KindPresence, From: romeo, To: phone}
}

// pushes summarises publishes as "node:body" strings (body "∅" when empty).
func pushes(d Decisions) []string {
	out := []string{}
	for _, p := range d.Publishes {
		b := p.Body
		if b == "" {
			b = "∅"
		}
		out = append(out, p.Node()+":"+b)
	}
	return out
}

func timeouts(d Decisions) []time.Duration {
	out := []time.Duration{}
	for _, t := range d.Timeouts {
		out = append(out, t.Duration)
	}
	return out
}

// sameStanzaError reports whether err is a stanza error equal to want
// (the engine hands out copies of its stanza errors).
func sameStanzaError(err error, want *events.StanzaError) bool {
	var se *events.StanzaError
	if !errors.As(err, &se) || se == nil || want == nil {
		return se == nil && want == nil
	}
	return *se == *want
}

package push

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push2"
	"github.com/pushrules/pushrules/registry"
)

// The answers to Push 2.0 notifications: errors, retries, timeouts, ids.

// TestPush2Errors: error answers are matched by id and sender; MaxErrors
// of them remove the registration.
func TestPush2Errors(t *testing.T) {
	store := registry.NewMemory()
	e, err := New(Config{Store: store, MaxErrors: 2})
	if err != nil {
		t.Fatal(err)
	}
	enabled2(t, e, phone, enable2(t, nil, push2.Match{Profile: push2.MatchAll}))
	mustHandle(t, e, events.SessionClosed{Now: at(1), Session: phone})
	fail := &events.StanzaError{Type: "cancel", Condition: "item-not-found"}
	for i, s := range []struct {
		from   string
		errors int
		stored bool
	}{
		{"evil.example", 0, true},
		{service2, 1, true},
		{service2, 0, false}, // the second error removes it
	} {
		d := mustHandle(t, e, events.OfflineMessage{Now: at(2), User: juliet, Stanza: chat("x", events.Key(100+i))})
		if len(d.Notifications) != 1 {
			t.Fatalf("step %d: %d notifications", i, len(d.Notifications))
		}
		mustHandle(t, e, events.PublishResult{Now: at(3), ID: d.Notifications[0].ID, From: s.from, Error: fail})
		regs := stored2(t, store, juliet)
		if (len(regs) == 1) != s.stored || s.stored && regs[0].Errors != s.errors {
			t.Fatalf("step %d: stored %+v", i, regs)
		}
	}
	if got := e.Stats().AnswersForeign; got != 1 {
		t.Errorf("AnswersForeign = %d", got)
	}
}

// FuzzNotificationID: an answer's id is opened without panicking; only
// the ids the engine made name a pending notification, each its own.
func FuzzNotificationID(f *testing.F) {
	e, err := New(Config{IDSecret: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	var made []string
	for i := range 3 {
		n := &Notification{User: juliet, reg: registry.Push2Identifier(service2, "c"), gen: uint64(i + 1)}
		made = append(made, e.sealUUID(at(0), n, nil))
	}
	for _, id := range made {
		f.Add(id)
	}
	f.Add("00000000-0000-0000-0000-000000000000")
	f.Add("zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz")
	f.Fuzz(func(t *testing.T, id string) {
		ps, seq, ok := e.pendingOf(id)
		if !ok {
			return
		}
		ps.mu.Lock()
		p, found := ps.peek(seq)
		ps.mu.Unlock()
		i := slices.IndexFunc(made, func(m string) bool { return strings.EqualFold(m, id) })
		if found && (i < 0 || p.gen != uint64(i+1)) {
			t.Fatalf("id %q opens to pending generation %d, made: %d", id, p.gen, i)
		}
	})
}

// TestPush2Retry: a wait error is retried under the retry policy, with a
// new id, while the registration is stored; a timeout counts nothing.
func TestPush2Retry(t *testing.T) {
	ctx := context.Background()
	store := registry.NewMemory()
	e, err := New(Config{Store: store, IDSecret: "r", Errors: ErrorPolicy{MaxTimeouts: 1, Retry: RetryPolicy{Attempts: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	enabled2(t, e, phone, enable2(t, nil, push2.Match{Profile: push2.MatchAll}))
	mustHandle(t, e, events.SessionClosed{Now: at(1), Session: phone})
	d := mustHandle(t, e, events.OfflineMessage{Now: at(2), User: juliet, Stanza: chat("x", 1)})
	first := d.Notifications[0]
	wait := &events.StanzaError{Type: "wait", Condition: "resource-constraint"}
	d = mustHandle(t, e, events.PublishResult{Now: at(3), ID: first.ID, From: service2, Error: wait})
	if d.Wake.IsZero() || len(d.Notifications) != 0 {
		t.Fatalf("after a wait error: wake %v, %d notifications", d.Wake, len(d.Notifications))
	}
	d = e.Wake(ctx, d.Wake)
	if len(d.Notifications) != 1 {
		t.Fatalf("retry: %d notifications", len(d.Notifications))
	}
	retry := d.Notifications[0]
	if retry.ID == first.ID || retry.Client != first.Client || retry.Stanza != first.Stanza {
		t.Errorf("retry %+v of %+v", retry, first)
	}
	// The budget is spent: a second wait error is dropped.
	d = mustHandle(t, e, events.PublishResult{Now: at(200), ID: retry.ID, From: service2, Error: wait})
	if !d.Wake.IsZero() {
		t.Errorf("a second wait error scheduled %v", d.Wake)
	}
	// An unanswered notification times out without counting.
	if d := mustHandle(t, e, events.OfflineMessage{Now: at(300), User: juliet, Stanza: chat("y", 2)}); len(d.Notifications) != 1 {
		t.Fatalf("%d notifications", len(d.Notifications))
	}
	e.Wake(ctx, at(2000))
	if regs := stored2(t, store, juliet); len(regs) != 1 || regs[0].Errors != 0 {
		t.Errorf("after timeouts: %+v", regs)
	}
	if st := e.Stats(); st.PublishesRetried != 1 || st.PublishesExpired == 0 {
		t.Errorf("PublishesRetried = %d, PublishesExpired = %d", st.PublishesRetried, st.PublishesExpired)
	}
}

// TestPush2Driver: a Driver hands notifications to Notify.
func TestPush2Driver(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	var got []Notification
	drv, err := NewDriver(e, DriverConfig{Sender: SenderFunc(func(context.Context, Publish) error { return nil }),
		Notify: func(n Notification) { got = append(got, n) }, Now: func() time.Time { return at(5) }})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	enabled2(t, e, phone, enable2(t, nil, push2.Match{Profile: push2.MatchAll}))
	mustHandle(t, e, events.SessionClosed{Now: at(1), Session: phone})
	if err := drv.Handle(context.Background(), events.OfflineMessage{User: juliet, Stanza: chat("hi", 1)}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Client != "phone" || !got[0].Now.Equal(at(5)) {
		t.Errorf("Notify got %+v", got)
	}
}

// TestPush2FailureSpan: a run of errors that lasts ErrorPolicy.FailureSpan
// removes the registration; a notification left unanswered (a success
// for Push 2.0) ends the run.
func TestPush2FailureSpan(t *testing.T) {
	ctx := context.Background()
	fail := &events.StanzaError{Type: "cancel", Condition: "item-not-found"}
	newEngine := func() (*Engine, *registry.Memory) {
		store := registry.NewMemory()
		e, err := New(Config{Store: store, MaxErrors: 100,
			Errors: ErrorPolicy{MaxPermanent: 100, FailureSpan: time.Hour, MaxTimeouts: 1}})
		if err != nil {
			t.Fatal(err)
		}
		enabled2(t, e, phone, enable2(t, nil, push2.Match{Profile: push2.MatchAll}))
		mustHandle(t, e, events.SessionClosed{Now: at(1), Session: phone})
		return e, store
	}
	failAt := func(e *Engine, sec float64, key events.Key) {
		d := mustHandle(t, e, events.OfflineMessage{Now: at(sec), User: juliet, Stanza: chat("x", key)})
		if len(d.Notifications) != 1 {
			t.Fatalf("at %v: %d notifications", sec, len(d.Notifications))
		}
		mustHandle(t, e, events.PublishResult{Now: at(sec), ID: d.Notifications[0].ID, From: service2, Error: fail})
	}
	stored := func(store *registry.Memory) []registry.Registration { return stored2(t, store, juliet) }

	e, store := newEngine()
	failAt(e, 2, 1)
	failAt(e, 3000, 2)
	if regs := stored(store); len(regs) != 1 || regs[0].Errors != 2 || !regs[0].FailingSince.Equal(at(2)) {
		t.Fatalf("within the span: %+v", regs)
	}
	failAt(e, 3602, 3)
	if regs := stored(store); len(regs) != 0 {
		t.Fatalf("after an hour of errors: %+v", regs)
	}

	e, store = newEngine()
	failAt(e, 2, 1)
	mustHandle(t, e, events.OfflineMessage{Now: at(10), User: juliet, Stanza: chat("y", 2)}) // never answered
	e.Wake(ctx, at(1000))
	if regs := stored(store); len(regs) != 1 || regs[0].Errors != 0 || !regs[0].FailingSince.IsZero() {
		t.Fatalf("after an unanswered notification: %+v", regs)
	}
	failAt(e, 3602, 3)
	if regs := stored(store); len(regs) != 1 || regs[0].Errors != 1 {
		t.Fatalf("a new run: %+v", regs)
	}
}

package push

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

func TestClassify(t *testing.T) {
	p := ErrorPolicy{Services: map[string]ServicePolicy{"fpush.example": {Transient: []string{"bad-request"}}}}
	for _, c := range []struct {
		service, typ, cond string
		want               FailureKind
	}{
		{service, "wait", "resource-constraint", FailTransient},
		{service, "wait", "internal-server-error", FailTransient},
		{service, "cancel", "resource-constraint", FailTransient},
		{service, "modify", "resource-constraint", FailTransient},
		{service, "cancel", "item-not-found", FailPermanent},
		{service, "cancel", "internal-server-error", FailPermanent},
		{service, "cancel", "bad-request", FailPermanent},
		{service, "auth", "forbidden", FailPermanent},
		{service, "auth", "not-authorized", FailPermanent},
		{service, "modify", "item-not-found", FailPermanent},
		{service, "modify", "forbidden", FailPermanent},
		{service, "continue", "not-authorized", FailPermanent},
		{service, "modify", "registration-required", FailPermanent},
		{service, "modify", "bad-request", FailOther},
		{service, "modify", "not-acceptable", FailOther},
		{service, "continue", "undefined-condition", FailOther},
		{service, "strange", "undefined-condition", FailOther},
		{"fpush.example", "cancel", "bad-request", FailTransient},
		{"FPUSH.example", "cancel", "bad-request", FailTransient},
		{"fpush.example", "cancel", "policy-violation", FailPermanent},
		{service, "cancel", "policy-violation", FailPermanent},
	} {
		got := p.Classify(c.service, &events.StanzaError{Type: c.typ, Condition: c.cond})
		if got != c.want {
			t.Errorf("Classify(%s, %s/%s) = %v, want %v", c.service, c.typ, c.cond, got, c.want)
		}
	}
	if got := p.Classify(service, nil); got != FailOther {
		t.Errorf("Classify(nil) = %v", got)
	}
}

func TestErrorPolicyConfig(t *testing.T) {
	for _, c := range []ErrorPolicy{
		{MaxPermanent: -1},
		{MaxTimeouts: -1},
		{FailureSpan: -time.Second},
		{Retry: RetryPolicy{Attempts: -1}},
		{Retry: RetryPolicy{Base: -1}},
		{Retry: RetryPolicy{Base: time.Minute, Max: time.Second}},
	} {
		if _, err := New(Config{Errors: c}); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New(%+v) = %v, want ErrInvalidConfig", c, err)
		}
	}
	e, err := New(Config{MaxErrors: 7, Errors: ErrorPolicy{Retry: RetryPolicy{Attempts: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	got := e.Config().Errors
	if got.MaxPermanent != 7 || got.Retry.Base != defaultRetryBase || got.Retry.Max != defaultRetryMax || got.Retry.Within != defaultRetryWithin {
		t.Errorf("defaults %+v", got)
	}
}

// life drives one user's single registration (node A, phone hibernating)
// on a Memory store, which is a registry.Tracker.
type life struct {
	t     *testing.T
	e     *Engine
	store *registry.Memory
	key   events.Key
}

func newLife(t *testing.T, cfg Config) *life {
	t.Helper()
	l := &life{t: t, store: registry.NewMemory()}
	cfg.Store, cfg.IDPrefix, cfg.IDSecret = l.store, "p-", "secret"
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l.e = e
	l.do(events.SessionOpened{Now: at(0), Session: phone})
	l.do(events.IQ{Now: at(0), Session: phone, ID: "i", Payload: []byte("<enable xmlns='urn:xmpp:push:0' jid='" + service + "' node='A'/>")})
	l.do(events.HibernationStarted{Now: at(0), Session: phone})
	return l
}

func (l *life) do(ev events.Event) Decisions {
	l.t.Helper()
	d, err := l.e.Handle(context.Background(), ev)
	if err != nil {
		l.t.Fatal(err)
	}
	return d
}

// push makes one publish to A at sec and returns it.
func (l *life) push(sec float64) Publish {
	l.t.Helper()
	l.key++
	d := l.do(events.OfflineMessage{Now: at(sec), User: juliet, Stanza: events.Stanza{Key: l.key, Kind: events.KindMessage, Type: "chat", From: romeo, To: juliet, Body: "x", HasBody: true}})
	if len(d.Publishes) != 1 {
		l.t.Fatalf("at %v: publishes %+v", sec, d.Publishes)
	}
	return d.Publishes[0]
}

func (l *life) answer(sec float64, p Publish, typ, cond string) Decisions {
	l.t.Helper()
	ev := events.PublishResult{Now: at(sec), ID: p.ID, From: p.To()}
	if typ != "" {
		ev.Error = &events.StanzaError{Type: typ, Condition: cond}
	}
	return l.do(ev)
}

func (l *life) stored() (registry.Registration, bool) {
	l.t.Helper()
	regs, err := l.store.Load(context.Background(), juliet)
	if err != nil {
		l.t.Fatal(err)
	}
	if len(regs) == 0 {
		return registry.Registration{}, false
	}
	return regs[0], true
}

func TestErrorPolicyRemoval(t *testing.T) {
	type answer struct{ typ, cond string } // typ "" is a result
	wait := answer{"wait", "resource-constraint"}
	gone := answer{"cancel", "item-not-found"}
	auth := answer{"auth", "forbidden"}
	bad := answer{"modify", "bad-request"}
	ok := answer{}
	for _, c := range []struct {
		name    string
		policy  ErrorPolicy
		answers []answer
		removed int // index of the answer that removes A; -1 none
	}{
		{"wait never counts", ErrorPolicy{}, []answer{wait, wait, wait, wait, wait}, -1},
		{"resource-constraint of any type never counts", ErrorPolicy{}, []answer{{"cancel", "resource-constraint"}, {"cancel", "resource-constraint"}, {"cancel", "resource-constraint"}}, -1},
		{"other errors at MaxErrors", ErrorPolicy{}, []answer{bad, bad, bad}, 2},
		{"permanent errors at MaxPermanent", ErrorPolicy{MaxPermanent: 2}, []answer{gone, auth}, 1},
		{"permanent default is MaxErrors", ErrorPolicy{}, []answer{gone, gone, gone}, 2},
		{"a success starts the run again", ErrorPolicy{MaxPermanent: 2}, []answer{gone, ok, gone, wait, ok, gone, gone}, 6},
		{"waits do not break the run", ErrorPolicy{MaxPermanent: 2}, []answer{gone, wait, gone}, 2},
		{"the latest kind's limit applies", ErrorPolicy{MaxPermanent: 2}, []answer{bad, bad, gone}, 2},
		{"override makes fpush's cancel transient", ErrorPolicy{MaxPermanent: 1, Services: map[string]ServicePolicy{service: {Transient: []string{"bad-request"}}}}, []answer{{"cancel", "bad-request"}, {"cancel", "bad-request"}, gone}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLife(t, Config{MaxErrors: 3, Errors: c.policy})
			run := 0
			for i, a := range c.answers {
				switch {
				case a.typ == "":
					run = 0
				case l.e.cfg.Errors.Classify(service, &events.StanzaError{Type: a.typ, Condition: a.cond}) != FailTransient:
					run++
				}
				d := l.answer(float64(i+1), l.push(float64(i+1)), a.typ, a.cond)
				_, stored := l.stored()
				if wantGone := c.removed >= 0 && i >= c.removed; stored == wantGone {
					t.Fatalf("after answer %d (%+v): stored %v", i, a, stored)
				}
				if i == c.removed {
					want := []Change{{At: at(float64(i + 1)), User: juliet, Registration: registry.NewIdentifier(service, "A"), Reason: ReasonFailed, Errors: run, Condition: a.cond}}
					if !slices.Equal(d.Changes, want) {
						t.Errorf("changes %+v, want %+v", d.Changes, want)
					}
					if _, bound := l.e.Binding(phone); bound {
						t.Error("session still bound")
					}
					return
				}
				if len(d.Changes) != 0 {
					t.Errorf("answer %d: changes %+v", i, d.Changes)
				}
			}
		})
	}
}

func TestFailureHistory(t *testing.T) {
	l := newLife(t, Config{})
	l.answer(5, l.push(5), "", "")
	l.answer(7, l.push(7), "cancel", "item-not-found")
	l.answer(9, l.push(9), "modify", "bad-request")
	reg, _ := l.stored()
	want := registry.Registration{LastSuccess: at(5), FailingSince: at(7), LastError: "bad-request", Errors: 2}
	if !reg.LastSuccess.Equal(want.LastSuccess) || !reg.FailingSince.Equal(want.FailingSince) || reg.LastError != want.LastError || reg.Errors != want.Errors {
		t.Errorf("stored %+v, want history %+v", reg, want)
	}
	l.answer(11, l.push(11), "", "")
	reg, _ = l.stored()
	if !reg.LastSuccess.Equal(at(11)) || !reg.FailingSince.IsZero() || reg.Errors != 0 || reg.LastError != "bad-request" {
		t.Errorf("after success %+v", reg)
	}
}

func TestFailureSpan(t *testing.T) {
	l := newLife(t, Config{MaxErrors: 1000, Errors: ErrorPolicy{FailureSpan: time.Hour}})
	l.answer(10, l.push(10), "cancel", "item-not-found")
	l.answer(1800, l.push(1800), "modify", "bad-request")
	if _, ok := l.stored(); !ok {
		t.Fatal("removed before the span")
	}
	l.answer(3609, l.push(3609), "cancel", "item-not-found")
	if _, ok := l.stored(); !ok {
		t.Fatal("removed before the span")
	}
	d := l.answer(3610, l.push(3610), "cancel", "item-not-found")
	if _, ok := l.stored(); ok {
		t.Fatal("kept after an hour of nothing but failures")
	}
	if len(d.Changes) != 1 || d.Changes[0].Reason != ReasonFailed || d.Changes[0].Errors != 4 {
		t.Errorf("changes %+v", d.Changes)
	}
}

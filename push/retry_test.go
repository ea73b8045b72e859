package push

import (
	"context"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
)

// wake calls Wake at t and returns its decisions.
func (l *life) wake(t time.Time) Decisions { return l.e.Wake(context.Background(), t) }

func TestRetryBackoff(t *testing.T) {
	retry := RetryPolicy{Attempts: 3, Base: 2 * time.Second, Max: 5 * time.Second, Within: time.Minute}
	l := newLife(t, Config{Errors: ErrorPolicy{Retry: retry}})
	p := l.push(1)
	now := at(1)
	var dues []time.Duration
	for attempt, ceiling := range []time.Duration{2 * time.Second, 4 * time.Second, 5 * time.Second} {
		d := l.answer(now.Sub(epoch).Seconds(), p, "wait", "resource-constraint")
		delay := d.Wake.Sub(now)
		if delay < ceiling/2 || delay > ceiling {
			t.Fatalf("retry %d: delay %v outside [%v, %v]", attempt, delay, ceiling/2, ceiling)
		}
		if next := l.e.NextWake(); !next.Equal(d.Wake) {
			t.Errorf("NextWake %v, want %v", next, d.Wake)
		}
		dues = append(dues, delay)
		if early := l.wake(d.Wake.Add(-time.Nanosecond)); len(early.Publishes) != 0 {
			t.Fatalf("retry %d sent early: %+v", attempt, early.Publishes)
		}
		w := l.wake(d.Wake)
		if len(w.Publishes) != 1 {
			t.Fatalf("retry %d: publishes %+v", attempt, w.Publishes)
		}
		r := w.Publishes[0]
		if r.ID == p.ID || r.Registration != p.Registration || r.Body != p.Body || r.Important != p.Important {
			t.Fatalf("retry %d: %+v is not a resend of %+v", attempt, r, p)
		}
		p, now = r, d.Wake
	}
	if got := l.e.Stats().PublishesRetried; got != 3 {
		t.Errorf("PublishesRetried %d, want 3", got)
	}
	// The budget is spent: the fourth wait drops the push, counting nothing.
	d := l.answer(now.Sub(epoch).Seconds(), p, "wait", "resource-constraint")
	if !d.Wake.IsZero() || !l.e.NextWake().IsZero() {
		t.Errorf("a retry past Attempts: wake %v, next %v", d.Wake, l.e.NextWake())
	}
	if reg, ok := l.stored(); !ok || reg.Errors != 0 {
		t.Errorf("stored %+v %v, want kept with no error", reg, ok)
	}
	// The same run, the same draws.
	again := newLife(t, Config{Errors: ErrorPolicy{Retry: retry}})
	p = again.push(1)
	if d := again.answer(1, p, "wait", "resource-constraint"); d.Wake.Sub(at(1)) != dues[0] {
		t.Errorf("another engine with the same secret: delay %v, want %v", d.Wake.Sub(at(1)), dues[0])
	}
}

func TestRetryBudget(t *testing.T) {
	for _, c := range []struct {
		name    string
		retry   RetryPolicy
		answers []string // error types, in turn, to the push and its retries
		retries int
		errors  int
	}{
		{"no retry by default", RetryPolicy{}, []string{"wait"}, 0, 0},
		{"exhausted, not counted", RetryPolicy{Attempts: 1}, []string{"wait", "wait"}, 1, 0},
		{"exhausted, counted", RetryPolicy{Attempts: 1, CountExhausted: true}, []string{"wait", "wait"}, 1, 1},
		{"no retries, counted", RetryPolicy{CountExhausted: true}, []string{"wait"}, 0, 1},
		{"time budget", RetryPolicy{Attempts: 5, Base: 4 * time.Second, Max: 4 * time.Second, Within: 4 * time.Second}, []string{"wait", "wait"}, 1, 0},
		{"success on retry", RetryPolicy{Attempts: 3}, []string{"wait", "result"}, 1, 0},
		{"a permanent error on retry counts", RetryPolicy{Attempts: 3}, []string{"wait", "cancel"}, 1, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLife(t, Config{Errors: ErrorPolicy{Retry: c.retry}})
			p, now, retries := l.push(1), at(1), 0
			for i, typ := range c.answers {
				cond := "resource-constraint"
				switch typ {
				case "result":
					typ, cond = "", ""
				case "cancel":
					cond = "item-not-found"
				}
				d := l.answer(now.Sub(epoch).Seconds(), p, typ, cond)
				if d.Wake.IsZero() {
					if i != len(c.answers)-1 {
						t.Fatalf("answer %d: no retry", i)
					}
					break
				}
				w := l.wake(d.Wake)
				if len(w.Publishes) != 1 {
					t.Fatalf("answer %d: retry publishes %+v", i, w.Publishes)
				}
				retries++
				p, now = w.Publishes[0], d.Wake
			}
			reg, _ := l.stored()
			if retries != c.retries || reg.Errors != c.errors {
				t.Errorf("retries %d, errors %d; want %d, %d", retries, reg.Errors, c.retries, c.errors)
			}
		})
	}
}

func TestRetryNotSentAfterDisable(t *testing.T) {
	l := newLife(t, Config{Errors: ErrorPolicy{Retry: RetryPolicy{Attempts: 3}}})
	d := l.answer(1, l.push(1), "wait", "resource-constraint")
	l.do(events.IQ{Now: at(2), Session: phone, ID: "d", Payload: []byte("<disable xmlns='urn:xmpp:push:0' jid='" + service + "'/>")})
	if w := l.wake(d.Wake); len(w.Publishes) != 0 {
		t.Errorf("retry sent to a disabled registration: %+v", w.Publishes)
	}
	// Enabled anew (another life): the old push's retry is not sent either.
	l.do(events.IQ{Now: at(2.5), Session: phone, ID: "e", Payload: []byte("<enable xmlns='urn:xmpp:push:0' jid='" + service + "' node='A'/>")})
	d = l.answer(3, l.push(3), "wait", "resource-constraint")
	l.do(events.IQ{Now: at(4), Session: phone, ID: "d", Payload: []byte("<disable xmlns='urn:xmpp:push:0' jid='" + service + "'/>")})
	l.do(events.IQ{Now: at(4), Session: phone, ID: "e", Payload: []byte("<enable xmlns='urn:xmpp:push:0' jid='" + service + "' node='A'/>")})
	if w := l.wake(d.Wake); len(w.Publishes) != 0 {
		t.Errorf("retry sent to a registration enabled anew: %+v", w.Publishes)
	}
}

func TestTimeoutsCounted(t *testing.T) {
	l := newLife(t, Config{PublishTimeout: 10 * time.Second, Errors: ErrorPolicy{MaxTimeouts: 2}})
	l.key++
	d := l.do(events.OfflineMessage{Now: at(1), User: juliet, Stanza: events.Stanza{Key: l.key, Kind: events.KindMessage, Type: "chat", Body: "x", HasBody: true}})
	if len(d.Publishes) != 1 || !d.Wake.Equal(at(12)) {
		t.Fatalf("publishes %d, wake %v; want 1 and %v", len(d.Publishes), d.Wake, at(12))
	}
	if w := l.wake(at(11.5)); !w.Empty() && len(w.Changes) != 0 {
		t.Fatalf("early wake %+v", w)
	}
	w := l.wake(at(12))
	reg, ok := l.stored()
	if !ok || reg.Errors != 1 || reg.LastError != TimeoutCondition || len(w.Changes) != 0 {
		t.Fatalf("after one timeout: %+v %v, changes %+v", reg, ok, w.Changes)
	}
	p := l.push(20)
	if got := l.e.Stats().PublishesExpired; got != 1 {
		t.Errorf("PublishesExpired %d", got)
	}
	late := l.answer(40, p, "", "") // too late: ignored, the timeout counts
	if len(late.Changes) != 0 {
		t.Errorf("late answer changes %+v", late.Changes)
	}
	w = l.wake(at(31))
	if _, ok := l.stored(); ok {
		t.Fatal("kept after MaxTimeouts timeouts")
	}
	if len(w.Changes) != 1 || w.Changes[0].Reason != ReasonFailed || w.Changes[0].Condition != TimeoutCondition || w.Changes[0].Errors != 2 {
		t.Errorf("changes %+v", w.Changes)
	}
	if _, bound := l.e.Binding(phone); bound {
		t.Error("session still bound")
	}
}

func TestTimeoutsNotCountedByDefault(t *testing.T) {
	l := newLife(t, Config{PublishTimeout: 10 * time.Second})
	d := l.do(events.OfflineMessage{Now: at(1), User: juliet, Stanza: events.Stanza{Key: 1, Kind: events.KindMessage, Type: "chat", Body: "x", HasBody: true}})
	if !d.Wake.IsZero() {
		t.Errorf("wake %v for a publish whose timeout does not count", d.Wake)
	}
	l.e.Sweep(at(100))
	l.wake(at(100))
	if reg, ok := l.stored(); !ok || reg.Errors != 0 {
		t.Errorf("stored %+v %v", reg, ok)
	}
	if got := l.e.Stats().PublishesExpired; got != 1 {
		t.Errorf("PublishesExpired %d", got)
	}
}

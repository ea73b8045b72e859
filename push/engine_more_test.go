package push

// This file holds the engine's tests of payloads, invalid events and\n// concurrent users.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
)

// Important-body, with_body and with_sender (differences 10, 18).
func TestPayload(t *testing.T) {
	enc := events.Stanza{Kind: events.KindMessage, Type: "chat", From: romeo, Body: "fallback", HasBody: true, Encrypted: true}
	corr := events.Stanza{Kind: events.KindMessage, Type: "chat", From: romeo, Body: "fixed", HasBody: true, Correction: true}
	call := events.Stanza{Kind: events.KindMessage, Type: "chat", From: romeo, CallProposal: true}
	plain := events.Stanza{Kind: events.KindMessage, Type: "chat", From: romeo, Body: "hi", HasBody: true}
	for _, tc := range []struct {
		cfg       Config
		st        events.Stanza
		body, snd string
		important bool
	}{
		{Config{}, plain, "New Message!", "", true},
		{Config{WithBody: true}, plain, "hi", "", true},
		{Config{WithBody: true, WithSender: true}, enc, "New Message!", romeo, true},
		{Config{WithBody: true}, corr, "fixed", "", false},
		{Config{}, corr, "", "", false},
		{Config{WithBody: true, ImportantBody: "Call"}, call, "Call", "", true},
		{Config{EmptyImportantBody: true}, plain, "", "", true},
	} {
		h := newHarness(t, tc.cfg)
		h.open(at(0), phone)
		h.enable(at(0), phone, "A")
		h.close(at(0), phone)
		d := h.offline(at(1), tc.st)
		p := d.Publishes[0]
		if p.Body != tc.body || p.Sender != tc.snd || p.Important != tc.important {
			t.Errorf("%+v with %+v: got body %q sender %q important %v", tc.cfg, tc.st, p.Body, p.Sender, p.Important)
		}
	}
}

func TestInvalidEvents(t *testing.T) {
	e, _ := New(Config{})
	ctx := context.Background()
	for _, ev := range []events.Event{
		events.SessionOpened{Now: at(0)},
		events.HibernationStarted{Now: at(0), Session: "/res"},
		events.OfflineMessage{Now: at(0), User: ""},
		events.Ping{Now: at(0), User: "juliet@example.org/phone"},
		events.IQ{Now: at(0), Payload: []byte("<enable/>")},
		events.SessionOpened{Session: phone}, // Now not set
		events.PublishResult{ID: "x"},
		events.OfflineMessage{Now: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), User: juliet},
	} {
		if _, err := e.Handle(ctx, ev); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%T: err = %v, want ErrInvalidEvent", ev, err)
		}
	}
}

// Concurrent use from many goroutines, for the race detector: each user's
// own rules still hold.
func TestConcurrentUsers(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				user := fmt.Sprintf("u%d-%d@example.org", g, i)
				s := user + "/phone"
				now := at(float64(i))
				e.Handle(context.Background(), events.SessionOpened{Now: now, Session: s})
				d, _ := e.Handle(ctx, events.IQ{Now: now, Session: s, ID: "e", Payload: []byte("<enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='n'/>")})
				if d.Replies[0].Error != nil {
					errs <- d.Replies[0].Error
					return
				}
				e.HibernationStart(context.Background(), events.HibernationStarted{Now: now, Session: s})
				e.StanzaQueued(context.Background(), events.StanzaQueued{Now: now, Session: s, Stanza: events.Stanza{Key: 1, Kind: events.KindMessage, Body: "b"}})
				d, _ = e.OfflineMessage(ctx, events.OfflineMessage{Now: now, User: user, Stanza: events.Stanza{Key: 2, Kind: events.KindMessage, Body: "b"}})
				if len(d.Publishes) != 1 {
					errs <- fmt.Errorf("%s: %d offline publishes", user, len(d.Publishes))
					return
				}
				e.Wake(context.Background(), now.Add(time.Second))
				e.Handle(context.Background(), events.SessionClosed{Now: now, Session: s})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := e.Stats(); st.Sessions != 0 || st.BatchedStanzas != 0 {
		t.Errorf("stats after every session closed: %+v", st)
	}
}

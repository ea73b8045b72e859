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

func TestExpire(t *testing.T) {
	l := newLife(t, Config{Expiry: time.Hour})
	l.do(events.IQ{Now: at(10), Session: tablet, ID: "b", Payload: []byte("<enable xmlns='urn:xmpp:push:0' jid='" + service + "' node='B'/>")})
	l.do(events.IQ{Now: at(20), Session: desktop, ID: "c", Payload: []byte("<enable xmlns='urn:xmpp:push:0' jid='" + service + "' node='C'/>")})
	// A is pushed to successfully at 1800; B and C fail.
	d := l.do(events.OfflineMessage{Now: at(1800), User: juliet, Stanza: events.Stanza{Key: 1, Kind: events.KindMessage, Type: "chat", Body: "x", HasBody: true}})
	for _, p := range d.Publishes {
		typ := "cancel"
		if p.Node() == "A" {
			typ = ""
		}
		l.answer(1800, p, typ, "item-not-found")
	}
	if d, err := l.e.Expire(context.Background(), at(3610)); err != nil || len(d.Changes) != 0 {
		t.Fatalf("expired too early: %+v, %v", d.Changes, err)
	}
	// C is enabled again at 3000: used.
	l.do(events.IQ{Now: at(3000), Session: desktop, ID: "c", Payload: []byte("<enable xmlns='urn:xmpp:push:0' jid='" + service + "' node='C'/>")})
	d, err := l.e.Expire(context.Background(), at(3611))
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{{At: at(3611), User: juliet, Registration: registry.NewIdentifier(service, "B"), Reason: ReasonExpired, Errors: 1}}
	if !slices.Equal(d.Changes, want) {
		t.Errorf("changes %+v, want %+v", d.Changes, want)
	}
	if _, ok := l.e.Binding(tablet); ok {
		t.Error("the expired registration's session is still bound")
	}
	if _, ok := l.e.Binding(phone); !ok {
		t.Error("a used registration's session was unbound")
	}
	d, _ = l.e.Expire(context.Background(), at(5401))
	if len(d.Changes) != 1 || d.Changes[0].Registration.Node() != "A" || len(d.Timeouts) != 1 {
		t.Errorf("A not expired after an hour without success: %+v", d)
	}
}

func TestExpiryConfig(t *testing.T) {
	if _, err := New(Config{Expiry: time.Hour, Store: &flakyStore{Store: registry.NewMemory()}}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Expiry with a Store that cannot expire: %v", err)
	}
	if _, err := New(Config{Expiry: -time.Hour}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("negative Expiry: %v", err)
	}
	e, _ := New(Config{})
	if d, err := e.Expire(context.Background(), at(1e6)); err != nil || !d.Empty() {
		t.Errorf("Expire without Expiry: %+v, %v", d, err)
	}
	if _, err := e.Expire(context.Background(), time.Time{}); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("Expire at the zero time: %v", err)
	}
}

func TestDriverExpires(t *testing.T) {
	e, err := New(Config{Expiry: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	changes := make(chan Change, 8)
	drv, err := NewDriver(e, DriverConfig{
		Sender: SenderFunc(func(context.Context, Publish) error { return nil }),
		Change: func(c Change) { changes <- c },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	ctx := context.Background()
	if err := drv.Handle(ctx, events.IQ{Session: phone, ID: "e", Payload: []byte("<enable xmlns='urn:xmpp:push:0' jid='" + service + "' node='A'/>")}); err != nil {
		t.Fatal(err)
	}
	if c := <-changes; c.Reason != ReasonEnabled {
		t.Fatalf("first change %+v", c)
	}
	select {
	case c := <-changes:
		if c.Reason != ReasonExpired || c.Registration.Node() != "A" {
			t.Fatalf("change %+v", c)
		}
	case <-time.After(time.Minute):
		t.Fatal("the driver did not expire the registration")
	}
}

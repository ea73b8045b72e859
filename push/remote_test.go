package push

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

func TestParseRemoteDisable(t *testing.T) {
	for _, c := range []struct {
		name, xml string
		want      events.RemoteDisabled
		ok        bool
	}{
		{"XEP-0357 example", `<message from='push-5.client.example' to='user@example.com'><pubsub xmlns='http://jabber.org/protocol/pubsub'><affiliation node='yxs32uqsflafdk3iuqo' jid='user@example.com' affiliation='none'/></pubsub></message>`,
			events.RemoteDisabled{User: "user@example.com", From: "push-5.client.example", Node: "yxs32uqsflafdk3iuqo"}, true},
		{"no jid: the message's to", `<message xmlns='jabber:client' from='push.example' to='user@example.com/phone'><body>hi</body><pubsub xmlns='http://jabber.org/protocol/pubsub'><x/><affiliation node='n' affiliation='none'/></pubsub></message>`,
			events.RemoteDisabled{User: "user@example.com", From: "push.example", Node: "n"}, true},
		{"another affiliation", `<message from='push.example' to='u@example.com'><pubsub xmlns='http://jabber.org/protocol/pubsub'><affiliation node='n' affiliation='publisher'/></pubsub></message>`, events.RemoteDisabled{}, false},
		{"wrong namespace", `<message from='push.example' to='u@example.com'><pubsub xmlns='urn:other'><affiliation node='n' affiliation='none'/></pubsub></message>`, events.RemoteDisabled{}, false},
		{"no from", `<message to='u@example.com'><pubsub xmlns='http://jabber.org/protocol/pubsub'><affiliation node='n' affiliation='none'/></pubsub></message>`, events.RemoteDisabled{}, false},
		{"no user", `<message from='push.example'><pubsub xmlns='http://jabber.org/protocol/pubsub'><affiliation node='n' affiliation='none'/></pubsub></message>`, events.RemoteDisabled{}, false},
		{"not a message", `<iq from='push.example' to='u@example.com'><pubsub xmlns='http://jabber.org/protocol/pubsub'><affiliation node='n' affiliation='none'/></pubsub></iq>`, events.RemoteDisabled{}, false},
		{"malformed", `<message from='push.example' to='u@example.com'><pubsub xmlns='http://jabber.org/protocol/pubsub'><affiliation`, events.RemoteDisabled{}, false},
		{"empty", ``, events.RemoteDisabled{}, false},
	} {
		got, ok := ParseRemoteDisable([]byte(c.xml))
		if ok != c.ok || got != c.want {
			t.Errorf("%s: got %+v %v, want %+v %v", c.name, got, ok, c.want, c.ok)
		}
	}
	big := make([]byte, MaxResultSize+1)
	if _, ok := ParseRemoteDisable(big); ok {
		t.Error("oversized input accepted")
	}
}

func FuzzParseRemoteDisable(f *testing.F) {
	f.Add([]byte(`<message from='p.example' to='u@example.com'><pubsub xmlns='http://jabber.org/protocol/pubsub'><affiliation node='n' jid='u@example.com' affiliation='none'/></pubsub></message>`))
	f.Add([]byte(`<message from='p.example'><pubsub xmlns='http://jabber.org/protocol/pubsub'/></message>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, ok := ParseRemoteDisable(data)
		if ok && (ev.From == "" || ev.User == "") {
			t.Fatalf("accepted without From or User: %+v", ev)
		}
		if !ok && ev != (events.RemoteDisabled{}) {
			t.Fatalf("refused with a non-zero event: %+v", ev)
		}
	})
}

func TestRemoteDisable(t *testing.T) {
	a := registry.NewIdentifier(service, "A")
	for _, c := range []struct {
		name, from, node string
		removed          bool
	}{
		{"from the registered service", service, "A", true},
		{"the service's JID in another case", "PUSH.example.net", "A", true},
		{"from another JID", "evil.example", "A", false},
		{"for another node", service, "B", false},
		{"from the service's full JID", service + "/res", "A", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLife(t, Config{})
			ev := events.RemoteDisabled{Now: at(5), User: juliet, From: c.from, Node: c.node}
			d := l.do(ev)
			_, stored := l.stored()
			if stored == c.removed {
				t.Fatalf("stored %v after %+v", stored, ev)
			}
			_, bound := l.e.Binding(phone)
			ignored := l.e.Stats().RemoteDisablesIgnored
			if c.removed {
				want := []Change{{At: at(5), User: juliet, Registration: a, Reason: ReasonRemoteDisabled}}
				if !slices.Equal(d.Changes, want) || bound || ignored != 0 {
					t.Errorf("changes %+v, bound %v, ignored %d", d.Changes, bound, ignored)
				}
				if len(d.Timeouts) != 1 || d.Timeouts[0].Duration != defaultHibernationTimeout {
					t.Errorf("timeouts %+v: the hibernating session keeps the extended timeout", d.Timeouts)
				}
				return
			}
			if len(d.Changes) != 0 || !bound || ignored != 1 {
				t.Errorf("changes %+v, bound %v, ignored %d", d.Changes, bound, ignored)
			}
		})
	}
	e, _ := New(Config{})
	for _, ev := range []events.RemoteDisabled{{Now: at(1), User: juliet}, {Now: at(1), From: service}, {User: juliet, From: service}} {
		if _, err := e.Handle(context.Background(), ev); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%+v: %v, want ErrInvalidEvent", ev, err)
		}
	}
}

package push

import (
	"context"
	"slices"
	"testing"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

func TestChanges(t *testing.T) {
	enable := func(node string) []byte {
		return []byte("<enable xmlns='urn:xmpp:push:0' jid='" + service + "' node='" + node + "'/>")
	}
	a, b := registry.NewIdentifier(service, "A"), registry.NewIdentifier(service, "B")
	e, err := New(Config{MaxDevices: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		ev   events.Event
		want []Change
	}{
		{events.SessionOpened{Now: at(0), Session: phone}, nil},
		{events.IQ{Now: at(1), Session: phone, ID: "1", Payload: enable("A")},
			[]Change{{At: at(1), User: juliet, Registration: a, Reason: ReasonEnabled, Session: phone}}},
		{events.IQ{Now: at(2), Session: tablet, ID: "2", Payload: enable("A")},
			[]Change{{At: at(2), User: juliet, Registration: a, Reason: ReasonReplaced, Session: tablet}}},
		{events.IQ{Now: at(3), Session: tablet, ID: "3", Payload: enable("B")},
			[]Change{{At: at(3), User: juliet, Registration: b, Reason: ReasonEnabled, Session: tablet},
				{At: at(3), User: juliet, Registration: a, Reason: ReasonEvicted, Session: tablet}}},
		{events.IQ{Now: at(4), Session: phone, ID: "4", Payload: []byte("<disable xmlns='urn:xmpp:push:0' jid='" + service + "' node='B'/>")},
			[]Change{{At: at(4), User: juliet, Registration: b, Reason: ReasonDisabled, Session: phone}}},
		{events.IQ{Now: at(5), Session: phone, ID: "5", Payload: []byte("<disable xmlns='urn:xmpp:push:0' jid='" + service + "'/>")}, nil},
		{events.IQ{Now: at(6), Session: phone, ID: "6", Payload: enable("A")},
			[]Change{{At: at(6), User: juliet, Registration: a, Reason: ReasonEnabled, Session: phone}}},
		{events.UserDeleted{Now: at(7), User: juliet},
			[]Change{{At: at(7), User: juliet, Registration: a, Reason: ReasonUserDeleted}}},
		{events.UserDeleted{Now: at(8), User: juliet}, nil},
	} {
		d, err := e.Handle(context.Background(), c.ev)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(d.Changes, c.want) {
			t.Errorf("event %d (%T): changes\n%+v\nwant\n%+v", i, c.ev, d.Changes, c.want)
		}
	}
}

func TestChangeReasonString(t *testing.T) {
	want := map[ChangeReason]string{ReasonEnabled: "enabled", ReasonReplaced: "replaced", ReasonEvicted: "evicted",
		ReasonDisabled: "disabled", ReasonFailed: "failed", ReasonExpired: "expired", ReasonRemoteDisabled: "remote-disabled",
		ReasonRemoved: "removed", ReasonUserDeleted: "user-deleted", 0: "ChangeReason(0)", 200: "ChangeReason(200)"}
	for r, s := range want {
		if r.String() != s {
			t.Errorf("%d.String() = %q, want %q", r, r.String(), s)
		}
	}
	for k, s := range map[FailureKind]string{FailTransient: "transient", FailPermanent: "permanent", FailOther: "other", FailTimeout: "timeout", 0: "FailureKind(0)"} {
		if k.String() != s {
			t.Errorf("%d.String() = %q, want %q", k, k.String(), s)
		}
	}
}

package push

import (
	"fmt"
	"testing"

	"github.com/pushrules/pushrules/events"
)

// enableWith enables service<node for s with a publish-options field.
func (h *harness) enableWith(s, node, field, value string) {
	h.t.Helper()
	d := h.iq(at(0), s, "<enable xmlns='urn:xmpp:push:0' jid='"+service+"' node='"+node+"'>"+
		"<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>"+
		"<field var='"+field+"'><value>"+value+"</value></field></x></enable>")
	if len(d.Replies) != 1 || d.Replies[0].Error != nil {
		h.t.Fatalf("enable %s: replies %+v", node, d.Replies)
	}
}

// TestPushPolicy: each registration gets what its policy wants, from the
// client's publish-options or the configured default, on the session's
// own queue and on the offline path alike.
func TestPushPolicy(t *testing.T) {
	type want struct{ pushed, policy uint64 }
	for _, tc := range []struct {
		name  string
		cfg   Config
		value string // the client's choice in the "policy" field; "" for none
		queue func(h *harness) []events.Stanza
		hib   want // hibernation queue
		offl  want // the same stanzas offline, one by one, to a closed session's registration
	}{
		{"all (default)", Config{}, "", mixed, want{2, 0}, want{4, 0}},
		{"client asks for important only", Config{PushPolicyField: "policy"}, "important", mixed, want{1, 2}, want{2, 2}},
		{"client asks for everything over an important-only default", Config{PushPolicyField: "policy", PushPolicy: PushImportant}, "all", mixed, want{2, 0}, want{4, 0}},
		{"unknown value gives the default", Config{PushPolicyField: "policy", PushPolicy: PushImportant}, "sometimes", mixed, want{1, 2}, want{2, 2}},
		{"messages (notify_on: messages)", Config{PushPolicy: PushMessages}, "", mixed, want{1, 2}, want{2, 2}},
		{"field ignored unless configured", Config{PushPolicy: PushMessages}, "all", mixed, want{1, 2}, want{2, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.cfg)
			h.open(at(0), phone)
			if tc.value != "" {
				h.enableWith(phone, "A", "policy", tc.value)
			} else {
				h.enable(at(0), phone, "A")
			}
			h.hibernate(at(1), phone, tc.queue(h)...)
			m := h.e.Metrics()
			pub := m.Counts[PublishedImportant] + m.Counts[PublishedUnimportant]
			if pub != tc.hib.pushed || m.Counts[SuppressedPolicy] != tc.hib.policy {
				t.Fatalf("hibernation: %d pushes, %d suppressed by policy; want %+v", pub, m.Counts[SuppressedPolicy], tc.hib)
			}
			h.close(at(2), phone)
			for _, st := range tc.queue(h) {
				h.offline(at(3), st)
			}
			m2 := h.e.Metrics()
			pub = m2.Counts[PublishedImportant] + m2.Counts[PublishedUnimportant] - pub
			if policy := m2.Counts[SuppressedPolicy] - m.Counts[SuppressedPolicy]; pub != tc.offl.pushed || policy != tc.offl.policy {
				t.Fatalf("offline: %d pushes, %d suppressed by policy; want %+v", pub, policy, tc.offl)
			}
		})
	}
}

// mixed is two important messages, a chat state and a presence.
func mixed(h *harness) []events.Stanza {
	return []events.Stanza{h.chat("a"), h.chatState(), h.chat("b"), h.presence()}
}

func TestPushPolicyNames(t *testing.T) {
	got := fmt.Sprint(PushAll, PushImportant, PushMessages, PushPolicy(9))
	if got != "all important messages unknown" {
		t.Fatalf("names %q", got)
	}
	if _, err := New(Config{PushPolicy: 3}); err == nil {
		t.Fatal("an unknown PushPolicy accepted")
	}
}

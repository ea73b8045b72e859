package push

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push2"
	"github.com/pushrules/pushrules/registry"
)

const service2 = "push2.example.net"

// device is a Push 2.0 device: its ECDH key pair and auth secret, made
// from a fixed seed.
type device struct {
	key  *ecdh.PrivateKey
	auth push2.AuthSecret
}

func newDevice(t testing.TB, seed byte) device {
	t.Helper()
	k, err := ecdh.P256().NewPrivateKey(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		t.Fatal(err)
	}
	d := device{key: k}
	copy(d.auth[:], bytes.Repeat([]byte{seed + 1}, 16))
	return d
}

// enable2 is the <enable/> of one match; a nil dev gives a notify-only
// send.
func enable2(t testing.TB, dev *device, m push2.Match) []byte {
	t.Helper()
	m.Send = push2.Send{Profile: push2.SendNotifyOnly}
	if dev != nil {
		m.Send = push2.Send{Profile: push2.SendEncrypted, AuthSecret: dev.auth}
		copy(m.Send.UAPublic[:], dev.key.PublicKey().Bytes())
	}
	req := push2.Request{Service: service2, Client: "https://push.example.net/endpoint/1", Matches: []push2.Match{m}}
	b, err := req.AppendXML(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustHandle(t *testing.T, e *Engine, ev events.Event) Decisions {
	t.Helper()
	d, err := e.Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("%T: %v", ev, err)
	}
	return d
}

// enabled2 opens session full and enables Push 2.0 from it.
func enabled2(t *testing.T, e *Engine, full string, payload []byte) {
	t.Helper()
	mustHandle(t, e, events.SessionOpened{Now: at(0), Session: full})
	d := mustHandle(t, e, events.IQ{Now: at(0), Session: full, ID: "e1", Payload: payload})
	if len(d.Replies) != 1 || d.Replies[0].Error != nil {
		t.Fatalf("enable: replies %+v", d.Replies)
	}
}

func chat(body string, key events.Key) events.Stanza {
	raw := "<message from='romeo@montague.example/orchard' to='juliet@example.org' type='chat' id='m1'><body>" + body + "</body></message>"
	return events.Stanza{Key: key, Kind: events.KindMessage, Type: "chat", From: "romeo@montague.example/orchard",
		To: juliet, Body: body, HasBody: body != "", Extra: &events.Extra{Raw: raw}}
}

var payloadRE = regexp.MustCompile(`<payload>([^<]*)</payload>`)

// TestPush2EndToEnd enables Push 2.0 with an encrypted send, gets a
// notification for an offline message, renders it and opens it as the
// device does: the forwarded stanza is the original one.
func TestPush2EndToEnd(t *testing.T) {
	e, err := New(Config{IDSecret: "test"})
	if err != nil {
		t.Fatal(err)
	}
	dev := newDevice(t, 3)
	enabled2(t, e, phone, enable2(t, &dev, push2.Match{Profile: push2.MatchImportant}))
	mustHandle(t, e, events.SessionClosed{Now: at(1), Session: phone})
	st := chat("Wherefore art thou?", 1)
	d := mustHandle(t, e, events.OfflineMessage{Now: at(2), User: juliet, Stanza: st})
	if len(d.Publishes) != 0 || len(d.Notifications) != 1 {
		t.Fatalf("publishes %d, notifications %d; want 0, 1", len(d.Publishes), len(d.Notifications))
	}
	n := d.Notifications[0]
	if n.To() != service2 || n.User != juliet || n.Client != "phone" || !n.Important ||
		!regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(n.ID) {
		t.Fatalf("notification %+v", n)
	}
	msg, err := n.AppendXML(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"id='" + n.ID + "'", "to='" + service2 + "'", "from='example.org'", "<priority>normal</priority>"} {
		if !bytes.Contains(msg, []byte(want)) {
			t.Errorf("notification lacks %s: %s", want, msg)
		}
	}
	m := payloadRE.FindSubmatch(msg)
	if m == nil {
		t.Fatalf("no payload in %s", msg)
	}
	body, err := base64.StdEncoding.DecodeString(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := push2.Decrypt(body, dev.key, dev.auth[:])
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := push2.Forwarded(plain)
	want := "<message xmlns='jabber:client'" + st.Extra.Raw[len("<message"):]
	if err != nil || string(fwd) != want {
		t.Fatalf("forwarded stanza %q, %v; want %q", fwd, err, want)
	}
	if bytes.Contains(msg, []byte("Wherefore")) {
		t.Error("the body travels in clear")
	}
}

// TestPush2Profiles: which stanzas each profile and filter lets through,
// for an offline message.
func TestPush2Profiles(t *testing.T) {
	room := "room@muc.example.org"
	groupchat := func(body string, f func(*events.Stanza)) events.Stanza {
		st := events.Stanza{Key: 9, Kind: events.KindMessage, Type: "groupchat", From: room + "/nurse", To: juliet,
			Body: body, HasBody: body != ""}
		if f != nil {
			f(&st)
		}
		return st
	}
	muted := []push2.Filter{{JID: room, Mention: true, Reply: true}}
	cases := []struct {
		name    string
		match   push2.Match
		stanza  events.Stanza
		want    bool
		urgency string
	}{
		{"all takes a headline", push2.Match{Profile: push2.MatchAll}, events.Stanza{Kind: events.KindMessage, Type: "headline"}, true, "low"},
		{"important takes a chat", push2.Match{Profile: push2.MatchImportant}, chat("hi", 0), true, "normal"},
		{"important drops an empty chat", push2.Match{Profile: push2.MatchImportant}, chat("", 0), false, ""},
		{"important takes a call", push2.Match{Profile: push2.MatchImportant},
			events.Stanza{Kind: events.KindMessage, CallProposal: true, Extra: &events.Extra{CallID: "c1"}}, true, "high"},
		{"important takes a call's end", push2.Match{Profile: push2.MatchImportant},
			events.Stanza{Kind: events.KindMessage, CallEnd: true, Extra: &events.Extra{CallID: "c1"}}, true, "high"},
		{"archived needs a stanza-id", push2.Match{Profile: push2.MatchArchived}, chat("hi", 0), false, ""},
		{"archived", push2.Match{Profile: push2.MatchArchived}, groupchat("", func(s *events.Stanza) { s.StanzaID = true }), true, "low"},
		{"archived-with-body without body", push2.Match{Profile: push2.MatchArchivedWithBody},
			groupchat("", func(s *events.Stanza) { s.StanzaID = true }), false, ""},
		{"archived-with-body", push2.Match{Profile: push2.MatchArchivedWithBody},
			groupchat("x", func(s *events.Stanza) { s.StanzaID = true }), true, "normal"},
		{"filter mutes the room", push2.Match{Profile: push2.MatchAll, Filters: muted}, groupchat("hello all", nil), false, ""},
		{"filter: nick as a word", push2.Match{Profile: push2.MatchAll, Filters: muted}, groupchat("Juliet, come", nil), true, "normal"},
		{"filter: nick inside a word", push2.Match{Profile: push2.MatchAll, Filters: muted}, groupchat("julietta", nil), false, ""},
		{"filter: XEP-0372 mention", push2.Match{Profile: push2.MatchAll, Filters: muted},
			groupchat("hey", func(s *events.Stanza) { extra(s).Mentions = juliet }), true, "normal"},
		{"filter: reply to the user", push2.Match{Profile: push2.MatchAll, Filters: muted},
			groupchat("yes", func(s *events.Stanza) { extra(s).ReplyTo = juliet + "/balcony" }), true, "normal"},
		{"filter: reply to another", push2.Match{Profile: push2.MatchAll, Filters: muted},
			groupchat("yes", func(s *events.Stanza) { extra(s).ReplyTo = "romeo@montague.example" }), false, ""},
		{"filter of another chat", push2.Match{Profile: push2.MatchAll, Filters: []push2.Filter{{JID: "other@muc.example.org"}}},
			groupchat("hello", nil), true, "normal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := New(Config{})
			if err != nil {
				t.Fatal(err)
			}
			enabled2(t, e, phone, enable2(t, nil, c.match))
			mustHandle(t, e, events.SessionClosed{Now: at(1), Session: phone})
			d := mustHandle(t, e, events.OfflineMessage{Now: at(2), User: juliet, Stanza: c.stanza})
			if got := len(d.Notifications) == 1; got != c.want || len(d.Notifications) > 1 {
				t.Fatalf("%d notifications, want one: %v", len(d.Notifications), c.want)
			}
			if !c.want {
				return
			}
			msg, err := d.Notifications[0].AppendXML(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(msg, []byte("<priority>"+c.urgency+"</priority>")) {
				t.Errorf("want priority %s: %s", c.urgency, msg)
			}
			if voip := bytes.Contains(msg, []byte("<voip/>")); voip != (c.urgency == "high") {
				t.Errorf("voip %v: %s", voip, msg)
			}
		})
	}
}

// TestPush2SideBySide: a XEP-0357 device and a Push 2.0 device of one
// user each get a stanza once, whichever paths it takes.
func TestPush2SideBySide(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	enabled2(t, e, phone, enable2(t, nil, push2.Match{Profile: push2.MatchAll}))
	mustHandle(t, e, events.SessionOpened{Now: at(0), Session: tablet})
	d := mustHandle(t, e, events.IQ{Now: at(0), Session: tablet, ID: "e2",
		Payload: []byte("<enable xmlns='urn:xmpp:push:0' jid='" + service + "' node='n1'/>")})
	if len(d.Replies) != 1 || d.Replies[0].Error != nil {
		t.Fatalf("XEP-0357 enable: %+v", d.Replies)
	}
	for _, s := range []string{phone, tablet} {
		mustHandle(t, e, events.SessionClosed{Now: at(1), Session: s})
	}
	st := chat("hi", 42)
	d = mustHandle(t, e, events.OfflineMessage{Now: at(2), User: juliet, Stanza: st})
	if len(d.Publishes) != 1 || len(d.Notifications) != 1 {
		t.Fatalf("first path: %d publishes, %d notifications; want 1, 1", len(d.Publishes), len(d.Notifications))
	}
	d = mustHandle(t, e, events.GroupchatToBare{Now: at(3), User: juliet, Stanza: st})
	if len(d.Publishes) != 0 || len(d.Notifications) != 0 {
		t.Fatalf("same stanza again: %d publishes, %d notifications; want none", len(d.Publishes), len(d.Notifications))
	}
}

// TestPush2Hibernation: a stanza queued to the hibernating session that
// enabled Push 2.0 is pushed to it when its batch falls due.
func TestPush2Hibernation(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	enabled2(t, e, phone, enable2(t, nil, push2.Match{Profile: push2.MatchImportant}))
	mustHandle(t, e, events.HibernationStarted{Now: at(1), Session: phone})
	d := mustHandle(t, e, events.StanzaQueued{Now: at(2), Session: phone, Stanza: chat("hi", 5)})
	if d.Wake.IsZero() || len(d.Notifications) != 0 {
		t.Fatalf("queued: wake %v, %d notifications", d.Wake, len(d.Notifications))
	}
	d = e.Wake(context.Background(), d.Wake)
	if len(d.Notifications) != 1 || d.Notifications[0].Client != "phone" {
		t.Fatalf("batch: %+v", d.Notifications)
	}
}

// TestPush2Grace: a match with a grace period takes nothing while
// another session is live or hibernated less than the grace ago, but a
// call.
func TestPush2Grace(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	enabled2(t, e, phone, enable2(t, nil, push2.Match{Profile: push2.MatchAll, Grace: 30 * time.Second}))
	mustHandle(t, e, events.SessionClosed{Now: at(1), Session: phone})
	mustHandle(t, e, events.SessionOpened{Now: at(1), Session: desktop})
	call := events.Stanza{Key: 7, Kind: events.KindMessage, CallProposal: true, Extra: &events.Extra{CallID: "c"}}
	steps := []struct {
		name string
		ev   events.Event
		want int
	}{
		{"desktop live", events.OfflineMessage{Now: at(2), User: juliet, Stanza: chat("a", 1)}, 0},
		{"a call bypasses grace", events.OfflineMessage{Now: at(3), User: juliet, Stanza: call}, 1},
		{"desktop hibernates", events.HibernationStarted{Now: at(10), Session: desktop}, 0},
		{"within grace", events.OfflineMessage{Now: at(39), User: juliet, Stanza: chat("b", 2)}, 0},
		{"grace over", events.OfflineMessage{Now: at(40), User: juliet, Stanza: chat("c", 3)}, 1},
	}
	for _, s := range steps {
		if d := mustHandle(t, e, s.ev); len(d.Notifications) != s.want {
			t.Errorf("%s: %d notifications, want %d", s.name, len(d.Notifications), s.want)
		}
	}
}

// TestPush2Requests: answers to enables and disables, and what is stored.
func TestPush2Requests(t *testing.T) {
	store := registry.NewMemory()
	e, err := New(Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	enabled2(t, e, phone, enable2(t, nil, push2.Match{Profile: push2.MatchAll}))
	regs := stored2(t, store, juliet)
	if len(regs) != 1 || regs[0].Client != "phone" || regs[0].Push2.Service != service2 || regs[0].Generation == 0 {
		t.Fatalf("stored %+v", regs)
	}
	if got := e.Push2Features(); !slices.Equal(got, push2.Features()) {
		t.Errorf("Push2Features = %v", got)
	}
	own := []byte("<enable xmlns='urn:xmpp:push2:0'><service>example.org</service><client>c</client>" +
		"<match profile='urn:xmpp:push2:match:all'><send xmlns='urn:xmpp:push2:send:notify-only:0'/></match></enable>")
	for _, c := range []struct {
		name    string
		payload string
		want    string // condition, "" for success
	}{
		{"own server as service", string(own), "bad-request"},
		{"missing service", "<enable xmlns='urn:xmpp:push2:0'><client>c</client></enable>", "bad-request"},
		{"disable", "<disable xmlns='urn:xmpp:push2:0'/>", ""},
	} {
		d := mustHandle(t, e, events.IQ{Now: at(1), Session: phone, ID: "x", Payload: []byte(c.payload)})
		if len(d.Replies) != 1 {
			t.Fatalf("%s: %d replies", c.name, len(d.Replies))
		}
		got := ""
		if d.Replies[0].Error != nil {
			got = d.Replies[0].Error.Condition
		}
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if regs := stored2(t, store, juliet); len(regs) != 0 {
		t.Errorf("after disable: %+v", regs)
	}
}

// stored2 returns the user's stored Push 2.0 registrations.
func stored2(t *testing.T, store registry.Store, user string) []registry.Registration {
	t.Helper()
	regs, err := store.Load(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(regs, func(r registry.Registration) bool { return r.Push2 == nil })
}

// TestPush2Store: Push 2.0 registrations are ordinary ones, kept by any
// Store: enabling again from the client with another service replaces
// its registration, the device limit counts both kinds, and a XEP-0357
// disable of the same service leaves them alone.
func TestPush2Store(t *testing.T) {
	store := registry.NewMemory()
	e, err := New(Config{Store: struct{ registry.Store }{store}, MaxDevices: 2})
	if err != nil {
		t.Fatal(err)
	}
	enabled2(t, e, phone, enable2(t, nil, push2.Match{Profile: push2.MatchAll}))
	other := []byte("<enable xmlns='urn:xmpp:push2:0'><service>push.example.com</service><client>c</client>" +
		"<match profile='urn:xmpp:push2:match:all'><send xmlns='urn:xmpp:push2:send:notify-only:0'/></match></enable>")
	d := mustHandle(t, e, events.IQ{Now: at(1), Session: phone, ID: "e2", Payload: other})
	regs := stored2(t, store, juliet)
	if len(regs) != 1 || regs[0].ID != registry.Push2Identifier("push.example.com", "phone") || regs[0].Push2.Service != "push.example.com" {
		t.Fatalf("after enabling with another service: %+v", regs)
	}
	if len(d.Changes) != 2 || d.Changes[0].Reason != ReasonEnabled || d.Changes[1].Reason != ReasonReplaced ||
		d.Changes[1].Registration != registry.Push2Identifier(service2, "phone") {
		t.Errorf("changes %+v", d.Changes)
	}
	tablet := juliet + "/tablet"
	mustHandle(t, e, events.SessionOpened{Now: at(2), Session: tablet})
	for i, node := range []string{"a", "b"} {
		xml := "<enable xmlns='urn:xmpp:push:0' jid='push.example.com' node='" + node + "'/>"
		if d := mustHandle(t, e, events.IQ{Now: at(3 + float64(i)), Session: tablet, ID: node, Payload: []byte(xml)}); d.Replies[0].Error != nil {
			t.Fatalf("enable %s: %+v", node, d.Replies[0].Error)
		}
	}
	if regs := stored2(t, store, juliet); len(regs) != 0 {
		t.Errorf("MaxDevices 2 keeps the Push 2.0 registration beside two XEP-0357 ones: %+v", regs)
	}
	enabled2(t, e, phone, other)
	mustHandle(t, e, events.IQ{Now: at(6), Session: tablet, ID: "d", Payload: []byte("<disable xmlns='urn:xmpp:push:0' jid='push.example.com'/>")})
	all, _ := store.Load(context.Background(), juliet)
	if len(all) != 1 || all[0].Push2 == nil {
		t.Errorf("a XEP-0357 disable of the service left %+v", all)
	}
}

// TestPush2IQWrapped: a Push 2.0 request handed in inside its <iq/> is
// answered with the iq's id.
func TestPush2IQWrapped(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	mustHandle(t, e, events.SessionOpened{Now: at(0), Session: phone})
	payload := "<iq type='set' id='p2-1'>" + string(enable2(t, nil, push2.Match{Profile: push2.MatchAll})) + "</iq>"
	d := mustHandle(t, e, events.IQ{Now: at(0), Session: phone, Payload: []byte(payload)})
	if len(d.Replies) != 1 || d.Replies[0].Error != nil || d.Replies[0].ID != "p2-1" {
		t.Fatalf("replies %+v", d.Replies)
	}
	d = mustHandle(t, e, events.IQ{Now: at(1), Session: phone, Payload: []byte("<iq type='set' id='p2-2'><enable xmlns='urn:xmpp:push2:0'/></iq>")})
	if len(d.Replies) != 1 || d.Replies[0].ID != "p2-2" || d.Replies[0].Error == nil || d.Replies[0].Error.Text != "Missing service" {
		t.Fatalf("replies %+v", d.Replies[0].Error)
	}
}

// extra returns s.Extra, allocating it first when nil.
func extra(s *events.Stanza) *events.Extra {
	if s.Extra == nil {
		s.Extra = &events.Extra{}
	}
	return s.Extra
}

// TestPush2SupersedesSameClient: a client (by its XEP-0388 id) that
// enabled XEP-0357 and then enables Push 2.0 keeps one registration, the
// Push 2.0 one, and the other way round.
func TestPush2SupersedesSameClient(t *testing.T) {
	store := registry.NewMemory()
	e, err := New(Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	mustHandle(t, e, events.SessionOpened{Now: at(0), Session: phone, Client: "c1"})
	legacy := []byte("<enable xmlns='urn:xmpp:push:0' jid='push.example.com' node='n'/>")
	for i, step := range []struct {
		payload []byte
		push2   bool
	}{{legacy, false}, {enable2(t, nil, push2.Match{Profile: push2.MatchAll}), true}, {legacy, false}} {
		d := mustHandle(t, e, events.IQ{Now: at(float64(i + 1)), Session: phone, ID: "e", Payload: step.payload})
		if d.Replies[0].Error != nil {
			t.Fatalf("step %d: %+v", i, d.Replies[0].Error)
		}
		regs, _ := store.Load(context.Background(), juliet)
		if len(regs) != 1 || (regs[0].Push2 != nil) != step.push2 || regs[0].Client != "c1" {
			t.Fatalf("step %d: stored %+v", i, regs)
		}
	}
}

package push_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
	"github.com/pushrules/pushrules/registry"
)

// BenchmarkEncryptedPublish measures writing the publish IQ of a
// registration that asked for encryption and priority: the payload's JSON,
// a fresh IV from crypto/rand, AES-128-GCM and base64, into a reused
// buffer. The registration's cipher is set up at its first publish and
// reused after (see BenchmarkEncryptedPublishNewKeys for a key each time).
func BenchmarkEncryptedPublish(b *testing.B) { benchEncrypted(b, 1) }

// BenchmarkEncryptedPublishNewKeys is BenchmarkEncryptedPublish with the
// publishes of 4,096 registrations in turn, each with its own key: more
// than the package keeps ciphers for (256), so nearly every publish sets
// its cipher up.
func BenchmarkEncryptedPublishNewKeys(b *testing.B) { benchEncrypted(b, 4096) }

func benchEncrypted(b *testing.B, keys int) {
	pubs := make([]push.Publish, keys)
	for i := range pubs {
		key := [registry.KeySize]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, byte(i >> 8), byte(i)}
		ext, err := registry.NewExtensions(registry.ExtensionSettings{Priority: true,
			Encrypt: &registry.Encryption{Alg: registry.AlgAES128GCM, Key: key}})
		if err != nil {
			b.Fatal(err)
		}
		pubs[i] = push.Publish{
			ID: "push-3f2a9c1b7d4e-1a2b3c", User: "juliet@example.org",
			Registration: registry.NewIdentifier(benchService, benchNode),
			Options: registry.NewForm("submit",
				registry.Field{Var: "FORM_TYPE", Values: []string{publishOptionsNS}},
				registry.Field{Var: "secret", Values: []string{benchSecret}},
			),
			Important: true, Body: "New Message!", Extensions: ext,
			Payload: &push.Payload{Type: "chat", Sender: "romeo@montague.example", Message: "Are you up? The lark is singing already."},
		}
	}
	buf := pubs[0].AppendXML(nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf = pubs[i].AppendXML(buf[:0])
		if i++; i == len(pubs) {
			i = 0
		}
	}
}

// BenchmarkFilteredGroupchat measures a groupchat message reaching the
// bare JID of a user with three registrations whose groupchat filters
// differ for its room (always, mentioned with a nick the body names,
// never): the store read, the three filters and the two publishes, through
// HandleInto with a reused Decisions. 1,000 users take turns.
func BenchmarkFilteredGroupchat(b *testing.B) {
	const room = "capulets@muc.example.org"
	ctx := context.Background()
	store := registry.NewMemory()
	rules := []registry.Room{{JID: room}, {JID: room, Allow: registry.AllowMentioned, Nick: "Juliet"}, {JID: room, Allow: registry.AllowNever}}
	users := make([]string, 1000)
	for i := range users {
		users[i] = "user" + strconv.Itoa(i) + "@example.org"
		for j, r := range rules {
			ext, err := registry.NewExtensions(registry.ExtensionSettings{Rooms: []registry.Room{{JID: "other@muc.example.org", Allow: registry.AllowNever}, r}})
			if err != nil {
				b.Fatal(err)
			}
			reg := registry.Registration{User: users[i], ID: registry.NewIdentifier(benchService, benchNodeN(3*i+j)),
				Generation: uint64(3*i + j + 1), Extensions: ext}
			if _, _, err := store.Save(ctx, reg, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
	e := benchEngine(b, push.Config{Store: store, PublishTimeout: time.Second})
	st := events.Stanza{Kind: events.KindMessage, Type: "groupchat", From: room + "/Nurse",
		Body: "Juliet, supper is ready!", HasBody: true}
	now := benchEpoch
	var d push.Decisions
	i := 0
	step := func() {
		now = now.Add(10 * time.Microsecond)
		st.Key++
		st.To = users[i]
		ev := events.GroupchatToBare{Now: now, User: users[i], Stanza: st}
		if i++; i == len(users) {
			i = 0
		}
		d.Reset()
		if err := e.HandleInto(ctx, ev, &d); err != nil || len(d.Publishes) != 2 {
			b.Fatalf("%d publishes, %v; want 2", len(d.Publishes), err)
		}
	}
	for range 300_000 { // the steady state: pending publishes expire as fast as they come
		step()
	}
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
}

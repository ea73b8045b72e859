package push

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

// clientKey is the key a client sends in its <encrypt/>, as it sends it.
const clientKey = "AAECAwQFBgcICQoLDA0ODw=="

// enableXML is an <enable/> for node with the extension children ext.
func enableExt(node, ext string) []byte {
	return []byte("<iq type='set' id='e-" + node + "'><enable xmlns='urn:xmpp:push:0' jid='" + service + "' node='" + node + "'>" + ext + "</enable></iq>")
}

const (
	extEncrypt  = "<encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm'>" + clientKey + "</encrypt>"
	extPriority = "<priority xmlns='tigase:push:priority:0'/>"
	extJingle   = "<jingle xmlns='tigase:push:jingle:0'/>"
)

// openPayload decrypts the <encrypted/> of a publish's XML the way a
// client does: only the standard library and the key it sent.
func openPayload(t *testing.T, publishXML []byte) (payload map[string]any, voip bool) {
	t.Helper()
	key, _ := base64.StdEncoding.DecodeString(clientKey)
	return openPayloadKey(t, key, publishXML)
}

// openPayloadKey is openPayload with another key.
func openPayloadKey(t *testing.T, key, publishXML []byte) (payload map[string]any, voip bool) {
	t.Helper()
	plain, voip, err := openWith(key, publishXML)
	if err != nil {
		t.Fatalf("%v\n%s", err, publishXML)
	}
	if err := json.Unmarshal(plain, &payload); err != nil {
		t.Fatalf("payload %q: %v", plain, err)
	}
	return payload, voip
}

// openWith decrypts the <encrypted/> of a publish's XML with key; voip
// says it is marked so.
func openWith(key, publishXML []byte) (plain []byte, voip bool, err error) {
	var iq struct {
		Encrypted struct {
			XMLName xml.Name `xml:"tigase:push:encrypt:0 encrypted"`
			IV      string   `xml:"iv,attr"`
			Type    string   `xml:"type,attr"`
			Data    string   `xml:",chardata"`
		} `xml:"pubsub>publish>item>notification>encrypted"`
	}
	if err := xml.Unmarshal(publishXML, &iq); err != nil {
		return nil, false, fmt.Errorf("publish XML: %w", err)
	}
	iv, err1 := base64.StdEncoding.DecodeString(iq.Encrypted.IV)
	sealed, err2 := base64.StdEncoding.DecodeString(iq.Encrypted.Data)
	if err1 != nil || err2 != nil || len(iv) != 12 {
		return nil, false, fmt.Errorf("iv %q (%d bytes), data: %v %v", iq.Encrypted.IV, len(iv), err1, err2)
	}
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	plain, err = gcm.Open(nil, iv, sealed, nil)
	if err != nil {
		return nil, false, fmt.Errorf("decrypting: %w", err)
	}
	return plain, iq.Encrypted.Type == "voip", nil
}

// TestEncryptedPublishDecrypts: an encrypted registration's publish holds
// no summary form, opens with the client's key, and uses a fresh IV each
// time it is written.
func TestEncryptedPublishDecrypts(t *testing.T) {
	ctx := context.Background()
	e, err := New(Config{IDPrefix: "p-", IDSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Handle(ctx, events.IQ{Now: at(0), Session: phone, Payload: enableExt("A", extEncrypt+extPriority)}); err != nil {
		t.Fatal(err)
	}
	d, err := e.Handle(ctx, events.OfflineMessage{Now: at(1), User: juliet, Stanza: events.Stanza{Key: 1, Kind: events.KindMessage,
		Type: "chat", From: romeo, To: juliet, Body: "Wherefore art thou? \"é\" <&>", HasBody: true}})
	if err != nil || len(d.Publishes) != 1 {
		t.Fatalf("publishes %d, %v", len(d.Publishes), err)
	}
	p := &d.Publishes[0]
	x1, x2 := p.AppendXML(nil), p.AppendXML(nil)
	if bytes.Equal(x1, x2) {
		t.Errorf("two writes of one publish are the same bytes: the IV is not fresh")
	}
	for _, x := range [][]byte{x1, x2} {
		if bytes.Contains(x, []byte("message-count")) || bytes.Contains(x, []byte("Wherefore")) || bytes.Contains(x, []byte(clientKey)) {
			t.Errorf("the publish shows the summary form, the body or the key:\n%s", x)
		}
		if !bytes.Contains(x, []byte("<priority xmlns='tigase:push:priority:0'>high</priority>")) {
			t.Errorf("no high priority:\n%s", x)
		}
		payload, voip := openPayload(t, x)
		want := map[string]any{"unread": 1.0, "type": "chat", "sender": "romeo@montague.example", "message": "Wherefore art thou? \"é\" <&>"}
		if fmt.Sprint(payload) != fmt.Sprint(want) || voip {
			t.Errorf("payload %v (voip %v), want %v", payload, voip, want)
		}
	}
}

// TestSealersAcrossKeys: publishes for many keys, written at once from
// several goroutines, twice over (so that the cipher cache both hits and
// evicts, more keys than its slots taking turns), each open with their own
// key and no other.
func TestSealersAcrossKeys(t *testing.T) {
	const keys, writers = 3 * sealerSlots, 8
	pubs := make([]Publish, keys)
	for i := range pubs {
		var key [registry.KeySize]byte
		key[0], key[1], key[15] = byte(i), byte(i>>8), 0xa5
		ext, err := registry.NewExtensions(registry.ExtensionSettings{Encrypt: &registry.Encryption{Alg: registry.AlgAES128GCM, Key: key}})
		if err != nil {
			t.Fatal(err)
		}
		pubs[i] = Publish{ID: "p-" + strconv.Itoa(i), User: juliet, Registration: registry.NewIdentifier(service, "n"), Extensions: ext,
			Payload: &Payload{Type: "chat", Sender: romeo, Message: "message " + strconv.Itoa(i)}}
	}
	written := make([][]byte, 2*keys)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := w; i < len(written); i += writers {
				written[i] = pubs[i%keys].AppendXML(nil)
			}
		})
	}
	wg.Wait()
	for i, x := range written {
		enc, _ := pubs[i%keys].Extensions.Encryption()
		payload, _ := openPayloadKey(t, enc.Key[:], x)
		if want := "message " + strconv.Itoa(i%keys); payload["message"] != want {
			t.Fatalf("publish %d: message %v, want %q", i, payload["message"], want)
		}
		other, _ := pubs[(i+1)%keys].Extensions.Encryption()
		if _, _, err := openWith(other.Key[:], x); err == nil {
			t.Fatalf("publish %d opens with another registration's key", i)
		}
	}
}

// TestPayloadTruncation: the message is cut so that the whole JSON takes
// at most max-size bytes, on a character boundary, for characters of 1, 2,
// 3 and 4 bytes, escapes, and a skin-toned emoji at the cap.
func TestPayloadTruncation(t *testing.T) {
	base := appendPayloadJSON(nil, &Payload{Type: "chat", Sender: "a@b"}, 1, 1000)
	fixed := len(base) + len(`,"message":""`) // the object around the message
	cases := []struct {
		name, msg string
		room      int // bytes left for the message's text
		want      string
	}{
		{"1-byte fits", "abc", 3, "abc"},
		{"1-byte cut", "abcd", 3, "abc"},
		{"2-byte at cap", "aéé", 4, "aé"},
		{"2-byte fits exactly", "aéé", 5, "aéé"},
		{"3-byte at cap", "a中文", 5, "a中"},
		{"3-byte one short", "中文", 5, "中"},
		{"4-byte at cap", "a😀😀", 8, "a😀"},
		{"4-byte not even one", "😀", 3, ""},
		{"skin tone split at cap", "ab👍🏽", 9, "ab"},
		{"skin tone whole", "ab👍🏽", 10, "ab👍🏽"},
		{"skin tone after text", "ab👍🏽cd", 11, "ab👍🏽c"},
		{"joiner sequence", "a👩\u200d💻", 8, "a"},
		{"variation selector", "a❤\ufe0f", 4, "a"},
		{"escapes count as written", "a\"b\\c", 4, "a\"b"},
		{"control character", "a\x01b", 6, "a"},
		{"invalid UTF-8", "a\xffb", 7, "a\xff"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			maxSize := fixed + tc.room
			got := appendPayloadJSON(nil, &Payload{Type: "chat", Sender: "a@b", Message: tc.msg}, 1, maxSize)
			if len(got) > maxSize {
				t.Errorf("%d bytes, cap %d: %s", len(got), maxSize, got)
			}
			if !utf8.Valid(got) || !json.Valid(got) {
				t.Fatalf("not valid UTF-8 JSON: %q", got)
			}
			var v struct{ Message string }
			_ = json.Unmarshal(got, &v)
			want := validUTF8(tc.want)
			if v.Message != want {
				t.Errorf("message %q, want %q (%s)", v.Message, want, got)
			}
			if tc.want == "" && bytes.Contains(got, []byte(`"message"`)) {
				t.Errorf("an empty cut still writes the message key: %s", got)
			}
		})
	}
}

// TestFeatures: the engine lists urn:xmpp:push:0 and every extension,
// in a new slice each time.
func TestFeatures(t *testing.T) {
	e, _ := New(Config{})
	f := e.Features()
	if len(f) != 8 || f[0] != NSPush || f[len(f)-1] != registry.NSJingle {
		t.Errorf("Features() = %q", f)
	}
	f[0] = "changed"
	if e.Features()[0] != NSPush {
		t.Errorf("Features shares its slice")
	}
}

func ExampleEngine_Features() {
	e, _ := New(Config{})
	for _, f := range e.Features() {
		fmt.Println(f)
	}
	// Output:
	// urn:xmpp:push:0
	// tigase:push:filter:muted:0
	// tigase:push:filter:ignore-unknown:0
	// tigase:push:filter:groupchat:0
	// tigase:push:priority:0
	// tigase:push:encrypt:0
	// tigase:push:encrypt:aes-128-gcm
	// tigase:push:jingle:0
}

// rosterFunc adapts a function to Roster.
type rosterFunc func(user, contact string) (bool, error)

func (f rosterFunc) InRoster(_ context.Context, user, contact string) (bool, error) {
	return f(user, contact)
}

// TestRosterAsked: the roster is asked only for a user with an
// ignore-unknown registration and a stanza that needs it; a failing lookup
// pushes and is counted; the host's queue is not written to.
func TestRosterAsked(t *testing.T) {
	ctx := context.Background()
	var asked []string
	fail := false
	r := rosterFunc(func(user, contact string) (bool, error) {
		asked = append(asked, contact)
		if fail {
			return false, errors.New("roster down")
		}
		return contact == "romeo@montague.example", nil
	})
	e, _ := New(Config{Roster: r, IDPrefix: "p-", IDSecret: "s"})
	msg := func(key events.Key, from string) events.Stanza {
		return events.Stanza{Key: key, Kind: events.KindMessage, Type: "chat", From: from, To: juliet, Body: "x", HasBody: true}
	}
	offline := func(st events.Stanza) int {
		d, err := e.Handle(ctx, events.OfflineMessage{Now: at(1), User: juliet, Stanza: st})
		if err != nil {
			t.Fatal(err)
		}
		return len(d.Publishes)
	}
	if _, err := e.Handle(ctx, events.IQ{Now: at(0), Session: phone, Payload: enableExt("A", "")}); err != nil {
		t.Fatal(err)
	}
	if n := offline(msg(1, "paris@verona.example/x")); n != 1 || len(asked) != 0 {
		t.Fatalf("without the filter: %d publishes, roster asked %q", n, asked)
	}
	if _, err := e.Handle(ctx, events.IQ{Now: at(0), Session: phone, Payload: enableExt("A", "<ignore-unknown xmlns='tigase:push:filter:ignore-unknown:0'/>")}); err != nil {
		t.Fatal(err)
	}
	if n := offline(msg(2, "paris@verona.example/x")); n != 0 {
		t.Errorf("a stranger: %d publishes, want 0", n)
	}
	if n := offline(msg(3, romeo)); n != 1 {
		t.Errorf("a contact: %d publishes, want 1", n)
	}
	if n := offline(msg(4, "juliet@example.org/tablet")); n != 1 {
		t.Errorf("the user's own JID: %d publishes, want 1", n)
	}
	fail = true
	if n := offline(msg(5, "paris@verona.example/x")); n != 1 {
		t.Errorf("a failing roster: %d publishes, want 1", n)
	}
	if got := e.Stats().RosterErrors; got != 1 {
		t.Errorf("RosterErrors = %d, want 1", got)
	}
	if strings.Join(asked, " ") != "paris@verona.example romeo@montague.example paris@verona.example" {
		t.Errorf("roster asked about %q", asked)
	}

	// Queued to a hibernating session: the stanza in the host's queue is
	// left as it was.
	fail = false
	if _, err := e.Handle(ctx, events.HibernationStarted{Now: at(2), Session: phone}); err != nil {
		t.Fatal(err)
	}
	queue := []events.Stanza{msg(6, "paris@verona.example/x"), msg(7, romeo)}
	d, err := e.Handle(ctx, events.AckDelayed{Now: at(3), Session: phone, Queue: queue})
	if err != nil || queue[0].SenderUnknown {
		t.Fatalf("AckDelayed: %v; the host's queue was written to: %v", err, queue[0].SenderUnknown)
	}
	d = e.Wake(ctx, d.Wake)
	if len(d.Publishes) != 1 {
		t.Errorf("batch of a stranger and a contact: %d publishes, want 1", len(d.Publishes))
	}
}

// FuzzEnableExtensions: any children of an <enable/> parse or give a
// documented stanza error whose text never holds the key; what parses
// writes back to the same extensions.
func FuzzEnableExtensions(f *testing.F) {
	for _, s := range []string{
		extEncrypt, extPriority, extJingle,
		"<encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm' max-size='100'>" + clientKey + "</encrypt>",
		"<encrypt xmlns='tigase:push:encrypt:0' alg='aes-256-gcm'>" + clientKey + "</encrypt>",
		"<encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm'>c2hvcnQ=</encrypt>",
		"<muted xmlns='tigase:push:filter:muted:0'><item jid='Tybalt@Capulet.Example/x'/><item jid='@'/></muted>",
		"<ignore-unknown xmlns='tigase:push:filter:ignore-unknown:0'/>",
		"<groupchat xmlns='tigase:push:filter:groupchat:0'><room jid='r@muc.example' allow='mentioned' nick='Juliet'/><room jid='s@muc.example' allow='sometimes'/></groupchat>",
		"<groupchat xmlns='tigase:push:filter:groupchat:0'/>" + extPriority + extPriority,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, children string) {
		req, err := readRequest(enableExt("A", children))
		if err != nil {
			var se *events.StanzaError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a stanza error", err)
			}
			if k := strings.TrimSpace(children); len(k) >= 8 && strings.Contains(se.Text, k) {
				t.Fatalf("error text %q quotes the input", se.Text)
			}
			return
		}
		back, err := readRequest(req.AppendXML(nil))
		if err != nil || back.Extensions != req.Extensions {
			t.Fatalf("written back: %s, %v; want %s", back.Extensions, err, req.Extensions)
		}
	})
}

// FuzzPayloadJSON: the payload is valid JSON within the cap (given room
// for the fixed part), and its message is a prefix of the body.
func FuzzPayloadJSON(f *testing.F) {
	f.Add("hello", "romeo@montague.example", 100)
	f.Add("ab👍🏽cd", "x", 40)
	f.Add("a\"\\\x01\xff中", "n\"", 45)
	f.Fuzz(func(t *testing.T, msg, nick string, maxSize int) {
		maxSize = 40 + maxSize&0x3ff
		p := Payload{Type: "groupchat", Sender: "r@m", Nickname: nick, Message: msg}
		empty := p
		empty.Message = ""
		got := appendPayloadJSON(nil, &p, 1, maxSize)
		if !json.Valid(got) {
			t.Fatalf("not JSON: %q", got)
		}
		if fixed := len(appendPayloadJSON(nil, &empty, 1, maxSize)); len(got) > max(maxSize, fixed) {
			t.Fatalf("%d bytes over the cap %d: %q", len(got), maxSize, got)
		}
		var v struct{ Message string }
		_ = json.Unmarshal(got, &v)
		if !strings.HasPrefix(validUTF8(msg), v.Message) {
			t.Fatalf("message %q is not a prefix of %q", v.Message, msg)
		}
	})
}

// validUTF8 replaces each byte of s that is not UTF-8 by U+FFFD, as the
// payload's JSON does.
func validUTF8(s string) string { return strings.Map(func(r rune) rune { return r }, s) }

// TestPayloadJSONCutsSkinTone: the payload's message is cut on a character
// boundary, and an emoji whose skin-tone modifier does not fit loses both.
func TestPayloadJSONCutsSkinTone(t *testing.T) {
	p := &Payload{Type: "groupchat", Sender: "capulets@muc.example.org", Nickname: "Nurse", Message: "Supper! 👍🏽"}
	for _, tc := range []struct {
		max  int
		want string
	}{
		{3000, `{"unread":1,"type":"groupchat","sender":"capulets@muc.example.org","nickname":"Nurse","message":"Supper! 👍🏽"}`},
		{111, `{"unread":1,"type":"groupchat","sender":"capulets@muc.example.org","nickname":"Nurse","message":"Supper! "}`}, // room for 👍, not for its skin tone
	} {
		if got := string(appendPayloadJSON(nil, p, 1, tc.max)); got != tc.want {
			t.Errorf("max %d:\n got %s\nwant %s", tc.max, got, tc.want)
		}
	}
}

// TestKeyNeverLogged: with every log record on, an encrypted registration's
// life (enable, pushes, a failing roster, errors, disable) logs nothing of
// its key, and neither do the Extensions' String and GoString.
func TestKeyNeverLogged(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := rosterFunc(func(_, _ string) (bool, error) { return false, errors.New("roster down") })
	e, _ := New(Config{Logger: logger, Roster: r, IDPrefix: "p-", IDSecret: "s"})
	ign := "<ignore-unknown xmlns='tigase:push:filter:ignore-unknown:0'/>"
	d, err := e.Handle(ctx, events.IQ{Now: at(0), Session: phone, Payload: enableExt("A", extEncrypt+ign)})
	if err != nil || len(d.Replies) != 1 || d.Replies[0].Error != nil {
		t.Fatalf("enable: %+v, %v", d.Replies, err)
	}
	d, err = e.Handle(ctx, events.OfflineMessage{Now: at(1), User: juliet, Stanza: events.Stanza{Key: 1, Kind: events.KindMessage,
		Type: "chat", From: "paris@verona.example/x", To: juliet, Body: "x", HasBody: true}})
	if err != nil || len(d.Publishes) != 1 {
		t.Fatalf("offline: %d publishes, %v", len(d.Publishes), err)
	}
	p := d.Publishes[0]
	if _, err := e.Handle(ctx, events.PublishResult{Now: at(2), ID: p.ID, From: p.To(), Error: &events.StanzaError{Type: "cancel", Condition: "item-not-found"}}); err != nil {
		t.Fatal(err)
	}
	bad := []byte("<iq type='set' id='e2'><enable xmlns='urn:xmpp:push:0' jid='" + service + "' node='A'><encrypt xmlns='tigase:push:encrypt:0' alg='rot13'>" + clientKey + "</encrypt></enable></iq>")
	if d, _ := e.Handle(ctx, events.IQ{Now: at(3), Session: phone, Payload: bad}); len(d.Replies) != 1 || strings.Contains(d.Replies[0].Error.Text, clientKey) {
		t.Errorf("refused enable: %+v", d.Replies)
	}
	if _, err := e.Handle(ctx, events.IQ{Now: at(4), Session: phone, Payload: []byte("<disable xmlns='urn:xmpp:push:0' jid='" + service + "'/>")}); err != nil {
		t.Fatal(err)
	}
	key, _ := base64.StdEncoding.DecodeString(clientKey)
	shown := logs.String() + p.Extensions.String() + fmt.Sprintf("%v %+v %#v", p.Extensions, p, p.Extensions)
	if logs.Len() == 0 || !strings.Contains(logs.String(), "roster") {
		t.Fatalf("nothing logged about the roster: the test sees no records\n%s", logs.String())
	}
	for _, secret := range []string{clientKey, string(key), fmt.Sprint(key), fmt.Sprintf("%x", key)} {
		if strings.Contains(shown, secret) {
			t.Errorf("the key (%q) shows:\n%s", secret, shown)
		}
	}
}

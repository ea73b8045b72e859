package push2

import (
	"crypto/ecdh"
	crand "crypto/rand"
	"strings"
	"testing"
	"time"
)

// benchChat is a typical one-to-one chat message as a server holds it:
// a body, receipts and markers, ids, a chat state.
var benchChat = []byte("<message xmlns='jabber:client' from='juliet@example.com/balcony-4f2a' to='romeo@example.net' type='chat' id='5f1c7b2e-8d0a-4c6e-9b1f-3a2d4e5f6a7b' xml:lang='en'>" +
	"<body>Romeo, Romeo, wherefore art thou Romeo? Deny thy father and refuse thy name.</body>" +
	"<request xmlns='urn:xmpp:receipts'/><markable xmlns='urn:xmpp:chat-markers:0'/>" +
	"<origin-id xmlns='urn:xmpp:sid:0' id='5f1c7b2e-8d0a-4c6e-9b1f-3a2d4e5f6a7b'/>" +
	"<stanza-id xmlns='urn:xmpp:sid:0' id='K8XbQm2vR3aL' by='romeo@example.net'/>" +
	"<active xmlns='http://jabber.org/protocol/chatstates'/></message>")

// BenchmarkPush2Publish measures one push of benchChat: the envelope, a
// fresh P-256 key pair and ECDH, the encryption, and the notification's
// XML; with VAPID, also the token. In the steady state (encrypted+vapid)
// the token comes from the cache; vapid-resign pushes in a new window
// every time (one ES256 signature per push), vapid-cold to a registration
// the cache does not hold (the key's parse and a signature: the worst
// case).
func BenchmarkPush2Publish(b *testing.B) {
	for _, bc := range []struct {
		name string
		send Send
		step time.Duration // added to Now after each push
		cold bool          // empty the token cache before each push
	}{
		{"encrypted", testSend(), 0, false},
		{"encrypted+vapid", testVAPIDSend(), 0, false},
		{"encrypted+vapid-resign", testVAPIDSend(), vapidWindow, false},
		{"encrypted+vapid-cold", testVAPIDSend(), 0, true},
		{"notify-only", Send{Profile: SendNotifyOnly}, 0, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := testRequest(Match{Profile: MatchAll, Send: bc.send})
			p := &Push{Domain: "example.net", Now: time.Unix(1_800_000_000, 0), Important: true, Rand: crand.Reader}
			var out []byte
			b.ReportAllocs()
			for b.Loop() {
				if bc.cold {
					vapidTokens.mu.Lock()
					clear(vapidTokens.tokens)
					vapidTokens.mu.Unlock()
				}
				var err error
				if out, _, err = AppendPush(out[:0], &req, &req.Matches[0], benchChat, p); err != nil {
					b.Fatal(err)
				}
				p.Now = p.Now.Add(bc.step)
			}
		})
	}
}

// BenchmarkP256Floor is the yardstick for BenchmarkPush2Publish: the
// P-256 key generation and ECDH every encrypted push needs, alone. The
// difference between the two is what the package adds.
func BenchmarkP256Floor(b *testing.B) {
	ua, err := ecdh.P256().NewPublicKey(testUAPublic)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		k, err := ecdh.P256().GenerateKey(crand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := k.ECDH(ua); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseRequest measures parsing an encrypted enable with a VAPID
// key (a PKCS#8 parse and a scalar multiplication to check it).
func BenchmarkParseRequest(b *testing.B) {
	data := []byte(enableXML("<match profile='urn:xmpp:push2:match:important'><grace>60</grace>" +
		strings.Repeat("<filter jid='room@muc.example'><mention/></filter>", 4) + vapidSend() + "</match>"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRequest(data); err != nil {
			b.Fatal(err)
		}
	}
}

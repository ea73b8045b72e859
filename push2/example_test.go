package push2

import (
	"crypto/ecdh"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"github.com/pushrules/pushrules/events"
)

// constReader is a deterministic "random" source for the examples: every
// byte it reads is the same. Use crypto/rand.Reader in real code.
type constReader byte

func (c constReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(c)
	}
	return len(b), nil
}

func ExampleParseRequest() {
	enable := `<enable xmlns='urn:xmpp:push2:0'>
  <service>push.example.org</service>
  <client>https://push.example.org/endpoint/42</client>
  <match profile='urn:xmpp:push2:match:important'>
    <grace>90</grace>
    <filter jid='room@muc.example.org'><mention/></filter>
    <send xmlns='urn:xmpp:push2:send:sce+rfc8291+rfc8292:0'>
      <ua-public>BCVxsr7N/eNgVRqvHtD0zTZsEc6+VV+JvLexhqUzORcxaOzi6+AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4</ua-public>
      <auth-secret>BTBZMqHH6r4Tts7J/aSIgg==</auth-secret>
    </send>
  </match>
</enable>`
	req, err := ParseRequest([]byte(enable))
	if err != nil {
		fmt.Println(err)
		return
	}
	m := req.Matches[0]
	fmt.Println(req.Service, req.Client)
	fmt.Println(m.Profile, m.Grace, m.Filters)
	fmt.Println(m.Send.Profile, "secret:", m.Send.AuthSecret)

	_, err = ParseRequest([]byte(`<enable xmlns='urn:xmpp:push2:0'><client>c</client></enable>`))
	fmt.Println(err)
	// Output:
	// push.example.org https://push.example.org/endpoint/42
	// urn:xmpp:push2:match:important 1m30s [{room@muc.example.org true false}]
	// urn:xmpp:push2:send:sce+rfc8291+rfc8292:0 secret: [redacted]
	// modify/bad-request: Missing service
}

// The device's side of a push: it registers its keys, the server builds a
// notification for a message, and the device decrypts the payload.
func ExampleAppendPush() {
	// The device: an ECDH key pair and an auth secret (here fixed).
	device, _ := ecdh.P256().NewPrivateKey([]byte("a device key of thirty-two bytes"))
	secret := []byte("sixteen byte key")
	enable := "<enable xmlns='urn:xmpp:push2:0'><service>push.example.org</service><client>endpoint-7</client>" +
		"<match profile='urn:xmpp:push2:match:all'><send xmlns='urn:xmpp:push2:send:sce+rfc8291+rfc8292:0'>" +
		"<ua-public>" + base64.StdEncoding.EncodeToString(device.PublicKey().Bytes()) + "</ua-public>" +
		"<auth-secret>" + base64.StdEncoding.EncodeToString(secret) + "</auth-secret></send></match></enable>"
	req, err := ParseRequest([]byte(enable))
	if err != nil {
		fmt.Println(err)
		return
	}

	// The server: a message arrives for the user.
	stanza := []byte("<message from='juliet@example.com/balcony' to='romeo@example.net' type='chat'><body>Art thou not Romeo?</body></message>")
	st, _ := events.ParseStanza(stanza)
	if !req.Matches[0].Matches(&st, Facts{}) {
		return
	}
	out, id, err := AppendPush(nil, &req, &req.Matches[0], stanza, &Push{
		Domain: "example.net", Now: time.Unix(1_800_000_000, 0), Important: st.Important(), Rand: constReader(0x42),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("id:", id)

	// The push service hands the payload to the device, which decrypts it.
	var n struct {
		Priority string `xml:"notification>priority"`
		Payload  []byte `xml:"notification>encrypted>payload"`
	}
	if err := xml.Unmarshal(out, &n); err != nil {
		fmt.Println(err)
		return
	}
	body, _ := base64.StdEncoding.DecodeString(string(n.Payload))
	envelope, err := deviceDecrypt(body, device, secret)
	if err != nil {
		fmt.Println(err)
		return
	}
	var env struct {
		Message struct {
			From string `xml:"from,attr"`
			Body string `xml:"body"`
		} `xml:"content>forwarded>message"`
	}
	if err := xml.Unmarshal(envelope, &env); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("priority:", n.Priority)
	fmt.Println(env.Message.From+":", env.Message.Body)
	// Output:
	// id: 42424242-4242-4242-8242-424242424242
	// priority: normal
	// juliet@example.com/balcony: Art thou not Romeo?
}

// A registration that mutes a busy room unless the user is mentioned.
func ExampleMatch_Matches() {
	m := Match{Profile: MatchImportant, Filters: []Filter{{JID: "room@muc.example.org", Mention: true}}}
	msg := &events.Stanza{Kind: events.KindMessage, Type: "groupchat", From: "room@muc.example.org/nurse", Body: "Juliet!", HasBody: true}
	fmt.Println(m.Matches(msg, Facts{}))
	fmt.Println(m.Matches(msg, Facts{Mentioned: true}))
	msg.From = "other@muc.example.org/nurse"
	fmt.Println(m.Matches(msg, Facts{}))
	// Output:
	// false
	// true
	// true
}

// A long message is cut down to fit a small limit: the unknown element
// goes first, then the quoted line and the end of the body.
func ExampleAppendEnvelope() {
	stanza := []byte("<message from='juliet@example.com/balcony' type='chat'>" +
		"<body>&gt; What's in a name?\nThat which we call a rose by any other name would smell as sweet.</body>" +
		"<x xmlns='urn:example:unread'>" + strings.Repeat("x", 200) + "</x></message>")
	env, err := AppendEnvelope(nil, stanza, 300, constReader(0))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(env) <= 300)
	var e struct {
		Body string `xml:"content>forwarded>message>body"`
	}
	if err := xml.Unmarshal(env, &e); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.Body)
	// Output:
	// true
	// That which we call a rose by any other name would …
}

func ExampleParseErrorReply() {
	r, err := ParseErrorReply([]byte("<message from='push.example.org' id='42424242-4242-4242-8242-424242424242' type='error'>" +
		"<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.ID, r.From)
	fmt.Println(r.Error.Type, r.Error.Condition)
	// Output:
	// 42424242-4242-4242-8242-424242424242 push.example.org
	// cancel item-not-found
}

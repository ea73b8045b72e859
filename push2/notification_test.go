package push2

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
)

func TestAppendNotification(t *testing.T) {
	tests := []struct {
		n    Notification
		want string
	}{
		{Notification{ID: "i", To: "push.example", From: "example.org", Client: "c&<'", Priority: PriorityLow},
			"<message to='push.example' from='example.org' id='i'><notification xmlns='urn:xmpp:push2:0'><client>c&amp;&lt;&apos;</client><priority>low</priority></notification></message>"},
		{Notification{ID: "i", To: "p", From: "d", Client: "c", Priority: PriorityHigh, VoIP: true, Payload: []byte{1, 2, 3}, JWT: "a.b.c", JWTKey: []byte{4}},
			"<message to='p' from='d' id='i'><notification xmlns='urn:xmpp:push2:0'><client>c</client><priority>high</priority><voip/>" +
				"<encrypted xmlns='urn:xmpp:sce:rfc8291:0'><payload>AQID</payload></encrypted><jwt key='BA=='>a.b.c</jwt></notification></message>"},
		{Notification{ID: "i", To: "p", From: "d", Client: "c", Priority: PriorityNormal, Payload: []byte{}},
			"<message to='p' from='d' id='i'><notification xmlns='urn:xmpp:push2:0'><client>c</client><priority>normal</priority>" +
				"<encrypted xmlns='urn:xmpp:sce:rfc8291:0'><payload></payload></encrypted></notification></message>"},
	}
	for _, tc := range tests {
		if got := string(AppendNotification([]byte("x"), tc.n)); got != "x"+tc.want {
			t.Errorf("got  %s\nwant x%s", got, tc.want)
		}
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewID(t *testing.T) {
	id, err := newID(bytes.NewReader(bytes.Repeat([]byte{0xff}, 16)))
	if err != nil || id != "ffffffff-ffff-4fff-bfff-ffffffffffff" {
		t.Errorf("all ones: %q, %v", id, err)
	}
	id, err = newID(zeroReader{})
	if err != nil || id != "00000000-0000-4000-8000-000000000000" {
		t.Errorf("all zeros: %q, %v", id, err)
	}
	seen := map[string]bool{}
	for range 100 {
		id, err := newID(crand.Reader)
		if err != nil || !uuidV4.MatchString(id) || seen[id] {
			t.Fatalf("%q, %v", id, err)
		}
		seen[id] = true
	}
	if _, err := newID(bytes.NewReader(make([]byte, 15))); !errors.Is(err, ErrRandom) {
		t.Errorf("short reader: %v", err)
	}
}

func TestParseErrorReply(t *testing.T) {
	good := []struct {
		xml  string
		want ErrorReply
	}{
		{"<message xmlns='jabber:client' type='error' id='u1' from='push.example'><error type='wait'><resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
			ErrorReply{ID: "u1", From: "push.example", Error: events.StanzaError{Type: "wait", Condition: "resource-constraint"}}},
		{"<message type='error' id='u2'><notification xmlns='urn:xmpp:push2:0'/><error type='cancel' by='x'><x xmlns='urn:other'/>" +
			"<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>gone &amp; lost</text><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
			ErrorReply{ID: "u2", Error: events.StanzaError{Type: "cancel", Condition: "service-unavailable", Text: "gone & lost"}}},
	}
	for _, tc := range good {
		got, err := ParseErrorReply([]byte(tc.xml))
		if err != nil || got != tc.want {
			t.Errorf("%.60s: %+v, %v", tc.xml, got, err)
		}
	}
	for _, bad := range []string{
		"", "<message type='error'>", "<iq type='error'><error type='cancel'><x xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
		"<message type='chat'><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
		"<message type='error'/>",
		"<message type='error'><error><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
		"<message type='error'><error type='oops'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
		"<message type='error'><error type='cancel'><gone/></error></message>",
		"<message type='error'><error xmlns='urn:other' type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
		"<message type='error'><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>" + strings.Repeat(" ", maxReplySize),
	} {
		if r, err := ParseErrorReply([]byte(bad)); !errors.Is(err, ErrReply) || r != (ErrorReply{}) {
			t.Errorf("%.80s: %+v, %v", bad, r, err)
		}
	}
}

// notificationXML is what a push service reads of a notification.
type notificationXML struct {
	To   string `xml:"to,attr"`
	From string `xml:"from,attr"`
	ID   string `xml:"id,attr"`
	N    struct {
		Client   string    `xml:"client"`
		Priority string    `xml:"priority"`
		VoIP     *struct{} `xml:"voip"`
		Payload  string    `xml:"urn:xmpp:sce:rfc8291:0 encrypted>payload"`
		JWT      *struct {
			Key   string `xml:"key,attr"`
			Token string `xml:",chardata"`
		} `xml:"jwt"`
	} `xml:"urn:xmpp:push2:0 notification"`
}

func TestAppendPush(t *testing.T) {
	ua, auth := vectorDevice(t)
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name      string
		stanza    string
		important bool
		priority  string
		voip      bool
	}{
		{"chat", "<message from='juliet@example.com/b' to='romeo@example.net' type='chat'><body>hi</body></message>", true, "normal", false},
		{"receipt", "<message from='juliet@example.com/b' to='romeo@example.net'><received xmlns='urn:xmpp:receipts' id='1'/></message>", false, "low", false},
		{"call", "<message from='juliet@example.com/b' to='romeo@example.net'><propose xmlns='urn:xmpp:jingle-message:0' id='c'/></message>", true, "high", true},
		{"call retracted", "<message from='juliet@example.com/b' to='romeo@example.net'><retract xmlns='urn:xmpp:jingle-message:1' id='c'/></message>", false, "high", true},
	}
	for _, send := range []Send{testVAPIDSend(), testSend(), {Profile: SendNotifyOnly}} {
		req := testRequest(Match{Profile: MatchAll, Send: send})
		for _, tc := range tests {
			p := &Push{Domain: "example.net", Now: now, Important: tc.important, Rand: crand.Reader}
			out, id, err := AppendPush([]byte("x"), &req, &req.Matches[0], []byte(tc.stanza), p)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var n notificationXML
			if err := xml.Unmarshal(out[1:], &n); err != nil {
				t.Fatalf("%s: %v\n%s", tc.name, err, out)
			}
			if n.ID != id || !uuidV4.MatchString(id) || n.To != "push.example.org" || n.From != "example.net" ||
				n.N.Client != req.Client || n.N.Priority != tc.priority || (n.N.VoIP != nil) != tc.voip {
				t.Errorf("%s: %+v", tc.name, n)
			}
			if send.Profile == SendNotifyOnly {
				if n.N.Payload != "" || n.N.JWT != nil {
					t.Errorf("%s: notify-only with a payload: %s", tc.name, out)
				}
				continue
			}
			body, err := base64.StdEncoding.DecodeString(n.N.Payload)
			if err != nil {
				t.Fatal(err)
			}
			env := decryptAsDevice(t, body, ua, auth)
			info := inspectEnvelope(t, env)
			if len(info.kids) != 1 || !info.hasPad {
				t.Errorf("%s: envelope %s", tc.name, env)
			}
			if (n.N.JWT != nil) != send.VAPID {
				t.Errorf("%s: jwt %v", tc.name, n.N.JWT)
			}
			if send.VAPID {
				checkJWT(t, n.N.JWT.Key, n.N.JWT.Token, now)
			}
		}
	}
}

// checkJWT verifies a token against the key of the notification, and that
// the key is the client's.
func checkJWT(t *testing.T, key, token string, now time.Time) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := SigningKey(testJWTKey).PrivateKey()
	if !pub.Equal(&priv.PublicKey) {
		t.Error("jwt key is not the client's")
	}
	parts := strings.Split(token, ".")
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	sig := b64url(t, parts[2])
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Error("jwt does not verify")
	}
	var claims map[string]any
	if err := json.Unmarshal(b64url(t, parts[1]), &claims); err != nil || claims["sub"] != "xmpp:example.net" ||
		claims["aud"] != "https://push.example" {
		t.Errorf("claims %v, %v", claims, err)
	}
	// The token is valid at now with at least vapidMargin left, and was
	// issued at most vapidWindow before.
	iat, _ := claims["iat"].(float64)
	exp, _ := claims["exp"].(float64)
	if sent := float64(now.Unix()); iat > sent || sent >= iat+vapidWindow.Seconds() || exp != iat+vAPIDLifetime.Seconds() {
		t.Errorf("iat %v, exp %v for a push at %v", iat, exp, sent)
	}
}

func TestAppendPushErrors(t *testing.T) {
	req := testRequest(Match{Profile: MatchAll, Send: testSend()})
	chat := []byte("<message><body>hi</body></message>")
	badKey := testRequest(Match{Profile: MatchAll, Send: testVAPIDSend()})
	badKey.Matches[0].Send.JWTKey = SigningKey{}
	offCurve := testRequest(Match{Profile: MatchAll, Send: testSend()})
	offCurve.Matches[0].Send.UAPublic[64] ^= 1
	noProfile := testRequest(Match{Profile: MatchAll})
	tests := []struct {
		name   string
		req    Request
		stanza []byte
		rand   func() *bytes.Reader
		want   error
	}{
		{"disable", Request{Disable: true}, chat, nil, ErrRequest},
		{"no send profile", noProfile, chat, nil, ErrRequest},
		{"not a message", req, []byte("<iq/>"), nil, ErrStanza},
		{"too large", req, []byte("<message id='" + strings.Repeat("x", 3000) + "'/>"), nil, ErrTooLarge},
		{"bad ua key", offCurve, chat, nil, ErrKey},
		{"bad jwt key", badKey, chat, nil, ErrKey},
		{"no random for the id", req, chat, func() *bytes.Reader { return bytes.NewReader(nil) }, ErrRandom},
		{"no random for the padding", req, chat, func() *bytes.Reader { return bytes.NewReader(make([]byte, 20)) }, ErrRandom},
		{"no random for the salt", req, chat, func() *bytes.Reader { return bytes.NewReader(make([]byte, 16+150)) }, ErrRandom},
	}
	if out, _, err := AppendPush(nil, nil, nil, chat, nil); !errors.Is(err, ErrRequest) || out != nil {
		t.Errorf("nil arguments: %q, %v", out, err)
	}
	for _, tc := range tests {
		p := &Push{Domain: "example.net"} // nil Rand: crypto/rand
		if tc.rand != nil {
			p.Rand = tc.rand()
		}
		var m *Match
		if len(tc.req.Matches) > 0 {
			m = &tc.req.Matches[0]
		} else {
			m = &req.Matches[0]
		}
		out, id, err := AppendPush([]byte("kept"), &tc.req, m, tc.stanza, p)
		if !errors.Is(err, tc.want) || string(out) != "kept" || id != "" {
			t.Errorf("%s: %q, %q, %v; want %v", tc.name, out, id, err, tc.want)
		}
	}
}

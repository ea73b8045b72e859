package push2

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
)

// Test keys: the RFC 8291 device, and a VAPID key from a fixed scalar.
var (
	testUAPublic = mustURL(vecUAPublic)
	testAuth     = mustURL(vecAuth)
	testJWTKey   = sha256.Sum256([]byte("push2 test VAPID key"))
	testJWTDER   = func() []byte {
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), testJWTKey[:])
		if err != nil {
			panic(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		return der
	}()
)

func mustURL(s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// enableXML returns an enable with the given match elements.
func enableXML(matches ...string) string {
	return "<enable xmlns='urn:xmpp:push2:0'><service>push.example.org</service><client>https://push.example/ep/1</client>" +
		strings.Join(matches, "") + "</enable>"
}

func encSend(extra string) string {
	return "<send xmlns='urn:xmpp:push2:send:sce+rfc8291+rfc8292:0'><ua-public>" + std(testUAPublic) +
		"</ua-public><auth-secret>" + std(testAuth) + "</auth-secret>" + extra + "</send>"
}

const notifySend = "<send xmlns='urn:xmpp:push2:send:notify-only:0'/>"

func vapidSend() string {
	return encSend("<jwt-alg>ES256</jwt-alg><jwt-key>" + std(testJWTDER) + "</jwt-key><jwt-claim name='aud'>https://push.example</jwt-claim>")
}

func testSend() Send {
	s := Send{Profile: SendEncrypted}
	copy(s.UAPublic[:], testUAPublic)
	copy(s.AuthSecret[:], testAuth)
	return s
}

func testVAPIDSend() Send {
	s := testSend()
	s.VAPID, s.JWTKey = true, testJWTKey
	s.Claims = []Claim{{"aud", "https://push.example"}}
	return s
}

func testRequest(ms ...Match) Request {
	return Request{Service: "push.example.org", Client: "https://push.example/ep/1", Matches: ms}
}

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name string
		xml  string
		want Request
	}{
		{"disable", "<disable xmlns='urn:xmpp:push2:0'/>", Request{Disable: true}},
		{"notify-only", enableXML("<match profile='urn:xmpp:push2:match:all'>" + notifySend + "</match>"),
			testRequest(Match{Profile: MatchAll, Send: Send{Profile: SendNotifyOnly}})},
		{"encrypted with grace and filters", enableXML("<match profile='urn:xmpp:push2:match:important'><grace>120</grace>" +
			"<filter jid='room@muc.example'><mention/></filter><filter jid='x.example'><reply/><mention/></filter><filter jid='a@b/c'/>" +
			encSend("") + "</match>"),
			testRequest(Match{Profile: MatchImportant, Grace: 2 * time.Minute, Send: testSend(), Filters: []Filter{
				{JID: "room@muc.example", Mention: true}, {JID: "x.example", Mention: true, Reply: true}, {JID: "a@b/c"}}})},
		{"vapid", enableXML("<match profile='urn:xmpp:push2:match:archived-with-body'>" + vapidSend() + "</match>"),
			testRequest(Match{Profile: MatchArchivedWithBody, Send: testVAPIDSend()})},
		{"several matches", enableXML("<match profile='urn:xmpp:push2:match:archived'>"+notifySend+"</match>",
			"<match profile='urn:xmpp:push2:match:important'><grace>0</grace>"+encSend("")+"</match>"),
			testRequest(Match{Profile: MatchArchived, Send: Send{Profile: SendNotifyOnly}}, Match{Profile: MatchImportant, Send: testSend()})},
		{"unpadded base64, white space, prefixes, comments, unknown elements",
			"<?pi x?> <p:enable xmlns:p='urn:xmpp:push2:0' xmlns='jabber:client'><!-- c --><p:service>\n push.example.org </p:service>" +
				"<x xmlns='urn:other'><p:service>ignored</p:service></x><p:client>https://push.example/ep/1</p:client><service>not ours</service>" +
				"<p:match profile=\"urn:xmpp:push2:match:all\" other='1'><p:grace> 007 </p:grace><e:send xmlns:e='urn:xmpp:push2:send:sce+rfc8291+rfc8292:0'>" +
				"<e:ua-public>" + strings.TrimRight(std(testUAPublic), "=") + "</e:ua-public><e:auth-secret>\n" +
				strings.TrimRight(std(testAuth), "=") + "\n</e:auth-secret><e:extra/></e:send></p:match></p:enable>\n",
			testRequest(Match{Profile: MatchAll, Grace: 7 * time.Second, Send: testSend()})},
		{"escaped client", "<enable xmlns='urn:xmpp:push2:0'><service>push.example.org</service><client>a&amp;b&lt;<![CDATA[&c]]></client>" +
			"<match profile='urn:xmpp:push2:match:all'>" + notifySend + "</match></enable>",
			Request{Service: "push.example.org", Client: "a&b<&c", Matches: []Match{{Profile: MatchAll, Send: Send{Profile: SendNotifyOnly}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRequest([]byte(tc.xml))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %#v\nwant %#v", got, tc.want)
			}
			checkRoundTrips(t, got)
			if o, err := oracleParse([]byte(tc.xml)); err != nil || !reflect.DeepEqual(o, got) {
				t.Errorf("oracle: %#v, %v", o, err)
			}
		})
	}
}

// checkRoundTrips checks that r comes back equal through AppendXML and
// ParseRequest, and through MarshalJSON and UnmarshalJSON.
func checkRoundTrips(t *testing.T, r Request) {
	t.Helper()
	x, err := r.AppendXML(nil)
	if err != nil {
		t.Fatalf("AppendXML: %v", err)
	}
	if back, err := ParseRequest(x); err != nil || !reflect.DeepEqual(back, r) {
		t.Fatalf("XML round trip: %s\n%#v, %v", x, back, err)
	}
	j, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("MarshalJSON: %v", err)
	}
	var back Request
	if err := json.Unmarshal(j, &back); err != nil || !reflect.DeepEqual(back, r) {
		t.Fatalf("JSON round trip: %s\n%#v, %v", j, back, err)
	}
	if j2, _ := json.Marshal(back); !bytes.Equal(j, j2) {
		t.Fatalf("JSON not stable:\n%s\n%s", j, j2)
	}
}

func TestParseRequestErrors(t *testing.T) {
	m := func(inner string) string { return "<match profile='urn:xmpp:push2:match:all'>" + inner + "</match>" }
	enc := "<send xmlns='urn:xmpp:push2:send:sce+rfc8291+rfc8292:0'>"
	ua := "<ua-public>" + std(testUAPublic) + "</ua-public>"
	auth := "<auth-secret>" + std(testAuth) + "</auth-secret>"
	offCurve := append([]byte(nil), testUAPublic...)
	offCurve[64] ^= 1
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), zeroReader{})
	p384DER, _ := x509.MarshalPKCS8PrivateKey(p384)
	br, na, fni, jm := "modify/bad-request", "modify/not-acceptable", "cancel/feature-not-implemented", "modify/jid-malformed"
	tests := []struct {
		xml, cond, text string
	}{
		{"", br, "Malformed request"},
		{"<enable xmlns='urn:xmpp:push2:0'>", br, "Malformed request"},
		{"<enable xmlns='urn:xmpp:push2:0'/><disable xmlns='urn:xmpp:push2:0'/>", br, "Malformed request"},
		{"text<disable xmlns='urn:xmpp:push2:0'/>", br, "Malformed request"},
		{"<!DOCTYPE x><disable xmlns='urn:xmpp:push2:0'/>", br, "Malformed request"},
		{"<enable xmlns='urn:xmpp:push:0'/>", br, "Not an enable or disable of urn:xmpp:push2:0"},
		{"<enable xmlns='urn:xmpp:push2:0'><client>c</client>" + m(notifySend) + "</enable>", br, "Missing service"},
		{"<enable xmlns='urn:xmpp:push2:0'><service> </service><client>c</client>" + m(notifySend) + "</enable>", br, "Missing service"},
		{"<enable xmlns='urn:xmpp:push2:0'><service>s.example</service>" + m(notifySend) + "</enable>", br, "Missing client"},
		{"<enable xmlns='urn:xmpp:push2:0'><service>s.example</service><client>c</client></enable>", br, "Missing match"},
		{"<enable xmlns='urn:xmpp:push2:0'><service>a@</service><client>c</client>" + m(notifySend) + "</enable>", jm, "Malformed service JID"},
		{"<enable xmlns='urn:xmpp:push2:0'><service>s</service><service>s</service></enable>", br, "Duplicate service"},
		{enableXML("<match>" + notifySend + "</match>"), br, "Match without profile"},
		{enableXML("<match profile='urn:xmpp:push2:match:some'>" + notifySend + "</match>"), fni, "Unsupported match profile"},
		{enableXML(m("")), br, "Match without send"},
		{enableXML(m(notifySend + notifySend)), br, "Duplicate send"},
		{enableXML(m("<send xmlns='urn:xmpp:push2:send:notify-only'/>")), fni, "Unsupported send profile"},
		{enableXML(m("<grace>-1</grace>" + notifySend)), br, "Malformed grace"},
		{enableXML(m("<grace/>" + notifySend)), br, "Malformed grace"},
		{enableXML(m("<grace>86401</grace>" + notifySend)), na, "Grace out of range"},
		{enableXML(m("<grace>99999999999999999999999</grace>" + notifySend)), na, "Grace out of range"},
		{enableXML(m("<grace>1</grace><grace>1</grace>" + notifySend)), br, "Duplicate grace"},
		{enableXML(m("<filter jid='a b'/>" + notifySend)), jm, "Malformed filter JID"},
		{enableXML(m("<filter/>" + notifySend)), jm, "Malformed filter JID"},
		{enableXML(m(strings.Repeat("<filter jid='r@m'/>", maxFilters+1) + notifySend)), na, "Too many filters"},
		{enableXML(strings.Repeat(m(notifySend), maxMatches+1)), na, "Too many matches"},
		{enableXML(m(enc + auth + "</send>")), br, "Missing ua-public"},
		{enableXML(m(enc + ua + "</send>")), br, "Missing auth-secret"},
		{enableXML(m(enc + ua + ua + auth + "</send>")), br, "Duplicate ua-public"},
		{enableXML(m(enc + "<ua-public>" + std(offCurve) + "</ua-public>" + auth + "</send>")), br, textUAPublic},
		{enableXML(m(enc + "<ua-public>" + std(testUAPublic[:64]) + "</ua-public>" + auth + "</send>")), br, textUAPublic},
		{enableXML(m(enc + "<ua-public>!!</ua-public>" + auth + "</send>")), br, textUAPublic},
		{enableXML(m(enc + ua + "<auth-secret>" + std(testAuth[:15]) + "</auth-secret></send>")), br, "auth-secret is not 16 bytes of base64"},
		{enableXML(m(enc + ua + auth + "<jwt-alg>RS256</jwt-alg></send>")), fni, "Unsupported jwt-alg: only ES256"},
		{enableXML(m(enc + ua + auth + "<jwt-alg>ES256</jwt-alg></send>")), br, "jwt-alg without jwt-key"},
		{enableXML(m(enc + ua + auth + "<jwt-key>" + std(testJWTDER) + "</jwt-key></send>")), br, "jwt-key or jwt-claim without jwt-alg"},
		{enableXML(m(enc + ua + auth + "<jwt-claim name='aud'>x</jwt-claim></send>")), br, "jwt-key or jwt-claim without jwt-alg"},
		{enableXML(m(enc + ua + auth + "<jwt-alg>ES256</jwt-alg><jwt-key>" + std(p384DER) + "</jwt-key></send>")), br, textJWTKey},
		{enableXML(m(enc + ua + auth + "<jwt-alg>ES256</jwt-alg><jwt-key>" + std(testJWTDER[:40]) + "</jwt-key></send>")), br, textJWTKey},
		{enableXML(m(enc + ua + auth + "<jwt-alg>ES256</jwt-alg><jwt-key>" + std(testJWTDER) + "</jwt-key><jwt-claim>x</jwt-claim></send>")), br, "jwt-claim without name"},
		{enableXML(m(enc + ua + auth + "<jwt-alg>ES256</jwt-alg><jwt-key>" + std(testJWTDER) + "</jwt-key><jwt-claim name='exp'>1</jwt-claim></send>")), br, "jwt-claim exp is set by the server"},
		{enableXML(m(enc + ua + auth + "<jwt-alg>ES256</jwt-alg><jwt-key>" + std(testJWTDER) + "</jwt-key>" + strings.Repeat("<jwt-claim name='a'>1</jwt-claim>", 2) + "</send>")), br, "Duplicate jwt-claim"},
		{enableXML(m(enc + ua + auth + "<jwt-alg>ES256</jwt-alg><jwt-key>" + std(testJWTDER) + "</jwt-key>" + strings.Repeat("<jwt-claim name='a'>1</jwt-claim>", maxClaims+1) + "</send>")), na, "Too many jwt-claims"},
		{enableXML(m(enc + ua + auth + "<jwt-alg>ES256</jwt-alg><jwt-key>" + std(testJWTDER) + "</jwt-key><jwt-claim name='a'>" + strings.Repeat("x", maxTextLen+1) + "</jwt-claim></send>")), na, "jwt-claim too long"},
		{"<enable xmlns='urn:xmpp:push2:0'><service>s.example</service><client>" + strings.Repeat("x", maxTextLen+1) + "</client>" + m(notifySend) + "</enable>", na, "Client too long"},
		{"<disable xmlns='urn:xmpp:push2:0'/>" + strings.Repeat(" ", maxRequestSize), na, "Request too large"},
	}
	for _, tc := range tests {
		req, err := ParseRequest([]byte(tc.xml))
		var se *events.StanzaError
		if !errors.As(err, &se) {
			t.Errorf("%.120s: err %v (%T), want a StanzaError", tc.xml, err, err)
			continue
		}
		if got := se.Type + "/" + se.Condition; got != tc.cond || se.Text != tc.text {
			t.Errorf("%.200s:\n got %s %q\nwant %s %q", tc.xml, got, se.Text, tc.cond, tc.text)
		}
		if !reflect.DeepEqual(req, Request{}) {
			t.Errorf("%.120s: request %#v with the error", tc.xml, req)
		}
		for _, secret := range []string{std(testAuth), std(testJWTDER), string(testAuth)} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%.120s: error text shows a secret", tc.xml)
			}
		}
	}
}

type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

func TestSecretsNotPrinted(t *testing.T) {
	r := testRequest(Match{Profile: MatchAll, Send: testVAPIDSend()})
	var out strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		fmt.Fprintf(&out, verb+"\n", r)
		fmt.Fprintf(&out, verb+"\n", r.Matches[0].Send)
		fmt.Fprintf(&out, verb+"\n", &r.Matches[0].Send)
	}
	s := out.String()
	if !strings.Contains(s, "[redacted]") {
		t.Fatalf("no redaction in %s", s)
	}
	for _, secret := range [][]byte{testAuth, testJWTKey[:]} {
		for _, enc := range []string{string(secret), fmt.Sprintf("%x", secret), fmt.Sprintf("%X", secret),
			fmt.Sprint(secret), fmt.Sprintf("%d", secret[:4]), fmt.Sprintf("%#v", secret[:4]), std(secret)} {
			if strings.Contains(s, enc) || strings.Contains(s, strings.Trim(enc, "[]")) {
				t.Errorf("secret printed as %q", enc)
			}
		}
	}
}

func TestRequestJSONErrors(t *testing.T) {
	good, err := json.Marshal(testRequest(Match{Profile: MatchAll, Send: testVAPIDSend()}))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		`[]`, `{"service":1}`, `{}`, `{"service":"s.example","client":"c"}`,
		strings.Replace(string(good), "urn:xmpp:push2:match:all", "urn:xmpp:push2:match:x", 1),
		strings.Replace(string(good), `"jwt_key":"`, `"jwt_key":"AAAA`, 1),
		strings.Replace(string(good), `"profile":"urn:xmpp:push2:match:all"`, `"profile":"urn:xmpp:push2:match:all","grace":-1`, 1),
		strings.Replace(string(good), `"name":"aud"`, `"name":"iat"`, 1),
		strings.Replace(string(good), `"client":"https://push.example/ep/1"`, `"client":" x"`, 1),
	} {
		r := testRequest()
		if err := json.Unmarshal([]byte(bad), &r); !errors.Is(err, ErrRequest) {
			t.Errorf("%s: %v", bad, err)
		}
		if !reflect.DeepEqual(r, testRequest()) {
			t.Errorf("%s: request changed to %#v", bad, r)
		}
	}
	bad := []Request{
		{},
		{Disable: true, Service: "s.example"},
		testRequest(Match{Profile: MatchAll, Send: Send{Profile: SendEncrypted}}),
		testRequest(Match{Profile: MatchAll, Grace: time.Millisecond, Send: Send{Profile: SendNotifyOnly}}),
		testRequest(Match{Profile: MatchAll, Send: Send{Profile: SendNotifyOnly, VAPID: true}}),
		testRequest(Match{Profile: MatchAll, Send: Send{}}),
		{Service: "s.example", Client: "bad\x00", Matches: []Match{{Profile: MatchAll, Send: Send{Profile: SendNotifyOnly}}}},
	}
	for _, r := range bad {
		if _, err := json.Marshal(r); !errors.Is(err, ErrRequest) {
			t.Errorf("Marshal %#v: %v", r, err)
		}
		if _, err := r.AppendXML(nil); !errors.Is(err, ErrRequest) {
			t.Errorf("AppendXML %#v: %v", r, err)
		}
	}
}

// oracleParse is ParseRequest on encoding/xml: it builds the same tree
// from encoding/xml's tokens and applies the same rules.
func oracleParse(data []byte) (Request, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var root *elem
	var stack []*elem
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF && root != nil && len(stack) == 0 {
				return interpret(root)
			}
			return Request{}, badRequest("Malformed request")
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 && root != nil {
				return Request{}, badRequest("Malformed request")
			}
			e := &elem{space: tok.Name.Space, local: tok.Name.Local}
			for _, a := range tok.Attr {
				if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
					continue
				}
				e.attrs = append(e.attrs, xattr{a.Name.Space, a.Name.Local, a.Value})
			}
			if len(stack) == 0 {
				root = e
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, e)
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.Trim(tok, " \t\r\n")) > 0 {
					return Request{}, badRequest("Malformed request")
				}
				continue
			}
			stack[len(stack)-1].text += string(tok)
		case xml.Directive:
			return Request{}, badRequest("Malformed request")
		}
	}
}

func TestFeatures(t *testing.T) {
	want := []string{"urn:xmpp:push2:0", "urn:xmpp:push2:match:all", "urn:xmpp:push2:match:important",
		"urn:xmpp:push2:match:archived", "urn:xmpp:push2:match:archived-with-body",
		"urn:xmpp:push2:send:notify-only:0", "urn:xmpp:push2:send:sce+rfc8291+rfc8292:0"}
	got := Features()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Features() = %q", got)
	}
	got[0] = "changed"
	if Features()[0] != NS {
		t.Error("Features shares its slice")
	}
	for _, f := range want[1:] {
		if matchProfileOf(f) == 0 && sendProfileOf(f) == 0 {
			t.Errorf("%s is not parsed back", f)
		}
	}
}

// TestRequestJSONFormat pins the JSON a store keeps: a change here makes
// stored registrations unreadable, so it must be deliberate.
func TestRequestJSONFormat(t *testing.T) {
	r := testRequest(
		Match{Profile: MatchImportant, Grace: time.Minute, Filters: []Filter{{JID: "r@m", Mention: true}}, Send: testVAPIDSend()},
		Match{Profile: MatchAll, Send: Send{Profile: SendNotifyOnly}})
	want := `{"service":"push.example.org","client":"https://push.example/ep/1","matches":[` +
		`{"profile":"urn:xmpp:push2:match:important","grace":60,"filters":[{"jid":"r@m","mention":true}],` +
		`"send":{"profile":"urn:xmpp:push2:send:sce+rfc8291+rfc8292:0","ua_public":"` + std(testUAPublic) +
		`","auth_secret":"` + std(testAuth) + `","jwt_key":"` + std(testJWTKey[:]) + `","claims":[{"name":"aud","value":"https://push.example"}]}},` +
		`{"profile":"urn:xmpp:push2:match:all","send":{"profile":"urn:xmpp:push2:send:notify-only:0"}}]}`
	got, err := json.Marshal(r)
	if err != nil || string(got) != want {
		t.Fatalf("got  %s, %v\nwant %s", got, err, want)
	}
	var back Request
	if err := json.Unmarshal([]byte(want), &back); err != nil || !reflect.DeepEqual(back, r) {
		t.Fatalf("%#v, %v", back, err)
	}
	if got, _ := json.Marshal(Request{Disable: true}); string(got) != `{"disable":true}` {
		t.Errorf("disable: %s", got)
	}
}

package push

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/corpus"
	"github.com/pushrules/pushrules/registry"
)

// extAll holds every extension child of <enable/>.
const extAll = "<muted xmlns='tigase:push:filter:muted:0'><item jid='Tybalt@Capulet.Example'/><item jid='nurse@capulet.example/kitchen'/></muted>" +
	"<ignore-unknown xmlns='tigase:push:filter:ignore-unknown:0'/>" +
	"<groupchat xmlns='tigase:push:filter:groupchat:0'><room jid='coven@chat.example' allow='mentioned' nick='juliet'/><room jid='hall@chat.example' allow='never'/><room jid='kitchen@chat.example'/></groupchat>" +
	"<priority xmlns='tigase:push:priority:0'/><encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm' max-size='3000'>c2VjcmV0LWtleS0xMjM0NQ==</encrypt>" +
	"<jingle xmlns='tigase:push:jingle:0'/>"

func mustExtensions(s registry.ExtensionSettings) registry.Extensions {
	e, err := registry.NewExtensions(s)
	if err != nil {
		panic(err)
	}
	return e
}

// requestForm is a publish-options form of the table tests.
const requestForm = "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>" + nsPublishOptions +
	"</value></field><field var='secret'><value>a&amp;b</value><value></value></field><field var='empty'/></x>"

// requestCases are the table tests of readRequest, also inputs of its
// differential test.
var requestCases = func() []requestCase {
	form := requestForm
	return []requestCase{
		{name: "bare enable", xml: "<enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='N'/>",
			want: pushRequest{JID: "push.example.net", Node: "N"}},
		{name: "iq around, id kept", xml: "<iq type='set' id='e1' xmlns='jabber:client'><enable xmlns='urn:xmpp:push:0' jid='p.example'/></iq>",
			want: pushRequest{IQID: "e1", JID: "p.example"}},
		{name: "server namespace", xml: "<iq type='set' id='e1' xmlns='jabber:server'><disable xmlns='urn:xmpp:push:0' jid='p.example' node='n'/></iq>",
			want: pushRequest{IQID: "e1", Disable: true, JID: "p.example", Node: "n"}},
		{name: "prefixed push namespace", xml: "<p:enable xmlns:p='urn:xmpp:push:0' jid='p.example'/>", want: pushRequest{JID: "p.example"}},
		{name: "form kept field by field", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'>" + form + "</enable>",
			want: pushRequest{JID: "p.example", Options: registry.NewForm("submit",
				registry.Field{Var: "FORM_TYPE", Type: "hidden", Values: []string{nsPublishOptions}},
				registry.Field{Var: "secret", Values: []string{"a&b", ""}},
				registry.Field{Var: "empty"},
			)}},
		{name: "only the first form", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><foo/>" + form + "<x xmlns='jabber:x:data'/></enable>",
			want: pushRequest{JID: "p.example", Options: registry.NewForm("submit",
				registry.Field{Var: "FORM_TYPE", Type: "hidden", Values: []string{nsPublishOptions}},
				registry.Field{Var: "secret", Values: []string{"a&b", ""}},
				registry.Field{Var: "empty"},
			)}},
		{name: "error keeps the iq id", xml: "<iq type='set' id='e9'><enable xmlns='urn:xmpp:push:0'/></iq>", want: pushRequest{IQID: "e9"}, err: errMissingJID},
		{name: "malformed jid", xml: "<enable xmlns='urn:xmpp:push:0' jid='a@'/>", err: errJIDMalformed},
		{name: "disable does not validate the jid", xml: "<disable xmlns='urn:xmpp:push:0' jid='a@'/>", want: pushRequest{Disable: true, JID: "a@"}},
		{name: "too many fields", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><x xmlns='jabber:x:data'>" +
			strings.Repeat("<field var='v'/>", maxFormFields+1) + "</x></enable>", err: errRequestTooLarge},
		{name: "too many values", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><x xmlns='jabber:x:data'><field var='v'>" +
			strings.Repeat("<value>v</value>", maxFieldValues+1) + "</field></x></enable>", err: errRequestTooLarge},
		{name: "form too large", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><x xmlns='jabber:x:data'><field var='v'><value>" +
			strings.Repeat("v", maxFormBytes) + "</value></field></x></enable>", err: errRequestTooLarge},
		{name: "too deep", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'>" + strings.Repeat("<a>", maxRequestDepth) +
			strings.Repeat("</a>", maxRequestDepth) + "</enable>", err: errRequestTooLarge},
		{name: "too big", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'>" + strings.Repeat(" ", maxRequestSize) + "</enable>", err: errRequestTooLarge},
		{name: "empty iq", xml: "<iq type='set' id='x'/>", want: pushRequest{IQID: "x"}, err: errNotPushRequest},
		{name: "empty input", xml: "", err: errMalformedRequest},
		{name: "every extension", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'>" + form + extAll + "</enable>",
			want: pushRequest{JID: "p.example", Options: registry.NewForm("submit",
				registry.Field{Var: "FORM_TYPE", Type: "hidden", Values: []string{nsPublishOptions}},
				registry.Field{Var: "secret", Values: []string{"a&b", ""}},
				registry.Field{Var: "empty"},
			), Extensions: mustExtensions(registry.ExtensionSettings{
				Muted: []string{"tybalt@capulet.example", "nurse@capulet.example"}, IgnoreUnknown: true,
				Rooms: []registry.Room{{JID: "coven@chat.example", Allow: registry.AllowMentioned, Nick: "juliet"},
					{JID: "hall@chat.example", Allow: registry.AllowNever}, {JID: "kitchen@chat.example"}},
				Priority: true, Jingle: true,
				Encrypt: &registry.Encryption{Alg: registry.AlgAES128GCM, Key: [16]byte{'s', 'e', 'c', 'r', 'e', 't', '-', 'k', 'e', 'y', '-', '1', '2', '3', '4', '5'}, MaxSize: 3000},
			})}},
		{name: "first of each extension counts, unknown ones are skipped",
			xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><muted xmlns='tigase:push:filter:muted:0'><item jid='a@b'/><other jid='x@y'/></muted>" +
				"<muted xmlns='tigase:push:filter:muted:0'><item jid='c@d'/><item jid='bad@'/></muted><groupchat xmlns='tigase:push:filter:groupchat:0'/>" +
				"<meet xmlns='tigase:push:meet:0'/><away xmlns='tigase:push:away:0'/><jingle xmlns='tigase:push:jingle:1'/></enable>",
			want: pushRequest{JID: "p.example", Extensions: mustExtensions(registry.ExtensionSettings{Muted: []string{"a@b"}, Groupchat: true})}},
		{name: "unpadded key with white space", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm'>\n  c2VjcmV0LWtleS0xMjM0NQ\n</encrypt></enable>",
			want: pushRequest{JID: "p.example", Extensions: mustExtensions(registry.ExtensionSettings{
				Encrypt: &registry.Encryption{Alg: registry.AlgAES128GCM, Key: [16]byte{'s', 'e', 'c', 'r', 'e', 't', '-', 'k', 'e', 'y', '-', '1', '2', '3', '4', '5'}}})}},
		{name: "disable ignores extensions", xml: "<disable xmlns='urn:xmpp:push:0' jid='p.example'>" + extAll + "</disable>",
			want: pushRequest{Disable: true, JID: "p.example"}},
		{name: "unknown algorithm", xml: "<iq type='set' id='x'><enable xmlns='urn:xmpp:push:0' jid='p.example'><encrypt xmlns='tigase:push:encrypt:0' alg='aes-256-gcm'>c2VjcmV0LWtleS0xMjM0NQ==</encrypt></enable></iq>",
			want: pushRequest{IQID: "x"}, err: errEncryptAlg},
		{name: "missing algorithm", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><encrypt xmlns='tigase:push:encrypt:0'>c2VjcmV0LWtleS0xMjM0NQ==</encrypt></enable>", err: errEncryptAlg},
		{name: "short key", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm'>c2hvcnQ=</encrypt></enable>", err: errEncryptKey},
		{name: "key not base64", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm'>c2VjcmV0LWtleS0xMjM0!!==</encrypt></enable>", err: errEncryptKey},
		{name: "bad max-size", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm' max-size='-3'>c2VjcmV0LWtleS0xMjM0NQ==</encrypt></enable>", err: errExtensionValue},
		{name: "bad muted JID", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><muted xmlns='tigase:push:filter:muted:0'><item jid='a@'/></muted></enable>", err: errJIDMalformed},
		{name: "bad room JID", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><groupchat xmlns='tigase:push:filter:groupchat:0'><room/></groupchat></enable>", err: errJIDMalformed},
		{name: "unknown allow", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><groupchat xmlns='tigase:push:filter:groupchat:0'><room jid='r@m' allow='sometimes'/></groupchat></enable>", err: errExtensionValue},
		{name: "long nick", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><groupchat xmlns='tigase:push:filter:groupchat:0'><room jid='r@m' nick='" + strings.Repeat("n", registry.MaxNickLen+1) + "'/></groupchat></enable>", err: errExtensionValue},
		{name: "too many muted", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><muted xmlns='tigase:push:filter:muted:0'>" + strings.Repeat("<item jid='a@b'/>", registry.MaxMuted+1) + "</muted></enable>", err: errTooManyExtItems},
		{name: "too many rooms", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><groupchat xmlns='tigase:push:filter:groupchat:0'>" + strings.Repeat("<room jid='r@m'/>", registry.MaxRooms+1) + "</groupchat></enable>", err: errTooManyExtItems},
		{name: "truncated", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><x", err: errMalformedRequest},
	}
}()

type requestCase struct {
	name, xml string
	want      pushRequest
	err       *events.StanzaError
}

func TestParseRequest(t *testing.T) {
	for _, tc := range requestCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readRequest([]byte(tc.xml))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v (options %v, extensions %v), want %+v (extensions %v)", got, got.Options, got.Extensions, tc.want, tc.want.Extensions)
			}
		})
	}
}

// FuzzParseRequest: parsing never panics, errors are the documented
// stanza errors, and what parses re-encodes to the same request.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte("<iq type='set' id='e1'><enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='yxs32uqsflafdk3iuqo'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field><field var='secret'><value>eruio234vzxc2kla-91</value></field></x></enable></iq>"))
	f.Add([]byte("<disable xmlns='urn:xmpp:push:0' jid='push.example.net'/>"))
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "conformance", "*.json"))
	re := regexp.MustCompile(`<iq type='set'[^"]*</iq>`)
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, m := range re.FindAll(data, -1) {
			f.Add(m)
		}
	}
	for _, x := range trickyRequests {
		f.Add([]byte(x))
	}
	for _, tc := range requestCases {
		f.Add([]byte(tc.xml))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRequestOracle(t, data)
		req, err := readRequest(data)
		if err != nil {
			var se *events.StanzaError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a stanza error", err)
			}
			return
		}
		again, err := readRequest(req.AppendXML(nil))
		if err != nil {
			t.Fatalf("re-encoded request does not parse: %v\n%s", err, req.AppendXML(nil))
		}
		req.IQID = ""
		if again != req {
			t.Fatalf("round trip changed the request:\n%+v (%v)\n%+v (%v)", req, req.Extensions, again, again.Extensions)
		}
		// Every accepted (jid, node) is its own identifier and reads back
		// unchanged (registry/sqlstore's FuzzIdentifierRoundTrip takes the
		// same pairs through Save and Load).
		if req.JID != "" {
			id := registry.NewIdentifier(req.JID, req.Node)
			if j, n, ok := id.Split(); !ok || j != req.JID || n != req.Node || id.JID() != req.JID || id.Node() != req.Node {
				t.Fatalf("(%q, %q) does not round-trip through identifier %q: (%q, %q, %v)", req.JID, req.Node, id, j, n, ok)
			}
		}
	})
}

// conformanceXML returns the XML strings of the conformance scenarios.
func conformanceXML(t testing.TB) []string {
	out := corpus.XML(t, filepath.Join("..", "testdata", "conformance", "*.json"))
	if len(out) == 0 {
		t.Fatal("no conformance scenarios")
	}
	return out
}

// trickyRequests are inputs at the edges of the XML readRequest takes
// and of its limits, for the differential test and as fuzz seeds.
var trickyRequests = func() []string {
	const en = "<enable xmlns='urn:xmpp:push:0' jid='p.example'"
	field := func(v string) string {
		return en + "><x xmlns='jabber:x:data'><field var='v'><value>" + v + "</value></field></x></enable>"
	}
	nest := func(n int) string {
		return en + ">" + strings.Repeat("<a>", n) + strings.Repeat("</a>", n) + "</enable>"
	}
	return []string{
		// Where the request is, and what is around it.
		"  \n<enable xmlns='urn:xmpp:push:0' jid='p.example'/>", "text<enable xmlns='urn:xmpp:push:0' jid='p.example'/>",
		"&amp;<enable xmlns='urn:xmpp:push:0' jid='p.example'/>", "&bogus;<enable xmlns='urn:xmpp:push:0' jid='p.example'/>",
		"<!-- c --><?pi x?><enable xmlns='urn:xmpp:push:0' jid='p.example'/>", "<?xml version='1.0'?><enable xmlns='urn:xmpp:push:0' jid='p.example'/>",
		"<?xml version='2.0'?><enable xmlns='urn:xmpp:push:0' jid='p.example'/>", "<!DOCTYPE x><enable xmlns='urn:xmpp:push:0' jid='p.example'/>",
		"\xef\xbb\xbf<enable xmlns='urn:xmpp:push:0' jid='p.example'/>", "<![CDATA[x]]><enable xmlns='urn:xmpp:push:0' jid='p.example'/>",
		en + "/>trailing <garbage", en + "/></iq>", en + "></enable></iq>", en + "></enable", en + ">", en,
		"<iq type='set' id='i'><enable xmlns='urn:xmpp:push:0' jid='p.example'/>", "<iq type='set' id='i'>text<!--c--><enable xmlns='urn:xmpp:push:0' jid='p.example'/><bad",
		"<iq type='set' id='i'><ping xmlns='urn:xmpp:ping'/><enable xmlns='urn:xmpp:push:0' jid='p.example'/></iq>",
		"<iq type='set' id='i'></iq>", "<iq type='set' id='i'>", "<iq type='get' id='i'><enable xmlns='urn:xmpp:push:0' jid='p.example'/></iq>",
		"<iq id='i'/>", "<iq type='set' type='get' id='a' id='b'><enable xmlns='urn:xmpp:push:0' jid='p.example'/></iq>",
		"<iq type='&#115;et' id='&lt;i&gt;'><enable xmlns='urn:xmpp:push:0' jid='p.example'/></iq>",
		"<c:iq xmlns:c='jabber:client' type='set' id='i'><enable xmlns='urn:xmpp:push:0' jid='p.example'/></c:iq>",
		"<iq xmlns='jabber:client' type='set' id='i'><p:enable xmlns:p='urn:xmpp:push:0' jid='p.example'/></iq>",
		"<iq type='set' id='i' xmlns='urn:xmpp:push:0'><enable jid='p.example'/></iq>", "</iq>", "<iq/></iq>",
		// Names and namespaces.
		"<enable xmlns='urn:xmpp:push:1' jid='p.example'/>", "<enable jid='p.example'/>", "<enable xmlns='urn:xmpp:push:0 ' jid='p.example'/>",
		"<enable xmlns='urn:xmpp:push&#58;0' jid='p.example'/>", "<enable xmlns=\"urn:xmpp:push:0\" jid=\"p.example\"/>",
		"<push:enable xmlns:push='urn:xmpp:push:0' jid='p.example'/>", "<urn:enable jid='p.example'/>", "<xmlns:enable jid='p.example'/>",
		"<enable xmlns='urn:xmpp:push:0' xmlns:p='' p:jid='p.example'/>", "<enable xmlns='urn:xmpp:push:0' xmlns:p='x' p:jid='p.example'/>",
		"<enable xmlns='urn:xmpp:push:0' xmlns:xml='x' jid='p.example'/>", "<enable xmlns='urn:xmpp:push:0' xml:jid='x' jid='p.example'/>",
		"<enable xmlns='urn:xmpp:push:0' jid='a' jid='p.example'/>", "<enable xmlns='urn:xmpp:push:0' jid='' jid='p.example'/>",
		"<enable xmlns='urn:xmpp:push:0' jid='p.example' node='a' node='b'/>", "<enable xmlns='urn:xmpp:push:0' JID='p.example'/>",
		"<enable xmlns='urn:xmpp:push:0'jid='p.example'node='n'/>", "<enable xmlns='urn:xmpp:push:0' jid = 'p.example' />",
		"<enable xmlns='urn:xmpp:push:0' jid=p.example/>", "<enable xmlns='urn:xmpp:push:0' jid/>", "<enable xmlns='urn:xmpp:push:0' jid='p.example'/ >",
		"<enable xmlns='urn:xmpp:push:0' jid='p.example'></enable >", "<enable xmlns='urn:xmpp:push:0' jid='p.example'></enabl>",
		"<enable xmlns='urn:xmpp:push:0' jid='p.example'></p:enable>", "<p:enable xmlns:p='urn:xmpp:push:0' jid='p.example'></enable>",
		"<enable xmlns='urn:xmpp:push:0' jid='p.example'><x xmlns='jabber:x:data'/><x xmlns='jabber:x:data' type='form'/></enable>",
		"<enable xmlns='urn:xmpp:push:0' jid='p.example'><d:x xmlns:d='jabber:x:data' type='submit'><d:field var='a'><d:value>1</d:value></d:field></d:x></enable>",
		"<enable xmlns='urn:xmpp:push:0' jid='p.example'><x xmlns='jabber:x:data'><field var='a' xmlns='other'><value>1</value></field><field var='b'><value xmlns='other'>2</value><value>3</value></field></x></enable>",
		"<disable xmlns='urn:xmpp:push:0' jid='p.example'>" + requestForm + "</disable>",
		// Attribute values and text.
		"<enable xmlns='urn:xmpp:push:0' jid='a&amp;b.example'/>", "<enable xmlns='urn:xmpp:push:0' jid='p.example' node='&lt;&#x4E2D;&#20013;&quot;&apos;'/>",
		"<enable xmlns='urn:xmpp:push:0' jid='p.example' node='a\r\nb\rc\td'/>", "<enable xmlns='urn:xmpp:push:0' jid='p.example' node='\xff'/>",
		"<enable xmlns='urn:xmpp:push:0' jid='p.example' node='&#0;'/>", "<enable xmlns='urn:xmpp:push:0' jid='p.example' node='&unknown;'/>",
		"<enable xmlns='urn:xmpp:push:0' jid='p.example' node='a<b'/>", "<enable xmlns='urn:xmpp:push:0' jid='p.example' node='a]]>b'/>",
		"<enable xmlns='urn:xmpp:push:0' jid='p.example' node=\"it's\"/>", "<enable xmlns='urn:xmpp:push:0' jid='p\x00.example'/>",
		"<enable xmlns='urn:xmpp:push:0' jid='user@p.example/r\xc3\xa9'/>", "<enable xmlns='urn:xmpp:push:0' jid='p .example'/>",
		"<enable xmlns='urn:xmpp:push:0' jid='p.example' node='" + strings.Repeat("n", maxNodeLen) + "'/>",
		"<enable xmlns='urn:xmpp:push:0' jid='p.example' node='" + strings.Repeat("n", maxNodeLen+1) + "'/>",
		"<enable xmlns='urn:xmpp:push:0' jid='p.example' node='" + strings.Repeat("&amp;", maxNodeLen) + "'/>",
		"<enable xmlns='urn:xmpp:push:0' jid='p.example' node='" + strings.Repeat("&amp;", maxNodeLen+1) + "'/>",
		field("a&amp;b&lt;&#65;&#x42;"), field("<![CDATA[<x>&amp;]]>"), field("a<![CDATA[b]]>c<!--d--><?e f?>g"), field("a<sub>hidden</sub>b"),
		field("line\r\nend\r"), field("<![CDATA[\r\n]]>"), field("]]>"), field("]]&gt;"), field("\xc3"), field("&#xD800;"), field(""),
		field(strings.Repeat("v", maxFormBytes-1)), field(strings.Repeat("v", maxFormBytes-2)), field(strings.Repeat("v", maxFormBytes)),
		field(strings.Repeat("&amp;", maxFormBytes-1)), field(strings.Repeat("&amp;", maxFormBytes)),
		field(strings.Repeat("v", maxFormBytes-1) + "<![CDATA[x]]>"), field(strings.Repeat("v", maxFormBytes-1) + "<bad"),
		field(strings.Repeat("v", maxFormBytes) + "<bad"), field(strings.Repeat("v", maxFormBytes-1) + "</value><value>x"),
		en + "><x xmlns='jabber:x:data'>" + strings.Repeat("<field var='v'/>", maxFormFields) + "</x></enable>",
		en + "><x xmlns='jabber:x:data'>" + strings.Repeat("<field var='v'/>", maxFormFields+1) + "<bad",
		en + "><x xmlns='jabber:x:data'><field var='v'>" + strings.Repeat("<value>v</value>", maxFieldValues) + "</field></x></enable>",
		en + "><x xmlns='jabber:x:data'><field var='v'>" + strings.Repeat("<value>v</value>", maxFieldValues+1) + "<bad",
		en + "><x xmlns='jabber:x:data'><field var='" + strings.Repeat("v", maxFormBytes+1) + "'/></x></enable>",
		en + "><x xmlns='jabber:x:data'><field var='" + strings.Repeat("v", maxFormBytes+1) + "'/><bad",
		en + "><x xmlns='jabber:x:data'><field var='" + strings.Repeat("v", maxFormBytes+1) + "'><value/></field></x></enable>",
		en + "><x xmlns='jabber:x:data'><field var='" + strings.Repeat("v", maxFormBytes+1) + "'><value>x</value></field></x></enable>",
		// Extensions.
		en + ">" + extAll + "</enable>", en + ">" + extAll + extAll + "</enable>",
		en + "><encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm'>c2VjcmV0LWtleS0x\nMjM0NQ==</encrypt></enable>",
		en + "><encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm'>c2VjcmV0LWtleS0xMjM0NQ=</encrypt></enable>",
		en + "><encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm'>c2VjcmV0LWtleS0xMjM0NQ==<x/></encrypt></enable>",
		en + "><encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm' max-size='65537'>c2VjcmV0LWtleS0xMjM0NQ==</encrypt></enable>",
		en + "><encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm' max-size='1'>" + strings.Repeat("A", 2000) + "</encrypt></enable>",
		en + "><p:muted xmlns:p='tigase:push:filter:muted:0'><p:item jid='a@b'/><item jid='c@d'/></p:muted></enable>",
		en + "><groupchat xmlns='tigase:push:filter:groupchat:0'><room jid='R@M/nick' allow='always' nick='&lt;n&gt;'/><room jid='r@m' allow='never'/></groupchat></enable>",
		en + "><groupchat xmlns='tigase:push:filter:groupchat:0'><room jid='r@m' allow=''/></groupchat><bad",
		en + "><muted xmlns='tigase:push:filter:muted:0'>" + strings.Repeat("<item jid='a@b'/>", 64) + "</muted></enable>",
		en + "><muted xmlns='tigase:push:filter:muted:0'>" + strings.Repeat("<item jid='a@b'/>", 65) + "<bad",
		// Depth.
		nest(maxRequestDepth - 1), nest(maxRequestDepth), nest(31), nest(40),
		"<iq type='set'>" + nest(maxRequestDepth-2) + "</iq>", "<iq type='set'>" + nest(maxRequestDepth-1) + "</iq>",
		strings.Repeat("<a>", 40) + "<enable xmlns='urn:xmpp:push:0' jid='p.example'/>",
		"<iq type='set'><enable xmlns='urn:xmpp:push:0' jid='p.example'/>" + strings.Repeat("<a>", 40),
		en + ">" + strings.Repeat("<a xmlns:p='x'>", 15) + strings.Repeat("</a>", 15) + "</enable>",
		en + strings.Repeat(" xmlns:p='x'", 70) + "/>", en + strings.Repeat(" a='x'", 40) + "/>",
	}
}()

// checkRequestOracle checks that readRequest gives what its encoding/xml
// oracle gives: the same pushRequest and the same error, and reports whether
// the request was accepted.
func checkRequestOracle(t testing.TB, data []byte) bool {
	t.Helper()
	want, wantErr := parseRequestOracle(data)
	got, err := readRequest(data)
	if got != want || (err != nil) != (wantErr != nil) || (err != nil && !errors.Is(err, wantErr)) {
		t.Fatalf("%q:\nParseRequest %+v, %v\noracle       %+v, %v", data, got, err, want, wantErr)
	}
	return err == nil
}

// TestParseRequestOracle is the differential test of readRequest: on the
// table tests, the conformance scenarios' IQs, the tricky inputs and
// mutations of them, it must give the same pushRequest, or the same error, as
// its encoding/xml oracle. FuzzParseRequest does the same with coverage
// guidance.
func TestParseRequestOracle(t *testing.T) {
	var inputs []string
	for _, tc := range requestCases {
		inputs = append(inputs, tc.xml)
	}
	scenarioIQs := 0
	for _, x := range conformanceXML(t) {
		if strings.HasPrefix(x, "<iq") {
			inputs = append(inputs, x)
			scenarioIQs++
		}
	}
	if scenarioIQs == 0 {
		t.Error("no IQs in the conformance scenarios")
	}
	inputs = append(inputs, trickyRequests...)
	accepted := 0
	for _, x := range inputs {
		if checkRequestOracle(t, []byte(x)) {
			accepted++
		}
	}
	t.Logf("%d of %d inputs accepted (%d from the conformance scenarios)", accepted, len(inputs), scenarioIQs)
	// Mutations.
	rng := rand.New(rand.NewPCG(5, 6))
	pieces := append(slices.Clone(corpus.Pieces),
		"<a>", "</a>", "<a/>", "<value>", "</value>", "<field var='f'>", "</field>", "<x xmlns='jabber:x:data'>", "</x>", "iq", "id")
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for range n {
		b := corpus.Mutate(rng, inputs[rng.IntN(len(inputs))], pieces)
		checkRequestOracle(t, b)
	}
}

var benchRequest = []byte("<enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='5f1a7c3e5f1a7c3e5f1a7c3e5f1a7c3e5f1a7c3e'>" +
	"<x xmlns='jabber:x:data' type='submit'>" +
	"<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>" +
	"<field var='secret'><value>00000000000000000042</value></field></x></enable>")

// BenchmarkParseRequest parses BenchmarkEnable's request alone.
func BenchmarkParseRequest(b *testing.B) {
	b.SetBytes(int64(len(benchRequest)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := readRequest(benchRequest); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseRequestEncodingXML is the same request through the
// encoding/xml oracle of the tests, for comparison.
func BenchmarkParseRequestEncodingXML(b *testing.B) {
	b.SetBytes(int64(len(benchRequest)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseRequestOracle(benchRequest); err != nil {
			b.Fatal(err)
		}
	}
}

package events

import (
	"encoding/xml"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pushrules/pushrules/internal/corpus"
)

// parseAll parses data every way there is and checks that they agree
// with each other and with the oracle.
func parseAll(t *testing.T, data string) (Stanza, error) {
	t.Helper()
	s, err := ParseStanza([]byte(data))
	want, wantErr := parseOracle([]byte(data))
	if (err == nil) != (wantErr == nil) || !sameStanza(s, want) {
		t.Errorf("ParseStanza = %+v, %v; oracle = %+v, %v", s, err, want, wantErr)
	}
	if err == nil {
		checkInvariants(t, s)
		ds, derr := DecodeStanza(xml.NewDecoder(strings.NewReader(data)))
		if derr != nil || !sameStanza(ds, s) {
			t.Errorf("DecodeStanza = %+v, %v; ParseStanza = %+v", ds, derr, s)
		}
	}
	return s, err
}

func TestParseStanzaClassification(t *testing.T) {
	for _, tc := range classificationCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAll(t, tc.xml)
			if err != nil {
				t.Fatalf("ParseStanza: %v", err)
			}
			if !sameStanza(got, tc.want) {
				t.Errorf("ParseStanza =\n%+v, want\n%+v", got, tc.want)
			}
			if imp := got.Important(); imp != tc.important {
				t.Errorf("Important() = %v, want %v", imp, tc.important)
			}
			// Inside a stream, the stanza inherits jabber:client.
			s, err := decodeInStream(tc.xml)
			if err != nil || !sameStanza(s, tc.want) {
				t.Errorf("DecodeStanza in a stream = %+v, %v; want %+v", s, err, tc.want)
			}
		})
	}
}

const streamStart = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>"

// decodeInStream decodes stanza from a stream with the default namespace
// jabber:client, after its start.
func decodeInStream(stanza string) (Stanza, error) {
	d := xml.NewDecoder(strings.NewReader(streamStart + stanza + "</stream:stream>"))
	for {
		tok, err := d.Token()
		if err != nil {
			return Stanza{}, err
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "stream" {
			break
		}
	}
	return DecodeStanza(d)
}

func TestDecodeStanzaStream(t *testing.T) {
	in := streamStart + "\n<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>" +
		"<!-- c -->\n" + chat("<body>one</body>") + "\n\t" +
		"<message from='a' type='chat'><body>two</body></message>" +
		"<iq type='result' id='x'/><presence/>" +
		"<message><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message from='b'><body>three</body></message></forwarded></received></message>" +
		"</stream:stream>"
	d := xml.NewDecoder(strings.NewReader(in))
	start, err := d.Token()
	for err == nil {
		if se, ok := start.(xml.StartElement); ok && se.Name.Local == "stream" {
			break
		}
		start, err = d.Token()
	}
	if err != nil {
		t.Fatal(err)
	}
	want := []Stanza{
		{},
		with(chatWant, func(s *Stanza) { s.Body, s.HasBody = "one", true }),
		{Kind: KindMessage, Type: "chat", From: "a", Body: "two", HasBody: true},
		{Kind: KindIQ, Type: "result"},
		{Kind: KindPresence},
		{Kind: KindMessage, From: "b", Body: "three", HasBody: true, Carbon: CarbonReceived},
	}
	for i, w := range want {
		s, err := DecodeStanza(d)
		if err != nil || s != w {
			t.Errorf("stanza %d = %+v, %v; want %+v", i, s, err, w)
		}
	}
	// The stream's end is the end of the stanzas.
	if _, err := DecodeStanza(d); !errors.Is(err, io.EOF) {
		t.Errorf("at the stream's end: %v, want an error wrapping io.EOF", err)
	}
}

// tokens is a token reader that is not an *xml.Decoder: DecodeStanza must
// resolve its names itself.
type tokens []xml.Token

func (ts *tokens) Token() (xml.Token, error) {
	if len(*ts) == 0 {
		return nil, io.EOF
	}
	t := (*ts)[0]
	*ts = (*ts)[1:]
	return t, nil
}

func TestDecodeStanzaRawTokens(t *testing.T) {
	name := func(space, local string) xml.Name { return xml.Name{Space: space, Local: local} }
	ts := tokens{
		xml.CharData("\n "),
		xml.StartElement{Name: name("", "message"), Attr: []xml.Attr{
			{Name: name("", "xmlns"), Value: "jabber:client"},
			{Name: name("xmlns", "c"), Value: "urn:xmpp:carbons:2"},
			{Name: name("", "type"), Value: "chat"},
		}},
		xml.StartElement{Name: name("c", "sent")},
		xml.StartElement{Name: name("", "forwarded"), Attr: []xml.Attr{{Name: name("", "xmlns"), Value: "urn:xmpp:forward:0"}}},
		xml.StartElement{Name: name("", "message"), Attr: []xml.Attr{{Name: name("", "to"), Value: "romeo@example"}}},
		xml.StartElement{Name: name("", "body")},
		xml.CharData("Hi"),
		xml.EndElement{Name: name("", "body")},
		xml.EndElement{Name: name("", "message")},
		xml.EndElement{Name: name("", "forwarded")},
		xml.EndElement{Name: name("c", "sent")},
		xml.EndElement{Name: name("", "message")},
		xml.StartElement{Name: name("", "unread")},
	}
	s, err := DecodeStanza(&ts)
	want := Stanza{Kind: KindMessage, To: "romeo@example", Body: "Hi", HasBody: true, Carbon: CarbonSent}
	if err != nil || !sameStanza(s, want) {
		t.Errorf("DecodeStanza = %+v, %v; want %+v", s, err, want)
	}
	if len(ts) != 1 {
		t.Errorf("DecodeStanza left %d tokens, want 1", len(ts))
	}

	// Mismatched end elements are caught.
	bad := tokens{xml.StartElement{Name: name("", "message")}, xml.EndElement{Name: name("", "iq")}}
	if _, err := DecodeStanza(&bad); err == nil {
		t.Error("DecodeStanza accepted <message></iq>")
	}
}

func TestParseStanzaErrors(t *testing.T) {
	var syntax *xml.SyntaxError
	isSyntax := func(err error) bool { return errors.As(err, &syntax) }
	isEOF := func(err error) bool { return errors.Is(err, io.EOF) }
	isTooDeep := func(err error) bool { return errors.Is(err, ErrTooDeep) }
	for _, tc := range []struct {
		name string
		xml  string
		is   func(error) bool
	}{
		{"empty", "", isEOF},
		{"whitespace only", " \n\t", isEOF},
		{"comment only", "<!-- nothing -->", isEOF},
		{"text", "hello", isSyntax},
		{"text before", "x<message/>", isSyntax},
		{"text after", "<message/>x", isSyntax},
		{"two elements", "<message/><message/>", isSyntax},
		{"unclosed", "<message><body>Hi</body>", isSyntax},
		{"unclosed start tag", "<message type='chat'", isSyntax},
		{"mismatched", "<message><body>Hi</bodx></message>", isSyntax},
		{"mismatched prefix", "<a:message xmlns:a='x' xmlns:b='x'></b:message>", isSyntax},
		{"end tag only", "</message>", isSyntax},
		{"unknown entity", chat("<body>&nbsp;</body>"), isSyntax},
		{"entity without semicolon", chat("<body>&amp</body>"), isSyntax},
		{"bad character reference", chat("<body>&#0;</body>"), isSyntax},
		{"huge character reference", chat("<body>&#x110000;</body>"), isSyntax},
		{"control character", chat("<body>\x01</body>"), isSyntax},
		{"invalid UTF-8", chat("<body>\xff</body>"), isSyntax},
		{"U+FFFE", chat("<body>\uFFFE</body>"), isSyntax},
		{"]]> in text", chat("<body>]]></body>"), isSyntax},
		{"< in attribute", "<message to='a<b'/>", isSyntax},
		{"unquoted attribute", "<message to=a/>", isSyntax},
		{"attribute without value", "<message to/>", isSyntax},
		{"name with two colons", "<a:b:c/>", isSyntax},
		{"bad name", "<1message/>", isSyntax},
		{"-- in comment", "<message><!-- a -- b --></message>", isSyntax},
		{"unterminated CDATA", chat("<body><![CDATA[x</body>"), isSyntax},
		{"doctype", "<!DOCTYPE message><message/>", isSyntax},
		{"directive inside", "<message><!ENTITY x 'y'></message>", isSyntax},
		{"duplicate from", "<message from='a' from='b'/>", isSyntax},
		// What XML allows but the parser refuses (see xmlscan).
		{"non-ASCII name", "<message><bödy>x</bödy><body>y</body></message>", isSyntax},
		{"name with a leading colon", "<message><:body/></message>", isSyntax},
		{"namespace with a reference", "<message xmlns='jabber&#58;client'/>", isSyntax},
		{"prefix declared empty", "<message xmlns:p=''/>", isSyntax},
		{"33 attributes", "<message" + strings.Repeat(" a='1'", 33) + "/>", isSyntax},
		{"XML version 1.1", "<?xml version='1.1'?><message/>", isSyntax},
		{"encoding latin1", "<?xml version='1.0' encoding='latin1'?><message/>", isSyntax},
		{"duplicate type in forwarded message",
			"<message><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message type='chat' type='error'/></forwarded></sent></message>", isSyntax},
		{"too deep", "<message>" + strings.Repeat("<a>", maxDepth) + strings.Repeat("</a>", maxDepth) + "</message>", isTooDeep},
		{"too deep and unclosed", strings.Repeat("<a>", 10000), isTooDeep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseAll(t, tc.xml)
			if err == nil {
				t.Fatalf("ParseStanza = %+v, want an error", s)
			}
			if !tc.is(err) {
				t.Errorf("ParseStanza error %q (%T) is not of the expected kind", err, err)
			}
			if s != (Stanza{}) {
				t.Errorf("ParseStanza returned %+v with its error", s)
			}
			if !isTooDeep(err) && !isEOF(err) && !strings.HasPrefix(err.Error(), "events: parse stanza: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
	// Duplicate attributes of elements the classifier does not read are
	// not checked (encoding/xml does not either).
	if _, err := parseAll(t, chat("<body xml:lang='en' xml:lang='de'>x</body>")); err != nil {
		t.Errorf("duplicate xml:lang: %v", err)
	}
}

func TestParseStanzaTooLarge(t *testing.T) {
	body := strings.Repeat("x", MaxStanzaSize)
	big := chat("<body>" + body + "</body>")
	if _, err := ParseStanza([]byte(big)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ParseStanza: %v, want ErrTooLarge", err)
	}
	// DecodeStanza counts what it reads: a stream of many small elements.
	many := "<message>" + strings.Repeat("<a x='1'/>", MaxStanzaSize/5) + "</message>"
	if _, err := DecodeStanza(xml.NewDecoder(strings.NewReader(many))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("DecodeStanza of many elements: %v, want ErrTooLarge", err)
	}
	if _, err := DecodeStanza(xml.NewDecoder(strings.NewReader(big))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("DecodeStanza of a long body: %v, want ErrTooLarge", err)
	}

	// Exactly MaxStanzaSize bytes are fine, on every path.
	fill := MaxStanzaSize - len(chat("<body></body>"))
	exact := chat("<body>" + strings.Repeat("y", fill) + "</body>")
	for name, f := range map[string]func() (Stanza, error){
		"ParseStanza":  func() (Stanza, error) { return ParseStanza([]byte(exact)) },
		"DecodeStanza": func() (Stanza, error) { return DecodeStanza(xml.NewDecoder(strings.NewReader(exact))) },
		"oracle":       func() (Stanza, error) { return parseOracle([]byte(exact)) },
	} {
		s, err := f()
		if err != nil || len(s.Body) != fill {
			t.Errorf("%s of %d bytes: body of %d bytes, %v", name, len(exact), len(s.Body), err)
		}
	}
	// So is the same size in many small elements (the count is from below).
	small := "<message>" + strings.Repeat("<a/>", (MaxStanzaSize-len("<message></message>"))/4) + "</message>"
	if _, err := DecodeStanza(xml.NewDecoder(strings.NewReader(small))); err != nil || len(small) > MaxStanzaSize {
		t.Errorf("DecodeStanza of %d bytes of elements: %v", len(small), err)
	}
}

// TestParseStanzaCopies checks that the result does not point into the
// caller's buffer.
func TestParseStanzaCopies(t *testing.T) {
	for _, data := range []string{
		chat("<body>Hello</body>"),
		chat("<body>a&amp;b<![CDATA[c]]></body>"),
		"<message from='a&amp;b' to='c' type='weird'><body>x</body></message>",
	} {
		buf := []byte(data)
		s, err := ParseStanza(buf)
		if err != nil {
			t.Fatal(err)
		}
		want := s
		want.From, want.To, want.Type, want.Body = strings.Clone(s.From), strings.Clone(s.To), strings.Clone(s.Type), strings.Clone(s.Body)
		for i := range buf {
			buf[i] = '#'
		}
		if !sameStanza(s, want) {
			t.Errorf("after overwriting the input: %+v, want %+v", s, want)
		}
	}
}

// scenarioStanzas returns the XML of every stanza of the conformance
// scenarios: the repository's copy, and the live suite beside the project
// when it is there.
func scenarioStanzas(t testing.TB) []string {
	out := corpus.XML(t, "../testdata/conformance/*.json", "../../shared/conformance/scenarios/*.json")
	if len(out) == 0 {
		t.Skip("no conformance scenarios")
	}
	return out
}

func TestParseStanzaScenarios(t *testing.T) {
	stanzas := scenarioStanzas(t)
	for _, x := range stanzas {
		s, err := parseAll(t, x)
		if err != nil {
			t.Errorf("%s: %v", x, err)
			continue
		}
		if ds, err := decodeInStream(x); err != nil || !sameStanza(ds, s) {
			t.Errorf("%s: in a stream %+v, %v; alone %+v", x, ds, err, s)
		}
	}
}

// trickyInputs are inputs at the edges of the XML the parser takes, for the
// differential test and as fuzz seeds.
var trickyInputs = []string{
	"<message/>", "<message />", "<message/ >", "<message></message >", "<message></ message>",
	"<message>", "<message><", "<message></", "<message></message", "<message a='1' a='2'/>",
	"<:message/>", "<message:/>", "<a:message/>", "<xmlns:message/>", "<_x/>", "<x.y-z:a1/>",
	"<message xmlns:='x'/>", "<message xmlns:p=''><p:body>x</p:body></message>",
	"<message xmlns:xml='x'/>", "<message xmlns:xmlns='x'/>", "<message xmlns='jabber&#58;client'><body>x</body></message>",
	"<message xmlns='urn:example'><body xmlns='jabber:client'>x</body></message>",
	"<message><body>&#xD800;</body></message>", "<message><body>&#xFFFE;</body></message>",
	"<message><body>&#x10FFFF;</body></message>", "<message><body>&#00000065;</body></message>",
	"<message><body>&#X41;</body></message>", "<message><body>&#;</body></message>", "<message><body>&#x;</body></message>",
	"<message><body>&lt</body></message>", "<message><body>&lt;&LT;</body></message>", "<message><body>&lt.x;</body></message>",
	"<message><body>]]]></body></message>", "<message><body>]] ></body></message>", "<message><body>]]&gt;</body></message>",
	"<message><body><![CDATA[]]></body></message>", "<message><body><![CDATA[]]]]></body></message>", "<message><body><![CDATA[x]]>]></body></message>",
	"<message><body><![CDATA[\x00]]></body></message>", "<message><body><![cdata[x]]></body></message>",
	"<message><!--\xff\x00--></message>", "<message><!---></message>", "<message><!-- --->--></message>", "<message><!-></message>",
	"<message to='a\r\nb\rc' from=\"&#13;&#10;\"/>", "<message to='\t\n'/>", "<message to='&quot;\"'/>", "<message to=\"'\"/>",
	"<message to='x' to='y'/>", "<message type='a' type='a'/>", "<message><x type='1' type='2'/></message>",
	"<message to='\x7f'/>", "<message to='\xc3\x28'/>", "<message to='\xef\xbf\xbd'/>",
	"\xef\xbb\xbf<message/>", "<?xml version='1.0'?><message/>", "<?xml version='1.1'?><message/>",
	"<?xml version='1.0' encoding='latin1'?><message/>", "<message/><?x?>", "<message/>\x00", "<message/>\n\r\t ",
	"<message>" + strings.Repeat("<a>", 31) + strings.Repeat("</a>", 31) + "</message>",
	"<message>" + strings.Repeat("<a>", 32) + strings.Repeat("</a>", 32) + "</message>",
	"<message>" + strings.Repeat("<a xmlns:p='x'>", 31) + strings.Repeat("</a>", 31) + "</message>",
	"<message" + strings.Repeat(" xmlns:p='x'", 100) + "><p:body>x</p:body></message>",
	"<message><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:server'><body>x</body></message></forwarded></received></message>",
	"<message><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message from='deep'/></forwarded></received></message></forwarded></received></message>",
	"<iq><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message><body>x</body></message></forwarded></received></iq>",
	// A prefix bound to no namespace makes its attributes unprefixed ones
	// for encoding/xml.
	"<message xmlns:p='' p:type='chat'/>", "<message xmlns:p='' p:from='a' from='b'/>", "<message xmlns:p='x' p:type='chat' type='normal'/>",
	"<message xml:type='chat'/>", "<message xmlns:type='x' type='chat'/>",
	// Processing instructions.
	"<?pi?><message/>", "<?pi x?>\n<message><?pi <body>?><body>a<?pi?>b</body></message><?pi?>", "<?xml-stylesheet x?><message/>",
	"<?XML?><message/>", "<?pi", "<message><?pi", "<message/><?pi",
	// CDATA and references outside the stanza.
	"<![CDATA[ ]]><message/>", "<![CDATA[x]]><message/>", "&#32;<message/>", "<message/>&#32;", "<message/>\r\n",
}

func TestParseStanzaTricky(t *testing.T) {
	for _, x := range trickyInputs {
		parseAll(t, x)
	}
}

// TestParseStanzaOracle mutates realistic stanzas and checks that
// ParseStanza agrees with its encoding/xml oracle: the same Stanza, or
// both refuse. FuzzParseStanza does the same with coverage guidance.
func TestParseStanzaOracle(t *testing.T) {
	inputs := append(scenarioStanzas(t), trickyInputs...)
	for _, tc := range classificationCases {
		inputs = append(inputs, tc.xml)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := corpus.Pieces
	n := 3000
	if testing.Short() {
		n = 300
	}
	for range n {
		b := corpus.Mutate(rng, inputs[rng.IntN(len(inputs))], pieces)
		checkDifferential(t, b)
	}
}

func TestLookupsDoNotAllocate(t *testing.T) {
	b := []byte("urn:xmpp:carbons:2 received chat unknown")
	allocs := testing.AllocsPerRun(100, func() {
		_ = lookupNS(b[:18])
		_ = lookupName(b[19:27])
		_, _ = intern(b[28:32])
		_ = lookupNS(b[33:])
	})
	if allocs != 0 {
		t.Errorf("lookups allocate %v times", allocs)
	}
}

// benchStanza is a typical chat message from a modern client: addresses
// and id, a body of about 150 characters, an origin-id, a chat marker request, a
// chat state, a storage hint and the archive's stanza-id.
var benchStanza = []byte(`<message xmlns='jabber:client' from='romeo@montague.lit/orchard' to='juliet@capulet.lit/balcony' type='chat' id='a7c3e8d2'>` +
	`<body>But soft, what light through yonder window breaks? It is the east, and Juliet is the sun. Arise, fair sun, and kill the envious moon, who is sick.</body>` +
	`<origin-id xmlns='urn:xmpp:sid:0' id='a7c3e8d2'/><markable xmlns='urn:xmpp:chat-markers:0'/>` +
	`<active xmlns='http://jabber.org/protocol/chatstates'/><store xmlns='urn:xmpp:hints'/>` +
	`<stanza-id xmlns='urn:xmpp:sid:0' id='5f1a7c3e' by='juliet@capulet.lit'/></message>`)

func BenchmarkParseStanza(b *testing.B) {
	s, err := ParseStanza(benchStanza)
	if err != nil || !s.Important() || len(s.Body) < 140 || len(s.Body) > 160 {
		b.Fatalf("ParseStanza = %+v (body %d), %v", s, len(s.Body), err)
	}
	b.SetBytes(int64(len(benchStanza)))
	b.ReportAllocs()
	for b.Loop() {
		s, _ := ParseStanza(benchStanza)
		if !s.Important() {
			b.Fatal("not important")
		}
	}
}

// BenchmarkParseStanzaEncodingXML is the same stanza through the
// encoding/xml oracle of the tests, for comparison.
func BenchmarkParseStanzaEncodingXML(b *testing.B) {
	b.SetBytes(int64(len(benchStanza)))
	b.ReportAllocs()
	for b.Loop() {
		s, _ := parseOracle(benchStanza)
		if !s.Important() {
			b.Fatal("not important")
		}
	}
}

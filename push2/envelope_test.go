package push2

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// envInfo is what inspectEnvelope reads of an envelope.
type envInfo struct {
	attrs  []xml.Attr // the forwarded message's, namespace declarations included
	kids   []string   // the message's children, as "namespace local"
	bodies []string
	rpad   string
	hasPad bool
}

// inspectEnvelope parses an envelope with encoding/xml, checking that it is
// one well-formed element of the expected shape.
func inspectEnvelope(t *testing.T, b []byte) envInfo {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	var info envInfo
	var path []string
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, b)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			name := tok.Name.Space + " " + tok.Name.Local
			want := map[int]string{0: nsSCE + " envelope", 2: nsForward + " forwarded", 3: nsClient + " message"}
			if w, ok := want[len(path)]; ok && name != w {
				t.Fatalf("element %q at depth %d, want %q\n%s", name, len(path), w, b)
			}
			if len(path) == 1 && name != nsSCE+" content" && name != nsSCE+" rpad" {
				t.Fatalf("envelope child %q", name)
			}
			switch len(path) {
			case 1:
				info.hasPad = info.hasPad || tok.Name.Local == "rpad"
			case 3:
				info.attrs = tok.Attr
			case 4:
				info.kids = append(info.kids, name)
			}
			path = append(path, name)
			text.Reset()
		case xml.EndElement:
			if len(path) == 5 && path[4] == nsClient+" body" {
				info.bodies = append(info.bodies, text.String())
			}
			if len(path) == 2 && path[1] == nsSCE+" rpad" {
				info.rpad = text.String()
			}
			path = path[:len(path)-1]
		case xml.CharData:
			text.Write(tok)
		}
	}
	return info
}

func TestAppendEnvelopeSmall(t *testing.T) {
	stanza := `<message xmlns='jabber:client' from="juliet@example.com/balcony" to='romeo@example.net' type='chat' id='a&apos;b' xml:lang='en'>` +
		"\n <body>Wherefore art thou?</body><active xmlns='http://jabber.org/protocol/chatstates'/><stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='romeo@example.net'/></message>"
	pad := bytes.Repeat([]byte{0xA5}, 200)
	env, err := AppendEnvelope([]byte("prefix"), []byte(stanza), 0, bytes.NewReader(pad))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(env, []byte("prefix<envelope")) {
		t.Fatalf("dst not appended to: %s", env)
	}
	env = env[len("prefix"):]
	info := inspectEnvelope(t, env)
	wantKids := []string{nsClient + " body", "http://jabber.org/protocol/chatstates active", nsSID + " stanza-id"}
	if !reflect.DeepEqual(info.kids, wantKids) || !reflect.DeepEqual(info.bodies, []string{"Wherefore art thou?"}) {
		t.Errorf("kids %v, bodies %q", info.kids, info.bodies)
	}
	wantAttrs := map[string]string{"from": "juliet@example.com/balcony", "to": "romeo@example.net", "type": "chat", "id": "a'b", "lang": "en"}
	for _, a := range info.attrs {
		if a.Name.Local == "xmlns" {
			continue
		}
		if wantAttrs[a.Name.Local] != a.Value {
			t.Errorf("attribute %v", a)
		}
		delete(wantAttrs, a.Name.Local)
	}
	if len(wantAttrs) > 0 {
		t.Errorf("attributes missing: %v", wantAttrs)
	}
	// The padding: min(150, 2847/3 - size without it) bytes of the reader.
	unpadded := len(env) - len("<rpad></rpad>") - len(info.rpad)
	n := min(150, defaultCap/3-unpadded)
	got, err := base64.StdEncoding.DecodeString(info.rpad)
	if err != nil || !bytes.Equal(got, pad[:n]) {
		t.Errorf("rpad %q (%d bytes), want %d bytes of the reader", info.rpad, len(got), n)
	}
	// Padding only when under cap/3.
	env, err = AppendEnvelope(nil, []byte(stanza), 3*(unpadded-1), bytes.NewReader(pad))
	if err != nil || inspectEnvelope(t, env).hasPad {
		t.Errorf("padded over cap/3: %s, %v", env, err)
	}
	env, err = AppendEnvelope(nil, []byte(stanza), 3*(unpadded+10), bytes.NewReader(pad))
	if info := inspectEnvelope(t, env); err != nil || len(info.rpad) != 16 {
		t.Errorf("10 bytes of padding expected: %s, %v", env, err)
	}
}

func TestAppendEnvelopeSteps(t *testing.T) {
	long := strings.Repeat("word ", 20) // 100 characters
	big := func(ns string) string {
		return "<x xmlns='" + ns + "'>" + strings.Repeat("A", 3000) + "</x>"
	}
	sid := "<stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='a@b'/>"
	origin := "<origin-id xmlns='urn:xmpp:sid:0' id='o1'/>"
	jmi := "<propose xmlns='urn:xmpp:jingle-message:0' id='c1'/>"
	oob := "<x xmlns='jabber:x:oob'><url>https://example/f</url></x>"
	tests := []struct {
		name   string
		kids   string
		want   []string
		bodies []string
	}{
		{"step 1: unknown namespaces and origin-id dropped", "<body>hi</body>" + big("urn:example:big") + origin + sid + oob,
			[]string{nsClient + " body", nsSID + " stanza-id", "jabber:x:oob x"}, []string{"hi"}},
		{"step 1: OMEMO, PGP, JMI, invitation kept", big("urn:example:big") + "<encrypted xmlns='urn:xmpp:omemo:2'/><x xmlns='jabber:x:encrypted'/>" + jmi + "<x xmlns='jabber:x:conference' jid='r@m'/>",
			[]string{"urn:xmpp:omemo:2 encrypted", "jabber:x:encrypted x", nsJMI0 + " propose", nsConf + " x"}, nil},
		{"step 2: body cut", "<body>" + strings.Repeat("> quoted line\n", 10) + "  " + long + strings.Repeat("long", 800) + "</body>" + oob + big("urn:example:big"),
			[]string{nsClient + " body", "jabber:x:oob x"}, []string{strings.TrimSpace(long)[:50] + "…"}},
		{"step 2: bodies replaced by the first, cut", "<body xml:lang='en'>" + strings.Repeat("é", 2000) + "</body><body xml:lang='de'>zwei</body>" + sid,
			[]string{nsClient + " body", nsSID + " stanza-id"}, []string{strings.Repeat("é", 50) + "…"}},
		{"step 2: quotes dropped, short enough, no ellipsis", "<body>" + strings.Repeat(">"+strings.Repeat("q", 100)+"\n", 30) + "short answer</body>",
			[]string{nsClient + " body"}, []string{"short answer"}},
		{"step 3: only the essentials", "<body>" + long + long + "</body>" + big("eu.siacs.conversations.axolotl") + sid + oob + jmi,
			[]string{nsClient + " body", nsSID + " stanza-id", nsJMI0 + " propose"}, []string{long[:50] + "…"}},
	}
	for _, tc := range tests {
		stanza := "<message to='a@b' from='c@d/e' type='chat'>" + tc.kids + "</message>"
		env, err := AppendEnvelope(nil, []byte(stanza), defaultCap, zeroReader{})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(env) > defaultCap {
			t.Errorf("%s: %d bytes", tc.name, len(env))
		}
		info := inspectEnvelope(t, env)
		if !reflect.DeepEqual(info.kids, tc.want) || !reflect.DeepEqual(info.bodies, tc.bodies) {
			t.Errorf("%s:\n kids %v\nwant %v\nbodies %q\n  want %q", tc.name, info.kids, tc.want, info.bodies, tc.bodies)
		}
	}
}

func TestAppendEnvelopeErrors(t *testing.T) {
	tests := []struct {
		stanza string
		cap    int
		want   error
	}{
		{"<presence/>", 0, ErrStanza},
		{"<message/><message/>", 0, ErrStanza},
		{"<message xmlns='urn:other'/>", 0, ErrStanza},
		{"<message><body>x</message>", 0, ErrStanza},
		{"x<message/>", 0, ErrStanza},
		{"", 0, ErrStanza},
		{"<message id='" + strings.Repeat("i", 3000) + "'/>", 0, ErrTooLarge},
		{"<message><stanza-id xmlns='urn:xmpp:sid:0' id='" + strings.Repeat("i", 3000) + "'/></message>", 0, ErrTooLarge},
		{"<message/>", maxPlaintext + 1, ErrTooLarge},
		{"<message/>", -1, ErrTooLarge},
		{"<message/>", 2000, ErrRandom},
	}
	for _, tc := range tests {
		dst := []byte("kept")
		out, err := AppendEnvelope(dst, []byte(tc.stanza), tc.cap, bytes.NewReader(nil))
		if !errors.Is(err, tc.want) {
			t.Errorf("%.60s cap %d: err %v, want %v", tc.stanza, tc.cap, err, tc.want)
		}
		if string(out) != "kept" {
			t.Errorf("%.60s: dst changed to %.60s", tc.stanza, out)
		}
	}
}

func TestAppendEnvelopeNamespaces(t *testing.T) {
	stanza := "<?pi?><!-- c --><c:message xmlns:c='jabber:server' xmlns:s='urn:xmpp:sid:0' to='a@b' title='&quot;x&quot; &amp; &apos;y&apos;'>" +
		"<c:body>hi</c:body><s:stanza-id id='1' by='a@b'/><body>two</body></c:message> "
	env, err := AppendEnvelope(nil, []byte(stanza), 0, zeroReader{})
	if err != nil {
		t.Fatal(err)
	}
	info := inspectEnvelope(t, env)
	want := []string{"jabber:server body", nsSID + " stanza-id", nsClient + " body"}
	if !reflect.DeepEqual(info.kids, want) {
		t.Errorf("kids %v, want %v\n%s", info.kids, want, env)
	}
	for _, a := range info.attrs {
		if a.Name.Local == "title" && a.Value != `"x" & 'y'` {
			t.Errorf("title %q", a.Value)
		}
	}
}

func TestCutBody(t *testing.T) {
	// Each body is "a" then 60 units: the cut at 50 characters falls
	// inside a unit of several, and backs off to the unit's start.
	units := []struct{ name, unit string }{
		{"1-byte", "a"}, {"2-byte", "é"}, {"3-byte", "€"}, {"4-byte", "😀"},
		{"combining acute", "e\u0301"},
		{"flag", "\U0001F1EB\U0001F1F7"},
		{"skin tone", "👍\U0001F3FD"},
		{"ZWJ family", "👨\u200d👩\u200d👧"},
		{"variation selector", "❤\ufe0f"},
		{"keycap", "1\ufe0f\u20e3"},
		{"tag sequence", "🏴\U000E0067\U000E0062\U000E007F"},
	}
	for _, tc := range units {
		got := cutBody("a" + strings.Repeat(tc.unit, 60))
		k := (bodyCut - 1) / utf8.RuneCountInString(tc.unit)
		if want := "a" + strings.Repeat(tc.unit, k) + "…"; got != want {
			t.Errorf("%s: %q, want %q", tc.name, got, want)
		}
	}
	// A cluster longer than the cut gives up backing off and keeps 50 runes.
	s := "e" + strings.Repeat("\u0301", 80)
	if got := cutBody(s); utf8.RuneCountInString(got) != bodyCut+1 {
		t.Errorf("one long cluster: %d runes", utf8.RuneCountInString(got))
	}
	// Short bodies and quote-only bodies.
	for in, want := range map[string]string{
		"short":                        "short",
		" > not a quote ":              "> not a quote",
		"> only\n> quotes":             "",
		"> q\nanswer\n>q2\nmore\n":     "answer\nmore",
		strings.Repeat("x", bodyCut+1): strings.Repeat("x", bodyCut) + "…",
	} {
		if got := cutBody(in); got != want {
			t.Errorf("cutBody(%q) = %q, want %q", in, got, want)
		}
	}
}

package xmlscan

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"io"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/pushrules/pushrules/internal/corpus"
)

// checkTokens scans data and reads it with encoding/xml in step: every
// token the scanner returns must be the one encoding/xml returns, until
// the scanner gives up. It returns the number of tokens compared and the
// kind that ended the scan (EOF or Unsupported).
func checkTokens(t testing.TB, data []byte) (int, Kind) {
	t.Helper()
	var s Scanner
	s.Reset(data)
	d := xml.NewDecoder(bytes.NewReader(data))
	for n := 0; ; n++ {
		k := s.Next()
		if k == Unsupported {
			if s.Next() != Unsupported || s.Kind() != Unsupported {
				t.Fatalf("%q: the scanner does not stay Unsupported", data)
			}
			var syntax *xml.SyntaxError
			if err := s.Err(); !errors.As(err, &syntax) || syntax.Msg == "" || syntax.Line < 1 {
				t.Fatalf("%q: Err() = %v", data, err)
			}
			// The scanner refuses only where encoding/xml fails or returns
			// a token the package documentation says it refuses.
			strict := corpus.NewStrict(data)
			for range n {
				if _, err := strict.Token(); err != nil {
					t.Fatalf("%q: encoding/xml fails before the token the scanner refuses: %v", data, err)
				}
			}
			if tok, err := strict.Token(); err == nil {
				t.Fatalf("%q: token %d: the scanner refuses (%v), encoding/xml returns %T %v", data, n, s.Err(), tok, tok)
			}
			return n, k
		}
		tok, err := d.Token()
		if k == EOF {
			if err != io.EOF {
				t.Fatalf("%q: token %d: scanner EOF, encoding/xml %T %v", data, n, tok, err)
			}
			return n, k
		}
		if err != nil {
			t.Fatalf("%q: token %d: scanner %v, encoding/xml error %v", data, n, k, err)
		}
		if s.Kind() != k {
			t.Fatalf("Kind() = %v, Next returned %v", s.Kind(), k)
		}
		var got, want string
		switch tok := tok.(type) {
		case xml.StartElement:
			want = "start " + tok.Name.Space + " " + tok.Name.Local
			for _, a := range tok.Attr {
				want += " [" + a.Name.Space + " " + a.Name.Local + "=" + a.Value + "]"
			}
		case xml.EndElement:
			want = "end " + tok.Name.Space + " " + tok.Name.Local
		case xml.CharData:
			want = "text " + string(tok)
		case xml.Comment:
			want = "comment " + string(tok)
		case xml.ProcInst:
			want = "pi " + tok.Target + " " + string(tok.Inst)
		default:
			want = "other"
		}
		switch k {
		case StartElement:
			got = "start " + string(s.Space()) + " " + string(s.Local())
			for i := range s.NumAttr() {
				_, local := s.AttrName(i)
				got += " [" + string(s.AttrSpace(i)) + " " + string(local) + "=" + string(s.AppendAttrValue(nil, i)) + "]"
				if raw, esc := s.AttrValue(i); !esc && string(raw) != string(s.AppendAttrValue(nil, i)) {
					t.Fatalf("%q: attribute %d: raw %q not escaped, decoded %q", data, i, raw, s.AppendAttrValue(nil, i))
				}
			}
		case EndElement:
			got = "end " + string(s.Space()) + " " + string(s.Local())
		case CharData:
			got = "text " + string(s.AppendText(nil))
			if !s.Escaped() && string(s.Text()) != string(s.AppendText(nil)) {
				t.Fatalf("%q: text %q not escaped, decoded %q", data, s.Text(), s.AppendText(nil))
			}
		case Comment:
			got = "comment " + string(s.Text())
		case ProcInst:
			_, target := s.Name()
			got = "pi " + string(target) + " " + string(s.Text())
		}
		if got != want {
			t.Fatalf("%q: token %d:\nscanner      %s\nencoding/xml %s", data, n, got, want)
		}
		if k == StartElement || k == EndElement {
			if _, local := s.Name(); string(local) != string(s.Local()) {
				t.Fatalf("%q: Local %q, Name's local %q", data, s.Local(), local)
			}
		}
	}
}

// scanInputs are inputs at the edges of the scanner.
var scanInputs = []string{
	"", " ", "x", "<a/>", "<a></a>", "<a/ >", "<a></a >", "<a></ a>", "<a>", "<a><", "<a></", "<a></a", "<a></b>", "</a>", "<a/></a>",
	"<a/><b/>", "<a/>text", "text<a/>", "<a b='1' b='2'/>", "<a b='1'c='2'/>", "<a b = '1' />", "<a b=1/>", "<a b/>", "<a b='1/>",
	"<:a/>", "<a:/>", "<a:b:c/>", "<p:a/>", "<xmlns:a/>", "<xml:a/>", "<xmlns/>", "<xmlns xmlns='x'/>", "<_x/>", "<x.y-z:a1/>", "<1a/>", "<-a/>", "<é/>", "<aé/>",
	"<a xmlns:='x'/>", "<a xmlns:p=''><p:b/></a>", "<a xmlns:p='' p:c='1'/>", "<a xmlns:xml='x'/>", "<a xmlns:xmlns='x'/>", "<a xml:lang='en' xmlns:l='u' l:x='1' q:y='2'/>",
	"<a xmlns='x'><b xmlns=''><c/></b><d/></a>", "<a xmlns='x' xmlns='y'/>", "<a xmlns:p='x' xmlns:p='y'><p:b/></a>", "<p:a xmlns:p='x'><p:b xmlns:p='y'/><p:c/></p:a>",
	"<a xmlns='a&#58;b'/>", "<a xmlns='a\r\nb'/>", "<a xmlns:p='a&amp;b'><p:b/></a>", "<p:a xmlns:p='x'></p:a>", "<p:a xmlns:p='x'></a>", "<a xmlns:p='x'></p:a>",
	"<a>&#xD800;</a>", "<a>&#xFFFE;</a>", "<a>&#x10FFFF;</a>", "<a>&#x110000;</a>", "<a>&#00000065;</a>", "<a>&#X41;</a>", "<a>&#;</a>", "<a>&#x;</a>", "<a>&#65</a>",
	"<a>&lt</a>", "<a>&lt;&LT;</a>", "<a>&lt.x;</a>", "<a>&amp;&gt;&apos;&quot;</a>", "<a>&nbsp;</a>", "<a>&</a>", "<a>& </a>",
	"<a>]]]></a>", "<a>]] ></a>", "<a>]]&gt;</a>", "<a>]</a>", "<a>]]</a>", "<a>x]]</a>", "<a b=']]>'/>",
	"<a><![CDATA[]]></a>", "<a><![CDATA[]]]]></a>", "<a><![CDATA[x]]>]></a>", "<a><![CDATA[\x00]]></a>", "<a><![cdata[x]]></a>", "<a><![CDATA[x", "<a><![CDATA[<&\r\n\r]]></a>",
	"<a><!--\xff\x00--></a>", "<a><!---></a>", "<a><!-- --->--></a>", "<a><!-></a>", "<a><!----></a>", "<a><!-- - --></a>", "<a><!--x", "<!DOCTYPE a><a/>", "<a><!ELEMENT a></a>",
	"<?x?><a/>", "<?x ?><a/>", "<?x  y z ?><a/>", "<?x?y?><a/>", "<?x??><a/>", "<?x", "<?x?", "<? x?><a/>", "<?1x?><a/>", "<?x:y?><a/>", "<?x-y?>", "<?x\"?>", "<?xé?>",
	"<?xml version='1.0'?><a/>", "<?xml version='1.1'?><a/>", "<?XML?><a/>", "<?xml-stylesheet href='x'?><a/>", "<?xmlx?><a/>", "<a><?pi \xff\x00?></a>",
	"<a b='a\r\nb\rc' c=\"&#13;&#10;\"/>", "<a b='\t\n'/>", "<a b='&quot;\"'/>", "<a b=\"'\"/>", "<a b='<'/>", "<a b='\x7f'/>", "<a b='\xc3\x28'/>", "<a b='\xef\xbf\xbd'/>", "<a b='\x00'/>",
	"\xef\xbb\xbf<a/>", "<a/>\x00", "<a/>\n\r\t ", "\r\n<a>\r</a>\r", "<a>\x7f\x80</a>", "<a>\xed\xa0\x80</a>", "<a>\xf4\x90\x80\x80</a>", "<a>\xef\xbf\xbe</a>",
	strings.Repeat("<a>", 32) + strings.Repeat("</a>", 32), strings.Repeat("<a>", 33) + strings.Repeat("</a>", 33),
	"<a" + strings.Repeat(" b='1'", 32) + "/>", "<a" + strings.Repeat(" b='1'", 33) + "/>",
	"<a" + strings.Repeat(" xmlns:p='x'", 64) + "><p:b/></a>", "<a" + strings.Repeat(" xmlns:p='x'", 65) + "/>",
	strings.Repeat("<a xmlns:p='x'>", 31) + strings.Repeat("</a>", 31),
	"<message xmlns='jabber:client' from='a@b/c' type='chat'><body>Hi &amp; bye</body><x xmlns='jabber:x:data'/></message>",
}

func TestScanner(t *testing.T) {
	for _, x := range scanInputs {
		checkTokens(t, []byte(x))
	}
}

// TestScannerMutations mutates the inputs and checks every result against
// encoding/xml; FuzzScanner does the same with coverage guidance.
func TestScannerMutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	pieces := append(slices.Clone(corpus.Pieces),
		"<a>", "</a>", "<p:a>", "</p:a>")
	n := 20000
	if testing.Short() {
		n = 2000
	}
	taken := 0
	for range n {
		b := corpus.Mutate(rng, scanInputs[rng.IntN(len(scanInputs))], pieces)
		if _, k := checkTokens(t, b); k == EOF {
			taken++
		}
	}
	t.Logf("%d of %d mutated inputs scanned to their end", taken, n)
}

func FuzzScanner(f *testing.F) {
	for _, x := range scanInputs {
		f.Add([]byte(x))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkTokens(t, data)
	})
}

// TestScannerStates checks Depth, Offset and the end of an empty element.
func TestScannerStates(t *testing.T) {
	var s Scanner
	if s.Next() != EOF {
		t.Fatal("the zero Scanner is not empty")
	}
	data := []byte("<a xmlns='x'><b/>t</a> ")
	s.Reset(data)
	type step struct {
		k      Kind
		depth  int
		offset int
		space  string
	}
	for i, want := range []step{
		{StartElement, 1, 13, "x"}, {StartElement, 2, 17, "x"}, {EndElement, 1, 17, "x"}, {CharData, 1, 18, ""},
		{EndElement, 0, 22, "x"}, {CharData, 0, 23, ""}, {EOF, 0, 23, ""}, {EOF, 0, 23, ""},
	} {
		k := s.Next()
		got := step{k, s.Depth(), s.Offset(), ""}
		if k == StartElement || k == EndElement {
			got.space = string(s.Space())
		}
		if got != want {
			t.Fatalf("token %d: %+v, want %+v", i, got, want)
		}
	}
	s.Reset([]byte("<a>"))
	if s.Next() != StartElement || s.Next() != Unsupported || s.Next() != Unsupported {
		t.Fatal("an unclosed element is not Unsupported")
	}
}

func TestScannerDoesNotAllocate(t *testing.T) {
	data := []byte("<iq xmlns='jabber:client' type='set' id='e1'><enable xmlns='urn:xmpp:push:0' jid='p.example' node='n'>" +
		"<!-- c --><x xmlns='jabber:x:data'><field var='a'><value>1&amp;2</value></field></x></enable></iq>")
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		var s Scanner
		s.Reset(data)
		for {
			switch s.Next() {
			case StartElement:
				_ = s.Space()
				for i := range s.NumAttr() {
					buf = s.AppendAttrValue(buf[:0], i)
					_ = s.AttrSpace(i)
				}
				_ = s.LookupAttr("type")
			case CharData:
				buf = s.AppendText(buf[:0])
			case EOF:
				return
			case Unsupported:
				panic("unsupported")
			}
		}
	})
	if allocs != 0 {
		t.Errorf("scanning allocates %v times", allocs)
	}
}

func TestSpecial8(t *testing.T) {
	check := func(w []byte, specials [3]byte) {
		t.Helper()
		want := 8
		for k, v := range w {
			if v < 0x20 || v >= 0x80 || v == specials[0] || v == specials[1] || v == specials[2] {
				want = k
				break
			}
		}
		got := 8
		if m := special8(binary.LittleEndian.Uint64(w), specials[0], specials[1], specials[2]); m != 0 {
			got = bits.TrailingZeros64(m) >> 3
		}
		if got != want {
			t.Fatalf("special8(%q, %q) finds byte %d, want %d", w, specials, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("ab <&]'\"\t\n\r\x00\x1f\x20\x7f\x80\xff\xc3")
	for _, specials := range [][3]byte{{'<', '&', ']'}, {'<', '&', '\''}, {'<', '&', '"'}} {
		for v := range 256 {
			for pos := range 8 {
				w := []byte("abcdefgh")
				w[pos] = byte(v)
				check(w, specials)
			}
		}
		for range 100000 {
			var w [8]byte
			for k := range w {
				if rng.IntN(2) == 0 {
					w[k] = alphabet[rng.IntN(len(alphabet))]
				} else {
					w[k] = byte(rng.IntN(256))
				}
			}
			check(w[:], specials)
		}
	}
}

func TestScannerErrors(t *testing.T) {
	for _, tc := range []struct {
		in      string
		line    int
		tooDeep bool
	}{
		{"<a>\n<b></c></a>", 2, false},
		{"<a>\n\n<!DOCTYPE a></a>", 3, false},
		{"<?xml version='1.1'?><a/>", 1, false},
		{"<?xml version=\"1.0\" encoding='latin1'?><a/>", 1, false},
		{"<a xmlns:p=''/>", 1, false},
		{"<a xmlns='a&amp;b'/>", 1, false},
		{"<é/>", 1, false},
		{strings.Repeat("<a>", MaxDepth) + "\n<b/>", 2, true},
		{strings.Repeat("<a>", MaxDepth) + "<1b/>", 1, false},
	} {
		var s Scanner
		s.Reset([]byte(tc.in))
		for s.Next() != Unsupported {
		}
		var syntax *xml.SyntaxError
		if err := s.Err(); !errors.As(err, &syntax) || syntax.Line != tc.line || s.TooDeep() != tc.tooDeep {
			t.Errorf("%q: Err() = %v (line %d), TooDeep %v; want line %d, TooDeep %v", tc.in, err, syntax.Line, s.TooDeep(), tc.line, tc.tooDeep)
		}
	}
	// The XML declaration is checked as encoding/xml checks it.
	for in, ok := range map[string]bool{
		"<?xml version='1.0' encoding='UTF-8'?><a/>": true, "<?xml encoding=\"utf-8\" version=\"1.0\"?><a/>": true,
		"<?xml version='1.0' encoding='UtF-8' standalone='yes'?><a/>": true, "<?xml?><a/>": true, "<?xml version=1.1?><a/>": true,
		"<?xml version=''?><a/>": true, "<?xml version='2.0'?><a/>": false, "<?xml encoding='latin1'?><a/>": false,
		"<?XML version='9'?><a/>": true, "<a><?xml version='1.1'?></a>": false,
	} {
		var s Scanner
		s.Reset([]byte(in))
		k := s.Next()
		for k != EOF && k != Unsupported {
			k = s.Next()
		}
		d := xml.NewDecoder(strings.NewReader(in))
		var err error
		for err == nil {
			_, err = d.Token()
		}
		if (k == EOF) != ok || (err == io.EOF) != ok {
			t.Errorf("%q: scanner %v, encoding/xml %v; want accepted %v", in, k, err, ok)
		}
	}
}

func TestAppendElement(t *testing.T) {
	stream := "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>\n" +
		"<!-- c --><message to='a&apos;b' type='chat'><body>x&amp;y\r\n&#13;<![CDATA[<z>]]]]><![CDATA[>]]></body>" +
		"<p:00 xmlns:p='urn:p'><i xmlns=''/></p:00><e:x xmlns:e='jabber:x:encrypted' e:attr='dropped' xml:lang='en'/></message>" +
		"<iq/></stream:stream>"
	d := xml.NewDecoder(strings.NewReader(stream))
	if _, err := d.Token(); err != nil {
		t.Fatal(err)
	}
	got, err := AppendElement([]byte("keep:"), d, 1000)
	want := "keep:<message xmlns='jabber:client' to='a&apos;b' type='chat'><body>x&amp;y\n&#13;&lt;z&gt;]]&gt;</body>" +
		"<p:00 xmlns:p='urn:p'><i xmlns=''/></p:00><x xmlns='jabber:x:encrypted'/></message>"
	if err != nil || string(got) != want {
		t.Fatalf("AppendElement =\n%s, %v; want\n%s", got, err, want)
	}
	checkTokens(t, got[len("keep:"):])
	// The next element, then the end of the stream.
	if got, err := AppendElement(nil, d, 1000); err != nil || string(got) != "<iq xmlns='jabber:client'/>" {
		t.Errorf("second element: %s, %v", got, err)
	}
	if _, err := AppendElement(nil, d, 1000); !errors.Is(err, io.EOF) {
		t.Errorf("at the end of the stream: %v, want io.EOF", err)
	}
	for in, check := range map[string]func(error) bool{
		"":                   func(err error) bool { return errors.Is(err, io.EOF) },
		"<a><b>":             func(err error) bool { var s *xml.SyntaxError; return errors.As(err, &s) },
		"text<a/>":           func(err error) bool { var s *xml.SyntaxError; return errors.As(err, &s) },
		"<!DOCTYPE a><a/>":   func(err error) bool { var s *xml.SyntaxError; return errors.As(err, &s) },
		"<a><!ENTITY x></a>": func(err error) bool { var s *xml.SyntaxError; return errors.As(err, &s) },
		"<a></b>":            func(err error) bool { var s *xml.SyntaxError; return errors.As(err, &s) },
		"<a>" + strings.Repeat("<b/>", 400) + "</a>": func(err error) bool { return errors.Is(err, BudgetError{}) },
	} {
		if _, err := AppendElement(nil, xml.NewDecoder(strings.NewReader(in)), 1000); !check(err) {
			t.Errorf("%q: error %v (%T) of the wrong kind", in, err, err)
		}
	}
	// The budget counts from below: an element of budget bytes fits.
	exact := "<a>" + strings.Repeat("<b/>", 100) + "</a>"
	if _, err := AppendElement(nil, xml.NewDecoder(strings.NewReader(exact)), len(exact)); err != nil {
		t.Errorf("%d bytes within a budget of %d: %v", len(exact), len(exact), err)
	}
}

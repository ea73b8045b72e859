package push

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/corpus"
)

// resultCases are the table tests of ParseResult, also inputs of its
// differential test.
var resultCases = []struct {
	name, xml string
	want      events.PublishResult
	bad       bool
}{
	{name: "result", xml: "<iq type='result' id='p1' from='push.example.net' to='example.org'/>",
		want: events.PublishResult{ID: "p1", From: "push.example.net"}},
	{name: "error with text", xml: "<iq type='error' id='p2' from='push.example.net'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>gone</text></error></iq>",
		want: events.PublishResult{ID: "p2", From: "push.example.net", Error: &events.StanzaError{Type: "cancel", Condition: "item-not-found", Text: "gone"}}},
	{name: "wait", xml: "<iq type='error' id='p3' from='p'><pubsub xmlns='http://jabber.org/protocol/pubsub'/><error type='wait'><resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
		want: events.PublishResult{ID: "p3", From: "p", Error: &events.StanzaError{Type: "wait", Condition: "resource-constraint"}}},
	{name: "error without error element", xml: "<iq type='error' id='p4' from='p'/>",
		want: events.PublishResult{ID: "p4", From: "p", Error: &events.StanzaError{Type: "cancel", Condition: "undefined-condition"}}},
	{name: "set is not an answer", xml: "<iq type='set' id='p5'/>", bad: true},
	{name: "message", xml: "<message/>", bad: true},
	{name: "garbage", xml: "<iq type='result'", bad: true},
	{name: "empty", xml: "", bad: true},
}

func TestParseResult(t *testing.T) {
	for _, tc := range resultCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseResult([]byte(tc.xml))
			if tc.bad {
				if !errors.Is(err, ErrNotResult) {
					t.Fatalf("err = %v, want ErrNotResult", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != tc.want.ID || got.From != tc.want.From || (got.Error == nil) != (tc.want.Error == nil) ||
				(got.Error != nil && *got.Error != *tc.want.Error) {
				t.Errorf("got %+v %+v, want %+v %+v", got, got.Error, tc.want, tc.want.Error)
			}
		})
	}
}

// FuzzParseResult: never panics; agrees with the oracle; failures wrap
// ErrNotResult; an error answer always carries a type and a condition, and
// a text of at most MaxErrorText bytes of UTF-8.
func FuzzParseResult(f *testing.F) {
	f.Add([]byte("<iq type='result' id='p1' from='push.example.net'/>"))
	f.Add([]byte("<iq type='error' id='p2' from='push.example.net'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>gone</text></error></iq>"))
	f.Add([]byte("<iq type='error' id='p3'><error type='wait'><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"))
	for _, tc := range resultCases {
		f.Add([]byte(tc.xml))
	}
	for _, x := range trickyResults {
		f.Add([]byte(x))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkResultOracle(t, data)
		res, err := ParseResult(data)
		if err != nil {
			if !errors.Is(err, ErrNotResult) {
				t.Fatalf("error %v does not wrap ErrNotResult", err)
			}
			return
		}
		if res.Error != nil && (res.Error.Type == "" || res.Error.Condition == "") {
			t.Fatalf("error answer without type or condition: %+v", res.Error)
		}
		if res.Error != nil && (len(res.Error.Text) > maxErrorText || !utf8.ValidString(res.Error.Text)) {
			t.Fatalf("error text of %d bytes, valid UTF-8 %v", len(res.Error.Text), utf8.ValidString(res.Error.Text))
		}
	})
}

// trickyResults are inputs at the edges of the XML ParseResult takes.
var trickyResults = []string{
	"<iq type='result' id='p1'/>trailing <garbage", "<iq type='result' id='p1'><pubsub xmlns='http://jabber.org/protocol/pubsub'/></iq>",
	"<iq type='result' id='p1'><a><b/></a></iq>junk", "<iq type='result' id='p1'>", "<iq type='result' id='p1'><a>", "<iq type='result' id='p1'></iq",
	"<iq type='result' id='&lt;p&#49;&gt;' from='a&amp;b'/>", "<iq type='&#114;esult' id='p1'/>", "<iq type='Result' id='p1'/>", "<iq id='p1'/>",
	"<iq type='result' type='error' id='p1' id='p2'/>", "<c:iq xmlns:c='jabber:client' type='result' id='p1'/>", "<query type='result'/>",
	"<!--c--><?pi?>\n<iq type='result' id='p1'/>", "<?xml version='1.0'?><iq type='result' id='p1'/>", "text<iq type='result' id='p1'/>",
	"<iq type='error' id='p2'><error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
	"<iq type='error' id='p2'><error><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>a</text><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>b&amp;<![CDATA[<c>]]><x>y</x>\r\n</text></error></iq>",
	"<iq type='error' id='p2'><error type=''><s:gone xmlns:s='urn:ietf:params:xml:ns:xmpp-stanzas'/></error><error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
	"<iq type='error' id='p2'><error><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>" + strings.Repeat("t", 1024) + "</text></error></iq>",
	"<iq type='error' id='p2'><error><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>" + strings.Repeat("t", 1025) + "</text></error></iq>",
	"<iq type='error' id='p2'><error><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>" + strings.Repeat("t", 1025) + "<bad",
	"<iq type='error' id='p2'><x:error xmlns:x='other'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></x:error></iq>",
	"<iq type='error' id='p2'><error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
	"<iq type='error' id='p2'>" + strings.Repeat("<a>", 15) + strings.Repeat("</a>", 15) + "</iq>",
	"<iq type='error' id='p2'>" + strings.Repeat("<a>", 16) + strings.Repeat("</a>", 16) + "</iq>",
	"<iq type='result' id='p2'>" + strings.Repeat("<a>", 16) + strings.Repeat("</a>", 16) + "</iq>",
}

// checkResultOracle checks that ParseResult gives what its encoding/xml
// oracle gives: the same answer, or both refuse.
func checkResultOracle(t testing.TB, data []byte) {
	t.Helper()
	want, wantErr := parseResultOracle(data)
	got, err := ParseResult(data)
	same := got.ID == want.ID && got.From == want.From && got.Now == want.Now &&
		(got.Error == nil) == (want.Error == nil) && (got.Error == nil || *got.Error == *want.Error) &&
		(err == nil) == (wantErr == nil) && errors.Is(err, ErrNotResult) == errors.Is(wantErr, ErrNotResult)
	if !same {
		t.Fatalf("%q:\nParseResult %+v %+v, %v\noracle      %+v %+v, %v", data, got, got.Error, err, want, want.Error, wantErr)
	}
}

// TestParseResultOracle is the differential test of ParseResult, on the
// table tests, the tricky inputs and mutations of them.
func TestParseResultOracle(t *testing.T) {
	var inputs []string
	for _, tc := range resultCases {
		inputs = append(inputs, tc.xml)
	}
	inputs = append(inputs, trickyResults...)
	for _, x := range inputs {
		checkResultOracle(t, []byte(x))
	}
	rng := rand.New(rand.NewPCG(7, 8))
	pieces := []string{"<", ">", "/", "&", ";", "'", "\"", "]]>", "]", "\r", "\n", " ", ":", "=", "\x00", "\xff",
		"&amp;", "&#", "<!--", "-->", "<![CDATA[", "<?", "?>", "xmlns", "xmlns:p", "p:", "é",
		"<a>", "</a>", "<a/>", "<error>", "</error>", "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>", "</text>", "iq", "id"}
	n := 10000
	if testing.Short() {
		n = 1000
	}
	for range n {
		b := corpus.Mutate(rng, inputs[rng.IntN(len(inputs))], pieces)
		checkResultOracle(t, b)
	}
}

// TestVerboseErrorTextIsCut: a service that explains its failure at length
// is still counted as failing; its text is kept up to MaxErrorText bytes,
// cut where a character starts.
func TestVerboseErrorTextIsCut(t *testing.T) {
	answer := func(text string) []byte {
		return []byte("<iq type='error' id='p9' from='push.example.net'><error type='cancel'>" +
			"<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>" +
			"<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>" + text + "</text></error></iq>")
	}
	for _, tc := range []struct {
		name, text, want string
	}{
		{"short", "gone", "gone"},
		{"exactly the maximum", strings.Repeat("t", maxErrorText), strings.Repeat("t", maxErrorText)},
		{"one byte more", strings.Repeat("t", maxErrorText+1), strings.Repeat("t", maxErrorText)},
		{"long", strings.Repeat("x", 10000), strings.Repeat("x", maxErrorText)},
		// "é" is 2 bytes: 1023 bytes of "t" and an "é" across the limit.
		{"cut inside a character", strings.Repeat("t", maxErrorText-1) + "éé", strings.Repeat("t", maxErrorText-1)},
		{"character ending at the limit", strings.Repeat("t", maxErrorText-2) + "éé", strings.Repeat("t", maxErrorText-2) + "é"},
		// "€" is 3 bytes, written as a reference and in pieces.
		{"references and CDATA", strings.Repeat("&#x20AC;", 400) + "<![CDATA[tail]]>", strings.Repeat("€", maxErrorText/3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ParseResult(answer(tc.text))
			if err != nil {
				t.Fatalf("the answer is refused: %v", err)
			}
			if res.ID != "p9" || res.Error == nil || res.Error.Condition != "item-not-found" || res.Error.Type != "cancel" {
				t.Fatalf("answer %+v, error %+v", res, res.Error)
			}
			if res.Error.Text != tc.want {
				t.Errorf("text of %d bytes %q..., want %d bytes", len(res.Error.Text), res.Error.Text[:min(10, len(res.Error.Text))], len(tc.want))
			}
			if !utf8.ValidString(res.Error.Text) || len(res.Error.Text) > maxErrorText {
				t.Errorf("text of %d bytes, valid UTF-8 %v", len(res.Error.Text), utf8.ValidString(res.Error.Text))
			}
		})
	}
}

package push

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/corpus"
)

// resultCases are the table tests of ParseResult, also inputs of the
// differential test of its fast path.
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

// FuzzParseResult: never panics; failures wrap ErrNotResult; an error answer
// always carries a type and a condition.
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
		checkResultFastSlow(t, data)
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
	})
}

// trickyResults are inputs at the edges of the fast path of ParseResult.
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

// checkResultFastSlow checks that ParseResult, whichever path it takes,
// gives what encoding/xml alone gives.
func checkResultFastSlow(t testing.TB, data []byte) {
	t.Helper()
	want, wantErr := parseResultSlow(data)
	got, err := ParseResult(data)
	same := got.ID == want.ID && got.From == want.From && got.Now == want.Now &&
		(got.Error == nil) == (want.Error == nil) && (got.Error == nil || *got.Error == *want.Error) &&
		(err == nil) == (wantErr == nil) && (err == nil || err.Error() == wantErr.Error() && errors.Is(err, ErrNotResult) == errors.Is(wantErr, ErrNotResult))
	if !same {
		t.Fatalf("%q:\nParseResult      %+v %+v, %v\nparseResultSlow  %+v %+v, %v", data, got, got.Error, err, want, want.Error, wantErr)
	}
}

// TestParseResultFastSlow is the differential test of ParseResult's fast
// path, on the table tests, the tricky inputs and mutations of them.
func TestParseResultFastSlow(t *testing.T) {
	var inputs []string
	for _, tc := range resultCases {
		inputs = append(inputs, tc.xml)
	}
	inputs = append(inputs, trickyResults...)
	for _, x := range inputs {
		checkResultFastSlow(t, []byte(x))
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
		checkResultFastSlow(t, b)
	}
}

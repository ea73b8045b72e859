package push

import (
	"errors"
	"testing"

	"github.com/pushrules/pushrules/events"
)

func TestParseResult(t *testing.T) {
	for _, tc := range []struct {
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
	} {
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
	f.Fuzz(func(t *testing.T, data []byte) {
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

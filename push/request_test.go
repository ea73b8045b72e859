package push

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

func TestParseRequest(t *testing.T) {
	form := "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>" + NSPublishOptions +
		"</value></field><field var='secret'><value>a&amp;b</value><value></value></field><field var='empty'/></x>"
	for _, tc := range []struct {
		name, xml string
		want      Request
		err       *events.StanzaError
	}{
		{name: "bare enable", xml: "<enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='N'/>",
			want: Request{JID: "push.example.net", Node: "N"}},
		{name: "iq around, id kept", xml: "<iq type='set' id='e1' xmlns='jabber:client'><enable xmlns='urn:xmpp:push:0' jid='p.example'/></iq>",
			want: Request{IQID: "e1", JID: "p.example"}},
		{name: "server namespace", xml: "<iq type='set' id='e1' xmlns='jabber:server'><disable xmlns='urn:xmpp:push:0' jid='p.example' node='n'/></iq>",
			want: Request{IQID: "e1", Disable: true, JID: "p.example", Node: "n"}},
		{name: "prefixed push namespace", xml: "<p:enable xmlns:p='urn:xmpp:push:0' jid='p.example'/>", want: Request{JID: "p.example"}},
		{name: "form kept field by field", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'>" + form + "</enable>",
			want: Request{JID: "p.example", Options: registry.NewForm("submit",
				registry.Field{Var: "FORM_TYPE", Type: "hidden", Values: []string{NSPublishOptions}},
				registry.Field{Var: "secret", Values: []string{"a&b", ""}},
				registry.Field{Var: "empty"},
			)}},
		{name: "only the first form", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><foo/>" + form + "<x xmlns='jabber:x:data'/></enable>",
			want: Request{JID: "p.example", Options: registry.NewForm("submit",
				registry.Field{Var: "FORM_TYPE", Type: "hidden", Values: []string{NSPublishOptions}},
				registry.Field{Var: "secret", Values: []string{"a&b", ""}},
				registry.Field{Var: "empty"},
			)}},
		{name: "error keeps the iq id", xml: "<iq type='set' id='e9'><enable xmlns='urn:xmpp:push:0'/></iq>", want: Request{IQID: "e9"}, err: ErrMissingJID},
		{name: "malformed jid", xml: "<enable xmlns='urn:xmpp:push:0' jid='a@'/>", err: ErrJIDMalformed},
		{name: "disable does not validate the jid", xml: "<disable xmlns='urn:xmpp:push:0' jid='a@'/>", want: Request{Disable: true, JID: "a@"}},
		{name: "too many fields", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><x xmlns='jabber:x:data'>" +
			strings.Repeat("<field var='v'/>", MaxFormFields+1) + "</x></enable>", err: ErrRequestTooLarge},
		{name: "too many values", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><x xmlns='jabber:x:data'><field var='v'>" +
			strings.Repeat("<value>v</value>", MaxFieldValues+1) + "</field></x></enable>", err: ErrRequestTooLarge},
		{name: "form too large", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><x xmlns='jabber:x:data'><field var='v'><value>" +
			strings.Repeat("v", MaxFormBytes) + "</value></field></x></enable>", err: ErrRequestTooLarge},
		{name: "too deep", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'>" + strings.Repeat("<a>", MaxRequestDepth) +
			strings.Repeat("</a>", MaxRequestDepth) + "</enable>", err: ErrRequestTooLarge},
		{name: "too big", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'>" + strings.Repeat(" ", MaxRequestSize) + "</enable>", err: ErrRequestTooLarge},
		{name: "empty iq", xml: "<iq type='set' id='x'/>", want: Request{IQID: "x"}, err: ErrNotPushRequest},
		{name: "empty input", xml: "", err: ErrMalformedRequest},
		{name: "truncated", xml: "<enable xmlns='urn:xmpp:push:0' jid='p.example'><x", err: ErrMalformedRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRequest([]byte(tc.xml))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got.IQID != tc.want.IQID || got.Disable != tc.want.Disable || got.JID != tc.want.JID || got.Node != tc.want.Node || got.Options != tc.want.Options {
				t.Errorf("got %+v (options %+v), want %+v", got, got.Options, tc.want)
			}
		})
	}
}

// TestDecodeRequestFromStream reads a request from a token reader that is
// positioned inside a client stream.
func TestDecodeRequestFromStream(t *testing.T) {
	d := xml.NewDecoder(strings.NewReader("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" +
		"<iq type='set' id='e1'><enable xmlns='urn:xmpp:push:0' jid='p.example' node='n'/></iq>"))
	if _, err := d.Token(); err != nil {
		t.Fatal(err)
	}
	req, err := DecodeRequest(d)
	if err != nil || req.IQID != "e1" || req.JID != "p.example" || req.Node != "n" {
		t.Fatalf("%+v, %v", req, err)
	}
	if _, err := ReadRequest(bytes.NewReader(make([]byte, MaxRequestSize+10))); !errors.Is(err, ErrRequestTooLarge) {
		t.Fatalf("ReadRequest of a large input: %v", err)
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
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := ParseRequest(data)
		if err != nil {
			var se *events.StanzaError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a stanza error", err)
			}
			return
		}
		again, err := ParseRequest(req.AppendXML(nil))
		if err != nil {
			t.Fatalf("re-encoded request does not parse: %v\n%s", err, req.AppendXML(nil))
		}
		if again.Disable != req.Disable || again.JID != req.JID || again.Node != req.Node || again.Options != req.Options {
			t.Fatalf("round trip changed the request:\n%+v\n%+v", req, again)
		}
	})
}

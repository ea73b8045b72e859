package push2

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/xmlscan"
)

// scannerRefuses reports whether xmlscan gives up on data (Unsupported)
// before its end: such input is refused as malformed even where
// encoding/xml would take it.
func scannerRefuses(data []byte) bool {
	var s xmlscan.Scanner
	s.Reset(data)
	for {
		switch s.Next() {
		case xmlscan.Unsupported:
			return true
		case xmlscan.EOF:
			return false
		}
	}
}

// FuzzParseRequest checks that ParseRequest never panics, answers every
// refusal with a StanzaError and a zero Request, that what it accepts
// comes back equal through AppendXML and through JSON, and that it agrees
// with the encoding/xml oracle except where the scanner gives up.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte("<disable xmlns='urn:xmpp:push2:0'/>"))
	f.Add([]byte(enableXML("<match profile='urn:xmpp:push2:match:all'>" + notifySend + "</match>")))
	f.Add([]byte(enableXML("<match profile='urn:xmpp:push2:match:important'><grace>60</grace><filter jid='r@m'><mention/></filter>" + encSend("") + "</match>")))
	f.Add([]byte(enableXML("<match profile='urn:xmpp:push2:match:archived'>" + vapidSend() + "</match>")))
	f.Add([]byte("<p:enable xmlns:p='urn:xmpp:push2:0'><p:service>a.b</p:service><p:client>x&amp;y</p:client><p:match profile='urn:xmpp:push2:match:all'><s xmlns='urn:xmpp:push2:send:notify-only:0'/></p:match></p:enable>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := ParseRequest(data)
		if err != nil {
			var se *events.StanzaError
			if !errors.As(err, &se) || se.Type == "" || se.Condition == "" || se.Text == "" {
				t.Fatalf("error %v (%T)", err, err)
			}
			if !reflect.DeepEqual(req, Request{}) {
				t.Fatalf("request %#v with error %v", req, err)
			}
		} else {
			checkRoundTrips(t, req)
		}
		if len(data) > maxRequestSize {
			return
		}
		oreq, oerr := oracleParse(data)
		if err != nil && err.Error() == "modify/bad-request: Malformed request" && scannerRefuses(data) {
			return
		}
		if !reflect.DeepEqual(req, oreq) || (err == nil) != (oerr == nil) || err != nil && err.Error() != oerr.Error() {
			t.Fatalf("ParseRequest: %#v, %v\noracle: %#v, %v", req, err, oreq, oerr)
		}
	})
}

// FuzzParseErrorReply checks that ParseErrorReply never panics and returns
// either a complete error or ErrReply.
func FuzzParseErrorReply(f *testing.F) {
	f.Add([]byte("<message type='error' id='u1' from='p'><error type='wait'><resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>t</text></error></message>"))
	f.Add([]byte("<message xmlns='jabber:client' type='error'><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseErrorReply(data)
		if err != nil {
			if !errors.Is(err, ErrReply) || r != (ErrorReply{}) {
				t.Fatalf("%+v, %v", r, err)
			}
			return
		}
		if !strings.Contains(" auth cancel continue modify wait ", " "+r.Error.Type+" ") || r.Error.Condition == "" {
			t.Fatalf("incomplete error %+v", r)
		}
	})
}

// FuzzAppendEnvelope checks that AppendEnvelope never panics and that what
// it builds is a well-formed envelope within the cap.
func FuzzAppendEnvelope(f *testing.F) {
	f.Add([]byte("<message to='a@b' type='chat'><body>hi</body></message>"), 0)
	f.Add([]byte("<message><body>"+strings.Repeat("> q\n", 20)+strings.Repeat("é", 200)+"</body><x xmlns='urn:o'>"+strings.Repeat("x", 300)+"</x><stanza-id xmlns='urn:xmpp:sid:0' id='1'/></message>"), 400)
	f.Add([]byte("<c:message xmlns:c='jabber:client' xmlns:s='urn:xmpp:sid:0'><s:stanza-id id='1'/><c:body>&lt;x&gt;</c:body></c:message>"), 300)
	f.Fuzz(func(t *testing.T, stanza []byte, limit int) {
		limit %= maxPlaintext + 2
		env, err := AppendEnvelope(nil, stanza, limit, zeroReader{})
		if err != nil {
			if !errors.Is(err, ErrStanza) && !errors.Is(err, ErrTooLarge) || env != nil {
				t.Fatalf("%q, %v", env, err)
			}
			return
		}
		if limit == 0 {
			limit = defaultCap
		}
		if len(env) > limit {
			t.Fatalf("%d bytes over limit %d", len(env), limit)
		}
		inspectEnvelope(t, env)
	})
}

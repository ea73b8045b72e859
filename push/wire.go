package push

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/jid"
	"github.com/pushrules/pushrules/registry"
)

// Publish is one notification to send: a XEP-0357 publish IQ to a push
// service on behalf of one of a user's registrations. The host sends it as
// is (AppendXML gives the bytes) and feeds the service's answer back with
// Engine.Handle as an events.PublishResult, matching it by ID.
type Publish struct {
	// ID is the publish IQ's id, unique per engine. IDs are cut from
	// shared 2 KB blocks: one a host keeps keeps its block alive.
	ID string
	// User is the bare JID of the user whose registration this is.
	User string
	// Options is the publish-options form to echo; the zero Form for none.
	Options registry.Form
	// Sender and Body are the last-message-sender and last-message-body
	// summary fields; "" leaves a field empty, except that Body is sent as
	// an empty <value/> for an important push.
	Sender, Body string
	// Important tells whether a person should see the stanza now; hosts and
	// push services map it to a high-priority, alerting notification.
	Important bool
	// Registration identifies the registration (push service JID and node)
	// the publish is for; To and Node read it.
	Registration registry.Identifier
	// Extensions are what the registration asked for in its <enable/>:
	// AppendXML adds a <priority/>, replaces the summary form by an
	// <encrypted/> payload (holding Payload) and adds a <jingle/> to call
	// pushes accordingly. It holds the encryption key: never log it.
	Extensions registry.Extensions
	// VoIP marks a push that rings a call (a XEP-0353 proposal) or stops
	// it ringing (its retract or reject, to the registrations the proposal
	// was pushed to); nothing else is marked.
	VoIP bool
	// Payload is what an encrypted or Jingle push says about the stanza;
	// nil but for a registration that asked for encryption or Jingle. It is
	// the engine's: do not change it.
	Payload *Payload

	gen    uint64      // the registration's Generation when the publish was made
	retry  *retryState // for a retry: the push's history; nil otherwise
	counts *counts     // the summary's counts; nil: not known (see Counts)
}

// messageCount is the message-count summary field of every publish when
// no Config.Counter counts (like Prosody, the engine does not count).
const messageCount = 1

// To returns the push service's JID: the IQ's to.
func (p *Publish) To() string { return p.Registration.JID() }

// Node returns the registration's node ("" for none).
func (p *Publish) Node() string { return p.Registration.Node() }

// From returns the server's domain (the user's domain): the IQ's from.
func (p *Publish) From() string { return jid.Domain(p.User) }

// AppendXML appends the publish IQ to b and returns the extended buffer.
// For a registration that asked for encryption it draws a fresh IV from
// crypto/rand on each call: the bytes differ from call to call, what they
// say does not. It is safe for concurrent use; the AES-GCM of the last 256
// keys used is kept for the next publishes under the same key.
func (p *Publish) AppendXML(b []byte) []byte {
	b = append(b, "<iq type='set' from='"...)
	b = appendEscaped(b, p.From())
	b = append(b, "' to='"...)
	b = appendEscaped(b, p.To())
	b = append(b, "' id='"...)
	b = appendEscaped(b, p.ID)
	b = append(b, "'><pubsub xmlns='"+nsPubSub+"'>"...)
	if node := p.Node(); node != "" {
		b = append(b, "<publish node='"...)
		b = appendEscaped(b, node)
		b = append(b, "'>"...)
	} else {
		b = append(b, "<publish>"...)
	}
	b = append(b, "<item><notification xmlns='"+NSPush+"'>"...)
	if enc, ok := p.Extensions.Encryption(); ok {
		b = p.appendEncrypted(b, enc)
	} else {
		b = p.appendSummary(b)
	}
	b = p.appendExtensions(b)
	b = append(b, "</notification></item></publish>"...)
	if !p.Options.IsZero() {
		b = append(b, "<publish-options>"...)
		b = appendForm(b, p.Options)
		b = append(b, "</publish-options>"...)
	}
	return append(b, "</pubsub></iq>"...)
}

// appendSummary appends the XEP-0357 summary form.
func (p *Publish) appendSummary(b []byte) []byte {
	b = append(b, "<x xmlns='"+nsDataForms+"' type='form'>"+
		"<field type='hidden' var='FORM_TYPE'><value>"+nsPushSummary+"</value></field>"+
		"<field type='text-single' var='message-count'><value>"...)
	messages, subscriptions := p.Counts()
	b = strconv.AppendInt(b, int64(messages), 10)
	if subscriptions < 0 {
		b = append(b, "</value></field><field type='text-single' var='pending-subscription-count'/>"...)
	} else {
		b = append(b, "</value></field><field type='text-single' var='pending-subscription-count'><value>"...)
		b = strconv.AppendInt(b, int64(subscriptions), 10)
		b = append(b, "</value></field>"...)
	}
	b = appendField(b, "jid-single", "last-message-sender", p.Sender, false)
	b = appendField(b, "text-single", "last-message-body", p.Body, p.Important)
	return append(b, "</x>"...)
}

func appendField(b []byte, typ, name, value string, always bool) []byte {
	b = append(b, "<field type='"...)
	b = append(b, typ...)
	b = append(b, "' var='"...)
	b = append(b, name...)
	if value == "" && !always {
		return append(b, "'/>"...)
	}
	if value == "" {
		return append(b, "'><value/></field>"...)
	}
	b = append(b, "'><value>"...)
	b = appendEscaped(b, value)
	return append(b, "</value></field>"...)
}

// appendForm appends f as a jabber:x:data <x/> element.
func appendForm(b []byte, f registry.Form) []byte {
	b = append(b, "<x xmlns='"+nsDataForms+"'"...)
	if t := f.Type(); t != "" {
		b = append(b, " type='"...)
		b = appendEscaped(b, t)
		b = append(b, '\'')
	}
	b = append(b, '>')
	for it := f.Iter(); it.Next(); {
		b = append(b, "<field"...)
		if typ := it.Type(); typ != "" {
			b = append(b, " type='"...)
			b = appendEscaped(b, typ)
			b = append(b, '\'')
		}
		b = append(b, " var='"...)
		b = appendEscaped(b, it.Var())
		b = append(b, "'>"...)
		for v, ok := it.Value(); ok; v, ok = it.Value() {
			b = append(b, "<value>"...)
			b = appendEscaped(b, v)
			b = append(b, "</value>"...)
		}
		b = append(b, "</field>"...)
	}
	return append(b, "</x>"...)
}

// Reply is the answer to a session's <enable/> or <disable/>.
type Reply struct {
	// Session is the full JID of the session that sent the request.
	Session string
	// ID is the request IQ's id.
	ID string
	// Error is nil for a result, else the error to answer with.
	Error *events.StanzaError
}

// AppendXML appends the reply IQ, addressed to the session, to b.
func (r *Reply) AppendXML(b []byte) []byte {
	if r.Error == nil {
		b = append(b, "<iq type='result' id='"...)
	} else {
		b = append(b, "<iq type='error' id='"...)
	}
	b = appendEscaped(b, r.ID)
	b = append(b, "' to='"...)
	b = appendEscaped(b, r.Session)
	if r.Error == nil {
		return append(b, "'/>"...)
	}
	b = append(b, "'><error type='"...)
	b = appendEscaped(b, r.Error.Type)
	b = append(b, "'><"...)
	b = appendEscaped(b, r.Error.Condition)
	b = append(b, " xmlns='"+nsStanzas+"'/>"...)
	if r.Error.Text != "" {
		b = append(b, "<text xmlns='"+nsStanzas+"'>"...)
		b = appendEscaped(b, r.Error.Text)
		b = append(b, "</text>"...)
	}
	return append(b, "</error></iq>"...)
}

// Timeout tells the host to set a hibernating session's hibernation timeout
// to Duration, counted from At, the Now of the event that decided it
// (replacing the running timeout).
type Timeout struct {
	Session  string
	Duration time.Duration
	At       time.Time
}

// appendEscaped appends s with XML's special characters escaped, and
// characters XML 1.0 cannot carry (most control characters, invalid UTF-8)
// replaced by U+FFFD.
func appendEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '&' && c != '<' && c != '>' && c != '\'' && c != '"' {
			i++
			continue
		}
		var esc string
		width := 1
		switch {
		case c == '&':
			esc = "&amp;"
		case c == '<':
			esc = "&lt;"
		case c == '>':
			esc = "&gt;"
		case c == '\'':
			esc = "&apos;"
		case c == '"':
			esc = "&quot;"
		case c == '\t' || c == '\n':
			i++
			continue
		case c == '\r':
			esc = "&#xD;"
		case c < 0x20:
			esc = "\uFFFD"
		default:
			r, w := utf8.DecodeRuneInString(s[i:])
			width = w
			if r == utf8.RuneError && w == 1 || r == 0xFFFE || r == 0xFFFF {
				esc = "\uFFFD"
			} else {
				i += w
				continue
			}
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		i += width
		last = i
	}
	return append(b, s[last:]...)
}

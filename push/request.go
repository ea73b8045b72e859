package push

import (
	"errors"
	"io"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/jid"
	"github.com/pushrules/pushrules/internal/xmlscan"
	"github.com/pushrules/pushrules/registry"
)

// Namespaces the wire format uses.
const (
	NSPush           = "urn:xmpp:push:0"
	nsPushSummary    = "urn:xmpp:push:summary"
	nsDataForms      = "jabber:x:data"
	nsPubSub         = "http://jabber.org/protocol/pubsub"
	nsPublishOptions = "http://jabber.org/protocol/pubsub#publish-options"
	nsStanzas        = "urn:ietf:params:xml:ns:xmpp-stanzas"
)

// Limits on an <enable/> or <disable/> request, which a remote client
// controls. A request beyond them is refused with modify/not-acceptable.
const (
	maxRequestSize  = 16 << 10 // bytes of XML, or tokens read from an xml.TokenReader
	maxRequestDepth = 16       // element nesting
	maxNodeLen      = 1024     // bytes of the node attribute
	maxFormFields   = 32       // fields of the publish-options form
	maxFieldValues  = 16       // values of one field
	maxFormBytes    = 4096     // bytes of all vars, types and values of the form
)

// pushRequest is a parsed urn:xmpp:push:0 <enable/> or <disable/>.
type pushRequest struct {
	// IQID is the id of the <iq/> around the request, when it was given
	// one; "" otherwise.
	IQID string
	// Disable is set for a <disable/>, clear for an <enable/>.
	Disable bool
	// JID is the push service's address.
	JID string
	// Node is the node; "" when the request has none (for a disable: every
	// node of the service).
	Node string
	// Options is the publish-options form of an enable, the zero Form when
	// it has none.
	Options registry.Form
	// Extensions are what the extension children of an enable asked for
	// (the Tigase family, read beside the publish-options form: <muted/>,
	// <ignore-unknown/>, <groupchat/>, <priority/>, <encrypt/> and
	// <jingle/> in their tigase:push:* namespaces; the first of each
	// counts), the zero Extensions when it has none. readRequest refuses
	// a bad one: a muted or room JID that is not valid with
	// errJIDMalformed; more than registry.MaxMuted items or
	// registry.MaxRooms rooms with errTooManyExtItems; an allow other than
	// always, mentioned or never (a room without one pushes always), a
	// nick beyond registry.MaxNickLen bytes or a max-size that is not an
	// integer from 1 to registry.MaxEncryptMax with errExtensionValue; an
	// algorithm other than aes-128-gcm with errEncryptAlg; a key that is
	// not standard base64 (padded or not, white space around it ignored)
	// of 16 bytes with errEncryptKey. It holds the key: see
	// registry.Extensions.
	Extensions registry.Extensions
}

// The errors a request is refused with, the engine's answers to requests
// it cannot carry out. readRequest and the engine's replies hand out
// copies of them (fresh), so that no caller can change the next one: a
// host tells them apart with errors.As and the Condition and Text.
var (
	errMissingJID       = &events.StanzaError{Type: "modify", Condition: "bad-request", Text: "Missing jid"}
	errOwnJID           = &events.StanzaError{Type: "modify", Condition: "bad-request", Text: "JID must be different from ours"}
	errJIDMalformed     = &events.StanzaError{Type: "modify", Condition: "jid-malformed"}
	errRequestTooLarge  = &events.StanzaError{Type: "modify", Condition: "not-acceptable", Text: "pushRequest too large"}
	errNotPushRequest   = &events.StanzaError{Type: "cancel", Condition: "feature-not-implemented"}
	errNotSet           = &events.StanzaError{Type: "modify", Condition: "bad-request", Text: "Push requests are IQ sets"}
	errMalformedRequest = &events.StanzaError{Type: "modify", Condition: "bad-request", Text: "Malformed request"}
	errStorage          = &events.StanzaError{Type: "wait", Condition: "internal-server-error"}
)

// readRequest parses an <enable/> or <disable/> element, or an <iq/>
// around one (only the iq's first child is read), in the urn:xmpp:push:0
// namespace. It makes no assumption about the stream's namespace. Every
// error it returns is one of the *events.StanzaError values above, to be
// sent back to the client as is: malformed XML, and XML the library's
// scanner refuses (see events.ParseStanza), give errMalformedRequest.
// Like a streaming parser, it reads no further than the end of the
// request: what follows is not looked at.
func readRequest(data []byte) (pushRequest, error) {
	if len(data) > maxRequestSize {
		return pushRequest{}, fresh(errRequestTooLarge)
	}
	req, err := parseRequest(data)
	return req, freshError(err)
}

// errLimit is a limit of the request reached; readRequest answers it
// with errRequestTooLarge.
var errLimit = errors.New("limit")

// decoder reads requests and push service answers with xmlscan, one token
// at a time, as a streaming parser does (it reads no further than asked).
// The start element next reports stays readable in s until the following
// token.
type decoder struct {
	s      xmlscan.Scanner
	tokens int
	depth  int
}

// parseRequest is readRequest without the size limit.
func parseRequest(data []byte) (pushRequest, error) {
	var d decoder
	d.s.Reset(data)
	var iqID string
	req, err := d.request(&iqID)
	if err == nil {
		return req, nil
	}
	if _, ok := err.(*events.StanzaError); !ok {
		if err == errLimit {
			err = errRequestTooLarge
		} else {
			err = errMalformedRequest
		}
	}
	return pushRequest{IQID: iqID}, err // an error reply still needs the iq's id
}

func (d *decoder) token() (xmlscan.Kind, error) {
	d.tokens++
	if d.tokens > maxRequestSize {
		return 0, errLimit
	}
	k := d.s.Next()
	switch k {
	case xmlscan.StartElement:
		d.depth++
		if d.depth > maxRequestDepth {
			return 0, errLimit
		}
	case xmlscan.EndElement:
		d.depth--
	case xmlscan.CharData, xmlscan.Comment, xmlscan.ProcInst:
	case xmlscan.EOF:
		return 0, io.EOF
	default:
		return 0, d.s.Err()
	}
	return k, nil
}

// next reports whether the next element at the current level starts (it
// is then the scanner's current token), false at the end of the enclosing
// element.
func (d *decoder) next() (bool, error) {
	for {
		k, err := d.token()
		if err != nil {
			return false, err
		}
		switch k {
		case xmlscan.StartElement:
			return true, nil
		case xmlscan.EndElement:
			return false, nil
		}
	}
}

// skip consumes the rest of the element just started.
func (d *decoder) skip() error {
	for depth := 1; depth > 0; {
		k, err := d.token()
		if err != nil {
			return err
		}
		switch k {
		case xmlscan.StartElement:
			depth++
		case xmlscan.EndElement:
			depth--
		}
	}
	return nil
}

// text returns the character data of the element just started, at most
// limit bytes of it (errLimit beyond), and consumes the element.
func (d *decoder) text(limit int) (string, error) {
	var scratch [128]byte
	b, err := d.appendText(scratch[:0], limit, false)
	if err != nil {
		return "", err
	}
	return intern(b), nil
}

// appendText appends the character data of the element just started to b
// and consumes the element; child elements are skipped. Beyond limit bytes
// of it, it fails with errLimit, or, when cut, stops appending (b may then
// hold up to one piece of text more than limit).
func (d *decoder) appendText(b []byte, limit int, cut bool) ([]byte, error) {
	for depth := 1; depth > 0; {
		k, err := d.token()
		if err != nil {
			return b, err
		}
		switch k {
		case xmlscan.StartElement:
			depth++
		case xmlscan.EndElement:
			depth--
		case xmlscan.CharData:
			if depth == 1 && (!cut || len(b) <= limit) {
				if b = d.s.AppendText(b); len(b) > limit && !cut {
					return b, errLimit
				}
			}
		}
	}
	return b, nil
}

// is reports whether the current start element has the namespace space
// and the local name local.
func (d *decoder) is(space, local string) bool {
	return string(d.s.Local()) == local && string(d.s.Space()) == space
}

// appendAttr appends the value of the current start element's attribute
// name (the first one in no namespace, as attr finds it) to b.
func (d *decoder) appendAttr(b []byte, name string) []byte {
	if i := d.s.LookupAttr(name); i >= 0 {
		return d.s.AppendAttrValue(b, i)
	}
	return b
}

// attr is attr of the current start element.
func (d *decoder) attr(name string) string {
	i := d.s.LookupAttr(name)
	if i < 0 {
		return ""
	}
	v, esc := d.s.AttrValue(i)
	if esc {
		var scratch [64]byte
		v = d.s.AppendAttrValue(scratch[:0], i)
	}
	return intern(v)
}

// intern returns string(b), without allocating for the strings
// publish-options forms and push answers are made of.
func intern(b []byte) string {
	switch string(b) {
	case "":
		return ""
	case nsPublishOptions:
		return nsPublishOptions
	case "FORM_TYPE":
		return "FORM_TYPE"
	case "submit":
		return "submit"
	case "hidden":
		return "hidden"
	case "secret":
		return "secret"
	case "endpoint":
		return "endpoint"
	case "text-single":
		return "text-single"
	case "text-private":
		return "text-private"
	case "set":
		return "set"
	case "result":
		return "result"
	case "error":
		return "error"
	case "cancel":
		return "cancel"
	case "wait":
		return "wait"
	case "modify":
		return "modify"
	case "auth":
		return "auth"
	}
	return string(b)
}

// request reads the request before parseRequest maps its errors; it sets
// *iqID as soon as it knows the iq's id.
func (d *decoder) request(iqID *string) (pushRequest, error) {
	var req pushRequest
	ok, err := d.next()
	if err != nil {
		return pushRequest{}, err
	}
	if !ok {
		return pushRequest{}, fresh(errMalformedRequest)
	}
	if string(d.s.Local()) == "iq" {
		*iqID = d.attr("id")
		req.IQID = *iqID
		if t := d.attr("type"); t != "set" {
			return pushRequest{}, errNotSet
		}
		if ok, err = d.next(); err != nil {
			return pushRequest{}, err
		}
		if !ok {
			return pushRequest{}, errNotPushRequest
		}
	}
	if !d.is(NSPush, "enable") && !d.is(NSPush, "disable") {
		return pushRequest{}, errNotPushRequest
	}
	req.Disable = string(d.s.Local()) == "disable"
	// The jid and the node, in one string.
	var scratch [128]byte
	b := d.appendAttr(scratch[:0], "jid")
	n := len(b)
	b = d.appendAttr(b, "node")
	if n == 0 {
		return pushRequest{}, errMissingJID
	}
	if len(b)-n > maxNodeLen {
		return pushRequest{}, fresh(errRequestTooLarge)
	}
	both := string(b)
	req.JID, req.Node = both[:n], both[n:]
	if !req.Disable {
		if _, err := jid.Prepare(req.JID); err != nil {
			return pushRequest{}, errJIDMalformed
		}
	}
	var ext extBuilder
	for {
		ok, err := d.next()
		if err != nil {
			return pushRequest{}, err
		}
		if !ok {
			break
		}
		if !req.Disable && req.Options.IsZero() && d.is(nsDataForms, "x") {
			if req.Options, err = d.form(); err != nil {
				return pushRequest{}, err
			}
			continue
		}
		if !req.Disable {
			if ok, err := d.extension(&ext); err != nil {
				return pushRequest{}, err
			} else if ok {
				continue
			}
		}
		if err := d.skip(); err != nil {
			return pushRequest{}, err
		}
	}
	req.Extensions, err = ext.extensions()
	return req, err
}

// AppendXML appends the request as an <enable/> or <disable/> element (no
// <iq/> around it) to b: what a client would send, with the encryption key
// of its Extensions (keep it out of logs). readRequest of the result gives
// r back (without IQID; a disable's Extensions are not written).
func (r *pushRequest) AppendXML(b []byte) []byte {
	if r.Disable {
		b = append(b, "<disable xmlns='"+NSPush+"' jid='"...)
	} else {
		b = append(b, "<enable xmlns='"+NSPush+"' jid='"...)
	}
	b = appendEscaped(b, r.JID)
	b = append(b, '\'')
	if r.Node != "" {
		b = append(b, " node='"...)
		b = appendEscaped(b, r.Node)
		b = append(b, '\'')
	}
	if r.Options.IsZero() && (r.Disable || r.Extensions.IsZero()) {
		return append(b, "/>"...)
	}
	b = append(b, '>')
	if !r.Options.IsZero() {
		b = appendForm(b, r.Options)
	}
	if !r.Disable {
		b = appendExtensions(b, r.Extensions)
	}
	if r.Disable {
		return append(b, "</disable>"...)
	}
	return append(b, "</enable>"...)
}

// fresh returns a copy of one of the package's stanza errors (nil for
// nil), which the caller owns.
func fresh(se *events.StanzaError) *events.StanzaError {
	if se == nil {
		return nil
	}
	c := *se
	return &c
}

// freshError is fresh for an error that may be a *events.StanzaError.
func freshError(err error) error {
	if se, ok := err.(*events.StanzaError); ok {
		return fresh(se)
	}
	return err
}

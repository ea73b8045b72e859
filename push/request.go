package push

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/jid"
	"github.com/pushrules/pushrules/internal/xmlscan"
	"github.com/pushrules/pushrules/registry"
)

// Namespaces the wire format uses.
const (
	NSPush           = "urn:xmpp:push:0"
	NSPushSummary    = "urn:xmpp:push:summary"
	NSDataForms      = "jabber:x:data"
	NSPubSub         = "http://jabber.org/protocol/pubsub"
	NSPublishOptions = "http://jabber.org/protocol/pubsub#publish-options"
	NSStanzas        = "urn:ietf:params:xml:ns:xmpp-stanzas"
)

// Limits on an <enable/> or <disable/> request, which a remote client
// controls. A request beyond them is refused with modify/not-acceptable.
const (
	MaxRequestSize  = 16 << 10 // bytes of XML, or tokens read from an xml.TokenReader
	MaxRequestDepth = 16       // element nesting
	MaxNodeLen      = 1024     // bytes of the node attribute
	MaxFormFields   = 32       // fields of the publish-options form
	MaxFieldValues  = 16       // values of one field
	MaxFormBytes    = 4096     // bytes of all vars, types and values of the form
)

// Request is a parsed urn:xmpp:push:0 <enable/> or <disable/>.
type Request struct {
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
}

// Errors a request can be refused with. They are *events.StanzaError
// values: answer them as they are; compare with errors.Is or inspect with
// errors.As.
var (
	ErrMissingJID       = &events.StanzaError{Type: "modify", Condition: "bad-request", Text: "Missing jid"}
	ErrOwnJID           = &events.StanzaError{Type: "modify", Condition: "bad-request", Text: "JID must be different from ours"}
	ErrJIDMalformed     = &events.StanzaError{Type: "modify", Condition: "jid-malformed"}
	ErrRequestTooLarge  = &events.StanzaError{Type: "modify", Condition: "not-acceptable", Text: "Request too large"}
	ErrNotPushRequest   = &events.StanzaError{Type: "cancel", Condition: "feature-not-implemented"}
	ErrNotSet           = &events.StanzaError{Type: "modify", Condition: "bad-request", Text: "Push requests are IQ sets"}
	ErrMalformedRequest = &events.StanzaError{Type: "modify", Condition: "bad-request", Text: "Malformed request"}
	ErrStorage          = &events.StanzaError{Type: "wait", Condition: "internal-server-error"}
)

// ParseRequest parses an <enable/> or <disable/> element, or an <iq/>
// around one (only the iq's first child is read), in the urn:xmpp:push:0
// namespace. It makes no assumption about the stream's namespace. Every
// error it returns is one of the *events.StanzaError values above, to be
// sent back to the client as is. It gives what DecodeRequest over an
// xml.Decoder of data gives; it only parses common requests faster.
func ParseRequest(data []byte) (Request, error) {
	if req, err := parseRequestFast(data); err != errFallback {
		return req, err
	}
	return parseRequestSlow(data)
}

// parseRequestSlow is ParseRequest on encoding/xml alone: the reference
// semantics, which the fast path must reproduce exactly.
func parseRequestSlow(data []byte) (Request, error) {
	if len(data) > MaxRequestSize {
		return Request{}, ErrRequestTooLarge
	}
	return DecodeRequest(xml.NewDecoder(bytes.NewReader(data)))
}

// ReadRequest is ParseRequest reading from r. It reads at most
// MaxRequestSize+1 bytes.
func ReadRequest(r io.Reader) (Request, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxRequestSize+1))
	if err != nil {
		return Request{}, ErrMalformedRequest
	}
	return ParseRequest(data)
}

// DecodeRequest is ParseRequest reading tokens from tr, from the start of
// the element (leading character data, comments and processing
// instructions are skipped). It reads at most MaxRequestSize tokens.
func DecodeRequest(tr xml.TokenReader) (Request, error) {
	d := &requestDecoder{tr: tr}
	return d.request()
}

type requestDecoder struct {
	tr     xml.TokenReader
	tokens int
	depth  int
}

var errLimit = errors.New("limit")

func (d *requestDecoder) token() (xml.Token, error) {
	d.tokens++
	if d.tokens > MaxRequestSize {
		return nil, errLimit
	}
	t, err := d.tr.Token()
	if err != nil {
		return nil, err
	}
	switch t.(type) {
	case xml.StartElement:
		d.depth++
		if d.depth > MaxRequestDepth {
			return nil, errLimit
		}
	case xml.EndElement:
		d.depth--
	}
	return t, nil
}

// next returns the next start element at the current level, or nil at the
// end of the enclosing element.
func (d *requestDecoder) next() (*xml.StartElement, error) {
	for {
		t, err := d.token()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			return &t, nil
		case xml.EndElement:
			return nil, nil
		}
	}
}

// skip consumes the rest of the element just started.
func (d *requestDecoder) skip() error {
	for depth := 1; depth > 0; {
		t, err := d.token()
		if err != nil {
			return err
		}
		switch t.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

// text returns the character data of the element just started and
// consumes it; child elements are skipped.
func (d *requestDecoder) text(limit int) (string, error) {
	var b strings.Builder
	for depth := 1; depth > 0; {
		t, err := d.token()
		if err != nil {
			return "", err
		}
		switch t := t.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 1 {
				if b.Len()+len(t) > limit {
					return "", errLimit
				}
				b.Write(t)
			}
		}
	}
	return b.String(), nil
}

func (d *requestDecoder) request() (req Request, err error) {
	var iqID string
	defer func() {
		if err == nil {
			return
		}
		req = Request{IQID: iqID} // an error reply still needs the iq's id
		var se *events.StanzaError
		switch {
		case errors.As(err, &se):
		case errors.Is(err, errLimit):
			err = ErrRequestTooLarge
		default:
			err = ErrMalformedRequest
		}
	}()
	root, err := d.next()
	if err != nil {
		return Request{}, err
	}
	if root == nil {
		return Request{}, ErrMalformedRequest
	}
	el := root
	if root.Name.Local == "iq" {
		iqID = attr(root, "id")
		req.IQID = iqID
		if t := attr(root, "type"); t != "set" {
			return Request{}, ErrNotSet
		}
		if el, err = d.next(); err != nil {
			return Request{}, err
		}
		if el == nil {
			return Request{}, ErrNotPushRequest
		}
	}
	if el.Name.Space != NSPush || (el.Name.Local != "enable" && el.Name.Local != "disable") {
		return Request{}, ErrNotPushRequest
	}
	req.Disable = el.Name.Local == "disable"
	req.JID = attr(el, "jid")
	req.Node = attr(el, "node")
	if req.JID == "" {
		return Request{}, ErrMissingJID
	}
	if len(req.Node) > MaxNodeLen {
		return Request{}, ErrRequestTooLarge
	}
	if !req.Disable {
		if _, err := jid.Parse(req.JID); err != nil {
			return Request{}, ErrJIDMalformed
		}
	}
	for {
		child, err := d.next()
		if err != nil {
			return Request{}, err
		}
		if child == nil {
			break
		}
		if !req.Disable && req.Options.IsZero() && child.Name.Space == NSDataForms && child.Name.Local == "x" {
			if req.Options, err = d.form(child); err != nil {
				return Request{}, err
			}
			continue
		}
		if err := d.skip(); err != nil {
			return Request{}, err
		}
	}
	return req, nil
}

func (d *requestDecoder) form(x *xml.StartElement) (registry.Form, error) {
	typ := attr(x, "type")
	var fields []registry.Field
	budget := MaxFormBytes
	for {
		el, err := d.next()
		if err != nil {
			return registry.Form{}, err
		}
		if el == nil {
			return registry.NewForm(typ, fields...), nil
		}
		if el.Name.Space != NSDataForms || el.Name.Local != "field" {
			if err := d.skip(); err != nil {
				return registry.Form{}, err
			}
			continue
		}
		if len(fields) == MaxFormFields {
			return registry.Form{}, ErrRequestTooLarge
		}
		fd := registry.Field{Var: attr(el, "var"), Type: attr(el, "type")}
		budget -= len(fd.Var) + len(fd.Type)
		for {
			v, err := d.next()
			if err != nil {
				return registry.Form{}, err
			}
			if v == nil {
				break
			}
			if v.Name.Space != NSDataForms || v.Name.Local != "value" {
				if err := d.skip(); err != nil {
					return registry.Form{}, err
				}
				continue
			}
			if len(fd.Values) == MaxFieldValues {
				return registry.Form{}, ErrRequestTooLarge
			}
			s, err := d.text(max(budget, 0))
			if err != nil {
				return registry.Form{}, err
			}
			budget -= len(s)
			fd.Values = append(fd.Values, s)
		}
		if budget < 0 {
			return registry.Form{}, ErrRequestTooLarge
		}
		fields = append(fields, fd)
	}
}

func attr(el *xml.StartElement, name string) string {
	for _, a := range el.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// The fast path of ParseRequest and ParseResult: requestDecoder's logic,
// step for step, over xmlscan instead of encoding/xml. xmlscan returns only
// tokens encoding/xml returns too, and reads no further than asked, so as
// long as the scanner takes the input, the fast path reads the same tokens
// as the slow one and comes to the same result. When the scanner gives up
// (input it does not handle, malformed or not, or the end of the input),
// the fast path stops with errFallback and the input is parsed again with
// encoding/xml: a malformed request always takes the slow path. The
// differential tests (TestParseRequestFastSlow, FuzzParseRequest,
// FuzzParseResult) check that both paths agree.

// errFallback stops the fast path: parse the input with encoding/xml.
var errFallback = errors.New("push: fall back to encoding/xml")

// fastDecoder is requestDecoder over xmlscan. The start element next
// returns stays readable in s until the following token.
type fastDecoder struct {
	s      xmlscan.Scanner
	tokens int
	depth  int
}

// parseRequestFast is ParseRequest's fast path. It returns errFallback
// when the input must be parsed with encoding/xml instead.
func parseRequestFast(data []byte) (Request, error) {
	if len(data) > MaxRequestSize {
		return Request{}, ErrRequestTooLarge
	}
	var d fastDecoder
	d.s.Reset(data)
	var iqID string
	req, err := d.request(&iqID)
	if err == nil || err == errFallback {
		return req, err
	}
	// As requestDecoder.request does; the fast path wraps no error.
	if _, ok := err.(*events.StanzaError); !ok {
		if err == errLimit {
			err = ErrRequestTooLarge
		} else {
			err = ErrMalformedRequest
		}
	}
	return Request{IQID: iqID}, err
}

func (d *fastDecoder) token() (xmlscan.Kind, error) {
	d.tokens++
	if d.tokens > MaxRequestSize {
		return 0, errLimit
	}
	k := d.s.Next()
	switch k {
	case xmlscan.StartElement:
		d.depth++
		if d.depth > MaxRequestDepth {
			return 0, errLimit
		}
	case xmlscan.EndElement:
		d.depth--
	case xmlscan.CharData, xmlscan.Comment, xmlscan.ProcInst:
	default: // Unsupported, or EOF: io.EOF or a syntax error for encoding/xml
		return 0, errFallback
	}
	return k, nil
}

// next reports whether the next element at the current level starts (it
// is then the scanner's current token), false at the end of the enclosing
// element.
func (d *fastDecoder) next() (bool, error) {
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
func (d *fastDecoder) skip() error {
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

// text returns the character data of the element just started and
// consumes it; child elements are skipped.
func (d *fastDecoder) text(limit int) (string, error) {
	var scratch [128]byte
	b := scratch[:0]
	for depth := 1; depth > 0; {
		k, err := d.token()
		if err != nil {
			return "", err
		}
		switch k {
		case xmlscan.StartElement:
			depth++
		case xmlscan.EndElement:
			depth--
		case xmlscan.CharData:
			if depth == 1 {
				if b = d.s.AppendText(b); len(b) > limit {
					return "", errLimit
				}
			}
		}
	}
	return intern(b), nil
}

// is reports whether the current start element has the namespace space
// and the local name local.
func (d *fastDecoder) is(space, local string) bool {
	return string(d.s.Local()) == local && string(d.s.Space()) == space
}

// appendAttr appends the value of the current start element's attribute
// name (the first one in no namespace, as attr finds it) to b.
func (d *fastDecoder) appendAttr(b []byte, name string) []byte {
	if i := d.s.LookupAttr(name); i >= 0 {
		return d.s.AppendAttrValue(b, i)
	}
	return b
}

// attr is attr of the current start element.
func (d *fastDecoder) attr(name string) string {
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
	case NSPublishOptions:
		return NSPublishOptions
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

// request is requestDecoder.request before its error mapping, which
// parseRequestFast does; it sets *iqID as soon as it knows the iq's id.
func (d *fastDecoder) request(iqID *string) (Request, error) {
	var req Request
	ok, err := d.next()
	if err != nil {
		return Request{}, err
	}
	if !ok {
		return Request{}, ErrMalformedRequest
	}
	if string(d.s.Local()) == "iq" {
		*iqID = d.attr("id")
		req.IQID = *iqID
		if t := d.attr("type"); t != "set" {
			return Request{}, ErrNotSet
		}
		if ok, err = d.next(); err != nil {
			return Request{}, err
		}
		if !ok {
			return Request{}, ErrNotPushRequest
		}
	}
	if !d.is(NSPush, "enable") && !d.is(NSPush, "disable") {
		return Request{}, ErrNotPushRequest
	}
	req.Disable = string(d.s.Local()) == "disable"
	// The jid and the node, in one string.
	var scratch [128]byte
	b := d.appendAttr(scratch[:0], "jid")
	n := len(b)
	b = d.appendAttr(b, "node")
	if n == 0 {
		return Request{}, ErrMissingJID
	}
	if len(b)-n > MaxNodeLen {
		return Request{}, ErrRequestTooLarge
	}
	both := string(b)
	req.JID, req.Node = both[:n], both[n:]
	if !req.Disable {
		if _, err := jid.Parse(req.JID); err != nil {
			return Request{}, ErrJIDMalformed
		}
	}
	for {
		ok, err := d.next()
		if err != nil {
			return Request{}, err
		}
		if !ok {
			break
		}
		if !req.Disable && req.Options.IsZero() && d.is(NSDataForms, "x") {
			if req.Options, err = d.form(); err != nil {
				return Request{}, err
			}
			continue
		}
		if err := d.skip(); err != nil {
			return Request{}, err
		}
	}
	return req, nil
}

// form is requestDecoder.form for the <x/> just started. The fields and
// their values are only read by registry.NewForm, which copies them: they
// stay on the stack (fields is never appended to, so that what it holds
// does not escape).
func (d *fastDecoder) form() (registry.Form, error) {
	typ := d.attr("type")
	var fields [MaxFormFields]registry.Field
	var valueArray [16]string
	nf, values := 0, valueArray[:0]
	budget := MaxFormBytes
	for {
		ok, err := d.next()
		if err != nil {
			return registry.Form{}, err
		}
		if !ok {
			return registry.NewForm(typ, fields[:nf]...), nil
		}
		if !d.is(NSDataForms, "field") {
			if err := d.skip(); err != nil {
				return registry.Form{}, err
			}
			continue
		}
		if nf == MaxFormFields {
			return registry.Form{}, ErrRequestTooLarge
		}
		fd := registry.Field{Var: d.attr("var"), Type: d.attr("type")}
		budget -= len(fd.Var) + len(fd.Type)
		first := len(values)
		for {
			ok, err := d.next()
			if err != nil {
				return registry.Form{}, err
			}
			if !ok {
				break
			}
			if !d.is(NSDataForms, "value") {
				if err := d.skip(); err != nil {
					return registry.Form{}, err
				}
				continue
			}
			if len(values)-first == MaxFieldValues {
				return registry.Form{}, ErrRequestTooLarge
			}
			s, err := d.text(max(budget, 0))
			if err != nil {
				return registry.Form{}, err
			}
			budget -= len(s)
			values = append(values, s)
		}
		fd.Values = values[first:len(values):len(values)]
		if budget < 0 {
			return registry.Form{}, ErrRequestTooLarge
		}
		fields[nf] = fd
		nf++
	}
}

// AppendXML appends the request as an <enable/> or <disable/> element (no
// <iq/> around it) to b: what a client would send. ParseRequest of the
// result gives r back (without IQID).
func (r *Request) AppendXML(b []byte) []byte {
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
	if r.Options.IsZero() {
		return append(b, "/>"...)
	}
	b = append(b, '>')
	b = AppendForm(b, r.Options)
	if r.Disable {
		return append(b, "</disable>"...)
	}
	return append(b, "</enable>"...)
}

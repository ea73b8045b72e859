package events

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"unicode/utf8"
)

// Limits of the stanza parser. They bound the memory and time one stanza
// can cost, whatever its sender puts in it.
const (
	// MaxStanzaSize is the largest stanza accepted, in bytes of XML.
	// ParseStanza refuses longer data and ReadStanza longer input with
	// ErrTooLarge. DecodeStanza stops with ErrTooLarge once the tokens it
	// has read add up to more than MaxStanzaSize bytes (counted from below:
	// a stanza of at most MaxStanzaSize bytes of XML always fits), but it
	// cannot limit what its token reader buffers for a single token: bound
	// the underlying reader (for instance with io.LimitReader) as well.
	MaxStanzaSize = 256 << 10

	// MaxDepth is the deepest element nesting accepted: the stanza element
	// itself is at depth 1, its children at depth 2, and so on. A deeper
	// element makes the parse fail with ErrTooDeep.
	MaxDepth = 32
)

// Errors of ParseStanza, ReadStanza and DecodeStanza for the limits above;
// test for them with errors.Is. Malformed XML gives an error that wraps the
// encoding/xml error (usually an *xml.SyntaxError, found with errors.As);
// input that ends before any element starts gives an error wrapping io.EOF.
var (
	// ErrTooLarge says the stanza is longer than MaxStanzaSize.
	ErrTooLarge = errors.New("events: stanza larger than MaxStanzaSize")
	// ErrTooDeep says the stanza nests elements deeper than MaxDepth.
	ErrTooDeep = errors.New("events: stanza nested deeper than MaxDepth")
)

// ParseStanza parses data, which must hold exactly one XML element (the
// stanza), optionally surrounded by whitespace, comments and processing
// instructions, and returns the facts the rules need about it. The
// element's namespace may be jabber:client, jabber:server or absent: data
// is parsed as a document of its own.
//
// What is filled in:
//
//   - Kind, from the local name of the element (message, presence, iq;
//     anything else is KindOther); Type, From and To, from its unprefixed
//     type, from and to attributes. Key is left zero: the host sets it.
//   - For a message only: Body and HasBody from its first <body/> child
//     (xml:lang is ignored; the text of the whole element, markup removed),
//     HasSubject from a <subject/> child (both count only in a stanza
//     namespace: none, jabber:client, jabber:server,
//     jabber:component:accept, or urn:xmpp:forward:0 inherited inside a
//     carbon), and the payload flags (see Stanza) from its other children.
//   - For a XEP-0280 carbon (a <received/> or <sent/> child in
//     urn:xmpp:carbons:2 holding a <forwarded/> of urn:xmpp:forward:0
//     holding a <message/>), Carbon, and Type, From, To, the body and the
//     flags of the forwarded message instead of the wrapper's. An
//     incomplete carbon is no carbon: the wrapper is classified.
//
// Refused, with an error: anything encoding/xml refuses, any markup or
// text but the above around the element, a DOCTYPE or other directive, and
// a message (or other stanza) carrying its type, from or to attribute
// twice. On data holding one element, ParseStanza and DecodeStanza over
// an xml.Decoder of data give the same result; ParseStanza only parses
// common stanzas faster. The strings of the result never point into data,
// which the caller may reuse.
func ParseStanza(data []byte) (Stanza, error) {
	if len(data) > MaxStanzaSize {
		return Stanza{}, ErrTooLarge
	}
	if s, ok := parseFast(data); ok {
		return s, nil
	}
	return parseSlow(data)
}

// ReadStanza reads r to its end and parses what it read as ParseStanza
// does. It reads at most MaxStanzaSize+1 bytes: longer input is refused
// with ErrTooLarge and the rest of r is left unread. An error of r is
// returned wrapped.
func ReadStanza(r io.Reader) (Stanza, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxStanzaSize+1))
	if err != nil {
		return Stanza{}, fmt.Errorf("events: read stanza: %w", err)
	}
	if len(data) > MaxStanzaSize {
		return Stanza{}, ErrTooLarge
	}
	return ParseStanza(data)
}

// DecodeStanza reads exactly one element, the stanza, from tr and returns
// the facts the rules need about it, as ParseStanza does. Whitespace,
// comments and processing instructions before the element are skipped;
// nothing after its end is read, so a caller can decode the stanzas of a
// stream one after another. tr is typically an *xml.Decoder positioned
// inside a stream (after its <stream:stream> start): names are resolved by
// an xml.Decoder over tr (xml.NewTokenDecoder), so the stream's default
// namespace, jabber:client or jabber:server, applies, and a stanza with no
// namespace at all is accepted too.
//
// If tr ends before an element starts, the error wraps io.EOF; so does it
// when tr is an *xml.Decoder and the element enclosing the stanzas (the
// stream) ends first. After an error, tr is left somewhere
// inside the stanza. See MaxStanzaSize for what DecodeStanza cannot bound.
func DecodeStanza(tr xml.TokenReader) (Stanza, error) {
	return decodeStanza(xml.NewTokenDecoder(tr))
}

// parseSlow parses data with encoding/xml: the reference semantics of
// ParseStanza, used whenever the fast path gives up.
func parseSlow(data []byte) (Stanza, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	s, err := decodeStanza(d)
	if err != nil {
		return Stanza{}, err
	}
	// Only what XML calls Misc may follow the element.
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return Stanza{}, fmt.Errorf("events: parse stanza: %w", err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if !isSpace(t) {
				return Stanza{}, syntaxError(d, "text after the stanza")
			}
		case xml.Comment, xml.ProcInst, nil:
		default:
			return Stanza{}, syntaxError(d, "markup after the stanza")
		}
	}
}

// decodeStanza reads one element from d and classifies it.
func decodeStanza(d *xml.Decoder) (Stanza, error) {
	var c classifier
	budget := MaxStanzaSize
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				return Stanza{}, fmt.Errorf("events: parse stanza: no element: %w", io.EOF)
			}
			return Stanza{}, fmt.Errorf("events: parse stanza: %w", err)
		}
		if budget -= tokenSize(tok); budget < 0 {
			return Stanza{}, ErrTooLarge
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := c.startToken(d, t); err != nil {
				return Stanza{}, err
			}
			return decodeContent(d, &c, budget)
		case xml.EndElement:
			return Stanza{}, fmt.Errorf("events: parse stanza: no element before </%s>: %w", t.Name.Local, io.EOF)
		case xml.CharData:
			if !isSpace(t) {
				return Stanza{}, syntaxError(d, "text before the stanza")
			}
		case xml.Directive:
			return Stanza{}, syntaxError(d, "directive before the stanza")
		}
	}
}

// decodeContent reads the rest of the element whose start c has just seen.
func decodeContent(d *xml.Decoder, c *classifier, budget int) (Stanza, error) {
	for c.depth > 0 {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return Stanza{}, fmt.Errorf("events: parse stanza: %w", err)
		}
		if budget -= tokenSize(tok); budget < 0 {
			return Stanza{}, ErrTooLarge
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := c.startToken(d, t); err != nil {
				return Stanza{}, err
			}
		case xml.EndElement:
			c.end()
		case xml.CharData:
			if c.inBody {
				c.spill()
				c.buf = append(c.buf, t...)
				c.sync()
			}
		case xml.Directive:
			return Stanza{}, syntaxError(d, "directive inside the stanza")
		}
	}
	return c.result(), nil
}

// startToken hands a start element read by encoding/xml to c.
func (c *classifier) startToken(d *xml.Decoder, t xml.StartElement) error {
	if c.depth >= MaxDepth {
		return ErrTooDeep
	}
	local := lookupName(t.Name.Local)
	ns := nsOther
	if local != nameOther {
		ns = lookupNS(t.Name.Space)
	}
	if !c.start(local, ns) {
		return nil
	}
	for _, a := range t.Attr {
		if a.Name.Space != "" {
			continue
		}
		which := lookupAttr(a.Name.Local)
		if which == attrOther {
			continue
		}
		start := len(c.buf)
		c.buf = append(c.buf, a.Value...)
		if !c.attr(which, c.buf[start:len(c.buf):len(c.buf)]) {
			return syntaxError(d, "attribute "+a.Name.Local+" given twice")
		}
	}
	return nil
}

// tokenSize returns at least 1 and at most the number of bytes of XML the
// token was read from (0 for an end element, which may come from <a/>).
func tokenSize(tok xml.Token) int {
	switch t := tok.(type) {
	case xml.StartElement:
		n := 2 + len(t.Name.Local)
		for _, a := range t.Attr {
			n += 3 + len(a.Name.Local) + len(a.Value)
		}
		return n
	case xml.EndElement:
		return 0
	case xml.CharData:
		return max(1, len(t))
	case xml.Comment:
		return 7 + len(t)
	case xml.ProcInst:
		return 4 + len(t.Target) + len(t.Inst)
	case xml.Directive:
		return 3 + len(t)
	}
	return 1
}

func syntaxError(d *xml.Decoder, msg string) error {
	line, _ := d.InputPos()
	return fmt.Errorf("events: parse stanza: %w", &xml.SyntaxError{Msg: msg, Line: line})
}

// isSpace reports whether b is only XML whitespace.
func isSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// The classifier turns the elements of a stanza, as either parser sees
// them, into a Stanza. It only ever looks at the names in these lists;
// every other name or namespace is nameOther or nsOther.

type nsID uint8

const (
	nsOther nsID = iota
	nsNone       // no namespace at all
	nsClient
	nsServer
	nsComponent
	nsForward
	nsCarbons
	nsAxolotl
	nsOMEMO0
	nsXEncrypted
	nsOpenPGP
	nsJMI0
	nsJMI1
	nsCorrect
	nsRetract0
	nsRetract1
	nsFasten
	nsReactions
)

// isStanzaNS reports whether a message and its <body/> or <subject/> in
// namespace ns count as such.
func isStanzaNS(ns nsID) bool {
	return ns >= nsNone && ns <= nsForward
}

func lookupNS[T string | []byte](s T) nsID {
	switch string(s) {
	case "":
		return nsNone
	case "jabber:client":
		return nsClient
	case "jabber:server":
		return nsServer
	case "jabber:component:accept":
		return nsComponent
	case "urn:xmpp:forward:0":
		return nsForward
	case "urn:xmpp:carbons:2":
		return nsCarbons
	case "eu.siacs.conversations.axolotl":
		return nsAxolotl
	case "urn:xmpp:omemo:0":
		return nsOMEMO0
	case "jabber:x:encrypted":
		return nsXEncrypted
	case "urn:xmpp:openpgp:0":
		return nsOpenPGP
	case "urn:xmpp:jingle-message:0":
		return nsJMI0
	case "urn:xmpp:jingle-message:1":
		return nsJMI1
	case "urn:xmpp:message-correct:0":
		return nsCorrect
	case "urn:xmpp:message-retract:0":
		return nsRetract0
	case "urn:xmpp:message-retract:1":
		return nsRetract1
	case "urn:xmpp:fasten:0":
		return nsFasten
	case "urn:xmpp:reactions:0":
		return nsReactions
	}
	return nsOther
}

type nameID uint8

const (
	nameOther nameID = iota
	nameMessage
	namePresence
	nameIQ
	nameBody
	nameSubject
	nameReceived
	nameSent
	nameForwarded
	nameEncrypted
	namePayload
	nameX
	nameOpenPGP
	namePropose
	nameReplace
	nameRetract
	nameApplyTo
	nameReactions
)

func lookupName[T string | []byte](s T) nameID {
	switch string(s) {
	case "message":
		return nameMessage
	case "presence":
		return namePresence
	case "iq":
		return nameIQ
	case "body":
		return nameBody
	case "subject":
		return nameSubject
	case "received":
		return nameReceived
	case "sent":
		return nameSent
	case "forwarded":
		return nameForwarded
	case "encrypted":
		return nameEncrypted
	case "payload":
		return namePayload
	case "x":
		return nameX
	case "openpgp":
		return nameOpenPGP
	case "propose":
		return namePropose
	case "replace":
		return nameReplace
	case "retract":
		return nameRetract
	case "apply-to":
		return nameApplyTo
	case "reactions":
		return nameReactions
	}
	return nameOther
}

type attrID uint8

const (
	attrOther attrID = iota
	attrType
	attrFrom
	attrTo
)

func lookupAttr[T string | []byte](s T) attrID {
	switch string(s) {
	case "type":
		return attrType
	case "from":
		return attrFrom
	case "to":
		return attrTo
	}
	return attrOther
}

// internType returns the common stanza types without allocating.
func internType(b []byte) (string, bool) {
	switch string(b) {
	case "":
		return "", true
	case "chat":
		return "chat", true
	case "groupchat":
		return "groupchat", true
	case "headline":
		return "headline", true
	case "normal":
		return "normal", true
	case "error":
		return "error", true
	case "get":
		return "get", true
	case "set":
		return "set", true
	case "result":
		return "result", true
	case "unavailable":
		return "unavailable", true
	case "subscribe":
		return "subscribe", true
	case "subscribed":
		return "subscribed", true
	case "unsubscribe":
		return "unsubscribe", true
	case "unsubscribed":
		return "unsubscribed", true
	case "probe":
		return "probe", true
	}
	return "", false
}

// role is what an open element is to the classifier.
type role uint8

const (
	roleNone      role = iota // nothing: its descendants do not count
	roleMsg                   // a message whose children count (ctx)
	roleCarbon                // <received/> or <sent/> of urn:xmpp:carbons:2
	roleForwarded             // <forwarded/> inside a roleCarbon
	roleBody                  // the first <body/> of a message
	roleEncrypted             // an OMEMO <encrypted/> (ns) of a message
	roleApplyTo               // a XEP-0422 <apply-to/> of a message
)

type frame struct {
	role role
	ctx  uint8  // which message: 0 the stanza, 1 the carbon's forwarded one
	ns   nsID   // roleEncrypted: its namespace
	dir  Carbon // roleCarbon, roleForwarded: the direction
}

// facts are what is known about one message. Byte slices point into the
// parsed data or into classifier.buf and are never written to.
type facts struct {
	ns                    nsID
	typ, from, to, body   []byte
	hasType, hasFrom      bool
	hasTo, hasBody        bool
	hasSubject, encrypted bool
	call, correction      bool
	retraction, reaction  bool
	bodyInBuf             bool // body sits at buf[bodyStart:]
	bodyStart             int
}

type classifier struct {
	depth  int
	stack  [MaxDepth]frame
	kind   Kind
	carbon Carbon
	facts  [2]facts // 0: the stanza; 1: a carbon's forwarded message
	inBody bool     // inside facts[bodyCtx]'s body element
	ctx    uint8    // the message whose body is being read
	// buf holds decoded text; slices handed out of it are never written
	// again (later appends only write beyond them).
	buf []byte
}

// start records the start of an element with the given local name and
// namespace (ns is only looked at when local is not nameOther). The caller
// has checked c.depth < MaxDepth. It reports whether the element's type,
// from and to attributes are wanted: then the caller hands each over with
// attr, before any other call.
func (c *classifier) start(local nameID, ns nsID) bool {
	var fr frame
	want := false
	if c.depth == 0 {
		want = true
		switch local {
		case nameMessage:
			c.kind = KindMessage
			fr.role = roleMsg
			c.facts[0].ns = ns
		case namePresence:
			c.kind = KindPresence
		case nameIQ:
			c.kind = KindIQ
		}
	} else {
		parent := c.stack[c.depth-1]
		fr.ctx = parent.ctx
		switch parent.role {
		case roleMsg:
			f := &c.facts[parent.ctx]
			switch local {
			case nameBody:
				if !f.hasBody && isStanzaNS(ns) && isStanzaNS(f.ns) {
					f.hasBody = true
					fr.role = roleBody
					c.inBody = true
					c.ctx = parent.ctx
				}
			case nameSubject:
				if isStanzaNS(ns) && isStanzaNS(f.ns) {
					f.hasSubject = true
				}
			case nameEncrypted:
				if ns == nsAxolotl || ns == nsOMEMO0 {
					fr.role = roleEncrypted
					fr.ns = ns
				}
			case nameX:
				if ns == nsXEncrypted {
					f.encrypted = true
				}
			case nameOpenPGP:
				if ns == nsOpenPGP {
					f.encrypted = true
				}
			case namePropose:
				if ns == nsJMI0 || ns == nsJMI1 {
					f.call = true
				}
			case nameReplace:
				if ns == nsCorrect {
					f.correction = true
				}
			case nameRetract:
				if ns == nsRetract0 || ns == nsRetract1 {
					f.retraction = true
				}
			case nameApplyTo:
				if ns == nsFasten {
					fr.role = roleApplyTo
				}
			case nameReactions:
				if ns == nsReactions {
					f.reaction = true
				}
			case nameReceived, nameSent:
				if parent.ctx == 0 && ns == nsCarbons && c.carbon == NotCarbon {
					fr.role = roleCarbon
					fr.dir = CarbonReceived
					if local == nameSent {
						fr.dir = CarbonSent
					}
				}
			}
		case roleCarbon:
			if local == nameForwarded && ns == nsForward {
				fr.role = roleForwarded
				fr.dir = parent.dir
			}
		case roleForwarded:
			if local == nameMessage && isStanzaNS(ns) && c.carbon == NotCarbon {
				c.carbon = parent.dir
				fr.role = roleMsg
				fr.ctx = 1
				c.facts[1].ns = ns
				want = true
			}
		case roleEncrypted:
			if local == namePayload && ns == parent.ns {
				c.facts[parent.ctx].encrypted = true
			}
		case roleApplyTo:
			if local == nameRetract && (ns == nsRetract0 || ns == nsRetract1) {
				c.facts[parent.ctx].retraction = true
			}
		}
	}
	c.stack[c.depth] = fr
	c.depth++
	return want
}

// attr records an unprefixed type, from or to attribute of the element
// just started; v must stay unchanged. It reports false for a repeated
// attribute.
func (c *classifier) attr(which attrID, v []byte) bool {
	f := &c.facts[c.stack[c.depth-1].ctx]
	switch which {
	case attrType:
		if f.hasType {
			return false
		}
		f.hasType, f.typ = true, v
	case attrFrom:
		if f.hasFrom {
			return false
		}
		f.hasFrom, f.from = true, v
	case attrTo:
		if f.hasTo {
			return false
		}
		f.hasTo, f.to = true, v
	}
	return true
}

// end records the end of the innermost open element.
func (c *classifier) end() {
	c.depth--
	if c.stack[c.depth].role == roleBody {
		c.inBody = false
	}
}

// text adds a piece of body text that stays unchanged (a slice of the
// parsed data); call it only when c.inBody.
func (c *classifier) text(b []byte) {
	f := &c.facts[c.ctx]
	if !f.bodyInBuf && len(f.body) == 0 {
		f.body = b
		return
	}
	c.spill()
	c.buf = append(c.buf, b...)
	c.sync()
}

// spill moves the body read so far to the end of c.buf, so that more text
// can be appended to c.buf; sync must follow the appending.
func (c *classifier) spill() {
	f := &c.facts[c.ctx]
	if !f.bodyInBuf {
		f.bodyStart = len(c.buf)
		c.buf = append(c.buf, f.body...)
		f.bodyInBuf = true
	}
}

func (c *classifier) sync() {
	f := &c.facts[c.ctx]
	f.body = c.buf[f.bodyStart:len(c.buf):len(c.buf)]
}

// result builds the Stanza, copying its strings in one allocation.
func (c *classifier) result() Stanza {
	f := &c.facts[0]
	if c.carbon != NotCarbon {
		f = &c.facts[1]
	}
	s := Stanza{
		Kind:         c.kind,
		HasBody:      f.hasBody,
		HasSubject:   f.hasSubject,
		Carbon:       c.carbon,
		Encrypted:    f.encrypted,
		CallProposal: f.call,
		Correction:   f.correction,
		Retraction:   f.retraction,
		Reaction:     f.reaction,
	}
	typ, interned := internType(f.typ)
	n := len(f.from) + len(f.to) + len(f.body)
	if !interned {
		n += len(f.typ)
	}
	var sb strings.Builder
	sb.Grow(n)
	sb.Write(f.from)
	sb.Write(f.to)
	sb.Write(f.body)
	if !interned {
		sb.Write(f.typ)
	}
	all := sb.String()
	i := 0
	s.From, i = all[:len(f.from)], len(f.from)
	s.To, i = all[i:i+len(f.to)], i+len(f.to)
	s.Body, i = all[i:i+len(f.body)], i+len(f.body)
	if interned {
		s.Type = typ
	} else {
		s.Type = all[i:]
	}
	return s
}

// The fast path: a small XML parser for []byte input that handles what
// stanzas are made of (elements, attributes quoted with ' or ", the five
// predefined entities and character references, CDATA sections, comments,
// namespace prefixes) and gives up on anything else or anything doubtful,
// leaving it to encoding/xml. It accepts only input encoding/xml accepts,
// and then gives the same result (FuzzParseStanza checks both).

// maxBindings bounds the namespace declarations in scope on the fast path.
const maxBindings = 64

// binding is a namespace declaration: offsets into the data of its prefix
// (empty for the default namespace) and its value.
type binding struct {
	prefix, value [2]int32
	depth         int32 // depth of the declaring element
}

// fastParser is the state of the fast path: the open elements and the
// namespace declarations in scope, as offsets into data.
type fastParser struct {
	data  []byte
	depth int
	names [MaxDepth][2]int32 // raw name of each open element: start, end
	binds [maxBindings]binding
	nb    int
	c     classifier
}

// parseFast parses data, or reports false to leave it to encoding/xml.
func parseFast(data []byte) (Stanza, bool) {
	var p fastParser
	p.data = data
	if !p.run() {
		return Stanza{}, false
	}
	return p.c.result(), true
}

// run parses p.data: a prolog of whitespace and comments, one element, an
// epilog like the prolog. It reports false to give up.
func (p *fastParser) run() bool {
	d := p.data
	// Prolog: whitespace and comments.
	i := 0
	for {
		i = skipSpace(d, i)
		if i+1 >= len(d) || d[i] != '<' || d[i+1] == '?' {
			return false
		}
		if d[i+1] != '!' {
			break
		}
		var ok bool
		if i, ok = comment(d, i); !ok {
			return false
		}
	}
	// The element: d[i] is '<'.
	for {
		if i+1 >= len(d) {
			return false
		}
		var ok bool
		switch d[i+1] {
		case '/':
			i, ok = p.endTag(i)
		case '!':
			if bytes.HasPrefix(d[i:], cdataStart) {
				i, ok = p.cdata(i)
			} else {
				i, ok = comment(d, i)
			}
		case '?':
			return false
		default:
			i, ok = p.startTag(i)
		}
		if !ok {
			return false
		}
		if p.depth == 0 {
			break
		}
		j, esc, ok := scanText(d, i)
		if !ok || j >= len(d) {
			return false
		}
		if j > i && p.c.inBody {
			if esc {
				p.c.spill()
				p.c.buf = appendText(p.c.buf, d[i:j], true)
				p.c.sync()
			} else {
				p.c.text(d[i:j])
			}
		}
		i = j
	}
	// Epilog: whitespace and comments.
	for {
		i = skipSpace(d, i)
		if i == len(d) {
			return true
		}
		if i+1 >= len(d) || d[i] != '<' || d[i+1] != '!' {
			return false
		}
		var ok bool
		if i, ok = comment(d, i); !ok {
			return false
		}
	}
}

var cdataStart = []byte("<![CDATA[")

// startTag parses the start tag at d[i] == '<' and returns the index after
// it.
func (p *fastParser) startTag(i int) (int, bool) {
	d := p.data
	if p.depth >= MaxDepth {
		return 0, false
	}
	nameStart := i + 1
	nameEnd, colon, ok := scanName(d, nameStart)
	if !ok {
		return 0, false
	}
	depth := p.depth + 1
	type val struct {
		start, end int
		esc        bool
		n          int
	}
	var vals [4]val // indexed by attrID
	selfClosing := false
	i = nameEnd
	for {
		i = skipSpace(d, i)
		if i >= len(d) {
			return 0, false
		}
		if d[i] == '>' {
			i++
			break
		}
		if d[i] == '/' {
			if i+1 >= len(d) || d[i+1] != '>' {
				return 0, false
			}
			selfClosing = true
			i += 2
			break
		}
		an, acolon, ok := scanName(d, i)
		if !ok {
			return 0, false
		}
		aStart := i
		i = skipSpace(d, an)
		if i >= len(d) || d[i] != '=' {
			return 0, false
		}
		i = skipSpace(d, i+1)
		if i >= len(d) || (d[i] != '"' && d[i] != '\'') {
			return 0, false
		}
		vStart := i + 1
		vEnd, esc, ok := scanAttr(d, vStart, d[i])
		if !ok {
			return 0, false
		}
		i = vEnd + 1
		if acolon < 0 {
			name := d[aStart:an]
			if string(name) == "xmlns" {
				if esc || !p.bind(an, an, vStart, vEnd, depth) {
					return 0, false
				}
			} else if which := lookupAttr(name); which != attrOther {
				v := &vals[which]
				if v.n == 0 {
					v.start, v.end, v.esc = vStart, vEnd, esc
				}
				v.n++
			}
		} else if string(d[aStart:acolon]) == "xmlns" {
			prefix := d[acolon+1 : an]
			if esc || string(prefix) == "xml" || string(prefix) == "xmlns" || !p.bind(acolon+1, an, vStart, vEnd, depth) {
				return 0, false
			}
		}
	}
	localStart := nameStart
	if colon >= 0 {
		localStart = colon + 1
	}
	local := lookupName(d[localStart:nameEnd])
	ns := nsOther
	if local != nameOther {
		if colon >= 0 {
			ns = p.resolve(d[nameStart:colon])
		} else {
			ns = p.resolve(nil)
		}
	}
	p.names[p.depth] = [2]int32{int32(nameStart), int32(nameEnd)}
	p.depth = depth
	if p.c.start(local, ns) {
		for which := attrType; which <= attrTo; which++ {
			v := vals[which]
			if v.n == 0 {
				continue
			}
			if v.n > 1 {
				return 0, false
			}
			b := d[v.start:v.end]
			if v.esc {
				start := len(p.c.buf)
				p.c.buf = appendText(p.c.buf, b, true)
				b = p.c.buf[start:len(p.c.buf):len(p.c.buf)]
			}
			p.c.attr(which, b)
		}
	}
	if selfClosing {
		p.pop()
	}
	return i, true
}

// endTag parses the end tag at d[i] == '<', d[i+1] == '/'.
func (p *fastParser) endTag(i int) (int, bool) {
	d := p.data
	if p.depth == 0 {
		return 0, false
	}
	end, _, ok := scanName(d, i+2)
	if !ok {
		return 0, false
	}
	open := p.names[p.depth-1]
	if !bytes.Equal(d[i+2:end], d[open[0]:open[1]]) {
		return 0, false
	}
	i = skipSpace(d, end)
	if i >= len(d) || d[i] != '>' {
		return 0, false
	}
	p.pop()
	return i + 1, true
}

// pop closes the innermost open element.
func (p *fastParser) pop() {
	for p.nb > 0 && int(p.binds[p.nb-1].depth) == p.depth {
		p.nb--
	}
	p.depth--
	p.c.end()
}

// bind declares the prefix at d[pStart:pEnd] for the value at
// d[vStart:vEnd].
func (p *fastParser) bind(pStart, pEnd, vStart, vEnd, depth int) bool {
	if p.nb == maxBindings {
		return false
	}
	p.binds[p.nb] = binding{
		prefix: [2]int32{int32(pStart), int32(pEnd)},
		value:  [2]int32{int32(vStart), int32(vEnd)},
		depth:  int32(depth),
	}
	p.nb++
	return true
}

// resolve returns the namespace of an element with the given prefix, as
// encoding/xml does: an undeclared prefix stands for itself.
func (p *fastParser) resolve(prefix []byte) nsID {
	switch string(prefix) {
	case "xml", "xmlns":
		return nsOther
	}
	for k := p.nb - 1; k >= 0; k-- {
		b := &p.binds[k]
		if bytes.Equal(p.data[b.prefix[0]:b.prefix[1]], prefix) {
			return lookupNS(p.data[b.value[0]:b.value[1]])
		}
	}
	if len(prefix) == 0 {
		return nsNone
	}
	return lookupNS(prefix)
}

// cdata parses the CDATA section at d[i].
func (p *fastParser) cdata(i int) (int, bool) {
	d := p.data
	start := i + len(cdataStart)
	n := bytes.Index(d[start:], []byte("]]>"))
	if n < 0 {
		return 0, false
	}
	b := d[start : start+n]
	esc, ok := validChars(b)
	if !ok {
		return 0, false
	}
	if p.c.inBody && len(b) > 0 {
		if esc {
			p.c.spill()
			p.c.buf = appendText(p.c.buf, b, false)
			p.c.sync()
		} else {
			p.c.text(b)
		}
	}
	return start + n + 3, true
}

// comment parses the comment at d[i] == '<', d[i+1] == '!'. Like
// encoding/xml, it does not check the comment's characters.
func comment(d []byte, i int) (int, bool) {
	if i+4 > len(d) || d[i+2] != '-' || d[i+3] != '-' {
		return 0, false
	}
	start := i + 4
	n := bytes.Index(d[start:], []byte("--"))
	if n < 0 {
		return 0, false
	}
	end := start + n + 2
	if end >= len(d) || d[end] != '>' {
		return 0, false
	}
	return end + 1, true
}

func skipSpace(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanName scans the name at d[i]. It reports false for anything the fast
// path leaves to encoding/xml: a name with a byte beyond ASCII, one that
// does not start with a letter or '_', or one with a colon that is not a
// single separator between two non-empty parts.
func scanName(d []byte, i int) (end, colon int, ok bool) {
	if i >= len(d) || charClass[d[i]]&cNameStart == 0 {
		return 0, 0, false
	}
	colon = -1
	j := i + 1
	for ; j < len(d); j++ {
		b := d[j]
		if charClass[b]&cName == 0 {
			if b >= utf8.RuneSelf {
				return 0, 0, false
			}
			break
		}
		if b == ':' {
			if colon >= 0 {
				return 0, 0, false
			}
			colon = j
		}
	}
	if colon == j-1 {
		return 0, 0, false
	}
	return j, colon, true
}

// Character classes of the fast path.
const (
	cNameStart = 1 << iota // starts a name the fast path takes: [A-Za-z_]
	cName                  // continues a name: [A-Za-z0-9_.:-]
	cPlain                 // a character needing no attention
	cHigh                  // the first byte of a multi-byte UTF-8 character
)

var charClass = func() (t [256]uint8) {
	for b := 0; b < 256; b++ {
		switch {
		case b >= utf8.RuneSelf:
			t[b] = cHigh
		case b < ' ' && b != '\t' && b != '\n':
			// Control characters are invalid; '\r' needs normalising.
		case b == '<' || b == '&' || b == ']' || b == '\'' || b == '"':
		default:
			t[b] = cPlain
		}
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', b == '_':
			t[b] |= cNameStart | cName
		case '0' <= b && b <= '9', b == '.', b == '-', b == ':':
			t[b] |= cName
		}
	}
	return t
}()

// scanText scans character data from d[i] up to the next '<' or the end
// of d. esc reports references or carriage returns, which need decoding.
func scanText(d []byte, i int) (end int, esc, ok bool) {
	for i < len(d) {
		if i+8 <= len(d) {
			m := special8(binary.LittleEndian.Uint64(d[i:]), '<', '&', ']')
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		b := d[i]
		if charClass[b]&cPlain != 0 {
			i++
			continue
		}
		switch b {
		case '<':
			return i, esc, true
		case '\'', '"':
			i++
		case ']':
			if i+2 < len(d) && d[i+1] == ']' && d[i+2] == '>' {
				return 0, false, false
			}
			i++
		case '&':
			_, n, ok := entity(d, i)
			if !ok {
				return 0, false, false
			}
			i += n
			esc = true
		case '\r':
			i++
			esc = true
		default:
			n, ok := validRune(d, i)
			if !ok {
				return 0, false, false
			}
			i += n
		}
	}
	return i, esc, true
}

// scanAttr scans an attribute value from d[i] up to the quote q, and
// returns the index of the quote.
func scanAttr(d []byte, i int, q byte) (end int, esc, ok bool) {
	for i < len(d) {
		if i+8 <= len(d) {
			m := special8(binary.LittleEndian.Uint64(d[i:]), '<', '&', q)
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		b := d[i]
		if charClass[b]&cPlain != 0 {
			i++
			continue
		}
		switch b {
		case q:
			return i, esc, true
		case '\'', '"', ']':
			i++
		case '&':
			_, n, ok := entity(d, i)
			if !ok {
				return 0, false, false
			}
			i += n
			esc = true
		case '\r':
			i++
			esc = true
		default: // '<', a control character or a multi-byte one
			n, ok := validRune(d, i)
			if !ok {
				return 0, false, false
			}
			i += n
		}
	}
	return 0, false, false
}

// special8 flags, in the high bit of each byte, the bytes of x (8 bytes
// of input, little-endian) that are not printable ASCII (0x20 to 0x7F) or
// are a, b or c. Flags above the lowest one may be spurious; the lowest is
// exact, so the first such byte is at bits.TrailingZeros64(m)/8, and none
// is there when the result is 0.
func special8(x uint64, a, b, c byte) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	m := x & highs                    // beyond ASCII
	m |= (x - ones*0x20) &^ x & highs // below 0x20
	v := x ^ (ones * uint64(a))
	m |= (v - ones) &^ v & highs
	v = x ^ (ones * uint64(b))
	m |= (v - ones) &^ v & highs
	v = x ^ (ones * uint64(c))
	m |= (v - ones) &^ v & highs
	return m
}

// validChars checks the characters of a CDATA section; esc reports
// carriage returns.
func validChars(b []byte) (esc, ok bool) {
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case charClass[c]&cPlain != 0, c == '<', c == '&', c == ']', c == '\'', c == '"':
			i++
		case c == '\r':
			esc = true
			i++
		default:
			n, ok := validRune(b, i)
			if !ok {
				return false, false
			}
			i += n
		}
	}
	return esc, true
}

// validRune checks the character at d[i], which is not plain ASCII, and
// returns its length.
func validRune(d []byte, i int) (int, bool) {
	if d[i] < utf8.RuneSelf {
		return 0, false // '<' in a value, or a control character
	}
	r, n := utf8.DecodeRune(d[i:])
	if r == utf8.RuneError && n == 1 || !isXMLChar(r) {
		return 0, false
	}
	return n, true
}

// isXMLChar reports whether r is a Char of XML 1.0 (as encoding/xml has it).
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// entity decodes the reference at d[i] == '&' and returns the character
// and the reference's length. It accepts the five predefined entities and
// character references to XML characters.
func entity(d []byte, i int) (r rune, n int, ok bool) {
	j := i + 1
	if j < len(d) && d[j] == '#' {
		j++
		base := rune(10)
		if j < len(d) && d[j] == 'x' {
			base = 16
			j++
		}
		digits := j
		for ; j < len(d); j++ {
			c := d[j]
			var v rune
			switch {
			case '0' <= c && c <= '9':
				v = rune(c - '0')
			case base == 16 && 'a' <= c && c <= 'f':
				v = rune(c-'a') + 10
			case base == 16 && 'A' <= c && c <= 'F':
				v = rune(c-'A') + 10
			default:
				v = -1
			}
			if v < 0 {
				break
			}
			if r = r*base + v; r > utf8.MaxRune {
				return 0, 0, false
			}
		}
		if j == digits || j >= len(d) || d[j] != ';' || !isXMLChar(r) {
			return 0, 0, false
		}
		return r, j + 1 - i, true
	}
	for k, name := range entityNames {
		if len(d)-j > len(name) && string(d[j:j+len(name)]) == name && d[j+len(name)] == ';' {
			return entityRunes[k], len(name) + 2, true
		}
	}
	return 0, 0, false
}

var (
	entityNames = [...]string{"lt", "gt", "amp", "apos", "quot"}
	entityRunes = [...]rune{'<', '>', '&', '\'', '"'}
)

// appendText appends b, validated by scanText, scanAttr or validChars,
// decoded: references replaced (when refs) and line ends normalised as
// encoding/xml does ("\r\n" and a lone "\r" become "\n").
func appendText(dst, b []byte, refs bool) []byte {
	for i := 0; i < len(b); {
		switch c := b[i]; {
		case c == '&' && refs:
			r, n, _ := entity(b, i)
			dst = utf8.AppendRune(dst, r)
			i += n
		case c == '\r':
			dst = append(dst, '\n')
			i++
			if i < len(b) && b[i] == '\n' {
				i++
			}
		default:
			j := i + 1
			for j < len(b) && b[j] != '\r' && (b[j] != '&' || !refs) {
				j++
			}
			dst = append(dst, b[i:j]...)
			i = j
		}
	}
	return dst
}

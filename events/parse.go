package events

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pushrules/pushrules/internal/xmlscan"
)

// Limits of the stanza parser. They bound the memory and time one stanza
// can cost, whatever its sender puts in it.
const (
	// MaxStanzaSize is the largest stanza accepted, in bytes of XML.
	// ParseStanza refuses longer data with ErrTooLarge. DecodeStanza stops
	// with ErrTooLarge once the tokens it has read add up to more than
	// MaxStanzaSize bytes (counted from below: a stanza of at most
	// MaxStanzaSize bytes of XML always fits), but it cannot limit what its
	// token reader buffers for a single token: bound the underlying reader
	// (for instance with io.LimitReader) as well.
	MaxStanzaSize = 256 << 10

	// MaxDepth is the deepest element nesting accepted: the stanza element
	// itself is at depth 1, its children at depth 2, and so on. A deeper
	// element makes the parse fail with ErrTooDeep.
	MaxDepth = 32
)

// Errors of ParseStanza and DecodeStanza for the limits above; test for
// them with errors.Is. Malformed or refused XML gives an error wrapping an
// *xml.SyntaxError (found with errors.As); input that ends before any
// element starts gives an error wrapping io.EOF.
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
// Refused, with an error: malformed XML, any markup or text but the above
// around the element, a DOCTYPE or other directive, what the library's
// XML scanner does not take although XML allows it (names beyond ASCII,
// more than 32 attributes on one element or 64 namespace declarations in
// scope, a namespace declaration holding a reference, xmlns:p=""), and a
// message (or other stanza) carrying its type, from or to attribute twice.
// The strings of the result never point into data, which the caller may
// reuse. The common stanza costs one allocation, for its strings.
func ParseStanza(data []byte) (Stanza, error) {
	if len(data) > MaxStanzaSize {
		return Stanza{}, ErrTooLarge
	}
	return parseStanza(data)
}

// DecodeStanza reads exactly one element, the stanza, from tr and returns
// the facts the rules need about it, as ParseStanza does (it hands the
// element, written out again, to ParseStanza's parser). Whitespace,
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
// stream) ends first. After an error, tr is left somewhere inside the
// stanza. See MaxStanzaSize for what DecodeStanza cannot bound.
func DecodeStanza(tr xml.TokenReader) (Stanza, error) {
	var buf [1024]byte
	data, err := xmlscan.AppendElement(buf[:0], xml.NewTokenDecoder(tr), MaxStanzaSize)
	if errors.Is(err, xmlscan.BudgetError{}) {
		return Stanza{}, ErrTooLarge
	}
	if err != nil {
		return Stanza{}, fmt.Errorf("events: parse stanza: %w", err)
	}
	return parseStanza(data)
}

// parseStanza is ParseStanza without the size limit.
func parseStanza(data []byte) (Stanza, error) {
	var p parser
	p.s.Reset(data)
	if err := p.run(); err != nil {
		return Stanza{}, err
	}
	return p.c.result(), nil
}

// The scanner must refuse what is beyond MaxDepth, where the classifier's
// stack ends.
const _ = uint(MaxDepth - xmlscan.MaxDepth)

// parser is the classifier over xmlscan.
type parser struct {
	s xmlscan.Scanner
	c classifier
}

// run parses the data: a prolog of white space, comments and processing
// instructions, one element, an epilog like the prolog.
func (p *parser) run() error {
	s := &p.s
	// Prolog.
	for {
		k := s.Next()
		if k == xmlscan.StartElement {
			break
		}
		if k == xmlscan.EOF {
			return fmt.Errorf("events: parse stanza: no element: %w", io.EOF)
		}
		if err := p.misc(k, "before"); err != nil {
			return err
		}
	}
	// The element.
	if err := p.start(); err != nil {
		return err
	}
	for s.Depth() > 0 {
		switch s.Next() {
		case xmlscan.StartElement:
			if err := p.start(); err != nil {
				return err
			}
		case xmlscan.EndElement:
			p.c.end()
		case xmlscan.CharData:
			if p.c.inBody {
				if !s.Escaped() {
					if b := s.Text(); len(b) > 0 {
						p.c.text(b)
					}
				} else {
					p.c.spill()
					p.c.buf = s.AppendText(p.c.buf)
					p.c.sync()
				}
			}
		case xmlscan.Comment, xmlscan.ProcInst:
		default:
			return p.scanError()
		}
	}
	// Epilog.
	for {
		k := s.Next()
		if k == xmlscan.EOF {
			return nil
		}
		if err := p.misc(k, "after"); err != nil {
			return err
		}
	}
}

// misc checks a token of kind k before or after the stanza (where says
// which): white space, a comment or a processing instruction.
func (p *parser) misc(k xmlscan.Kind, where string) error {
	switch k {
	case xmlscan.Comment, xmlscan.ProcInst:
		return nil
	case xmlscan.CharData:
		text := p.s.Text()
		if p.s.Escaped() {
			var scratch [64]byte
			text = p.s.AppendText(scratch[:0])
		}
		if isSpace(text) {
			return nil
		}
		return p.syntaxError("text " + where + " the stanza")
	case xmlscan.StartElement:
		return p.syntaxError("markup after the stanza")
	}
	return p.scanError()
}

// start hands the start element just read to the classifier.
func (p *parser) start() error {
	s := &p.s
	local := lookupName(s.Local())
	ns := nsOther
	if local != nameOther {
		ns = lookupNS(s.Space())
	}
	if !p.c.start(local, ns) {
		return nil
	}
	// The type, from and to attributes: unprefixed, since the scanner
	// refuses prefixes bound to no namespace.
	for i := range s.NumAttr() {
		prefix, name := s.AttrName(i)
		if prefix != nil {
			continue
		}
		which := lookupAttr(name)
		if which == attrOther {
			continue
		}
		v, esc := s.AttrValue(i)
		if esc {
			start := len(p.c.buf)
			p.c.buf = s.AppendAttrValue(p.c.buf, i)
			v = p.c.buf[start:len(p.c.buf):len(p.c.buf)]
		}
		if !p.c.attr(which, v) {
			return p.syntaxError("attribute " + string(name) + " given twice")
		}
	}
	return nil
}

// scanError is the error for the scanner's Unsupported.
func (p *parser) scanError() error {
	if p.s.TooDeep() {
		return ErrTooDeep
	}
	return fmt.Errorf("events: parse stanza: %w", p.s.Err())
}

// syntaxError is an error about the token just read.
func (p *parser) syntaxError(msg string) error {
	return fmt.Errorf("events: parse stanza: %w", &xml.SyntaxError{Msg: msg, Line: p.s.Line()})
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

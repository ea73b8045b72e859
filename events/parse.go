package events

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"

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

	// maxDepth is the deepest element nesting accepted (see ErrTooDeep).
	maxDepth = 32
)

// Errors of ParseStanza and DecodeStanza for the limits above; test for
// them with errors.Is. Malformed or refused XML gives an error wrapping an
// *xml.SyntaxError (found with errors.As); input that ends before any
// element starts gives an error wrapping io.EOF.
const (
	// ErrTooLarge says the stanza is longer than MaxStanzaSize.
	ErrTooLarge Error = "events: stanza larger than MaxStanzaSize"
	// ErrTooDeep says the stanza nests elements deeper than 32 levels
	// (the stanza element itself is at level 1, its children at level 2).
	ErrTooDeep Error = "events: stanza nested deeper than 32 elements"
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
//     carbon), and the other facts (see Stanza: payload flags, StanzaID,
//     Mentions, ReplyTo, the call's) from its other children.
//   - For a XEP-0280 carbon (a <received/> or <sent/> child in
//     urn:xmpp:carbons:2 holding a <forwarded/> of urn:xmpp:forward:0
//     holding a <message/>), Carbon, and Type, From, To, the body and the
//     other facts of the forwarded message instead of the wrapper's. An
//     incomplete carbon is no carbon: the wrapper is classified. A MUC
//     mention (urn:xmpp:mmn:0) is unwrapped the same way (MUCMention).
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

// The scanner must refuse what is beyond maxDepth, where the classifier's
// stack ends.
const _ = uint(maxDepth - xmlscan.MaxDepth)

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
	// The attributes the classifier reads: unprefixed, since the scanner
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
	p.c.attrsDone()
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

// Error is the type of the package's sentinel errors. They are constants:
// compare with errors.Is.
type Error string

// Error returns the message.
func (e Error) Error() string { return string(e) }

// Package xmlscan is a small XML scanner for []byte input, the only XML
// reader of the library's parsers. It handles what XMPP stanzas are made
// of: elements, attributes quoted with ' or ", namespace declarations and
// prefixes, the five predefined entities and character references, CDATA
// sections, comments, processing instructions and the XML declaration
// (version 1.0, encoding UTF-8 if any, as encoding/xml checks them).
//
// It refuses, with Unsupported and an error (Err), malformed input and
// also what it does not take although encoding/xml would:
//
//   - a DOCTYPE or any other directive (RFC 6120 forbids them in XMPP);
//   - a name beyond ASCII, or one that does not have the form
//     [A-Za-z_][A-Za-z0-9_.-]* with at most one colon between two such
//     parts;
//   - a namespace declaration whose value holds a reference or a carriage
//     return, and a prefix declared empty (xmlns:p="");
//   - more than MaxDepth open elements, MaxAttrs attributes on one element
//     or MaxBindings namespace declarations in scope.
//
// Every token the scanner returns is one that an encoding/xml Decoder
// (strict, with no Entity map, no CharsetReader and no DefaultSpace) would
// return at the same point of the same input, with the same name, resolved
// namespace, attributes and decoded text; where the scanner refuses,
// encoding/xml fails or returns one of the tokens above. The tests of the
// parsers built on it compare them with encoding/xml on that basis. Like
// encoding/xml, the scanner only reads as far as it is asked to, so
// garbage after the last token a caller asks for goes unnoticed.
//
// It does not allocate: names, attribute values and text are returned as
// slices of the input, which the caller decodes (AppendText,
// AppendAttrValue) only when Escaped reports that they hold references or
// carriage returns.
package xmlscan

import (
	"bytes"
	"encoding/xml"
	"math"
)

// Limits of the scanner: input beyond them is Unsupported, with an error
// saying which limit it reached.
const (
	MaxDepth    = 32 // open elements
	MaxAttrs    = 32 // attributes of one start element, namespace declarations included
	MaxBindings = 64 // namespace declarations in scope
)

// Kind is the kind of a token.
type Kind uint8

const (
	// Unsupported says the input at this point is malformed or refused
	// (see the package documentation); Err says why. The scanner stays
	// there.
	Unsupported Kind = iota
	// EOF is the end of the input, outside any element.
	EOF
	// StartElement is a start tag, or an empty-element tag (which is
	// followed by its EndElement, as encoding/xml has it).
	StartElement
	// EndElement is an end tag.
	EndElement
	// CharData is text up to the next markup, or a CDATA section.
	CharData
	// Comment is a comment.
	Comment
	// ProcInst is a processing instruction other than an XML declaration.
	ProcInst
)

var kindNames = [...]string{"Unsupported", "EOF", "StartElement", "EndElement", "CharData", "Comment", "ProcInst"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(?)"
}

// attr is an attribute of the current start element, as offsets into the
// data: its name (colon is -1 when it has no prefix) and its raw value.
type attr struct {
	name, colon, end int32
	vStart, vEnd     int32
	esc              bool
}

// binding is a namespace declaration: offsets into the data of its prefix
// (empty for the default namespace) and its value.
type binding struct {
	prefix, value [2]int32
	depth         int32 // depth of the declaring element
}

// Scanner states between tokens.
const (
	stateReady   = iota
	stateEndNext // the current token is an empty-element tag: its end follows
	statePop     // the current token is an end: its bindings go next
	stateDone    // Unsupported was returned
)

// Scanner reads the tokens of an XML document held in memory. The zero
// Scanner holds an empty document; Reset gives it one. A Scanner is about
// 3 KB: keep it in a variable, not in an allocation per document.
type Scanner struct {
	data  []byte
	pos   int
	kind  Kind
	state uint8
	depth int

	errMsg  string // why Unsupported was returned
	errAt   int    // the offset where the refused token starts
	tooDeep bool   // Unsupported for MaxDepth

	// The current token: its name (StartElement, EndElement, ProcInst's
	// target) and its text (CharData, Comment, ProcInst).
	name, colon, nameEnd int32
	text, textEnd        int32
	esc, cdata           bool

	nattr int
	attrs [MaxAttrs]attr

	names [MaxDepth][2]int32 // raw name of each open element
	nb    int
	binds [MaxBindings]binding
}

// Reset makes s scan data from its beginning.
func (s *Scanner) Reset(data []byte) {
	s.data = data
	s.pos = 0
	s.kind = EOF
	s.state = stateReady
	s.depth = 0
	s.nattr = 0
	s.nb = 0
	s.errMsg, s.errAt, s.tooDeep = "", 0, false
	if len(data) > math.MaxInt32 {
		s.fail(0, "input larger than 2 GiB")
	}
}

// Err returns why the scanner returned Unsupported, as an
// *xml.SyntaxError (its Line counts from 1), or nil when it has not.
func (s *Scanner) Err() error {
	if s.state != stateDone {
		return nil
	}
	return &xml.SyntaxError{Msg: s.errMsg, Line: s.lineAt(s.errAt)}
}

// Line returns the line (counted from 1) of the offset just after the
// current token: where a caller refusing that token says it is.
func (s *Scanner) Line() int { return s.lineAt(s.pos) }

func (s *Scanner) lineAt(offset int) int {
	return 1 + bytes.Count(s.data[:min(offset, len(s.data))], []byte{'\n'})
}

// TooDeep reports whether the scanner returned Unsupported for an element
// that would have been open inside MaxDepth others (the tag itself is
// well-formed).
func (s *Scanner) TooDeep() bool { return s.state == stateDone && s.tooDeep }

// Kind returns the kind of the current token, the one Next returned last.
func (s *Scanner) Kind() Kind { return s.kind }

// Depth returns the number of open elements: after a StartElement it
// counts that element, after an EndElement no longer the element it ends.
func (s *Scanner) Depth() int { return s.depth }

// Offset returns the offset in the data just after the current token
// (for an empty-element tag, after the whole tag, for both its tokens).
func (s *Scanner) Offset() int { return s.pos }

// Next reads the next token and returns its kind.
func (s *Scanner) Next() Kind {
	switch s.state {
	case stateEndNext:
		s.state = statePop
		s.nattr = 0
		s.depth--
		s.kind = EndElement
		return EndElement
	case statePop:
		for s.nb > 0 && int(s.binds[s.nb-1].depth) > s.depth {
			s.nb--
		}
		s.state = stateReady
	case stateDone:
		return Unsupported
	}
	d := s.data
	i := s.pos
	if i >= len(d) {
		if s.depth > 0 {
			return s.fail(i, "unexpected EOF")
		}
		s.kind = EOF
		return EOF
	}
	if d[i] != '<' {
		j, esc, ok := scanText(d, i)
		if !ok {
			return s.fail(i, "invalid character data")
		}
		s.text, s.textEnd, s.esc, s.cdata = int32(i), int32(j), esc, false
		s.pos = j
		s.kind = CharData
		return CharData
	}
	if i+1 >= len(d) {
		return s.fail(i, "unexpected EOF")
	}
	switch d[i+1] {
	case '/':
		return s.endTag(i)
	case '!':
		if bytes.HasPrefix(d[i:], cdataStart) {
			return s.cdataSection(i)
		}
		return s.comment(i)
	case '?':
		return s.procInst(i)
	}
	return s.startTag(i)
}

// fail refuses the token at offset at, for the reason msg.
func (s *Scanner) fail(at int, msg string) Kind {
	s.state = stateDone
	s.kind = Unsupported
	s.errAt, s.errMsg = at, msg
	return Unsupported
}

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

var cdataStart = []byte("<![CDATA[")

// startTag reads the start tag at d[i] == '<'.
func (s *Scanner) startTag(i int) Kind {
	d := s.data
	tag := i
	nameStart := i + 1
	nameEnd, colon, ok := scanName(d, nameStart)
	if !ok {
		return s.fail(tag, "invalid or unsupported element name")
	}
	depth := s.depth + 1
	nb := s.nb
	nattr := 0
	empty := false
	i = nameEnd
	for {
		i = skipSpace(d, i)
		if i >= len(d) {
			return s.fail(tag, "unexpected EOF in a start tag")
		}
		if d[i] == '>' {
			i++
			break
		}
		if d[i] == '/' {
			if i+1 >= len(d) || d[i+1] != '>' {
				return s.fail(tag, "expected /> in an empty-element tag")
			}
			empty = true
			i += 2
			break
		}
		aStart := i
		an, acolon, ok := scanName(d, i)
		if !ok {
			return s.fail(tag, "invalid or unsupported attribute name")
		}
		if nattr == MaxAttrs {
			return s.fail(tag, "more than 32 attributes on one element")
		}
		i = skipSpace(d, an)
		if i >= len(d) || d[i] != '=' {
			return s.fail(tag, "attribute without a value")
		}
		i = skipSpace(d, i+1)
		if i >= len(d) || (d[i] != '"' && d[i] != '\'') {
			return s.fail(tag, "unquoted attribute value")
		}
		vStart := i + 1
		vEnd, esc, ok := scanAttr(d, vStart, d[i])
		if !ok {
			return s.fail(tag, "invalid attribute value")
		}
		i = vEnd + 1
		s.attrs[nattr] = attr{
			name: int32(aStart), colon: int32(acolon), end: int32(an),
			vStart: int32(vStart), vEnd: int32(vEnd), esc: esc,
		}
		nattr++
		// Namespace declarations. Those of the prefixes xml and xmlns are
		// kept but have no effect, as in encoding/xml (resolve answers
		// for those prefixes first).
		var prefix [2]int32
		switch {
		case acolon < 0 && string(d[aStart:an]) == "xmlns":
			prefix = [2]int32{int32(an), int32(an)}
		case acolon >= 0 && string(d[aStart:acolon]) == "xmlns":
			if vEnd == vStart {
				return s.fail(tag, "unsupported namespace declaration: empty prefixed namespace")
			}
			prefix = [2]int32{int32(acolon + 1), int32(an)}
		default:
			continue
		}
		if esc {
			return s.fail(tag, "unsupported namespace declaration: references or carriage returns in its value")
		}
		if nb == MaxBindings {
			return s.fail(tag, "more than 64 namespace declarations in scope")
		}
		s.binds[nb] = binding{prefix: prefix, value: [2]int32{int32(vStart), int32(vEnd)}, depth: int32(depth)}
		nb++
	}
	if s.depth >= MaxDepth {
		s.tooDeep = true
		return s.fail(tag, "elements nested deeper than 32")
	}
	s.nb = nb
	s.nattr = nattr
	s.name, s.colon, s.nameEnd = int32(nameStart), int32(colon), int32(nameEnd)
	s.names[s.depth] = [2]int32{int32(nameStart), int32(nameEnd)}
	s.depth = depth
	s.pos = i
	if empty {
		s.state = stateEndNext
	}
	s.kind = StartElement
	return StartElement
}

// endTag reads the end tag at d[i] == '<', d[i+1] == '/'.
func (s *Scanner) endTag(i int) Kind {
	d := s.data
	if s.depth == 0 {
		return s.fail(i, "unexpected end element")
	}
	end, colon, ok := scanName(d, i+2)
	if !ok {
		return s.fail(i, "invalid or unsupported element name")
	}
	open := s.names[s.depth-1]
	if !bytes.Equal(d[i+2:end], d[open[0]:open[1]]) {
		return s.fail(i, "element <"+string(d[open[0]:open[1]])+"> closed by </"+string(d[i+2:end])+">")
	}
	j := skipSpace(d, end)
	if j >= len(d) || d[j] != '>' {
		return s.fail(i, "invalid characters in an end tag")
	}
	s.name, s.colon, s.nameEnd = int32(i+2), int32(colon), int32(end)
	s.nattr = 0
	s.depth--
	s.state = statePop
	s.pos = j + 1
	s.kind = EndElement
	return EndElement
}

// cdataSection reads the CDATA section at d[i].
func (s *Scanner) cdataSection(i int) Kind {
	d := s.data
	start := i + len(cdataStart)
	n := bytes.Index(d[start:], cdataEnd)
	if n < 0 {
		return s.fail(i, "unexpected EOF in a CDATA section")
	}
	esc, ok := validChars(d[start : start+n])
	if !ok {
		return s.fail(i, "invalid character in a CDATA section")
	}
	s.text, s.textEnd, s.esc, s.cdata = int32(start), int32(start+n), esc, true
	s.pos = start + n + len(cdataEnd)
	s.kind = CharData
	return CharData
}

var cdataEnd = []byte("]]>")

// comment reads the comment at d[i] == '<', d[i+1] == '!'. Like
// encoding/xml, it does not check the comment's characters.
func (s *Scanner) comment(i int) Kind {
	d := s.data
	if i+4 > len(d) || d[i+2] != '-' || d[i+3] != '-' {
		return s.fail(i, "unsupported directive (<!DOCTYPE or the like), or malformed markup")
	}
	start := i + 4
	n := bytes.Index(d[start:], []byte("--"))
	if n < 0 {
		return s.fail(i, "unexpected EOF in a comment")
	}
	end := start + n + 2
	if end >= len(d) || d[end] != '>' {
		return s.fail(i, "-- in a comment")
	}
	s.text, s.textEnd, s.esc = int32(start), int32(start+n), false
	s.pos = end + 1
	s.kind = Comment
	return Comment
}

// procInst reads the processing instruction at d[i] == '<', d[i+1] == '?'.
// Like encoding/xml, it does not check the instruction's characters, and
// for the target xml (the XML declaration, wherever it stands) it checks
// the version and the encoding.
func (s *Scanner) procInst(i int) Kind {
	d := s.data
	nameEnd, _, ok := scanName(d, i+2)
	if !ok {
		return s.fail(i, "invalid or unsupported processing instruction target")
	}
	start := skipSpace(d, nameEnd)
	n := bytes.Index(d[start:], []byte("?>"))
	if n < 0 {
		return s.fail(i, "unexpected EOF in a processing instruction")
	}
	inst := d[start : start+n]
	if string(d[i+2:nameEnd]) == "xml" {
		if v := declParam(inst, "version"); v != nil && string(v) != "1.0" {
			return s.fail(i, "unsupported XML version "+string(v))
		}
		if e := declParam(inst, "encoding"); e != nil && !bytes.EqualFold(e, []byte("utf-8")) {
			return s.fail(i, "unsupported encoding "+string(e))
		}
	}
	s.name, s.colon, s.nameEnd = int32(i+2), -1, int32(nameEnd) // the whole target
	s.text, s.textEnd, s.esc = int32(start), int32(start+n), false
	s.nattr = 0
	s.pos = start + n + 2
	s.kind = ProcInst
	return ProcInst
}

// declParam returns the value of the pseudo-attribute name of an XML
// declaration, nil when it has none (an empty value counts as none), found
// as encoding/xml finds it: the first "name=" followed by a quote, the
// value running to the next such quote.
func declParam(inst []byte, name string) []byte {
	for i := 0; i < len(inst); {
		k := bytes.Index(inst[i:], []byte(name+"="))
		if k < 0 || i+k+len(name)+1 >= len(inst) {
			return nil
		}
		q := inst[i+k+len(name)+1]
		i += k + len(name) + 2
		if q != '\'' && q != '"' {
			continue
		}
		j := bytes.IndexByte(inst[i:], q)
		if j <= 0 {
			return nil
		}
		return inst[i : i+j]
	}
	return nil
}

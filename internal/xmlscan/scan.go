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
	"encoding/binary"
	"encoding/xml"
	"math"
	"math/bits"
	"unicode/utf8"
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

// Name returns the prefix ("" when there is none) and the local name of the
// current StartElement or EndElement, or the whole target of a ProcInst
// (colon included) as its local name.
func (s *Scanner) Name() (prefix, local []byte) {
	if s.colon < 0 {
		return nil, s.data[s.name:s.nameEnd]
	}
	return s.data[s.name:s.colon], s.data[s.colon+1 : s.nameEnd]
}

// Local returns the local name of the current StartElement or EndElement.
func (s *Scanner) Local() []byte {
	if s.colon < 0 {
		return s.data[s.name:s.nameEnd]
	}
	return s.data[s.colon+1 : s.nameEnd]
}

// Space returns the namespace of the current StartElement or EndElement as
// encoding/xml resolves it: the value of the innermost declaration of its
// prefix (of the default namespace when it has none), "" for an unprefixed
// name with no default namespace declared (and for an element named xmlns),
// the XML namespace for the prefix xml, and the prefix itself for a prefix
// that is not declared (among them xmlns).
func (s *Scanner) Space() []byte {
	if s.colon < 0 {
		if string(s.data[s.name:s.nameEnd]) == "xmlns" {
			return nil
		}
		return s.resolve(nil)
	}
	return s.resolve(s.data[s.name:s.colon])
}

var (
	xmlURL      = []byte("http://www.w3.org/XML/1998/namespace")
	xmlnsPrefix = []byte("xmlns")
)

// resolve returns the namespace of a prefixed name, or of an unprefixed
// element name when prefix is empty.
func (s *Scanner) resolve(prefix []byte) []byte {
	switch string(prefix) {
	case "xml":
		return xmlURL
	case "xmlns":
		return xmlnsPrefix
	}
	for k := s.nb - 1; k >= 0; k-- {
		b := &s.binds[k]
		if bytes.Equal(s.data[b.prefix[0]:b.prefix[1]], prefix) {
			return s.data[b.value[0]:b.value[1]]
		}
	}
	if len(prefix) == 0 {
		return nil
	}
	return prefix
}

// NumAttr returns the number of attributes of the current StartElement,
// namespace declarations included, in the order of the tag.
func (s *Scanner) NumAttr() int { return s.nattr }

// AttrName returns the prefix ("" when there is none) and the local name
// of attribute i of the current StartElement.
func (s *Scanner) AttrName(i int) (prefix, local []byte) {
	a := &s.attrs[i]
	if a.colon < 0 {
		return nil, s.data[a.name:a.end]
	}
	return s.data[a.name:a.colon], s.data[a.colon+1 : a.end]
}

// AttrSpace returns the namespace of attribute i of the current
// StartElement as encoding/xml resolves it: "" for an unprefixed name (the
// default namespace does not apply to attributes), otherwise as Space does.
// Since the scanner leaves undeclared prefixes to encoding/xml, an
// attribute is in no namespace exactly when it has no prefix.
func (s *Scanner) AttrSpace(i int) []byte {
	a := &s.attrs[i]
	if a.colon < 0 {
		return nil
	}
	return s.resolve(s.data[a.name:a.colon])
}

// AttrValue returns the value of attribute i of the current StartElement
// as it is in the data, between its quotes, and whether it needs decoding
// (AppendAttrValue) because it holds references or carriage returns.
func (s *Scanner) AttrValue(i int) (raw []byte, escaped bool) {
	a := &s.attrs[i]
	return s.data[a.vStart:a.vEnd], a.esc
}

// AppendAttrValue appends the value of attribute i of the current
// StartElement, decoded, to dst.
func (s *Scanner) AppendAttrValue(dst []byte, i int) []byte {
	a := &s.attrs[i]
	if !a.esc {
		return append(dst, s.data[a.vStart:a.vEnd]...)
	}
	return appendText(dst, s.data[a.vStart:a.vEnd], true)
}

// LookupAttr returns the index of the first attribute of the current
// StartElement in no namespace (unprefixed) with the given local name, or
// -1 if there is none.
func (s *Scanner) LookupAttr(local string) int {
	for i := range s.nattr {
		a := &s.attrs[i]
		if a.colon < 0 && string(s.data[a.name:a.end]) == local {
			return i
		}
	}
	return -1
}

// Text returns the current CharData (the content of a CDATA section), the
// content of the current Comment, or the instruction of the current
// ProcInst (after the target and the white space following it), as it is
// in the data.
func (s *Scanner) Text() []byte { return s.data[s.text:s.textEnd] }

// Escaped reports whether the current CharData needs decoding
// (AppendText): it holds references (outside a CDATA section) or carriage
// returns.
func (s *Scanner) Escaped() bool { return s.kind == CharData && s.esc }

// CDATA reports whether the current CharData is a CDATA section.
func (s *Scanner) CDATA() bool { return s.kind == CharData && s.cdata }

// AppendText appends the current CharData, decoded as encoding/xml decodes
// it (references replaced outside CDATA sections, "\r\n" and a lone "\r"
// turned into "\n"), or the Text of a Comment or ProcInst, to dst.
func (s *Scanner) AppendText(dst []byte) []byte {
	b := s.data[s.text:s.textEnd]
	if !s.Escaped() {
		return append(dst, b...)
	}
	return appendText(dst, b, !s.cdata)
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

// scanName scans the name at d[i]. It reports false for anything left to
// encoding/xml: a name with a byte beyond ASCII, one that does not start
// with a letter or '_', or one with a colon that is not a single separator
// between two non-empty parts.
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

// Character classes.
const (
	cNameStart = 1 << iota // starts a name the scanner takes: [A-Za-z_]
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
// character references to XML characters (a surrogate stands for U+FFFD).
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
		if 0xD800 <= r && r <= 0xDFFF {
			r = utf8.RuneError // as string(rune(r)) gives, in encoding/xml
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

package xmlscan

// The accessors of the current token.

import "bytes"

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

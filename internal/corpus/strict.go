package corpus

import (
	"bytes"
	"encoding/xml"
	"regexp"
)

// Strict is the XML reader of the tests' oracles: encoding/xml, refusing
// on top of what it refuses what the library's scanner (internal/xmlscan)
// refuses although XML allows it: directives, more than 32 open elements,
// names beyond
// [A-Za-z_][A-Za-z0-9_.-]*(:[A-Za-z0-9_.-]+)?, more than 32 attributes on
// one element or 64 namespace declarations in scope, a namespace
// declaration whose value holds a reference or a carriage return, and an
// empty prefixed one. Its refusals are *xml.SyntaxError values.
type Strict struct {
	*xml.Decoder
	data     []byte
	bindings []int // namespace declarations of each open element
	inScope  int
}

// NewStrict returns a Strict reader of data.
func NewStrict(data []byte) *Strict {
	return &Strict{Decoder: xml.NewDecoder(bytes.NewReader(data)), data: data}
}

var (
	strictName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*(:[A-Za-z0-9_.-]+)?$`)
	strictTag  = regexp.MustCompile(`^<([^\s/>]+)`)
	strictAttr = regexp.MustCompile(`([^\s=/>]+)\s*=\s*('[^']*'|"[^"]*")`)
)

// Token returns the next token of encoding/xml, or an error for what the
// scanner refuses.
func (s *Strict) Token() (xml.Token, error) {
	from := s.InputOffset()
	tok, err := s.Decoder.Token()
	if err != nil {
		return nil, err
	}
	raw := s.data[from:s.InputOffset()]
	switch t := tok.(type) {
	case xml.StartElement:
		if len(s.bindings) == 32 {
			return nil, s.refuse("more than 32 open elements")
		}
		m := strictTag.FindSubmatch(raw)
		if m == nil || !strictName.Match(m[1]) {
			return nil, s.refuse("element name")
		}
		if len(t.Attr) > 32 {
			return nil, s.refuse("more than 32 attributes")
		}
		n := 0
		for _, a := range strictAttr.FindAllSubmatch(raw[len(m[0]):], -1) {
			if !strictName.Match(a[1]) {
				return nil, s.refuse("attribute name")
			}
			if name := string(a[1]); name == "xmlns" || len(name) > 6 && name[:6] == "xmlns:" {
				n++
				if bytes.ContainsAny(a[2], "&\r") || len(name) > 6 && len(a[2]) == 2 {
					return nil, s.refuse("namespace declaration")
				}
			}
		}
		if s.inScope += n; s.inScope > 64 {
			return nil, s.refuse("more than 64 namespace declarations")
		}
		s.bindings = append(s.bindings, n)
	case xml.EndElement:
		s.inScope -= s.bindings[len(s.bindings)-1]
		s.bindings = s.bindings[:len(s.bindings)-1]
	case xml.ProcInst:
		if !strictName.MatchString(t.Target) {
			return nil, s.refuse("processing instruction target")
		}
	case xml.Directive:
		return nil, s.refuse("directive")
	}
	return tok, nil
}

func (s *Strict) refuse(what string) error {
	line, _ := s.InputPos()
	return &xml.SyntaxError{Msg: "refused by the scanner: " + what, Line: line}
}

package xmlscan

import (
	"encoding/xml"
	"fmt"
	"io"
)

// BudgetError is the error of AppendElement for input beyond its budget.
type BudgetError struct{}

func (BudgetError) Error() string { return "xmlscan: element larger than its budget" }

// AppendElement reads one element from d and appends to dst XML that a
// Scanner reads as the same element: the same local names and resolved
// namespaces, the same attributes in no namespace (namespace declarations
// and attributes in a namespace are left out: the library's parsers read
// neither), the same character data; comments and processing
// instructions are left out. It is how the library's parsers, which work on
// []byte, take the element a host's encoding/xml stream is positioned
// before: names are resolved by d, so the stream's default namespace
// applies. Its output is for a Scanner, not for people.
//
// White space, comments and processing instructions before the element
// are skipped; nothing after its end is read. It fails with an error
// wrapping io.EOF when d ends (or the enclosing element does) before an
// element starts, with an *xml.SyntaxError for text or a directive before
// it, a directive in it or a name a Scanner refuses, with d's error as it
// is (an *xml.SyntaxError when d ends inside the element), and with
// BudgetError once the tokens read add up to more than budget bytes
// (counted from below: an element of at most budget bytes of XML always
// fits).
func AppendElement(dst []byte, d *xml.Decoder, budget int) ([]byte, error) {
	// The default namespace in each open element, and whether its name
	// was written with the prefix p (a local name a Scanner does not take
	// without a prefix, such as 00 of <a:00/>).
	var spaces []string
	var prefixed []bool
	open := false // a start tag awaits its > or />
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return dst, fmt.Errorf("no element: %w", io.EOF) // inside, d reports a SyntaxError
		}
		if err != nil {
			return dst, err
		}
		if budget -= tokenSize(tok); budget < 0 {
			return dst, BudgetError{}
		}
		if _, ok := tok.(xml.EndElement); !ok && open {
			dst = append(dst, '>')
			open = false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			def := ""
			if n := len(spaces); n > 0 {
				def = spaces[n-1]
			}
			switch {
			case simpleName(t.Name.Local):
				dst = append(dst, '<')
				dst = append(dst, t.Name.Local...)
				if t.Name.Space != def {
					def = t.Name.Space
					dst = append(dst, " xmlns='"...)
					dst = appendEscaped(dst, def, false)
					dst = append(dst, '\'')
				}
				prefixed = append(prefixed, false)
			case localName(t.Name.Local) && t.Name.Space != "":
				dst = append(dst, "<p:"...)
				dst = append(dst, t.Name.Local...)
				dst = append(dst, " xmlns:p='"...)
				dst = appendEscaped(dst, t.Name.Space, false)
				dst = append(dst, '\'')
				prefixed = append(prefixed, true)
			default:
				return dst, syntaxError(d, "unsupported element name "+t.Name.Local)
			}
			for _, a := range t.Attr {
				if a.Name.Space != "" || a.Name.Local == "xmlns" {
					continue
				}
				if !simpleName(a.Name.Local) {
					return dst, syntaxError(d, "unsupported attribute name "+a.Name.Local)
				}
				dst = append(dst, ' ')
				dst = append(dst, a.Name.Local...)
				dst = append(dst, "='"...)
				dst = appendEscaped(dst, a.Value, false)
				dst = append(dst, '\'')
			}
			spaces = append(spaces, def)
			open = true
		case xml.EndElement:
			if len(spaces) == 0 {
				return dst, fmt.Errorf("no element before </%s>: %w", t.Name.Local, io.EOF)
			}
			if open {
				dst = append(dst, "/>"...)
				open = false
			} else {
				dst = append(dst, "</"...)
				if prefixed[len(prefixed)-1] {
					dst = append(dst, "p:"...)
				}
				dst = append(dst, t.Name.Local...)
				dst = append(dst, '>')
			}
			prefixed = prefixed[:len(prefixed)-1]
			if spaces = spaces[:len(spaces)-1]; len(spaces) == 0 {
				return dst, nil
			}
		case xml.CharData:
			if len(spaces) > 0 {
				dst = appendEscaped(dst, string(t), true)
			} else if !isSpace(t) {
				return dst, syntaxError(d, "text before the element")
			}
		case xml.Directive:
			return dst, syntaxError(d, "unsupported directive")
		}
	}
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

// simpleName reports whether a Scanner takes s as a name without a
// prefix.
func simpleName(s string) bool {
	if s == "" || charClass[s[0]]&cNameStart == 0 {
		return false
	}
	for i := 1; i < len(s); i++ {
		if charClass[s[i]]&cName == 0 || s[i] == ':' {
			return false
		}
	}
	return true
}

// localName reports whether a Scanner takes s as the local part of a
// prefixed name.
func localName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if charClass[s[i]]&cName == 0 || s[i] == ':' {
			return false
		}
	}
	return true
}

// appendEscaped appends s escaped for an attribute value in single quotes
// or (text) for character data: what a Scanner decodes back to s.
func appendEscaped(dst []byte, s string, text bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '&':
			dst = append(dst, "&amp;"...)
		case c == '<':
			dst = append(dst, "&lt;"...)
		case c == '>' && text:
			dst = append(dst, "&gt;"...)
		case c == '\'' && !text:
			dst = append(dst, "&apos;"...)
		case c == '\r':
			dst = append(dst, "&#13;"...)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func isSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

func syntaxError(d *xml.Decoder, msg string) error {
	line, _ := d.InputPos()
	return &xml.SyntaxError{Msg: msg, Line: line}
}

package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
)

// MaxAnswerSize bounds the bytes of XML one answer of a push service may
// take: ParseAnswer refuses longer input, and a PushClient drops the stream
// when one answer runs longer (a push service's answers are a few hundred
// bytes).
const MaxAnswerSize = 64 << 10

// ErrNotAnswer is wrapped by the error ParseAnswer returns for well-formed
// XML that is not an answer to a publish: not an <iq/>, an iq of another
// type than result or error, or one without an id.
var ErrNotAnswer = errors.New("not an iq result or error with an id")

// Answer is a push service's answer to a publish IQ.
type Answer struct {
	// ID is the answered IQ's id.
	ID string
	// From is the answering JID; To the address it answered to.
	From, To string
	// Error is nil for an <iq type='result'/>. For an <iq type='error'/>
	// it holds the error's type (one of auth, cancel, continue, modify and
	// wait; anything else or nothing reads as cancel), its defined
	// condition (the first child of <error/> in the stanza-errors
	// namespace other than <text/>; undefined-condition when there is none)
	// and its text.
	Error *events.StanzaError
}

// ParseAnswer parses one <iq type='result'/> or <iq type='error'/>, in any
// namespace, optionally surrounded by whitespace, comments and processing
// instructions. Malformed XML, more than one element, input longer than
// MaxAnswerSize, or XML that is no answer (ErrNotAnswer) give an error; no
// input makes it panic.
func ParseAnswer(data []byte) (Answer, error) {
	if len(data) > MaxAnswerSize {
		return Answer{}, fmt.Errorf("answer of %d bytes is larger than %d", len(data), MaxAnswerSize)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	start, err := nextStart(d)
	if err != nil {
		return Answer{}, err
	}
	a, err := decodeAnswer(d, start)
	if err != nil {
		return Answer{}, err
	}
	// Only whitespace, comments and processing instructions may follow.
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return a, nil
		}
		if err != nil {
			return Answer{}, err
		}
		switch tok := tok.(type) {
		case xml.Comment, xml.ProcInst:
		case xml.CharData:
			if len(bytes.TrimSpace(tok)) != 0 {
				return Answer{}, errors.New("text after the answer")
			}
		default:
			return Answer{}, errors.New("more than one element")
		}
	}
}

// nextStart returns the next start element of d, skipping everything else.
// When the input, or the element enclosing the position, ends first, the
// error is io.ErrUnexpectedEOF.
func nextStart(d *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return xml.StartElement{}, io.ErrUnexpectedEOF
		}
		if err != nil {
			return xml.StartElement{}, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			return tok, nil
		case xml.EndElement:
			return xml.StartElement{}, io.ErrUnexpectedEOF
		}
	}
}

// iqXML is the content of an answer as encoding/xml sees it. Element
// names without a namespace match any namespace, so jabber:server,
// jabber:component:accept and the empty namespace are all accepted.
// Attributes are read by plainAttrs instead: a struct tag would also take
// prefixed ones (x:id), and the last of two.
type iqXML struct {
	Errors []struct {
		Attrs    []xml.Attr `xml:",any,attr"`
		Children []struct {
			XMLName xml.Name
			Text    string `xml:",chardata"`
		} `xml:",any"`
	} `xml:"error"`
}

// decodeAnswer reads the rest of the element start and converts it. An
// error wrapping ErrNotAnswer leaves d after the element; any other error
// comes from d (malformed XML, or the input ending) and leaves d broken.
func decodeAnswer(d *xml.Decoder, start xml.StartElement) (Answer, error) {
	var x iqXML
	if err := d.DecodeElement(&x, &start); err != nil {
		return Answer{}, err
	}
	v, dup := plainAttrs(start.Attr, "type", "id", "from", "to")
	if dup != "" {
		return Answer{}, fmt.Errorf("<%s> with two %s attributes: %w", start.Name.Local, dup, ErrNotAnswer)
	}
	typ, id := v[0], v[1]
	if start.Name.Local != "iq" || (typ != "result" && typ != "error") || id == "" {
		return Answer{}, fmt.Errorf("<%s type=%q id=%q>: %w", start.Name.Local, typ, id, ErrNotAnswer)
	}
	a := Answer{ID: id, From: v[2], To: v[3]}
	if typ == "result" {
		return a, nil
	}
	a.Error = &events.StanzaError{Type: "cancel", Condition: "undefined-condition"}
	if len(x.Errors) == 0 {
		return a, nil
	}
	e := x.Errors[0]
	switch v, _ := plainAttrs(e.Attrs, "type"); v[0] {
	case "auth", "cancel", "continue", "modify", "wait":
		a.Error.Type = v[0]
	}
	condition := false
	for _, c := range e.Children {
		if c.XMLName.Space != push.NSStanzas {
			continue
		}
		switch {
		case c.XMLName.Local == "text":
			if a.Error.Text == "" {
				a.Error.Text = c.Text
			}
		case !condition:
			condition = true
			if isConditionName(c.XMLName.Local) {
				a.Error.Condition = c.XMLName.Local
			}
		}
	}
	return a, nil
}

// plainAttrs returns the values of the unprefixed attributes called names,
// in that order ("" for a missing one), and the first name given twice
// ("" when none is).
func plainAttrs(attrs []xml.Attr, names ...string) (values []string, dup string) {
	values = make([]string, len(names))
	seen := make([]bool, len(names))
	for _, at := range attrs {
		if at.Name.Space != "" {
			continue
		}
		i := slices.Index(names, at.Name.Local)
		if i < 0 {
			continue
		}
		if seen[i] {
			return values, at.Name.Local
		}
		seen[i] = true
		values[i] = at.Value
	}
	return values, ""
}

// isConditionName reports whether s looks like a defined condition
// (lower-case letters and hyphens), the only names kept from a remote
// service: anything else reads as undefined-condition.
func isConditionName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && c != '-' {
			return false
		}
	}
	return true
}

// AppendXML appends the answer as an <iq/> (no namespace: the stream's
// default applies) and returns the extended buffer. It is what a push
// service sends back; ParseAnswer reads it back as it was.
func (a *Answer) AppendXML(b []byte) []byte {
	typ := "result"
	if a.Error != nil {
		typ = "error"
	}
	b = append(b, "<iq type='"+typ+"' id='"...)
	b = appendEscaped(b, a.ID)
	if a.From != "" {
		b = append(b, "' from='"...)
		b = appendEscaped(b, a.From)
	}
	if a.To != "" {
		b = append(b, "' to='"...)
		b = appendEscaped(b, a.To)
	}
	if a.Error == nil {
		return append(b, "'/>"...)
	}
	b = append(b, "'><error type='"...)
	b = appendEscaped(b, a.Error.Type)
	b = append(b, "'><"...)
	if isConditionName(a.Error.Condition) {
		b = append(b, a.Error.Condition...)
	} else {
		b = append(b, "undefined-condition"...)
	}
	b = append(b, " xmlns='"+push.NSStanzas+"'/>"...)
	if a.Error.Text != "" {
		b = append(b, "<text xmlns='"+push.NSStanzas+"'>"...)
		b = appendEscaped(b, a.Error.Text)
		b = append(b, "</text>"...)
	}
	return append(b, "</error></iq>"...)
}

// appendEscaped appends s escaped for XML text and attribute values
// (characters XML cannot carry become U+FFFD).
func appendEscaped(b []byte, s string) []byte {
	var sb strings.Builder
	xml.EscapeText(&sb, []byte(s)) // a strings.Builder never fails
	return append(b, sb.String()...)
}

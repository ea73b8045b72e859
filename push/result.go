package push

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"

	"github.com/pushrules/pushrules/events"
)

// MaxResultSize bounds the XML ParseResult reads; push services are
// remote parties.
const MaxResultSize = 16 << 10

// ErrNotResult is wrapped by the errors of ParseResult for input that is not
// an answer to a publish: not an <iq/> of type result or error, malformed,
// too large or too deep.
var ErrNotResult = errors.New("push: not a publish answer")

// ParseResult parses a push service's answer to a publish, an
// <iq type='result'/> or <iq type='error'/>, into a PublishResult (without
// Now, which the host sets). For an error it reads the <error/> element's
// type, its defined condition (the first child in the
// urn:ietf:params:xml:ns:xmpp-stanzas namespace) and its text; an error iq
// without a usable <error/> child gives Type "cancel" and Condition
// "undefined-condition", which counts as a failure.
func ParseResult(data []byte) (events.PublishResult, error) {
	if len(data) > MaxResultSize {
		return events.PublishResult{}, fmt.Errorf("%w: %d bytes", ErrNotResult, len(data))
	}
	return DecodeResult(xml.NewDecoder(bytes.NewReader(data)))
}

// DecodeResult is ParseResult reading one element from tr (for instance the
// decoder of the stream the push service answers on, positioned before the
// <iq/>). It reads at most MaxRequestSize tokens and MaxRequestDepth levels.
func DecodeResult(tr xml.TokenReader) (events.PublishResult, error) {
	d := &requestDecoder{tr: tr}
	root, err := d.next()
	if err != nil || root == nil || root.Name.Local != "iq" {
		return events.PublishResult{}, fmt.Errorf("%w: no <iq/>", ErrNotResult)
	}
	res := events.PublishResult{ID: attr(root, "id"), From: attr(root, "from")}
	switch attr(root, "type") {
	case "result":
		if err := d.skip(); err != nil {
			return events.PublishResult{}, fmt.Errorf("%w: %v", ErrNotResult, err)
		}
		return res, nil
	case "error":
	default:
		return events.PublishResult{}, fmt.Errorf("%w: iq type %q", ErrNotResult, attr(root, "type"))
	}
	res.Error = &events.StanzaError{Type: "cancel", Condition: "undefined-condition"}
	for {
		el, err := d.next()
		if err != nil {
			return events.PublishResult{}, fmt.Errorf("%w: %v", ErrNotResult, err)
		}
		if el == nil {
			return res, nil
		}
		if el.Name.Local != "error" {
			if err := d.skip(); err != nil {
				return events.PublishResult{}, fmt.Errorf("%w: %v", ErrNotResult, err)
			}
			continue
		}
		if t := attr(el, "type"); t != "" {
			res.Error.Type = t
		}
		seen := false
		for {
			c, err := d.next()
			if err != nil {
				return events.PublishResult{}, fmt.Errorf("%w: %v", ErrNotResult, err)
			}
			if c == nil {
				break
			}
			switch {
			case c.Name.Space == NSStanzas && c.Name.Local == "text":
				if res.Error.Text, err = d.text(1024); err != nil {
					return events.PublishResult{}, fmt.Errorf("%w: %v", ErrNotResult, err)
				}
			case c.Name.Space == NSStanzas && !seen:
				seen = true
				res.Error.Condition = c.Name.Local
				if err := d.skip(); err != nil {
					return events.PublishResult{}, fmt.Errorf("%w: %v", ErrNotResult, err)
				}
			default:
				if err := d.skip(); err != nil {
					return events.PublishResult{}, fmt.Errorf("%w: %v", ErrNotResult, err)
				}
			}
		}
	}
}

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
// "undefined-condition", which counts as a failure. It gives what
// DecodeResult over an xml.Decoder of data gives, errors included; it only
// parses common answers faster.
func ParseResult(data []byte) (events.PublishResult, error) {
	if len(data) > MaxResultSize {
		return events.PublishResult{}, fmt.Errorf("%w: %d bytes", ErrNotResult, len(data))
	}
	var d fastDecoder
	d.s.Reset(data)
	if res, err := d.result(); err != errFallback {
		return res, err
	}
	return DecodeResult(xml.NewDecoder(bytes.NewReader(data)))
}

// parseResultSlow is ParseResult on encoding/xml alone: the reference
// semantics, which the fast path must reproduce exactly.
func parseResultSlow(data []byte) (events.PublishResult, error) {
	if len(data) > MaxResultSize {
		return events.PublishResult{}, fmt.Errorf("%w: %d bytes", ErrNotResult, len(data))
	}
	return DecodeResult(xml.NewDecoder(bytes.NewReader(data)))
}

// result is DecodeResult over xmlscan (see fastDecoder), step for step. It
// returns errFallback, unwrapped, when the input must be parsed with
// encoding/xml instead.
func (d *fastDecoder) result() (events.PublishResult, error) {
	ok, err := d.next()
	if err == errFallback {
		return events.PublishResult{}, err
	}
	if err != nil || !ok || string(d.s.Local()) != "iq" {
		return events.PublishResult{}, fmt.Errorf("%w: no <iq/>", ErrNotResult)
	}
	res := events.PublishResult{ID: d.attr("id"), From: d.attr("from")}
	switch typ := d.attr("type"); typ {
	case "result":
		if err := d.skip(); err != nil {
			return events.PublishResult{}, notResult(err)
		}
		return res, nil
	case "error":
	default:
		return events.PublishResult{}, fmt.Errorf("%w: iq type %q", ErrNotResult, typ)
	}
	res.Error = &events.StanzaError{Type: "cancel", Condition: "undefined-condition"}
	for {
		ok, err := d.next()
		if err != nil {
			return events.PublishResult{}, notResult(err)
		}
		if !ok {
			return res, nil
		}
		if string(d.s.Local()) != "error" {
			if err := d.skip(); err != nil {
				return events.PublishResult{}, notResult(err)
			}
			continue
		}
		if t := d.attr("type"); t != "" {
			res.Error.Type = t
		}
		seen := false
		for {
			ok, err := d.next()
			if err != nil {
				return events.PublishResult{}, notResult(err)
			}
			if !ok {
				break
			}
			switch inStanzas := string(d.s.Space()) == NSStanzas; {
			case inStanzas && string(d.s.Local()) == "text":
				if res.Error.Text, err = d.text(1024); err != nil {
					return events.PublishResult{}, notResult(err)
				}
			case inStanzas && !seen:
				seen = true
				res.Error.Condition = string(d.s.Local())
				if err := d.skip(); err != nil {
					return events.PublishResult{}, notResult(err)
				}
			default:
				if err := d.skip(); err != nil {
					return events.PublishResult{}, notResult(err)
				}
			}
		}
	}
}

// notResult wraps an error of the fast path as DecodeResult does, but for
// errFallback.
func notResult(err error) error {
	if err == errFallback {
		return err
	}
	return fmt.Errorf("%w: %v", ErrNotResult, err)
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

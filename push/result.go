package push

import (
	"encoding/xml"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/xmlscan"
)

// Limits on a push service's answer, which a remote party writes.
const (
	// MaxResultSize bounds the XML ParseResult reads.
	MaxResultSize = 16 << 10
	// maxErrorText is the most ParseResult keeps of an error answer's
	// <text/>, in bytes: a longer text is cut (on a UTF-8 character
	// boundary), the answer itself is kept.
	maxErrorText = 1024
)

// ErrNotResult is wrapped by the errors of ParseResult for input that is not
// an answer to a publish: not an <iq/> of type result or error, malformed,
// too large or too deep.
const ErrNotResult Error = "push: not a publish answer"

// ParseResult parses a push service's answer to a publish, an
// <iq type='result'/> or <iq type='error'/>, into a PublishResult (without
// Now, which the host sets). For an error it reads the <error/> element's
// type, its defined condition (the first child in the
// urn:ietf:params:xml:ns:xmpp-stanzas namespace) and its text, cut to
// 1 KiB; an error iq without a usable <error/> child gives
// Type "cancel" and Condition "undefined-condition", which counts as a
// failure. Every error it returns wraps ErrNotResult. Like a streaming
// parser, it reads no further than the end of the <iq/>.
func ParseResult(data []byte) (events.PublishResult, error) {
	if len(data) > MaxResultSize {
		return events.PublishResult{}, fmt.Errorf("%w: %d bytes", ErrNotResult, len(data))
	}
	return parseResult(data)
}

// DecodeResult is ParseResult for the element tr is positioned before
// (white space, comments and processing instructions before it are
// skipped), for instance from the decoder of the stream the push service
// answers on. It reads that element to its end, and at most about
// MaxResultSize bytes of it, then parses it as ParseResult does.
func DecodeResult(tr xml.TokenReader) (events.PublishResult, error) {
	var buf [512]byte
	data, err := xmlscan.AppendElement(buf[:0], xml.NewTokenDecoder(tr), MaxResultSize)
	if err != nil {
		return events.PublishResult{}, fmt.Errorf("%w: %v", ErrNotResult, err)
	}
	return parseResult(data)
}

// parseResult is ParseResult without the size limit.
func parseResult(data []byte) (events.PublishResult, error) {
	var d decoder
	d.s.Reset(data)
	res, err := d.result()
	if err != nil {
		return events.PublishResult{}, fmt.Errorf("%w: %v", ErrNotResult, err)
	}
	return res, nil
}

// result reads the answer.
func (d *decoder) result() (events.PublishResult, error) {
	ok, err := d.next()
	if err != nil || !ok || string(d.s.Local()) != "iq" {
		return events.PublishResult{}, errors.New("no <iq/>")
	}
	res := events.PublishResult{ID: d.attr("id"), From: d.attr("from")}
	switch typ := d.attr("type"); typ {
	case "result":
		return res, d.skip()
	case "error":
	default:
		return events.PublishResult{}, fmt.Errorf("iq type %q", typ)
	}
	res.Error = &events.StanzaError{Type: "cancel", Condition: "undefined-condition"}
	for {
		ok, err := d.next()
		if err != nil {
			return events.PublishResult{}, err
		}
		if !ok {
			return res, nil
		}
		if string(d.s.Local()) != "error" {
			if err := d.skip(); err != nil {
				return events.PublishResult{}, err
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
				return events.PublishResult{}, err
			}
			if !ok {
				break
			}
			switch inStanzas := string(d.s.Space()) == nsStanzas; {
			case inStanzas && string(d.s.Local()) == "text":
				err = d.errorText(&res.Error.Text)
			case inStanzas && !seen:
				seen = true
				res.Error.Condition = string(d.s.Local())
				err = d.skip()
			default:
				err = d.skip()
			}
			if err != nil {
				return events.PublishResult{}, err
			}
		}
	}
}

// errorText reads the <text/> just started into *text, cut to
// 1 KiB on a UTF-8 boundary.
func (d *decoder) errorText(text *string) error {
	var scratch [256]byte
	b, err := d.appendText(scratch[:0], maxErrorText, true)
	if err != nil {
		return err
	}
	if n := maxErrorText; len(b) > n {
		for n > 0 && !utf8.RuneStart(b[n]) {
			n--
		}
		b = b[:n]
	}
	*text = string(b)
	return nil
}

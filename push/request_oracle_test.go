package push

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/corpus"
	"github.com/pushrules/pushrules/internal/jid"
	"github.com/pushrules/pushrules/registry"
)

// The oracles of readRequest and ParseResult: their semantics on
// encoding/xml (through corpus.Strict, which also refuses what xmlscan
// refuses although XML allows it), as the library parsed before it read
// XML with xmlscan alone. The differential tests and the fuzz targets
// compare the parsers with them.

// parseRequestOracle is readRequest on encoding/xml.
func parseRequestOracle(data []byte) (pushRequest, error) {
	if len(data) > maxRequestSize {
		return pushRequest{}, errRequestTooLarge
	}
	d := &requestDecoder{tr: corpus.NewStrict(data)}
	return d.request()
}

type requestDecoder struct {
	tr     xml.TokenReader
	tokens int
	depth  int
}

func (d *requestDecoder) token() (xml.Token, error) {
	d.tokens++
	if d.tokens > maxRequestSize {
		return nil, errLimit
	}
	t, err := d.tr.Token()
	if err != nil {
		return nil, err
	}
	switch t.(type) {
	case xml.StartElement:
		d.depth++
		if d.depth > maxRequestDepth {
			return nil, errLimit
		}
	case xml.EndElement:
		d.depth--
	}
	return t, nil
}

// next returns the next start element at the current level, or nil at the
// end of the enclosing element.
func (d *requestDecoder) next() (*xml.StartElement, error) {
	for {
		t, err := d.token()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			return &t, nil
		case xml.EndElement:
			return nil, nil
		}
	}
}

// skip consumes the rest of the element just started.
func (d *requestDecoder) skip() error {
	for depth := 1; depth > 0; {
		t, err := d.token()
		if err != nil {
			return err
		}
		switch t.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

// text returns the character data of the element just started and
// consumes it; child elements are skipped.
func (d *requestDecoder) text(limit int) (string, error) {
	var b strings.Builder
	for depth := 1; depth > 0; {
		t, err := d.token()
		if err != nil {
			return "", err
		}
		switch t := t.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 1 {
				if b.Len()+len(t) > limit {
					return "", errLimit
				}
				b.Write(t)
			}
		}
	}
	return b.String(), nil
}

func (d *requestDecoder) request() (req pushRequest, err error) {
	var iqID string
	defer func() {
		if err == nil {
			return
		}
		req = pushRequest{IQID: iqID} // an error reply still needs the iq's id
		var se *events.StanzaError
		switch {
		case errors.As(err, &se):
		case errors.Is(err, errLimit):
			err = errRequestTooLarge
		default:
			err = errMalformedRequest
		}
	}()
	root, err := d.next()
	if err != nil {
		return pushRequest{}, err
	}
	if root == nil {
		return pushRequest{}, errMalformedRequest
	}
	el := root
	if root.Name.Local == "iq" {
		iqID = attr(root, "id")
		req.IQID = iqID
		if t := attr(root, "type"); t != "set" {
			return pushRequest{}, errNotSet
		}
		if el, err = d.next(); err != nil {
			return pushRequest{}, err
		}
		if el == nil {
			return pushRequest{}, errNotPushRequest
		}
	}
	if el.Name.Space != NSPush || (el.Name.Local != "enable" && el.Name.Local != "disable") {
		return pushRequest{}, errNotPushRequest
	}
	req.Disable = el.Name.Local == "disable"
	req.JID = attr(el, "jid")
	req.Node = attr(el, "node")
	if req.JID == "" {
		return pushRequest{}, errMissingJID
	}
	if len(req.Node) > maxNodeLen {
		return pushRequest{}, errRequestTooLarge
	}
	if !req.Disable {
		if _, err := jid.Prepare(req.JID); err != nil {
			return pushRequest{}, errJIDMalformed
		}
	}
	var ext registry.ExtensionSettings
	seen := map[string]bool{}
	for {
		child, err := d.next()
		if err != nil {
			return pushRequest{}, err
		}
		if child == nil {
			break
		}
		if !req.Disable && req.Options.IsZero() && child.Name.Space == nsDataForms && child.Name.Local == "x" {
			if req.Options, err = d.form(child); err != nil {
				return pushRequest{}, err
			}
			continue
		}
		if !req.Disable {
			if done, err := d.extension(child, &ext, seen); err != nil {
				return pushRequest{}, err
			} else if done {
				continue
			}
		}
		if err := d.skip(); err != nil {
			return pushRequest{}, err
		}
	}
	if len(seen) > 0 {
		if req.Extensions, err = registry.NewExtensions(ext); err != nil {
			return pushRequest{}, err
		}
	}
	return req, nil
}

// extension is the oracle's reading of an <enable/> child in a
// tigase:push:* namespace, as pushRequest.Extensions documents it.
func (d *requestDecoder) extension(el *xml.StartElement, ext *registry.ExtensionSettings, seen map[string]bool) (bool, error) {
	key := el.Name.Space + " " + el.Name.Local
	switch key {
	case registry.NSFilterMuted + " muted", registry.NSFilterIgnoreUnknown + " ignore-unknown", registry.NSFilterGroupchat + " groupchat",
		registry.NSPriority + " priority", registry.NSEncrypt + " encrypt", registry.NSJingle + " jingle":
	default:
		return false, nil
	}
	if seen[key] {
		return true, d.skip()
	}
	seen[key] = true
	switch el.Name.Local {
	case "muted", "groupchat":
		ext.Groupchat = ext.Groupchat || el.Name.Local == "groupchat"
		for {
			item, err := d.next()
			if err != nil || item == nil {
				return true, err
			}
			if item.Name.Space == el.Name.Space && (item.Name.Local == "item" && el.Name.Local == "muted" || item.Name.Local == "room" && el.Name.Local == "groupchat") {
				if len(ext.Muted) == registry.MaxMuted && el.Name.Local == "muted" || len(ext.Rooms) == registry.MaxRooms && el.Name.Local == "groupchat" {
					return true, errTooManyExtItems
				}
				if _, err := jid.Prepare(attr(item, "jid")); err != nil {
					return true, errJIDMalformed
				}
				if el.Name.Local == "muted" {
					ext.Muted = append(ext.Muted, attr(item, "jid"))
				} else {
					allow := registry.AllowAlways
					if a := attr(item, "allow"); a != "" {
						switch a {
						case "mentioned":
							allow = registry.AllowMentioned
						case "never":
							allow = registry.AllowNever
						case "always":
						default:
							return true, errExtensionValue
						}
					}
					if len(attr(item, "nick")) > registry.MaxNickLen {
						return true, errExtensionValue
					}
					ext.Rooms = append(ext.Rooms, registry.Room{JID: attr(item, "jid"), Allow: allow, Nick: attr(item, "nick")})
				}
			}
			if err := d.skip(); err != nil {
				return true, err
			}
		}
	case "encrypt":
		if attr(el, "alg") != "aes-128-gcm" {
			return true, errEncryptAlg
		}
		enc := &registry.Encryption{Alg: "aes-128-gcm"}
		if ms := attr(el, "max-size"); ms != "" {
			n, err := strconv.Atoi(ms)
			if err != nil || n < 1 || n > registry.MaxEncryptMax {
				return true, errExtensionValue
			}
			enc.MaxSize = n
		}
		text, err := d.text(1024)
		if err != nil {
			return true, err
		}
		text = strings.Trim(text, " \t\r\n")
		raw, err := base64.StdEncoding.DecodeString(text)
		if err != nil || strings.ContainsAny(text, "\r\n") {
			raw, err = base64.RawStdEncoding.DecodeString(text)
		}
		if err != nil || len(raw) != 16 || strings.ContainsAny(text, "\r\n") {
			return true, errEncryptKey
		}
		copy(enc.Key[:], raw)
		ext.Encrypt = enc
		return true, nil
	case "ignore-unknown":
		ext.IgnoreUnknown = true
	case "priority":
		ext.Priority = true
	case "jingle":
		ext.Jingle = true
	}
	return true, d.skip()
}

func (d *requestDecoder) form(x *xml.StartElement) (registry.Form, error) {
	typ := attr(x, "type")
	var fields []registry.Field
	budget := maxFormBytes
	for {
		el, err := d.next()
		if err != nil {
			return registry.Form{}, err
		}
		if el == nil {
			return registry.NewForm(typ, fields...), nil
		}
		if el.Name.Space != nsDataForms || el.Name.Local != "field" {
			if err := d.skip(); err != nil {
				return registry.Form{}, err
			}
			continue
		}
		if len(fields) == maxFormFields {
			return registry.Form{}, errRequestTooLarge
		}
		fd := registry.Field{Var: attr(el, "var"), Type: attr(el, "type")}
		budget -= len(fd.Var) + len(fd.Type)
		for {
			v, err := d.next()
			if err != nil {
				return registry.Form{}, err
			}
			if v == nil {
				break
			}
			if v.Name.Space != nsDataForms || v.Name.Local != "value" {
				if err := d.skip(); err != nil {
					return registry.Form{}, err
				}
				continue
			}
			if len(fd.Values) == maxFieldValues {
				return registry.Form{}, errRequestTooLarge
			}
			s, err := d.text(max(budget, 0))
			if err != nil {
				return registry.Form{}, err
			}
			budget -= len(s)
			fd.Values = append(fd.Values, s)
		}
		if budget < 0 {
			return registry.Form{}, errRequestTooLarge
		}
		fields = append(fields, fd)
	}
}

func attr(el *xml.StartElement, name string) string {
	for _, a := range el.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// parseResultOracle is ParseResult on encoding/xml; it cuts the error
// text as ParseResult does.
func parseResultOracle(data []byte) (events.PublishResult, error) {
	if len(data) > MaxResultSize {
		return events.PublishResult{}, fmt.Errorf("%w: %d bytes", ErrNotResult, len(data))
	}
	d := &requestDecoder{tr: corpus.NewStrict(data)}
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
			case c.Name.Space == nsStanzas && c.Name.Local == "text":
				text, err := d.text(MaxResultSize)
				if err != nil {
					return events.PublishResult{}, fmt.Errorf("%w: %v", ErrNotResult, err)
				}
				res.Error.Text = cutOracle(text)
			case c.Name.Space == nsStanzas && !seen:
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

// cutOracle cuts s to MaxErrorText bytes, dropping what is left of a
// character cut in two.
func cutOracle(s string) string {
	if len(s) <= maxErrorText {
		return s
	}
	s = s[:maxErrorText]
	for len(s) > 0 {
		if r, n := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || n != 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}

package pushtest

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/pushrules/pushrules/push"
	"github.com/pushrules/pushrules/registry"
)

// This file holds the scenario keys of the <enable/> extensions: the
// "priority", "encrypted" and "jingle" keys of a push entry, the "roster"
// step, the "mention_nick_fallback" config key and the "features" check.

// traceEncrypted is an encrypted push's <encrypted/>, decrypted.
type traceEncrypted struct {
	// VoIP is whether the element says type='voip'.
	VoIP bool
	// Payload is the decrypted JSON object, re-encoded with sorted keys
	// (so that it compares as text).
	Payload json.RawMessage
}

// traceJingle is a call push's <jingle/>.
type traceJingle struct {
	Action, SID string
	Media       []string
}

// extendedEntry fills in tp's extension keys from the publish's XML,
// decrypting an <encrypted/> with the registration's key. Without a
// priority, encryption or Jingle it does nothing.
func extendedEntry(tp *tracePush, p *push.Publish) error {
	ext := p.Extensions
	if !ext.Priority() && !ext.Jingle() && !ext.Encrypted() {
		return nil
	}
	dec := xml.NewDecoder(bytes.NewReader(p.AppendXML(nil)))
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("the publish's XML: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name {
		case xml.Name{Space: registry.NSPriority, Local: "priority"}:
			var text string
			if err := dec.DecodeElement(&text, &se); err != nil {
				return err
			}
			tp.Priority = text
		case xml.Name{Space: registry.NSEncrypt, Local: "encrypted"}:
			var el struct {
				IV   string `xml:"iv,attr"`
				Type string `xml:"type,attr"`
				Data string `xml:",chardata"`
			}
			if err := dec.DecodeElement(&el, &se); err != nil {
				return err
			}
			enc, _ := ext.Encryption()
			payload, err := decrypt(enc.Key, el.IV, el.Data)
			if err != nil {
				return err
			}
			tp.Encrypted = &traceEncrypted{VoIP: el.Type == "voip", Payload: payload}
		case xml.Name{Space: registry.NSJingle, Local: "jingle"}:
			var el struct {
				Action string   `xml:"action,attr"`
				SID    string   `xml:"sid,attr"`
				Media  []string `xml:"media"`
			}
			if err := dec.DecodeElement(&el, &se); err != nil {
				return err
			}
			tp.Jingle = &traceJingle{Action: el.Action, SID: el.SID, Media: el.Media}
		}
	}
}

// decrypt opens an encrypted push the way a client does, with only the
// standard library: iv and data are the base64 of the <encrypted/>'s iv
// attribute and text (AES-128-GCM ciphertext, tag appended), key the one
// the client sent. It returns the JSON payload re-encoded with sorted
// keys.
func decrypt(key [registry.KeySize]byte, iv, data string) (json.RawMessage, error) {
	nonce, err1 := base64.StdEncoding.DecodeString(iv)
	sealed, err2 := base64.StdEncoding.DecodeString(data)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("encrypted push: base64: %w", err)
	}
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if len(nonce) != gcm.NonceSize() {
		return nil, fmt.Errorf("encrypted push: iv of %d bytes, want %d", len(nonce), gcm.NonceSize())
	}
	plain, err := gcm.Open(nil, nonce, sealed, nil)
	if err != nil {
		return nil, fmt.Errorf("encrypted push: %w", err)
	}
	return canonicalJSON(plain)
}

// canonicalJSON re-encodes a JSON object with sorted keys and no
// insignificant space.
func canonicalJSON(data []byte) (json.RawMessage, error) {
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("payload is not a JSON object: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// appendExtendedJSON appends the extension keys of a push entry.
func appendExtendedJSON(b []byte, p *tracePush) []byte {
	if p.Priority != "" {
		b = append(b, `, "priority": `...)
		b = appendString(b, p.Priority)
	}
	if e := p.Encrypted; e != nil {
		b = append(b, `, "encrypted": {"voip": `...)
		b = fmt.Appendf(b, "%t", e.VoIP)
		b = append(b, `, "payload": `...)
		b = append(b, e.Payload...)
		b = append(b, '}')
	}
	if j := p.Jingle; j != nil {
		b = append(b, `, "jingle": {"action": `...)
		b = appendString(b, j.Action)
		b = append(b, `, "sid": `...)
		b = appendString(b, j.SID)
		b = append(b, `, "media": [`...)
		for i, m := range j.Media {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendString(b, m)
		}
		b = append(b, "]}"...)
	}
	return b
}

// parseExtendedPush reads the extension keys of an expected push entry.
func parseExtendedPush(o *object, p *tracePush) error {
	var err error
	if v, ok := o.vals["priority"]; ok {
		if p.Priority, err = asString(v, `"push.priority"`); err != nil {
			return err
		}
		if p.Priority != "high" && p.Priority != "low" {
			return fmt.Errorf(`"push.priority" must be "high" or "low", not %q`, p.Priority)
		}
	}
	if v, ok := o.vals["encrypted"]; ok {
		e, err := fieldsOf(v, "push.encrypted", []string{"voip", "payload"}, nil)
		if err != nil {
			return err
		}
		p.Encrypted = &traceEncrypted{}
		if p.Encrypted.VoIP, err = asBool(e.vals["voip"], `"push.encrypted.voip"`); err != nil {
			return err
		}
		if !isObject(e.vals["payload"]) {
			return errors.New(`"push.encrypted.payload" must be an object`)
		}
		if p.Encrypted.Payload, err = canonicalJSON(e.vals["payload"]); err != nil {
			return err
		}
	}
	if v, ok := o.vals["jingle"]; ok {
		j, err := fieldsOf(v, "push.jingle", []string{"action", "sid", "media"}, nil)
		if err != nil {
			return err
		}
		p.Jingle = &traceJingle{}
		if p.Jingle.Action, err = asString(j.vals["action"], `"push.jingle.action"`); err != nil {
			return err
		}
		if p.Jingle.SID, err = asString(j.vals["sid"], `"push.jingle.sid"`); err != nil {
			return err
		}
		if p.Jingle.Media, err = asStrings(j.vals["media"], `"push.jingle.media"`); err != nil {
			return err
		}
	}
	return nil
}

// roster is the host's roster in a run: before a "roster" step for a
// user, everyone is in the user's roster.
type roster struct {
	mu    sync.Mutex
	users map[string]rosterAnswer
}

type rosterAnswer struct {
	contacts []string
	fails    bool
}

var _ push.Roster = (*roster)(nil)

// InRoster implements push.Roster.
func (r *roster) InRoster(_ context.Context, user, contact string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.users[user]
	switch {
	case !ok:
		return true, nil
	case a.fails:
		return false, errors.New("pushtest: the roster lookup fails (a roster step said so)")
	}
	return slices.ContainsFunc(a.contacts, func(c string) bool { return strings.EqualFold(c, contact) }), nil
}

func (r *roster) set(user string, a rosterAnswer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.users == nil {
		r.users = map[string]rosterAnswer{}
	}
	r.users[user] = a
}

// checkFeatures compares the engine's features with a check step's, in any
// order.
func checkFeatures(eng *push.Engine, want []string) (got []string, ok bool) {
	got = eng.Features()
	a, b := slices.Clone(got), slices.Clone(want)
	slices.Sort(a)
	slices.Sort(b)
	return got, slices.Equal(a, b)
}

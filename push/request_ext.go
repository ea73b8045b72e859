package push

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/jid"
	"github.com/pushrules/pushrules/registry"
)

// Errors an <enable/> can be refused with for its extension children (see
// pushRequest.Extensions), besides errJIDMalformed for a muted or room JID
// that is not valid. Like the errors of readRequest, they are
// *events.StanzaError values to answer as they are; their texts never hold
// the encryption key.
var (
	errEncryptAlg      = &events.StanzaError{Type: "modify", Condition: "feature-not-implemented", Text: "Unknown encryption algorithm"}
	errEncryptKey      = &events.StanzaError{Type: "modify", Condition: "bad-request", Text: "Invalid encryption key"}
	errExtensionValue  = &events.StanzaError{Type: "modify", Condition: "bad-request", Text: "Invalid push extension"}
	errTooManyExtItems = &events.StanzaError{Type: "modify", Condition: "not-acceptable", Text: "Too many filter items"}
)

// maxKeyText bounds the text of <encrypt/>: beyond, errRequestTooLarge.
const maxKeyText = 1024

// extBuilder collects the extension children of an <enable/>.
type extBuilder struct {
	s    registry.ExtensionSettings
	seen uint8 // which elements were read: the first of each counts
}

// Bits of extBuilder.seen.
const (
	seenMuted = 1 << iota
	seenIgnoreUnknown
	seenGroupchat
	seenPriority
	seenEncrypt
	seenJingle
)

// extension reads the <enable/> child just started into b when it is an
// extension element, and reports whether it was one (if not, nothing was
// read). A repeated extension element is skipped: the first counts.
func (d *decoder) extension(b *extBuilder) (bool, error) {
	space := d.s.Space()
	if !strings.HasPrefix(string(space), "tigase:push:") {
		return false, nil
	}
	var bit uint8
	switch local := string(d.s.Local()); {
	case string(space) == registry.NSFilterMuted && local == "muted":
		bit = seenMuted
	case string(space) == registry.NSFilterIgnoreUnknown && local == "ignore-unknown":
		bit = seenIgnoreUnknown
	case string(space) == registry.NSFilterGroupchat && local == "groupchat":
		bit = seenGroupchat
	case string(space) == registry.NSPriority && local == "priority":
		bit = seenPriority
	case string(space) == registry.NSEncrypt && local == "encrypt":
		bit = seenEncrypt
	case string(space) == registry.NSJingle && local == "jingle":
		bit = seenJingle
	default:
		return false, nil
	}
	if b.seen&bit != 0 {
		return true, d.skip()
	}
	b.seen |= bit
	switch bit {
	case seenMuted:
		return true, d.items(registry.NSFilterMuted, "item", func() error {
			if len(b.s.Muted) == registry.MaxMuted {
				return errTooManyExtItems
			}
			j := d.attr("jid")
			if _, err := jid.Prepare(j); err != nil {
				return errJIDMalformed
			}
			b.s.Muted = append(b.s.Muted, j)
			return nil
		})
	case seenGroupchat:
		b.s.Groupchat = true
		return true, d.items(registry.NSFilterGroupchat, "room", func() error {
			if len(b.s.Rooms) == registry.MaxRooms {
				return errTooManyExtItems
			}
			r := registry.Room{JID: d.attr("jid"), Nick: d.attr("nick")}
			if _, err := jid.Prepare(r.JID); err != nil {
				return errJIDMalformed
			}
			if a := d.attr("allow"); a != "" {
				var ok bool
				if r.Allow, ok = registry.ParseAllow(a); !ok {
					return errExtensionValue
				}
			}
			if len(r.Nick) > registry.MaxNickLen {
				return errExtensionValue
			}
			b.s.Rooms = append(b.s.Rooms, r)
			return nil
		})
	case seenEncrypt:
		if d.attr("alg") != registry.AlgAES128GCM {
			return true, errEncryptAlg
		}
		enc := &registry.Encryption{Alg: registry.AlgAES128GCM}
		if ms := d.attr("max-size"); ms != "" {
			n, err := strconv.Atoi(ms)
			if err != nil || n <= 0 || n > registry.MaxEncryptMax {
				return true, errExtensionValue
			}
			enc.MaxSize = n
		}
		var scratch [64]byte
		text, err := d.appendText(scratch[:0], maxKeyText, false)
		if err != nil {
			return true, err
		}
		if enc.Key, err = decodeKey(trimSpace(text)); err != nil {
			return true, err
		}
		b.s.Encrypt = enc
		return true, nil
	case seenIgnoreUnknown:
		b.s.IgnoreUnknown = true
	case seenPriority:
		b.s.Priority = true
	case seenJingle:
		b.s.Jingle = true
	}
	return true, d.skip()
}

// items reads the children of the element just started, handing each
// element named local in namespace space to item before skipping its
// content, and skipping the others.
func (d *decoder) items(space, local string, item func() error) error {
	for {
		ok, err := d.next()
		if err != nil || !ok {
			return err
		}
		if d.is(space, local) {
			if err := item(); err != nil {
				return err
			}
		}
		if err := d.skip(); err != nil {
			return err
		}
	}
}

// decodeKey decodes an encryption key: standard base64 of KeySize bytes,
// padded or not.
func decodeKey(text []byte) (key [registry.KeySize]byte, err error) {
	enc := base64.StdEncoding
	if len(text) == base64.RawStdEncoding.EncodedLen(registry.KeySize) {
		enc = base64.RawStdEncoding
	} else if len(text) != enc.EncodedLen(registry.KeySize) {
		return key, errEncryptKey
	}
	var raw [registry.KeySize + 2]byte
	if n, err := enc.Decode(raw[:], text); err != nil || n != registry.KeySize {
		return key, errEncryptKey
	}
	copy(key[:], raw[:])
	return key, nil
}

// trimSpace cuts XML white space from both ends of b.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && strings.IndexByte(" \t\r\n", b[0]) >= 0 {
		b = b[1:]
	}
	for len(b) > 0 && strings.IndexByte(" \t\r\n", b[len(b)-1]) >= 0 {
		b = b[:len(b)-1]
	}
	return b
}

// extensions returns what b collected.
func (b *extBuilder) extensions() (registry.Extensions, error) {
	if b.seen == 0 {
		return registry.Extensions{}, nil
	}
	e, err := registry.NewExtensions(b.s)
	if err != nil {
		return registry.Extensions{}, errExtensionValue // not reached: every part was checked
	}
	return e, nil
}

// appendExtensions appends the extension children that give e back.
func appendExtensions(b []byte, e registry.Extensions) []byte {
	if e.IsZero() {
		return b
	}
	s := e.Settings()
	if len(s.Muted) > 0 {
		b = append(b, "<muted xmlns='"+registry.NSFilterMuted+"'>"...)
		for _, m := range s.Muted {
			b = append(b, "<item jid='"...)
			b = appendEscaped(b, m)
			b = append(b, "'/>"...)
		}
		b = append(b, "</muted>"...)
	}
	if s.IgnoreUnknown {
		b = append(b, "<ignore-unknown xmlns='"+registry.NSFilterIgnoreUnknown+"'/>"...)
	}
	if s.Groupchat {
		b = append(b, "<groupchat xmlns='"+registry.NSFilterGroupchat+"'>"...)
		for _, r := range s.Rooms {
			b = append(b, "<room jid='"...)
			b = appendEscaped(b, r.JID)
			b = append(b, "' allow='"...)
			b = append(b, r.Allow.String()...)
			if r.Nick != "" {
				b = append(b, "' nick='"...)
				b = appendEscaped(b, r.Nick)
			}
			b = append(b, "'/>"...)
		}
		b = append(b, "</groupchat>"...)
	}
	if s.Priority {
		b = append(b, "<priority xmlns='"+registry.NSPriority+"'/>"...)
	}
	if enc := s.Encrypt; enc != nil {
		b = append(b, "<encrypt xmlns='"+registry.NSEncrypt+"' alg='"+registry.AlgAES128GCM+"'"...)
		if enc.MaxSize > 0 {
			b = append(b, " max-size='"...)
			b = strconv.AppendInt(b, int64(enc.MaxSize), 10)
			b = append(b, '\'')
		}
		b = append(b, '>')
		b = base64.StdEncoding.AppendEncode(b, enc.Key[:])
		b = append(b, "</encrypt>"...)
	}
	if s.Jingle {
		b = append(b, "<jingle xmlns='"+registry.NSJingle+"'/>"...)
	}
	return b
}

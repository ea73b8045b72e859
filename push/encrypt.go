package push

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"hash/maphash"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/pushrules/pushrules/registry"
)

// defaultEncryptMaxSize is the size, in bytes, an encrypted payload's JSON
// is cut to fit when the client gave no max-size (Tigase's default).
const defaultEncryptMaxSize = 3000

// ivSize is the size of an AES-GCM nonce, sent as the iv attribute.
const ivSize = 12

// appendEncrypted appends the <encrypted/> element that replaces the
// summary form: AES-128-GCM, under the client's key and a fresh random IV,
// of the payload's JSON (appendPayloadJSON), the tag appended.
func (p *Publish) appendEncrypted(b []byte, enc registry.Encryption) []byte {
	var iv [ivSize]byte
	_, _ = rand.Read(iv[:]) // crypto/rand.Read never fails
	size := enc.MaxSize
	if size == 0 {
		size = defaultEncryptMaxSize
	}
	messages, _ := p.Counts()
	plain := appendPayloadJSON(make([]byte, 0, 256), p.Payload, messages, size)
	sealed := sealerOf(&enc.Key).Seal(plain[:0], iv[:], plain, nil) // in place
	b = append(b, "<encrypted xmlns='"+registry.NSEncrypt+"' iv='"...)
	b = base64.StdEncoding.AppendEncode(b, iv[:])
	if p.VoIP {
		b = append(b, "' type='voip'>"...)
	} else {
		b = append(b, "'>"...)
	}
	b = base64.StdEncoding.AppendEncode(b, sealed)
	return append(b, "</encrypted>"...)
}

// sealers keeps the AES-GCM of the keys used last, so that the pushes of
// one registration set its cipher up once (a quarter of an encrypted
// publish's time, and two allocations), not at every publish. It is a
// direct-mapped table of sealerSlots entries indexed by a hash of the key
// under a random seed (colliding keys only take turns, and nobody can
// choose keys that evict a given registration's), read and written with
// atomics: no lock is held. It keeps at most sealerSlots keys past the
// registrations that sent them (they stay in memory as long as a key held
// by a Publish would).
var sealers struct {
	seed  maphash.Seed
	slots [sealerSlots]atomic.Pointer[sealer]
}

const sealerSlots = 256

// sealer is a key and its AES-GCM, which is safe for concurrent use (its
// state is set up once and only read after).
type sealer struct {
	key  [registry.KeySize]byte
	aead cipher.AEAD
}

func init() { sealers.seed = maphash.MakeSeed() }

// sealerOf returns the AES-128-GCM of key, from sealers or made (and kept
// there).
func sealerOf(key *[registry.KeySize]byte) cipher.AEAD {
	slot := &sealers.slots[maphash.Comparable(sealers.seed, *key)%sealerSlots]
	if s := slot.Load(); s != nil && s.key == *key {
		return s.aead
	}
	block, _ := aes.NewCipher(key[:]) // a 16-byte key never fails
	aead, _ := cipher.NewGCM(block)   // nor does GCM over AES
	slot.Store(&sealer{key: *key, aead: aead})
	return aead
}

// appendPayloadJSON appends the JSON object an encrypted push carries:
// "unread" (the message count), then, when not empty (p may be nil), "type", "sender",
// "nickname", "message", "sid" and "media" (an array). The message is cut,
// on a character boundary, so that the whole object takes at most maxSize
// bytes; a cut never leaves an emoji modifier, a variation selector or a
// zero-width joiner without the character it belongs to (a skin-toned
// emoji goes whole or not at all), and a message with no room left is
// left out. Only a maxSize too small for the object without its message
// gives more than maxSize bytes.
func appendPayloadJSON(b []byte, p *Payload, unread, maxSize int) []byte {
	if p == nil {
		p = &Payload{}
	}
	start := len(b)
	b = append(b, `{"unread":`...)
	b = strconv.AppendInt(b, int64(unread), 10)
	b = appendJSONField(b, "type", p.Type)
	b = appendJSONField(b, "sender", p.Sender)
	b = appendJSONField(b, "nickname", p.Nickname)
	var buf [128]byte // room for a call's sid and media without allocating
	tail := appendJSONField(buf[:0], "sid", p.CallID)
	if p.CallMedia != "" {
		tail = append(tail, `,"media":[`...)
		for i, m := range strings.Fields(p.CallMedia) {
			if i > 0 {
				tail = append(tail, ',')
			}
			tail = appendJSONString(tail, m)
		}
		tail = append(tail, ']')
	}
	const field = len(`,"message":""`)
	if room := maxSize - (len(b) - start) - len(tail) - 1 - field; p.Message != "" && room > 0 {
		if msg := fit(p.Message, room); msg != "" {
			b = append(b, `,"message":`...)
			b = appendJSONString(b, msg)
		}
	}
	b = append(b, tail...)
	return append(b, '}')
}

// fit returns the longest prefix of s whose JSON string text takes at most
// room bytes (quotes not counted), cut before a whole character and never
// inside an emoji modifier or joiner sequence.
func fit(s string, room int) string {
	n, cut := 0, 0
	for cut < len(s) {
		c, w := utf8.DecodeRuneInString(s[cut:])
		if n += jsonRuneLen(c, w); n > room {
			break
		}
		cut += w
	}
	if cut == len(s) {
		return s
	}
	for cut > 0 {
		next, _ := utf8.DecodeRuneInString(s[cut:])
		last, w := utf8.DecodeLastRuneInString(s[:cut])
		if !joins(next) && last != zwj {
			break
		}
		cut -= w
	}
	return s[:cut]
}

const zwj = '\u200d'

// joins reports whether c belongs to the character before it: an emoji
// skin-tone modifier, a variation selector or a zero-width joiner.
func joins(c rune) bool {
	return c >= 0x1f3fb && c <= 0x1f3ff || c == 0xfe0e || c == 0xfe0f || c == zwj
}

// jsonRuneLen is the length in a JSON string, as appendJSONString writes
// it, of c decoded from w bytes.
func jsonRuneLen(c rune, w int) int {
	switch {
	case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
		return 2
	case c < 0x20, c == utf8.RuneError && w == 1: // \u00XX, \ufffd
		return 6
	}
	return w
}

func appendJSONField(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, value)
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes
// U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	last := 0 // s[last:i] is still to copy as it is
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if c >= utf8.RuneSelf && (r != utf8.RuneError || w > 1) {
			i += w
			continue
		}
		b = append(b, s[last:i]...)
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '\r':
			b = append(b, `\r`...)
		case c == '\t':
			b = append(b, `\t`...)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, `\ufffd`...)
		}
		i += w
		last = i
	}
	b = append(b, s[last:]...)
	return append(b, '"')
}

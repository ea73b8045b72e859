package push2

import (
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pushrules/pushrules/internal/xmlscan"
)

// defaultCap is the default size limit of an envelope, in bytes: the one
// mod_push2 uses, so that the encrypted, base64-encoded notification fits
// the 4 KB payloads of the push services.
const defaultCap = 2847

// bodyCut is the number of characters a body is cut to when the envelope
// is over its cap.
const bodyCut = 50

// Child classes of a message, for the minimisation steps.
const (
	keepKnown   = 1 << iota // kept by step 1: a namespace the devices read
	keepMinimal             // kept by step 3: body, stanza-id, call, invitation
	isBody                  // a <body/> in a stanza namespace
)

type child struct {
	start, end int
	class      uint8
}

// message is what AppendEnvelope and AppendPush read of a stanza.
type message struct {
	raw   []byte
	attrs []byte // the start tag's attributes, but its default namespace, as XML
	kids  []child
	body  []byte // the text of the first body
	call  bool   // a Jingle Message propose or retract
}

// parseMessage reads raw, one <message/> in no namespace, jabber:client or
// jabber:server. The message's attributes, children and body text are
// appended to attrs[:0], kids[:0] and body[:0], so that a caller's arrays
// on the stack spare the allocations.
func parseMessage(raw, attrs []byte, kids []child, body []byte) (message, error) {
	var s xmlscan.Scanner
	s.Reset(raw)
	m := message{raw: raw, kids: kids[:0], body: body[:0]}
	var bodies int
	found := false
	var scratch [128]byte
	for {
		prev := s.Offset()
		switch s.Next() {
		case xmlscan.StartElement:
			switch s.Depth() {
			case 1:
				if found || string(s.Local()) != "message" || !stanzaNS(s.Space()) {
					return message{}, fmt.Errorf("%w: not a single message", ErrStanza)
				}
				found, m.attrs = true, attrs[:0]
				for i := range s.NumAttr() {
					p, local := s.AttrName(i)
					if len(p) == 0 && string(local) == "xmlns" {
						continue
					}
					m.attrs = append(m.attrs, ' ')
					if len(p) > 0 {
						m.attrs = append(append(m.attrs, p...), ':')
					}
					m.attrs = append(append(m.attrs, local...), "='"...)
					m.attrs = appendEscaped(m.attrs, s.AppendAttrValue(scratch[:0], i))
					m.attrs = append(m.attrs, '\'')
				}
			case 2:
				ns, local := s.Space(), s.Local()
				c := child{start: prev, class: classOf(ns, local)}
				if c.class&isBody != 0 {
					bodies++
				}
				if (string(ns) == nsJMI0 || string(ns) == nsJMI1) && (string(local) == "propose" || string(local) == "retract") {
					m.call = true
				}
				m.kids = append(m.kids, c)
			}
		case xmlscan.EndElement:
			if s.Depth() == 1 {
				m.kids[len(m.kids)-1].end = s.Offset()
			}
		case xmlscan.CharData:
			if s.Depth() == 2 && bodies == 1 && m.kids[len(m.kids)-1].class&isBody != 0 {
				m.body = s.AppendText(m.body)
			} else if s.Depth() == 0 && !isSpace(s.Text()) {
				return message{}, fmt.Errorf("%w: text around the message", ErrStanza)
			}
		case xmlscan.Comment, xmlscan.ProcInst:
		case xmlscan.EOF:
			if !found {
				return message{}, fmt.Errorf("%w: no message", ErrStanza)
			}
			return m, nil
		default:
			return message{}, fmt.Errorf("%w: malformed or beyond the scanner", ErrStanza)
		}
	}
}

func stanzaNS[T string | []byte](ns T) bool {
	return string(ns) == "" || string(ns) == nsClient || string(ns) == nsServer
}

func classOf(ns, local []byte) uint8 {
	switch {
	case stanzaNS(ns) && string(local) == "body":
		return keepKnown | keepMinimal | isBody
	case string(ns) == nsSID:
		if string(local) == "stanza-id" {
			return keepKnown | keepMinimal
		}
		return 0
	case string(ns) == nsJMI0 || string(ns) == nsJMI1 || string(ns) == nsConf:
		return keepKnown | keepMinimal
	}
	switch string(ns) {
	case "", nsClient, nsServer, "jabber:x:oob", "eu.siacs.conversations.axolotl", "urn:xmpp:omemo:0",
		"urn:xmpp:omemo:2", "jabber:x:encrypted", "urn:xmpp:openpgp:0", nsSCE:
		return keepKnown
	}
	return 0
}

// AppendEnvelope appends the XEP-0420 envelope of stanza, the raw XML of one
// <message/> (in no namespace, jabber:client or jabber:server), forwarded
// (XEP-0297) as a jabber:client message with its attributes:
//
//	<envelope xmlns='urn:xmpp:sce:1'><content><forwarded xmlns='urn:xmpp:forward:0'>
//	<message xmlns='jabber:client' ...>...</message></forwarded></content><rpad>...</rpad></envelope>
//
// When the envelope is over limit bytes (0 means 2847 bytes), it is cut down
// in steps, each taken only while still over: (1) drop the children in
// namespaces devices do not read (all but the stanza namespaces, OOB,
// XEP-0359 stanza-id, OMEMO, OpenPGP, jabber:x:encrypted, SCE, Jingle
// Message, direct MUC invitations); (2) when the first body is over
// 50 characters, replace the bodies by one: that body without its
// quoted lines (those starting with '>'), trimmed, and cut to 50
// characters (never inside a character, and backed off so as not to split
// a combining sequence, an emoji sequence or a flag) followed by "…";
// (3) keep only the body, the stanza-id, Jingle Message and invitations.
// Other children are copied byte for byte; text between them is dropped.
//
// An envelope under limit/3 bytes gets min(150, limit/3 − size) random bytes
// from rand as <rpad/> (base64), so that small messages do not reveal their
// size (nil rand means crypto/rand.Reader). The error wraps ErrStanza for a stanza the scanner refuses,
// ErrTooLarge for a limit over 4079 bytes or an envelope still over limit
// after step 3 (dst is then returned unchanged), ErrRandom when rand fails.
func AppendEnvelope(dst, stanza []byte, limit int, rand io.Reader) ([]byte, error) {
	var attrs, body [256]byte
	var kids [16]child
	m, err := parseMessage(stanza, attrs[:0], kids[:0], body[:0])
	if err != nil {
		return dst, err
	}
	return m.appendEnvelope(dst, limit, rand)
}

func (m *message) appendEnvelope(dst []byte, limit int, rand io.Reader) ([]byte, error) {
	if limit == 0 {
		limit = defaultCap
	}
	if limit < 0 || limit > maxPlaintext {
		return dst, fmt.Errorf("%w: limit %d not in 1..%d", ErrTooLarge, limit, maxPlaintext)
	}
	orig, start := dst, len(dst)
	body, cut := "", false
	for step := 0; ; step++ {
		switch step {
		case 2:
			if utf8.RuneCount(m.body) > bodyCut {
				body, cut = cutBody(string(m.body)), true
			}
		case 4:
			return orig, fmt.Errorf("%w: %d bytes after minimisation, limit %d", ErrTooLarge, len(dst)-start+len(envelopeEnd), limit)
		}
		dst = m.appendStep(dst[:start], step, body, cut)
		if len(dst)-start+len(envelopeEnd) <= limit {
			break
		}
	}
	size := len(dst) - start + len(envelopeEnd)
	n := min(150, limit/3-size)
	if n <= 0 || size+len("<rpad></rpad>")+base64.StdEncoding.EncodedLen(n) > limit {
		return append(dst, envelopeEnd...), nil
	}
	// The random bytes are read into dst's spare capacity, past where
	// their base64 goes, rather than into an array the reader would make
	// escape.
	dst = append(dst, "<rpad>"...)
	enc := base64.StdEncoding.EncodedLen(n)
	dst = slices.Grow(dst, enc+n)
	pad := dst[len(dst)+enc : len(dst)+enc+n]
	if _, err := io.ReadFull(source(rand), pad); err != nil {
		return orig, fmt.Errorf("%w: %v", ErrRandom, err)
	}
	dst = base64.StdEncoding.AppendEncode(dst, pad)
	dst = append(dst, "</rpad>"...)
	return append(dst, envelopeEnd...), nil
}

const envelopeEnd = "</envelope>"

// appendStep appends the envelope, without its end tag, with the children
// minimisation step keeps; when cut, body replaces the bodies.
func (m *message) appendStep(dst []byte, step int, body string, cut bool) []byte {
	dst = append(dst, "<envelope xmlns='"+nsSCE+"'><content><forwarded xmlns='"+nsForward+"'><message xmlns='"+nsClient+"'"...)
	dst = append(dst, m.attrs...)
	dst = append(dst, '>')
	bodyDone := false
	for _, c := range m.kids {
		switch {
		case step >= 3 && c.class&keepMinimal == 0, step >= 1 && c.class&keepKnown == 0:
			continue
		case cut && c.class&isBody != 0:
			if !bodyDone {
				dst = append(dst, "<body>"...)
				dst = appendEscaped(dst, body)
				dst = append(dst, "</body>"...)
				bodyDone = true
			}
			continue
		}
		dst = append(dst, m.raw[c.start:c.end]...)
	}
	return append(dst, "</message></forwarded></content>"...)
}

// cutBody drops the quoted lines of a body, trims it and cuts it to
// bodyCut characters followed by "…" when it is still longer.
func cutBody(s string) string {
	lines := strings.Split(s, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(l, ">") {
			kept = append(kept, l)
		}
	}
	s = strings.TrimSpace(strings.Join(kept, "\n"))
	if utf8.RuneCountInString(s) <= bodyCut {
		return s
	}
	return s[:cutIndex(s, bodyCut)] + "…"
}

// cutIndex returns the byte index after the first n characters of s (which
// has more), moved back to the start of the grapheme cluster it would
// otherwise split, when that is not the start of s.
func cutIndex(s string, n int) int {
	i := 0
	for range n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	for j := i; j > 0; {
		r, _ := utf8.DecodeRuneInString(s[j:])
		prev, size := utf8.DecodeLastRuneInString(s[:j])
		if !extends(r) && prev != 0x200D && !(isRegional(r) && oddRegionals(s[:j])) {
			return j
		}
		j -= size
		if j == 0 {
			break
		}
	}
	return i
}

// extends reports whether r continues the grapheme cluster before it: a
// combining mark, a zero-width joiner, a variation selector, an emoji
// skin-tone modifier or a tag character.
func extends(r rune) bool {
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc) || r == 0x200D ||
		r >= 0xFE00 && r <= 0xFE0F || r >= 0xE0100 && r <= 0xE01EF ||
		r >= 0x1F3FB && r <= 0x1F3FF || r >= 0xE0020 && r <= 0xE007F
}

func isRegional(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }

// oddRegionals reports whether s ends with an odd run of regional
// indicators: the next one would complete a flag.
func oddRegionals(s string) bool {
	n := 0
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if !isRegional(r) {
			break
		}
		n++
		s = s[:len(s)-size]
	}
	return n%2 == 1
}

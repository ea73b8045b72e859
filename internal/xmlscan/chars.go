package xmlscan

// The character level of the scanner: names, text, attribute values,
// references.

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

func skipSpace(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanName scans the name at d[i]. It reports false for anything left to
// encoding/xml: a name with a byte beyond ASCII, one that does not start
// with a letter or '_', or one with a colon that is not a single separator
// between two non-empty parts.
func scanName(d []byte, i int) (end, colon int, ok bool) {
	if i >= len(d) || charClass[d[i]]&cNameStart == 0 {
		return 0, 0, false
	}
	colon = -1
	j := i + 1
	for ; j < len(d); j++ {
		b := d[j]
		if charClass[b]&cName == 0 {
			if b >= utf8.RuneSelf {
				return 0, 0, false
			}
			break
		}
		if b == ':' {
			if colon >= 0 {
				return 0, 0, false
			}
			colon = j
		}
	}
	if colon == j-1 {
		return 0, 0, false
	}
	return j, colon, true
}

// Character classes.
const (
	cNameStart = 1 << iota // starts a name the scanner takes: [A-Za-z_]
	cName                  // continues a name: [A-Za-z0-9_.:-]
	cPlain                 // a character needing no attention
	cHigh                  // the first byte of a multi-byte UTF-8 character
)

var charClass = func() (t [256]uint8) {
	for b := 0; b < 256; b++ {
		switch {
		case b >= utf8.RuneSelf:
			t[b] = cHigh
		case b < ' ' && b != '\t' && b != '\n':
			// Control characters are invalid; '\r' needs normalising.
		case b == '<' || b == '&' || b == ']' || b == '\'' || b == '"':
		default:
			t[b] = cPlain
		}
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', b == '_':
			t[b] |= cNameStart | cName
		case '0' <= b && b <= '9', b == '.', b == '-', b == ':':
			t[b] |= cName
		}
	}
	return t
}()

// scanText scans character data from d[i] up to the next '<' or the end
// of d. esc reports references or carriage returns, which need decoding.
func scanText(d []byte, i int) (end int, esc, ok bool) {
	for i < len(d) {
		if i+8 <= len(d) {
			m := special8(binary.LittleEndian.Uint64(d[i:]), '<', '&', ']')
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		b := d[i]
		if charClass[b]&cPlain != 0 {
			i++
			continue
		}
		switch b {
		case '<':
			return i, esc, true
		case '\'', '"':
			i++
		case ']':
			if i+2 < len(d) && d[i+1] == ']' && d[i+2] == '>' {
				return 0, false, false
			}
			i++
		case '&':
			_, n, ok := entity(d, i)
			if !ok {
				return 0, false, false
			}
			i += n
			esc = true
		case '\r':
			i++
			esc = true
		default:
			n, ok := validRune(d, i)
			if !ok {
				return 0, false, false
			}
			i += n
		}
	}
	return i, esc, true
}

// scanAttr scans an attribute value from d[i] up to the quote q, and
// returns the index of the quote.
func scanAttr(d []byte, i int, q byte) (end int, esc, ok bool) {
	for i < len(d) {
		if i+8 <= len(d) {
			m := special8(binary.LittleEndian.Uint64(d[i:]), '<', '&', q)
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		b := d[i]
		if charClass[b]&cPlain != 0 {
			i++
			continue
		}
		switch b {
		case q:
			return i, esc, true
		case '\'', '"', ']':
			i++
		case '&':
			_, n, ok := entity(d, i)
			if !ok {
				return 0, false, false
			}
			i += n
			esc = true
		case '\r':
			i++
			esc = true
		default: // '<', a control character or a multi-byte one
			n, ok := validRune(d, i)
			if !ok {
				return 0, false, false
			}
			i += n
		}
	}
	return 0, false, false
}

// special8 flags, in the high bit of each byte, the bytes of x (8 bytes
// of input, little-endian) that are not printable ASCII (0x20 to 0x7F) or
// are a, b or c. Flags above the lowest one may be spurious; the lowest is
// exact, so the first such byte is at bits.TrailingZeros64(m)/8, and none
// is there when the result is 0.
func special8(x uint64, a, b, c byte) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	m := x & highs                    // beyond ASCII
	m |= (x - ones*0x20) &^ x & highs // below 0x20
	v := x ^ (ones * uint64(a))
	m |= (v - ones) &^ v & highs
	v = x ^ (ones * uint64(b))
	m |= (v - ones) &^ v & highs
	v = x ^ (ones * uint64(c))
	m |= (v - ones) &^ v & highs
	return m
}

// validChars checks the characters of a CDATA section; esc reports
// carriage returns.
func validChars(b []byte) (esc, ok bool) {
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case charClass[c]&cPlain != 0, c == '<', c == '&', c == ']', c == '\'', c == '"':
			i++
		case c == '\r':
			esc = true
			i++
		default:
			n, ok := validRune(b, i)
			if !ok {
				return false, false
			}
			i += n
		}
	}
	return esc, true
}

// validRune checks the character at d[i], which is not plain ASCII, and
// returns its length.
func validRune(d []byte, i int) (int, bool) {
	if d[i] < utf8.RuneSelf {
		return 0, false // '<' in a value, or a control character
	}
	r, n := utf8.DecodeRune(d[i:])
	if r == utf8.RuneError && n == 1 || !isXMLChar(r) {
		return 0, false
	}
	return n, true
}

// isXMLChar reports whether r is a Char of XML 1.0 (as encoding/xml has it).
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// entity decodes the reference at d[i] == '&' and returns the character
// and the reference's length. It accepts the five predefined entities and
// character references to XML characters (a surrogate stands for U+FFFD).
func entity(d []byte, i int) (r rune, n int, ok bool) {
	j := i + 1
	if j < len(d) && d[j] == '#' {
		j++
		base := rune(10)
		if j < len(d) && d[j] == 'x' {
			base = 16
			j++
		}
		digits := j
		for ; j < len(d); j++ {
			c := d[j]
			var v rune
			switch {
			case '0' <= c && c <= '9':
				v = rune(c - '0')
			case base == 16 && 'a' <= c && c <= 'f':
				v = rune(c-'a') + 10
			case base == 16 && 'A' <= c && c <= 'F':
				v = rune(c-'A') + 10
			default:
				v = -1
			}
			if v < 0 {
				break
			}
			if r = r*base + v; r > utf8.MaxRune {
				return 0, 0, false
			}
		}
		if 0xD800 <= r && r <= 0xDFFF {
			r = utf8.RuneError // as string(rune(r)) gives, in encoding/xml
		}
		if j == digits || j >= len(d) || d[j] != ';' || !isXMLChar(r) {
			return 0, 0, false
		}
		return r, j + 1 - i, true
	}
	for k, name := range entityNames {
		if len(d)-j > len(name) && string(d[j:j+len(name)]) == name && d[j+len(name)] == ';' {
			return entityRunes[k], len(name) + 2, true
		}
	}
	return 0, 0, false
}

var (
	entityNames = [...]string{"lt", "gt", "amp", "apos", "quot"}
	entityRunes = [...]rune{'<', '>', '&', '\'', '"'}
)

// appendText appends b, validated by scanText, scanAttr or validChars,
// decoded: references replaced (when refs) and line ends normalised as
// encoding/xml does ("\r\n" and a lone "\r" become "\n").
func appendText(dst, b []byte, refs bool) []byte {
	for i := 0; i < len(b); {
		switch c := b[i]; {
		case c == '&' && refs:
			r, n, _ := entity(b, i)
			dst = utf8.AppendRune(dst, r)
			i += n
		case c == '\r':
			dst = append(dst, '\n')
			i++
			if i < len(b) && b[i] == '\n' {
				i++
			}
		default:
			j := i + 1
			for j < len(b) && b[j] != '\r' && (b[j] != '&' || !refs) {
				j++
			}
			dst = append(dst, b[i:j]...)
			i = j
		}
	}
	return dst
}

// Package jid holds the small amount of XMPP address handling the rules
// need: splitting a JID into its parts, checking that it is well formed, and
// comparing addresses after case-folding the local part and the domain.
//
// It is not a full RFC 7622 implementation (no PRECIS profiles): hosts hand
// the library addresses they have already prepared, and this package only
// has to reject what is plainly malformed and compare what is equal.
package jid

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// MaxPartLen is the largest size in bytes of each of the local part, the
// domain and the resource (RFC 7622 §3.2-3.4).
const MaxPartLen = 1023

// ErrMalformed reports an address that is not a valid JID.
var ErrMalformed = errors.New("jid: malformed address")

// JID is an address split into its parts. A zero Local or Resource means the
// part is absent.
type JID struct {
	Local, Domain, Resource string
}

// Parse splits s into its parts. It fails with ErrMalformed when a part
// that is announced by its separator is empty ("@d", "d/"), the domain is
// missing, a part is longer than MaxPartLen, or s is not UTF-8 or holds
// white space or control characters.
func Parse(s string) (JID, error) {
	if s == "" || !utf8.ValidString(s) {
		return JID{}, ErrMalformed
	}
	var j JID
	rest := s
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		j.Resource = rest[i+1:]
		rest = rest[:i]
		if j.Resource == "" {
			return JID{}, ErrMalformed
		}
	}
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		j.Local = rest[:i]
		rest = rest[i+1:]
		if j.Local == "" {
			return JID{}, ErrMalformed
		}
	}
	j.Domain = strings.TrimSuffix(rest, ".")
	if j.Domain == "" || j.Domain[0] == '.' || j.Domain[len(j.Domain)-1] == '.' || strings.Contains(j.Domain, "..") || len(j.Local) > MaxPartLen || len(j.Domain) > MaxPartLen || len(j.Resource) > MaxPartLen {
		return JID{}, ErrMalformed
	}
	if strings.ContainsAny(j.Local, "\"&'/:<>@ ") || strings.ContainsAny(j.Domain, "\"&'/<>@ ") {
		return JID{}, ErrMalformed
	}
	for _, r := range j.Local + j.Domain + j.Resource {
		if r < 0x20 || r == 0x7f {
			return JID{}, ErrMalformed
		}
	}
	return j, nil
}

// Bare returns the address without its resource: "local@domain" or "domain".
func (j JID) Bare() string {
	if j.Local == "" {
		return j.Domain
	}
	return j.Local + "@" + j.Domain
}

// FoldedBare returns the bare address with the local part and the domain
// case-folded, for comparing addresses.
func (j JID) FoldedBare() string {
	if j.Local == "" {
		return strings.ToLower(j.Domain)
	}
	return strings.ToLower(j.Local) + "@" + strings.ToLower(j.Domain)
}

// Bare returns the bare form of s: everything before the first '/'.
// It does not validate s.
func Bare(s string) string {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i]
	}
	return s
}

// Domain returns the domain part of s without validating it.
func Domain(s string) string {
	s = Bare(s)
	if i := strings.IndexByte(s, '@'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// Equal reports whether a and b are the same address once the local part
// and the domain are case-folded (the resource is compared exactly).
func Equal(a, b string) bool {
	if a == b {
		return true
	}
	ja, err := Parse(a)
	if err != nil {
		return false
	}
	jb, err := Parse(b)
	if err != nil {
		return false
	}
	return ja.Resource == jb.Resource && ja.FoldedBare() == jb.FoldedBare()
}

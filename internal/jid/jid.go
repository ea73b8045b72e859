// Package jid prepares XMPP addresses the way a server routes them
// (RFC 7622): it splits a JID into its parts and applies to each the
// preparation its slot calls for, so that two strings naming the same
// account, domain or resource prepare to the same JID.
//
//   - The localpart is prepared with the PRECIS UsernameCaseMapped profile
//     (RFC 8265: width mapping, case mapping, NFC; default-ignorable and
//     other code points outside the IdentifierClass are refused), and the
//     characters RFC 7622 §3.3.1 forbids there (" & ' / : < > @) are
//     refused after that mapping.
//   - The domainpart is prepared with IDNA2008 under the UTS #46 mapping
//     used for lookup (idna.Lookup: case and width folding, the ideographic
//     and full-width full stops U+3002, U+FF0E and U+FF61 mapped to '.',
//     default-ignorable code points removed, STD3 ASCII rules, hyphen,
//     joiner and Bidi checks), A-labels converted to U-labels as RFC 7622
//     §3.2 asks, and one trailing dot dropped. An IPv6 literal in brackets
//     and a dotted IPv4 address are accepted; the IPv6 one is written in its
//     canonical form.
//   - The resourcepart is prepared with the PRECIS OpaqueString profile
//     (RFC 8265: non-ASCII spaces mapped to U+0020, NFC; case kept).
//
// Every part must be at most MaxPartLen bytes once prepared. The package
// keeps no state and is safe for concurrent use.
package jid

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/secure/precis"
)

// MaxPartLen is the largest size in bytes of each of the local part, the
// domain and the resource once prepared (RFC 7622 §3.2-3.4).
const MaxPartLen = 1023

// ErrMalformed is wrapped by every error Prepare returns: the address is not
// a valid JID, or one of its parts is refused by its preparation or is too
// long. Test for it with errors.Is.
var ErrMalformed = errors.New("jid: malformed address")

// JID is an address split into its parts. An empty Local or Resource means
// the part is absent. A JID returned by Prepare holds the prepared parts.
type JID struct {
	Local, Domain, Resource string
}

// Prepare splits s into its parts as RFC 7622 §3.1 says (the resource starts
// after the first '/', the localpart ends at the first '@' before it) and
// prepares each part (see the package documentation). It fails with an
// error wrapping ErrMalformed, which names the part at fault, when s is
// not UTF-8, a part announced by its separator is empty ("@d", "d/"), the
// domain is missing or has an empty label, a part is refused by its
// preparation, or a prepared part is longer than MaxPartLen. Prepare of
// the String of a prepared JID gives that JID again.
func Prepare(s string) (JID, error) {
	raw, err := split(s)
	if err != nil {
		return JID{}, err
	}
	var j JID
	if raw.Local != "" {
		if j.Local, err = prepareLocal(raw.Local); err != nil {
			return JID{}, malformed("localpart", err)
		}
	}
	if j.Domain, err = prepareDomain(raw.Domain); err != nil {
		return JID{}, malformed("domainpart", err)
	}
	if raw.Resource != "" {
		if j.Resource, err = precis.OpaqueString.String(raw.Resource); err != nil {
			return JID{}, malformed("resourcepart", err)
		}
	}
	for _, p := range [...]struct{ name, s string }{{"localpart", j.Local}, {"domainpart", j.Domain}, {"resourcepart", j.Resource}} {
		if len(p.s) > MaxPartLen {
			return JID{}, malformed(p.name, fmt.Errorf("%d bytes once prepared, more than %d", len(p.s), MaxPartLen))
		}
	}
	return j, nil
}

func malformed(part string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrMalformed, part, err)
}

// split cuts s into its raw parts without preparing them.
func split(s string) (JID, error) {
	if !utf8.ValidString(s) {
		return JID{}, fmt.Errorf("%w: not UTF-8", ErrMalformed)
	}
	var j JID
	rest := s
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		j.Resource, rest = rest[i+1:], rest[:i]
		if j.Resource == "" {
			return JID{}, fmt.Errorf("%w: empty resourcepart after '/'", ErrMalformed)
		}
	}
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		j.Local, rest = rest[:i], rest[i+1:]
		if j.Local == "" {
			return JID{}, fmt.Errorf("%w: empty localpart before '@'", ErrMalformed)
		}
	}
	if rest == "" {
		return JID{}, fmt.Errorf("%w: no domainpart", ErrMalformed)
	}
	j.Domain = rest
	return j, nil
}

func prepareLocal(s string) (string, error) {
	p, err := precis.UsernameCaseMapped.String(s)
	if err != nil {
		return "", err
	}
	if i := strings.IndexAny(p, "\"&'/:<>@"); i >= 0 {
		return "", fmt.Errorf("%q is not allowed", p[i])
	}
	return p, nil
}

func prepareDomain(s string) (string, error) {
	if strings.HasPrefix(s, "[") {
		a, err := netip.ParseAddr(strings.TrimSuffix(s[1:], "]"))
		if !strings.HasSuffix(s, "]") || err != nil || !a.Is6() || a.Zone() != "" {
			return "", errors.New("not an IPv6 literal")
		}
		return "[" + a.String() + "]", nil
	}
	d, err := idna.Lookup.ToUnicode(s)
	if err != nil {
		return "", err
	}
	d = strings.TrimSuffix(d, ".")
	if d == "" || d[0] == '.' || d[len(d)-1] == '.' || strings.Contains(d, "..") {
		return "", errors.New("empty label")
	}
	return d, nil
}

// Bare returns the address without its resource: "local@domain" or
// "domain".
func (j JID) Bare() string {
	if j.Local == "" {
		return j.Domain
	}
	return j.Local + "@" + j.Domain
}

// String returns the address as text: "local@domain/resource", without the
// parts that are absent. For a JID from Prepare it is the prepared form of
// the address, which Prepare gives back unchanged.
func (j JID) String() string {
	if j.Resource == "" {
		return j.Bare()
	}
	return j.Bare() + "/" + j.Resource
}

// Bare returns the bare form of s: everything before the first '/'.
// It neither validates nor prepares s.
func Bare(s string) string {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i]
	}
	return s
}

// Domain returns the domain part of s as written, without validating or
// preparing it.
func Domain(s string) string {
	s = Bare(s)
	if i := strings.IndexByte(s, '@'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// Equal reports whether a and b are the same address once prepared. When
// either does not prepare, they are equal only when they are the same
// string.
func Equal(a, b string) bool {
	if a == b {
		return true
	}
	ja, err := Prepare(a)
	if err != nil {
		return false
	}
	jb, err := Prepare(b)
	return err == nil && ja == jb
}

// SameAccount reports whether service, a JID from Prepare, is the account
// user or the server of that account: the user's bare JID, a full JID of
// the account with any resource, or the account's domain (with or without a
// resource, which the server itself answers). user is the account's bare
// JID as the host names it; it is prepared before the comparison (a
// resource in it is ignored). When user does not prepare, its parts as
// written are compared instead.
func SameAccount(user string, service JID) bool {
	u, err := Prepare(user)
	if err != nil {
		if u, err = split(user); err != nil {
			return false
		}
	}
	if service.Domain != u.Domain {
		return false
	}
	return service.Local == "" || service.Local == u.Local
}

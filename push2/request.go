package push2

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"
)

// Request is a parsed <enable/> or <disable/> of urn:xmpp:push2:0, the
// registration the engine stores. It is a plain value: copies share the
// Matches, Filters and Claims slices, so treat a Request as immutable once
// built. Keys are held as bytes, not as parsed key objects. Store it with
// MarshalJSON/UnmarshalJSON; compare two with reflect.DeepEqual.
//
// ParseRequest only returns Requests that pass the checks listed there;
// UnmarshalJSON applies the same checks.
type Request struct {
	// Disable is set for a <disable/>; the other fields are then empty.
	Disable bool
	// Service is the push service's JID, a valid JID.
	Service string
	// Client is the opaque string the push service knows the device by
	// (Snikket sends the WebPush endpoint URL).
	Client string
	// Matches are the match rules, at least one for an enable.
	Matches []Match
}

// Match is one <match/>: when a stanza is pushed (Profile, Filters, Grace)
// and how (Send).
type Match struct {
	Profile MatchProfile
	// Grace is the <grace/> period, whole seconds from 0 to MaxGrace: no
	// push while another session of the user was active that recently. 0
	// when absent.
	Grace time.Duration
	// Filters are the per-chat filters, in request order.
	Filters []Filter
	Send    Send
}

// Filter mutes the chat JID unless the stanza mentions the user (Mention)
// or replies to the user (Reply).
type Filter struct {
	JID            string
	Mention, Reply bool
}

// Send is the <send/> of a match.
type Send struct {
	Profile SendProfile
	// UAPublic is the device's ECDH key, a 65-byte uncompressed P-256
	// point checked to be on the curve (SendEncrypted only).
	UAPublic [65]byte
	// AuthSecret is the device's RFC 8291 auth secret (SendEncrypted only).
	AuthSecret AuthSecret
	// VAPID is set when the client asked for an ES256 <jwt/>; JWTKey and
	// Claims are then the signing key and the client's claims.
	VAPID  bool
	JWTKey SigningKey
	Claims []Claim
}

// Claim is a client's <jwt-claim/>, copied into the VAPID token.
type Claim struct{ Name, Value string }

// AuthSecret is an RFC 8291 auth secret. Its fmt output is "[redacted]".
type AuthSecret [16]byte

// SigningKey is a P-256 private key as its 32-byte big-endian scalar. Its
// fmt output is "[redacted]".
type SigningKey [32]byte

// Format prints "[redacted]" for every verb.
func (AuthSecret) Format(f fmt.State, _ rune) { fmt.Fprint(f, "[redacted]") }

// Format prints "[redacted]" for every verb.
func (SigningKey) Format(f fmt.State, _ rune) { fmt.Fprint(f, "[redacted]") }

// PrivateKey returns k as an ECDSA key; the error wraps ErrKey for a
// scalar that is zero or not below the group order.
func (k SigningKey) PrivateKey() (*ecdsa.PrivateKey, error) {
	p, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), k[:])
	if err != nil {
		return nil, fmt.Errorf("%w: JWT key is not a P-256 scalar", ErrKey)
	}
	return p, nil
}

// MatchProfile is a match profile; the zero value is no profile.
type MatchProfile uint8

// The match profiles, urn:xmpp:push2:match:all, :important, :archived and
// :archived-with-body.
const (
	MatchAll MatchProfile = iota + 1
	MatchImportant
	MatchArchived
	MatchArchivedWithBody
)

var matchNames = [...]string{"", "all", "important", "archived", "archived-with-body"}

// String returns the profile's URN, or "" for an unknown value.
func (p MatchProfile) String() string {
	if p == 0 || int(p) >= len(matchNames) {
		return ""
	}
	return matchURN + matchNames[p]
}

func matchProfileOf(s string) MatchProfile {
	for p := MatchAll; int(p) < len(matchNames); p++ {
		if p.String() == s {
			return p
		}
	}
	return 0
}

// SendProfile is a send profile; the zero value is no profile.
type SendProfile uint8

// The send profiles: urn:xmpp:push2:send:notify-only:0 (an empty wake-up)
// and urn:xmpp:push2:send:sce+rfc8291+rfc8292:0 (the encrypted stanza).
const (
	SendNotifyOnly SendProfile = iota + 1
	SendEncrypted
)

// String returns the profile's namespace, or "" for an unknown value.
func (p SendProfile) String() string {
	switch p {
	case SendNotifyOnly:
		return sendURNNo
	case SendEncrypted:
		return sendURNEnc
	}
	return ""
}

func sendProfileOf(s string) SendProfile {
	switch s {
	case sendURNNo:
		return SendNotifyOnly
	case sendURNEnc:
		return SendEncrypted
	}
	return 0
}

// Features returns the disco#info features of Push 2.0 for a user's
// account: the namespace, then every match and send profile this package
// supports (mod_push2 lists only the namespace). The slice is new on every
// call.
func Features() []string {
	f := []string{NS}
	for p := MatchAll; p.String() != ""; p++ {
		f = append(f, p.String())
	}
	for p := SendNotifyOnly; p.String() != ""; p++ {
		f = append(f, p.String())
	}
	return f
}

// AppendXML appends r as the <enable/> or <disable/> element ParseRequest
// reads, which parses back to a Request equal to r. The error wraps
// ErrRequest when r fails ParseRequest's checks (a hand-built Request).
func (r *Request) AppendXML(b []byte) ([]byte, error) {
	if err := r.check(); err != nil {
		return b, fmt.Errorf("%w: %s", ErrRequest, err.Text)
	}
	if r.Disable {
		return append(b, "<disable xmlns='"+NS+"'/>"...), nil
	}
	b = append(b, "<enable xmlns='"+NS+"'><service>"...)
	b = appendEscaped(b, r.Service)
	b = append(b, "</service><client>"...)
	b = appendEscaped(b, r.Client)
	b = append(b, "</client>"...)
	for i := range r.Matches {
		m := &r.Matches[i]
		b = append(b, "<match profile='"...)
		b = append(b, m.Profile.String()...)
		b = append(b, "'>"...)
		if m.Grace > 0 {
			b = append(b, "<grace>"...)
			b = strconv.AppendInt(b, int64(m.Grace/time.Second), 10)
			b = append(b, "</grace>"...)
		}
		for _, f := range m.Filters {
			b = append(b, "<filter jid='"...)
			b = appendEscaped(b, f.JID)
			b = append(b, "'>"...)
			if f.Mention {
				b = append(b, "<mention/>"...)
			}
			if f.Reply {
				b = append(b, "<reply/>"...)
			}
			b = append(b, "</filter>"...)
		}
		var err error
		if b, err = m.Send.appendXML(b); err != nil {
			return b, err
		}
		b = append(b, "</match>"...)
	}
	return append(b, "</enable>"...), nil
}

func (s *Send) appendXML(b []byte) ([]byte, error) {
	b = append(b, "<send xmlns='"...)
	b = append(b, s.Profile.String()...)
	if s.Profile == SendNotifyOnly {
		return append(b, "'/>"...), nil
	}
	b = append(b, "'><ua-public>"...)
	b = base64.StdEncoding.AppendEncode(b, s.UAPublic[:])
	b = append(b, "</ua-public><auth-secret>"...)
	b = base64.StdEncoding.AppendEncode(b, s.AuthSecret[:])
	b = append(b, "</auth-secret>"...)
	if s.VAPID {
		key, err := s.JWTKey.PrivateKey()
		if err != nil {
			return b, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return b, fmt.Errorf("%w: JWT key", ErrKey)
		}
		b = append(b, "<jwt-alg>ES256</jwt-alg><jwt-key>"...)
		b = base64.StdEncoding.AppendEncode(b, der)
		b = append(b, "</jwt-key>"...)
		for _, c := range s.Claims {
			b = append(b, "<jwt-claim name='"...)
			b = appendEscaped(b, c.Name)
			b = append(b, "'>"...)
			b = appendEscaped(b, c.Value)
			b = append(b, "</jwt-claim>"...)
		}
	}
	return append(b, "</send>"...), nil
}

// UAKey returns the device's ECDH public key; the error wraps ErrKey when
// UAPublic is not a point on the curve.
func (s *Send) UAKey() (*ecdh.PublicKey, error) {
	k, err := ecdh.P256().NewPublicKey(s.UAPublic[:])
	if err != nil {
		return nil, fmt.Errorf("%w: ua-public is not a P-256 point", ErrKey)
	}
	return k, nil
}

// appendEscaped appends s escaped for text or an attribute quoted with '.
func appendEscaped[T string | []byte](b []byte, s T) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '&':
			esc = "&amp;"
		case '\'':
			esc = "&apos;"
		case '"':
			esc = "&quot;"
		case '\r':
			esc = "&#xD;"
		case '\n':
			esc = "&#xA;"
		case '\t':
			esc = "&#x9;"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		last = i + 1
	}
	return append(b, s[last:]...)
}

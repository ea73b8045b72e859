package push2

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/jid"
)

// Texts of errors that ParseRequest and check both give.
const (
	textUAPublic   = "ua-public is not a base64 P-256 public key"
	textJWTKey     = "jwt-key is not a base64 PKCS#8 P-256 key"
	textGraceRange = "Grace out of range"
)

// interpret applies the rules of an enable or disable to its tree.
func interpret(root *elem) (Request, error) {
	if root.space != NS || root.local != "enable" && root.local != "disable" {
		return Request{}, badRequest("Not an enable or disable of " + NS)
	}
	if root.local == "disable" {
		return Request{Disable: true}, nil
	}
	var r Request
	var seen uint8
	for _, k := range root.kids {
		if k.space != NS {
			continue
		}
		switch k.local {
		case "service", "client":
			bit := uint8(1)
			if k.local == "client" {
				bit = 2
			}
			if seen&bit != 0 {
				return Request{}, badRequest("Duplicate " + k.local)
			}
			seen |= bit
			if bit == 1 {
				r.Service = trim(k.text)
			} else {
				r.Client = trim(k.text)
			}
		case "match":
			if len(r.Matches) == maxMatches {
				return Request{}, notAcceptable("Too many matches")
			}
			m, err := interpretMatch(k)
			if err != nil {
				return Request{}, err
			}
			r.Matches = append(r.Matches, m)
		}
	}
	if err := r.check(); err != nil {
		return Request{}, err
	}
	return r, nil
}

func interpretMatch(e *elem) (Match, error) {
	var m Match
	name, ok := e.attr("profile")
	if !ok {
		return m, badRequest("Match without profile")
	}
	if m.Profile = matchProfileOf(name); m.Profile == 0 {
		return m, notImplemented("Unsupported match profile")
	}
	var graceSeen, sendSeen bool
	for _, k := range e.kids {
		switch {
		case k.space == NS && k.local == "grace":
			if graceSeen {
				return m, badRequest("Duplicate grace")
			}
			graceSeen = true
			g := trim(k.text)
			if g == "" || strings.Trim(g, "0123456789") != "" {
				return m, badRequest("Malformed grace")
			}
			g = strings.TrimLeft(g, "0")
			n := 0
			for i := 0; i < len(g); i++ {
				if n = n*10 + int(g[i]-'0'); n > maxGraceSecs {
					return m, notAcceptable(textGraceRange)
				}
			}
			m.Grace = time.Duration(n) * time.Second
		case k.space == NS && k.local == "filter":
			if len(m.Filters) == maxFilters {
				return m, notAcceptable("Too many filters")
			}
			f := Filter{}
			f.JID, _ = k.attr("jid")
			for _, c := range k.kids {
				if c.space == NS {
					f.Mention = f.Mention || c.local == "mention"
					f.Reply = f.Reply || c.local == "reply"
				}
			}
			m.Filters = append(m.Filters, f)
		case k.local == "send":
			if sendSeen {
				return m, badRequest("Duplicate send")
			}
			sendSeen = true
			var err error
			if m.Send, err = interpretSend(k); err != nil {
				return m, err
			}
		}
	}
	if !sendSeen {
		return m, badRequest("Match without send")
	}
	return m, nil
}

func interpretSend(e *elem) (Send, error) {
	s := Send{Profile: sendProfileOf(e.space)}
	switch s.Profile {
	case 0:
		return s, notImplemented("Unsupported send profile")
	case SendNotifyOnly:
		return s, nil
	}
	var fields [4]*elem // ua-public, auth-secret, jwt-alg, jwt-key
	names := [4]string{"ua-public", "auth-secret", "jwt-alg", "jwt-key"}
	for _, k := range e.kids {
		if k.space != sendURNEnc {
			continue
		}
		if k.local == "jwt-claim" {
			if len(s.Claims) == maxClaims {
				return s, notAcceptable("Too many jwt-claims")
			}
			name, _ := k.attr("name")
			s.Claims = append(s.Claims, Claim{Name: trim(name), Value: trim(k.text)})
			continue
		}
		for i, n := range names {
			if k.local == n {
				if fields[i] != nil {
					return s, badRequest("Duplicate " + n)
				}
				fields[i] = k
			}
		}
	}
	for i, n := range names[:2] {
		if fields[i] == nil {
			return s, badRequest("Missing " + n)
		}
	}
	ua, ok := decode64(fields[0].text)
	if !ok || len(ua) != len(s.UAPublic) {
		return s, badRequest(textUAPublic)
	}
	copy(s.UAPublic[:], ua)
	secret, ok := decode64(fields[1].text)
	if !ok || len(secret) != len(s.AuthSecret) {
		return s, badRequest("auth-secret is not 16 bytes of base64")
	}
	copy(s.AuthSecret[:], secret)
	switch alg, key := fields[2], fields[3]; {
	case alg == nil && (key != nil || len(s.Claims) > 0):
		return s, badRequest("jwt-key or jwt-claim without jwt-alg")
	case alg == nil:
	case trim(alg.text) != "ES256":
		return s, notImplemented("Unsupported jwt-alg: only ES256")
	case key == nil:
		return s, badRequest("jwt-alg without jwt-key")
	default:
		der, ok := decode64(key.text)
		if !ok {
			return s, badRequest(textJWTKey)
		}
		k, err := x509.ParsePKCS8PrivateKey(der)
		ek, isEC := k.(*ecdsa.PrivateKey)
		if err != nil || !isEC || ek.Curve != elliptic.P256() {
			return s, badRequest(textJWTKey)
		}
		raw, err := ek.Bytes()
		if err != nil || len(raw) != len(s.JWTKey) {
			return s, badRequest(textJWTKey)
		}
		copy(s.JWTKey[:], raw)
		s.VAPID = true
	}
	return s, nil
}

// check applies the rules every Request must follow, whether parsed,
// decoded from JSON or built by hand.
func (r *Request) check() *events.StanzaError {
	if r.Disable {
		if r.Service != "" || r.Client != "" || len(r.Matches) > 0 {
			return badRequest("A disable has no service, client or match")
		}
		return nil
	}
	switch {
	case r.Service == "":
		return badRequest("Missing service")
	case !cleanText(r.Service, 3*jid.MaxPartLen+2):
		return stanzaError("modify", "jid-malformed", "Malformed service JID")
	case r.Client == "":
		return badRequest("Missing client")
	case !cleanText(r.Client, maxTextLen):
		return notAcceptable("Client too long")
	case len(r.Matches) == 0:
		return badRequest("Missing match")
	case len(r.Matches) > maxMatches:
		return notAcceptable("Too many matches")
	}
	if _, err := jid.Prepare(r.Service); err != nil {
		return stanzaError("modify", "jid-malformed", "Malformed service JID")
	}
	for i := range r.Matches {
		if err := r.Matches[i].check(); err != nil {
			return err
		}
	}
	return nil
}

func (m *Match) check() *events.StanzaError {
	if m.Profile.String() == "" {
		return notImplemented("Unsupported match profile")
	}
	if m.Grace < 0 || m.Grace > maxGraceSecs*time.Second || m.Grace%time.Second != 0 {
		return notAcceptable(textGraceRange)
	}
	if len(m.Filters) > maxFilters {
		return notAcceptable("Too many filters")
	}
	for _, f := range m.Filters {
		if _, err := jid.Prepare(f.JID); err != nil || !cleanText(f.JID, 3*jid.MaxPartLen+2) {
			return stanzaError("modify", "jid-malformed", "Malformed filter JID")
		}
	}
	return m.Send.check()
}

func (s *Send) check() *events.StanzaError {
	switch s.Profile {
	case SendNotifyOnly:
		if s.UAPublic != ([65]byte{}) || s.AuthSecret != (AuthSecret{}) || s.VAPID || len(s.Claims) > 0 {
			return badRequest("A notify-only send has no keys")
		}
		return nil
	case SendEncrypted:
	default:
		return notImplemented("Unsupported send profile")
	}
	if _, err := s.UAKey(); err != nil {
		return badRequest(textUAPublic)
	}
	if !s.VAPID {
		if s.JWTKey != (SigningKey{}) || len(s.Claims) > 0 {
			return badRequest("jwt-key or jwt-claim without jwt-alg")
		}
		return nil
	}
	if _, err := s.JWTKey.PrivateKey(); err != nil {
		return badRequest(textJWTKey)
	}
	if len(s.Claims) > maxClaims {
		return notAcceptable("Too many jwt-claims")
	}
	for i, c := range s.Claims {
		switch {
		case c.Name == "":
			return badRequest("jwt-claim without name")
		case !cleanText(c.Name, maxTextLen) || !cleanText(c.Value, maxTextLen):
			return notAcceptable("jwt-claim too long")
		case c.Name == "sub" || c.Name == "iat" || c.Name == "exp":
			return badRequest("jwt-claim " + c.Name + " is set by the server")
		}
		for _, d := range s.Claims[:i] {
			if d.Name == c.Name {
				return badRequest("Duplicate jwt-claim")
			}
		}
	}
	return nil
}

// cleanText reports whether s is at most max bytes of XML characters with
// no surrounding white space: a value that survives AppendXML and a parse.
// An over-long value is its only failure in a parsed request.
func cleanText(s string, max int) bool {
	if len(s) > max || trim(s) != s || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return true
}

func trim(s string) string { return strings.Trim(s, " \t\n\r") }

// decode64 decodes standard base64, padded or not, ignoring surrounding
// white space.
func decode64(s string) ([]byte, bool) {
	s = trim(s)
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	b, err := enc.DecodeString(s)
	return b, err == nil
}

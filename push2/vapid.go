package push2

import (
	"crypto/ecdsa"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// vapidLifetime is the validity of a VAPID token: exp is iat plus this.
const vAPIDLifetime = time.Hour

// SignVAPID returns an RFC 8292 VAPID token: a JWT signed with ES256 (the
// signature as raw r ‖ s) whose claims are the client's, then "sub" (the
// contact URI of the server operator, such as "xmpp:example.org" or
// "mailto:..."), "iat" (now, in Unix seconds) and "exp" (iat +
// vapidLifetime). Claims named sub, iat or exp are overridden. The claims
// JSON has its keys sorted. The error wraps ErrKey for a key that is not
// P-256 or fails to sign.
func SignVAPID(key *ecdsa.PrivateKey, claims []Claim, sub string, now time.Time) (string, error) {
	return signVAPID(key, claims, sub, now.Unix())
}

func signVAPID(key *ecdsa.PrivateKey, claims []Claim, sub string, iat int64) (string, error) {
	if key == nil || key.Curve == nil || key.Curve.Params().Name != "P-256" {
		return "", fmt.Errorf("%w: VAPID needs a P-256 key", ErrKey)
	}
	m := make(map[string]any, len(claims)+3)
	for _, c := range claims {
		m[c.Name] = c.Value
	}
	m["sub"], m["iat"], m["exp"] = sub, iat, iat+int64(vAPIDLifetime/time.Second)
	payload, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("push2: VAPID claims: %w", err)
	}
	enc := base64.RawURLEncoding
	b := enc.AppendEncode(nil, []byte(`{"typ":"JWT","alg":"ES256"}`))
	b = append(b, '.')
	b = enc.AppendEncode(b, payload)
	digest := sha256.Sum256(b)
	r, s, err := ecdsa.Sign(crand.Reader, key, digest[:])
	if err != nil {
		return "", fmt.Errorf("%w: VAPID signature failed", ErrKey)
	}
	var sig [64]byte
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	b = append(b, '.')
	return string(enc.AppendEncode(b, sig[:])), nil
}

// AppendPush reuses a VAPID token, valid until its exp, for
// vapidWindow: a token is never sent with less than vapidMargin of its
// vapidLifetime left, which covers clocks that differ and a notification
// that waits in a queue. The windows are fixed in time for each
// registration (shifted by a hash of its key and claims, so that the
// registrations of a server renew their tokens at different moments): a
// token's iat is the start of the window that holds Push.Now, so the
// claims depend on Now and the registration alone, never on which pushes
// came before.
const (
	vapidMargin = 10 * time.Minute
	vapidWindow = vAPIDLifetime - vapidMargin
)

// maxVAPIDTokens bounds the token cache: at about 1 KB an entry (the
// token, the parsed key), 4 MB.
const maxVAPIDTokens = 4096

// vapidTokens is AppendPush's token cache, shared by all its callers.
var vapidTokens = vapidCache{max: maxVAPIDTokens}

// vapidCache keeps, per registration (a signing key, a sub and the
// client's claims), the last token signed and the parsed key, so that a
// push in the same window signs nothing and a push in a later one parses
// nothing. It is safe for concurrent use; it signs outside its lock. Full,
// it forgets an arbitrary entry for each new one.
type vapidCache struct {
	mu     sync.Mutex
	max    int
	tokens map[[32]byte]*vapidToken
}

// vapidToken is one cache entry; it is not changed once stored.
type vapidToken struct {
	key *ecdsa.PrivateKey
	pub []byte // the key's 65-byte uncompressed public point
	iat int64
	jwt string
}

// token returns the VAPID token of s for p (its contact and time), and
// the signer's public key (shared: not to be modified). The error wraps
// ErrKey.
func (c *vapidCache) token(s *Send, p *Push) (string, []byte, error) {
	prefix, contact := "", p.Contact
	if contact == "" {
		prefix, contact = "xmpp:", p.Domain
	}
	id := tokenID(s, prefix, contact)
	iat := windowStart(p.Now.Unix(), id)
	c.mu.Lock()
	old := c.tokens[id]
	c.mu.Unlock()
	if old != nil && old.iat == iat {
		return old.jwt, old.pub, nil
	}
	t := &vapidToken{iat: iat}
	if old != nil {
		t.key, t.pub = old.key, old.pub
	} else {
		key, err := s.JWTKey.PrivateKey()
		if err != nil {
			return "", nil, err
		}
		if t.pub, err = key.PublicKey.Bytes(); err != nil {
			return "", nil, fmt.Errorf("%w: JWT public key", ErrKey)
		}
		t.key = key
	}
	var err error
	if t.jwt, err = signVAPID(t.key, s.Claims, prefix+contact, iat); err != nil {
		return "", nil, err
	}
	c.mu.Lock()
	if c.tokens == nil {
		c.tokens = make(map[[32]byte]*vapidToken)
	}
	if _, ok := c.tokens[id]; !ok && len(c.tokens) >= c.max {
		for k := range c.tokens {
			delete(c.tokens, k)
			break
		}
	}
	c.tokens[id] = t
	c.mu.Unlock()
	return t.jwt, t.pub, nil
}

// tokenID identifies what a token signs and is signed with: a SHA-256 of
// the signing key, the sub claim (prefix + contact) and the client's
// claims, each length-prefixed.
func tokenID(s *Send, prefix, contact string) [32]byte {
	var buf [512]byte // grows onto the heap for long claims
	b := append(buf[:0], s.JWTKey[:]...)
	b = append(binary.AppendUvarint(b, uint64(len(prefix)+len(contact))), prefix...)
	b = append(b, contact...)
	for _, c := range s.Claims {
		b = appendField(appendField(b, c.Name), c.Value)
	}
	return sha256.Sum256(b)
}

func appendField(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// windowStart returns the start, in Unix seconds, of the registration id's
// window that holds the second unix.
func windowStart(unix int64, id [32]byte) int64 {
	w := int64(vapidWindow / time.Second)
	off := int64(binary.BigEndian.Uint64(id[:8]) % uint64(w))
	k := (unix - off) / w
	if (unix-off)%w < 0 {
		k--
	}
	return k*w + off
}

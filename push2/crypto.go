package push2

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/hkdf"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// RFC 8291/8188 framing: the record size announced in the header, and the
// largest plaintext one record holds (the record size less the AES-GCM tag
// and the 0x02 padding delimiter).
const (
	recordSize   = 4096
	MaxPlaintext = recordSize - 16 - 1
	headerLen    = 16 + 4 + 1 + 65
)

// Encrypt encrypts plaintext for the device whose ECDH key is uaPublic and
// whose auth secret is authSecret, as RFC 8291 (Web Push, aes128gcm
// content coding) has it, in a single record: it returns the RFC 8188
// header (a random 16-byte salt, record size 4096, and a fresh P-256 public
// key) followed by the ciphertext and its tag. rand supplies the salt and
// the ephemeral private key (nil means crypto/rand.Reader); the key is drawn by
// rejection sampling from its bytes, so a fixed reader gives a fixed
// output. The error wraps ErrKey for an auth secret that is not 16 bytes,
// ErrTooLarge for a plaintext over MaxPlaintext bytes, ErrRandom when rand
// fails.
func Encrypt(plaintext []byte, uaPublic *ecdh.PublicKey, authSecret []byte, rand io.Reader) ([]byte, error) {
	rand = source(rand)
	var salt [16]byte
	if _, err := io.ReadFull(rand, salt[:]); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRandom, err)
	}
	eph, err := newKey(rand)
	if err != nil {
		return nil, err
	}
	return encrypt(plaintext, uaPublic, authSecret, eph, salt[:])
}

// source returns r, or crypto/rand.Reader when r is nil.
func source(r io.Reader) io.Reader {
	if r == nil {
		return crand.Reader
	}
	return r
}

// newKey draws a P-256 private key from rand: 32 bytes, drawn again in
// the rare case they are zero or not below the group order.
func newKey(rand io.Reader) (*ecdh.PrivateKey, error) {
	var b [32]byte
	for range 64 {
		if _, err := io.ReadFull(rand, b[:]); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrRandom, err)
		}
		if k, err := ecdh.P256().NewPrivateKey(b[:]); err == nil {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: no P-256 key in 64 draws", ErrRandom)
}

// encrypt is Encrypt with the ephemeral key and the salt given.
func encrypt(plaintext []byte, uaPublic *ecdh.PublicKey, authSecret []byte, eph *ecdh.PrivateKey, salt []byte) ([]byte, error) {
	if len(authSecret) != 16 {
		return nil, fmt.Errorf("%w: auth secret is not 16 bytes", ErrKey)
	}
	if len(plaintext) > MaxPlaintext {
		return nil, fmt.Errorf("%w: %d bytes of plaintext, at most %d", ErrTooLarge, len(plaintext), MaxPlaintext)
	}
	if uaPublic == nil || uaPublic.Curve() != ecdh.P256() {
		return nil, fmt.Errorf("%w: ua public key is not a P-256 key", ErrKey)
	}
	shared, err := eph.ECDH(uaPublic)
	if err != nil {
		return nil, fmt.Errorf("%w: ECDH failed", ErrKey)
	}
	asPublic := eph.PublicKey().Bytes()
	gcm, nonce, err := contentKey(shared, authSecret, uaPublic.Bytes(), asPublic, salt)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, headerLen+len(plaintext)+1+gcm.Overhead())
	out = append(out, salt...)
	out = append(out, 0, 0, recordSize>>8, 0, byte(len(asPublic)))
	out = append(out, asPublic...)
	body := append(out[len(out):], plaintext...)
	body = append(body, 2)
	return gcm.Seal(out, nonce, body, nil), nil
}

// contentKey derives the AES-128-GCM key and the nonce of RFC 8291 §3.4
// and RFC 8188 §2.2 from the ECDH shared secret. The decryption in the
// tests follows the RFCs on its own, not this function.
func contentKey(shared, authSecret, uaPublic, asPublic, salt []byte) (cipher.AEAD, []byte, error) {
	info := make([]byte, 0, 14+65+65)
	info = append(info, "WebPush: info\x00"...)
	info = append(info, uaPublic...)
	info = append(info, asPublic...)
	ikm, err := hkdf.Key(sha256.New, shared, authSecret, string(info), 32)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: HKDF", ErrKey)
	}
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: HKDF", ErrKey)
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: HKDF", ErrKey)
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: HKDF", ErrKey)
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: AES", ErrKey)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: GCM", ErrKey)
	}
	return gcm, nonce, nil
}

// VAPIDLifetime is the validity of a VAPID token: exp is iat plus this.
const VAPIDLifetime = time.Hour

// SignVAPID returns an RFC 8292 VAPID token: a JWT signed with ES256 (the
// signature as raw r ‖ s) whose claims are the client's, then "sub" (the
// contact URI of the server operator, such as "xmpp:example.org" or
// "mailto:..."), "iat" (now, in Unix seconds) and "exp" (iat +
// VAPIDLifetime). Claims named sub, iat or exp are overridden. The claims
// JSON has its keys sorted. The error wraps ErrKey for a key that is not
// P-256 or fails to sign.
func SignVAPID(key *ecdsa.PrivateKey, claims []Claim, sub string, now time.Time) (string, error) {
	if key == nil || key.Curve == nil || key.Curve.Params().Name != "P-256" {
		return "", fmt.Errorf("%w: VAPID needs a P-256 key", ErrKey)
	}
	m := make(map[string]any, len(claims)+3)
	for _, c := range claims {
		m[c.Name] = c.Value
	}
	iat := now.Unix()
	m["sub"], m["iat"], m["exp"] = sub, iat, iat+int64(VAPIDLifetime/time.Second)
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

package push2

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/hmac"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// RFC 8291 Appendix A, base64url.
const (
	vecUAPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
	vecUAPublic  = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
	vecASPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
	vecAuth      = "BTBZMqHH6r4Tts7J_aSIgg"
	vecSalt      = "DGv6ra1nlYgDCS1FRnbzlw"
	vecPlain     = "When I grow up, I want to be a watermelon"
	vecBody      = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)

func b64url(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vectorDevice returns the RFC 8291 user agent's private key and auth
// secret.
func vectorDevice(t testing.TB) (*ecdh.PrivateKey, []byte) {
	t.Helper()
	ua, err := ecdh.P256().NewPrivateKey(b64url(t, vecUAPrivate))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ua.PublicKey().Bytes(), b64url(t, vecUAPublic)) {
		t.Fatal("ua_public does not belong to ua_private")
	}
	return ua, b64url(t, vecAuth)
}

func TestEncryptRFC8291Vector(t *testing.T) {
	ua, auth := vectorDevice(t)
	as, err := ecdh.P256().NewPrivateKey(b64url(t, vecASPrivate))
	if err != nil {
		t.Fatal(err)
	}
	rec := append(append(b64url(t, vecSalt), make([]byte, headerLen-16)...), vecPlain...)
	got, err := sealWith(rec, ua.PublicKey(), auth, as)
	if err != nil {
		t.Fatal(err)
	}
	if want := b64url(t, vecBody); !bytes.Equal(got, want) {
		t.Fatalf("encrypt =\n%s\nwant\n%s", base64.RawURLEncoding.EncodeToString(got), vecBody)
	}
	// Encrypt with a reader holding the salt and then the key gives the
	// same bytes.
	r := bytes.NewReader(append(b64url(t, vecSalt), b64url(t, vecASPrivate)...))
	if got2, err := Encrypt([]byte(vecPlain), ua.PublicKey(), auth, r); err != nil || !bytes.Equal(got2, got) {
		t.Fatalf("Encrypt with the vector's salt and key = %x, %v", got2, err)
	}
}

// decryptAsDevice decrypts an aes128gcm body as a user agent does, failing
// the test on error.
func decryptAsDevice(t testing.TB, body []byte, ua *ecdh.PrivateKey, auth []byte) []byte {
	t.Helper()
	plain, err := deviceDecrypt(body, ua, auth)
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

// deviceDecrypt decrypts an aes128gcm body as a user agent does (RFC 8188
// §2, RFC 8291 §3.4), on the standard library alone: it shares no code
// with Encrypt.
func deviceDecrypt(body []byte, ua *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, fmt.Errorf("body of %d bytes", len(body))
	}
	salt, rs, idLen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if rs != 4096 || idLen != 65 || len(body) < 21+idLen {
		return nil, fmt.Errorf("header: rs %d, idlen %d", rs, idLen)
	}
	asPub, err := ecdh.P256().NewPublicKey(body[21 : 21+idLen])
	if err != nil {
		return nil, err
	}
	ecdhSecret, err := ua.ECDH(asPub)
	if err != nil {
		return nil, err
	}
	prkKey, _ := hkdf.Extract(sha256.New, ecdhSecret, auth)
	keyInfo := "WebPush: info\x00" + string(ua.PublicKey().Bytes()) + string(asPub.Bytes())
	ikm, _ := hkdf.Expand(sha256.New, prkKey, keyInfo, 32)
	prk, _ := hkdf.Extract(sha256.New, ikm, salt)
	cek, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	nonce, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, body[21+idLen:], nil)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	plain = bytes.TrimRight(plain, "\x00")
	if len(plain) == 0 || plain[len(plain)-1] != 2 {
		return nil, errors.New("no 0x02 delimiter: not the last record")
	}
	return plain[:len(plain)-1], nil
}

func TestEncryptRoundTrip(t *testing.T) {
	ua, auth := vectorDevice(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 15, 16, 17, 1000, defaultCap, maxPlaintext} {
		plain := make([]byte, n)
		for i := range plain {
			plain[i] = byte(rng.Uint32())
		}
		body, err := Encrypt(plain, ua.PublicKey(), auth, crand.Reader)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if len(body) != 86+n+1+16 {
			t.Errorf("%d bytes: body of %d bytes", n, len(body))
		}
		if got := decryptAsDevice(t, body, ua, auth); !bytes.Equal(got, plain) {
			t.Errorf("%d bytes: decrypted %x", n, got)
		}
		again, _ := Encrypt(plain, ua.PublicKey(), auth, nil) // nil: crypto/rand
		if bytes.Equal(again[:86], body[:86]) {
			t.Errorf("%d bytes: salt and key repeated", n)
		}
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestEncryptErrors(t *testing.T) {
	ua, auth := vectorDevice(t)
	p384, _ := ecdh.P384().GenerateKey(crand.Reader)
	tests := []struct {
		name  string
		plain int
		key   *ecdh.PublicKey
		auth  []byte
		rand  func() *bytes.Reader
		want  error
	}{
		{"short secret", 1, ua.PublicKey(), auth[:15], nil, ErrKey},
		{"long secret", 1, ua.PublicKey(), append(auth, 0), nil, ErrKey},
		{"nil key", 1, nil, auth, nil, ErrKey},
		{"P-384 key", 1, p384.PublicKey(), auth, nil, ErrKey},
		{"too large", maxPlaintext + 1, ua.PublicKey(), auth, nil, ErrTooLarge},
		{"reader ends in the salt", 1, ua.PublicKey(), auth, func() *bytes.Reader { return bytes.NewReader(make([]byte, 10)) }, ErrRandom},
		{"reader ends in the key", 1, ua.PublicKey(), auth, func() *bytes.Reader { return bytes.NewReader(make([]byte, 40)) }, ErrRandom},
		// 64 draws of the invalid scalar 0xFF...FF.
		{"reader of no key", 1, ua.PublicKey(), auth, func() *bytes.Reader { return bytes.NewReader(bytes.Repeat([]byte{0xff}, 16+64*32)) }, ErrRandom},
	}
	for _, tc := range tests {
		var r interface{ Read([]byte) (int, error) } = crand.Reader
		if tc.rand != nil {
			r = tc.rand()
		}
		_, err := Encrypt(make([]byte, tc.plain), tc.key, tc.auth, r)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), string(auth)) {
			t.Errorf("%s: error shows the secret", tc.name)
		}
	}
	if _, err := Encrypt(nil, ua.PublicKey(), auth, failingReader{}); !errors.Is(err, ErrRandom) {
		t.Errorf("failing reader: %v", err)
	}
}

// TestHMACSHA256 checks hmacSHA256 against crypto/hmac, with keys and
// messages around the block size and the stack buffer's size, and
// messages in pieces.
func TestHMACSHA256(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	bytesOf := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for _, keyLen := range []int{0, 1, 16, 32, 63, 64, 65, 200} {
		for _, msgLen := range []int{0, 1, 55, 56, 64, 145, 160, 161, 1000} {
			key, msg := bytesOf(keyLen), bytesOf(msgLen)
			h := hmac.New(sha256.New, key)
			h.Write(msg)
			want := h.Sum(nil)
			cut := msgLen / 3
			for _, parts := range [][][]byte{{msg}, {msg[:cut], nil, msg[cut:]}} {
				if got := hmacSHA256(key, parts...); !bytes.Equal(got[:], want) {
					t.Errorf("key %d, message %d in %d parts: %x, want %x", keyLen, msgLen, len(parts), got, want)
				}
			}
		}
	}
}

func TestNewKeyRejectsScalarsOutOfRange(t *testing.T) {
	valid := b64url(t, vecASPrivate)
	for _, bad := range [][]byte{make([]byte, 32), bytes.Repeat([]byte{0xff}, 32)} {
		k, err := newKey(bytes.NewReader(append(bad, valid...)))
		if err != nil || !bytes.Equal(k.Bytes(), valid) {
			t.Errorf("after %x: %v, %v", bad[:1], k, err)
		}
	}
}

func TestSignVAPID(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	claims := []Claim{{"aud", "https://push.example"}, {"sub", "mailto:ignored@example"}, {"x", "<&>"}}
	tok, err := SignVAPID(key, claims, "xmpp:example.org", now)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q", tok)
	}
	var header map[string]string
	if err := json.Unmarshal(b64url(t, parts[0]), &header); err != nil || header["alg"] != "ES256" || header["typ"] != "JWT" || len(header) != 2 {
		t.Errorf("header %v, %v", header, err)
	}
	var got map[string]any
	if err := json.Unmarshal(b64url(t, parts[1]), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"aud": "https://push.example", "sub": "xmpp:example.org", "x": "<&>",
		"iat": float64(now.Unix()), "exp": float64(now.Unix() + 3600)}
	if len(got) != len(want) {
		t.Errorf("claims %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("claim %s = %v, want %v", k, got[k], v)
		}
	}
	sig := b64url(t, parts[2])
	if len(sig) != 64 {
		t.Fatalf("signature of %d bytes", len(sig))
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(&key.PublicKey, digest[:], r, s) {
		t.Error("signature does not verify")
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if ecdsa.Verify(&other.PublicKey, digest[:], r, s) {
		t.Error("signature verifies with another key")
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), crand.Reader)
	for _, k := range []*ecdsa.PrivateKey{nil, p384} {
		if _, err := SignVAPID(k, nil, "xmpp:example.org", now); !errors.Is(err, ErrKey) {
			t.Errorf("key %v: %v", k != nil, err)
		}
	}
}

package push2

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	crand "crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"
)

// RFC 8291/8188 framing: the record size announced in the header, and the
// largest plaintext one record holds (the record size less the AES-GCM tag
// and the 0x02 padding delimiter).
const (
	recordSize   = 4096
	maxPlaintext = recordSize - 16 - 1
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
// ErrTooLarge for a plaintext over 4079 bytes (one 4096-byte record), ErrRandom when rand
// fails.
//
// The key pair is new for every call, as RFC 8291 §3.1 requires: a
// recorded payload stays secret even if a later key leaks. Its generation
// and the key agreement are most of the cost of an encrypted push.
func Encrypt(plaintext []byte, uaPublic *ecdh.PublicKey, authSecret []byte, rand io.Reader) ([]byte, error) {
	if len(authSecret) != 16 {
		return nil, fmt.Errorf("%w: auth secret is not 16 bytes", ErrKey)
	}
	if len(plaintext) > maxPlaintext {
		return nil, fmt.Errorf("%w: %d bytes of plaintext, at most %d", ErrTooLarge, len(plaintext), maxPlaintext)
	}
	if uaPublic == nil || uaPublic.Curve() != ecdh.P256() {
		return nil, fmt.Errorf("%w: ua public key is not a P-256 key", ErrKey)
	}
	rec := make([]byte, headerLen, headerLen+len(plaintext)+1+tagLen)
	return sealRecord(append(rec, plaintext...), uaPublic, authSecret, rand)
}

// tagLen is the size of the AES-GCM tag.
const tagLen = 16

// sealRecord encrypts a record in place: rec holds headerLen bytes to
// overwrite with the header, then at most maxPlaintext bytes of
// plaintext; uaPublic is a P-256 key and authSecret 16 bytes (Encrypt
// checks them, AppendPush has them by construction). It draws the salt
// and the ephemeral key from rand and returns rec with the header written
// and the plaintext, its 0x02 delimiter and the tag sealed; the result
// shares rec's array when its capacity has the 17 bytes more.
func sealRecord(rec []byte, uaPublic *ecdh.PublicKey, authSecret []byte, rand io.Reader) ([]byte, error) {
	rand = source(rand)
	if _, err := io.ReadFull(rand, rec[:16]); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRandom, err)
	}
	eph, err := newKey(rand)
	if err != nil {
		return nil, err
	}
	return sealWith(rec, uaPublic, authSecret, eph)
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

// sealWith is sealRecord with the salt already in rec[:16] and the
// ephemeral key given (the RFC's test vector fixes both).
func sealWith(rec []byte, uaPublic *ecdh.PublicKey, authSecret []byte, eph *ecdh.PrivateKey) ([]byte, error) {
	shared, err := eph.ECDH(uaPublic)
	if err != nil {
		return nil, fmt.Errorf("%w: ECDH failed", ErrKey)
	}
	asPublic := eph.PublicKey().Bytes()
	binary.BigEndian.PutUint32(rec[16:20], recordSize)
	rec[20] = byte(len(asPublic))
	copy(rec[21:headerLen], asPublic)
	cek, nonce := contentKey(shared, authSecret, uaPublic.Bytes(), asPublic, rec[:16])
	gcm, err := newGCM(cek)
	if err != nil {
		return nil, err
	}
	body := append(rec[headerLen:], 2)
	return gcm.Seal(rec[:headerLen], nonce[:], body, nil), nil
}

// contentKey derives the AES-128-GCM key and the nonce of RFC 8291 §3.4
// and RFC 8188 §2.2 from the ECDH shared secret, with HKDF-SHA256 (RFC
// 5869): every output is one block of HKDF-Expand, T(1). The decryption in
// the tests follows the RFCs with crypto/hkdf, not this function.
func contentKey(shared, authSecret, uaPublic, asPublic, salt []byte) (cek [16]byte, nonce [12]byte) {
	prkKey := hmacSHA256(authSecret, shared)
	ikm := hmacSHA256(prkKey[:], []byte(keyInfo), uaPublic, asPublic, []byte{1})
	prk := hmacSHA256(salt, ikm[:])
	t := hmacSHA256(prk[:], []byte(cekInfo))
	copy(cek[:], t[:])
	t = hmacSHA256(prk[:], []byte(nonceInfo))
	copy(nonce[:], t[:])
	return cek, nonce
}

// The HKDF info strings of RFC 8291 and RFC 8188; the last two end with
// the block counter 1.
const (
	keyInfo   = "WebPush: info\x00"
	cekInfo   = "Content-Encoding: aes128gcm\x00\x01"
	nonceInfo = "Content-Encoding: nonce\x00\x01"
)

// newGCM returns AES-128-GCM under key.
func newGCM(key [16]byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("%w: AES", ErrKey)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%w: GCM", ErrKey)
	}
	return gcm, nil
}

// hmacSHA256 returns HMAC-SHA256 (RFC 2104) under key of the
// concatenation of msg. It is what crypto/hmac computes, built on
// sha256.Sum256 so that its buffers stay on the stack: crypto/hkdf made
// contentKey cost about 10 µs and 45 allocations per push, this 2.4 µs
// and none, most of it SHA-256's 22 blocks. TestHMACSHA256 checks it
// against crypto/hmac.
func hmacSHA256(key []byte, msg ...[]byte) [32]byte {
	var k [sha256.BlockSize]byte
	if len(key) > len(k) {
		sum := sha256.Sum256(key)
		key = sum[:]
	}
	copy(k[:], key)
	var buf [sha256.BlockSize + 160]byte // grows onto the heap for longer messages
	b := buf[:sha256.BlockSize]
	subtle.XORBytes(b, k[:], ipad[:])
	for _, m := range msg {
		b = append(b, m...)
	}
	inner := sha256.Sum256(b)
	b = append(b[:sha256.BlockSize], inner[:]...)
	subtle.XORBytes(b, k[:], opad[:])
	return sha256.Sum256(b)
}

// The HMAC pads, read only.
var ipad, opad = pad(0x36), pad(0x5c)

func pad(c byte) (p [sha256.BlockSize]byte) {
	for i := range p {
		p[i] = c
	}
	return p
}

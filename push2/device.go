package push2

import (
	"bytes"
	"crypto/ecdh"
	"encoding/binary"
	"fmt"
)

// This file is the device's side, for hosts' tests and for example
// devices: opening what Encrypt and AppendEnvelope made.

// ErrDecrypt: a payload given to Decrypt is not one aes128gcm record
// encrypted for the key and auth secret given.
const ErrDecrypt Error = "push2: payload does not decrypt"

// Decrypt opens an aes128gcm payload (RFC 8188 header and one record) as
// the device with the private key ua and the auth secret authSecret does
// (RFC 8291), and returns the plaintext without its padding. The error
// wraps ErrDecrypt (a wrong key or secret, a damaged or truncated
// payload, more than one record) or ErrKey (an auth secret that is not 16
// bytes).
func Decrypt(payload []byte, ua *ecdh.PrivateKey, authSecret []byte) ([]byte, error) {
	if len(authSecret) != 16 {
		return nil, fmt.Errorf("%w: auth secret of %d bytes", ErrKey, len(authSecret))
	}
	if len(payload) < headerLen+16 || binary.BigEndian.Uint32(payload[16:20]) != recordSize || payload[20] != 65 {
		return nil, fmt.Errorf("%w: not an aes128gcm header of this profile", ErrDecrypt)
	}
	salt, asKey := payload[:16], payload[21:headerLen]
	as, err := ecdh.P256().NewPublicKey(asKey)
	if err != nil {
		return nil, fmt.Errorf("%w: sender key is not a P-256 point", ErrDecrypt)
	}
	shared, err := ua.ECDH(as)
	if err != nil {
		return nil, fmt.Errorf("%w: ECDH", ErrDecrypt)
	}
	cek, nonce := contentKey(shared, authSecret, ua.PublicKey().Bytes(), asKey, salt)
	gcm, err := newGCM(cek)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce[:], payload[headerLen:], nil)
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed", ErrDecrypt)
	}
	plain = bytes.TrimRight(plain, "\x00")
	if len(plain) == 0 || plain[len(plain)-1] != 2 {
		return nil, fmt.Errorf("%w: not the last record", ErrDecrypt)
	}
	return plain[:len(plain)-1], nil
}

// Forwarded returns the stanza an envelope forwards: the content of its
// <forwarded xmlns='urn:xmpp:forward:0'/>, as AppendEnvelope wrote it. The
// error wraps ErrStanza when there is none.
func Forwarded(envelope []byte) ([]byte, error) {
	const open, end = "<forwarded xmlns='" + nsForward + "'>", "</forwarded>"
	i := bytes.Index(envelope, []byte(open))
	j := bytes.LastIndex(envelope, []byte(end))
	if i < 0 || j < i+len(open) {
		return nil, fmt.Errorf("%w: no forwarded stanza in the envelope", ErrStanza)
	}
	return envelope[i+len(open) : j], nil
}

package push2

import (
	"bytes"
	"crypto/ecdh"
	"errors"
	"testing"
)

func TestDecrypt(t *testing.T) {
	ua, auth := vectorDevice(t)
	vector := b64url(t, vecBody)
	if got, err := Decrypt(vector, ua, auth); err != nil || string(got) != vecPlain {
		t.Fatalf("Decrypt(RFC 8291 Appendix A) = %q, %v", got, err)
	}
	other, err := ecdh.P256().GenerateKey(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(vector)
	flipped[len(flipped)-1] ^= 1
	wrongAuth := bytes.Clone(auth)
	wrongAuth[0] ^= 1
	for _, c := range []struct {
		name    string
		payload []byte
		key     *ecdh.PrivateKey
		auth    []byte
		want    error
	}{
		{"truncated", vector[:40], ua, auth, ErrDecrypt},
		{"tag flipped", flipped, ua, auth, ErrDecrypt},
		{"other device", vector, other, auth, ErrDecrypt},
		{"wrong auth secret", vector, ua, wrongAuth, ErrDecrypt},
		{"short auth secret", vector, ua, auth[:8], ErrKey},
	} {
		if _, err := Decrypt(c.payload, c.key, c.auth); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestForwarded(t *testing.T) {
	stanza := "<message from='romeo@example.net/orchard' to='juliet@example.org' type='chat'><body>hi</body></message>"
	env, err := AppendEnvelope(nil, []byte(stanza), 0, bytes.NewReader(make([]byte, 512)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Forwarded(env)
	want := "<message xmlns='jabber:client' from='romeo@example.net/orchard' to='juliet@example.org' type='chat'><body>hi</body></message>"
	if err != nil || string(got) != want {
		t.Fatalf("Forwarded = %q, %v; want %q", got, err, want)
	}
	if _, err := Forwarded([]byte("<envelope/>")); !errors.Is(err, ErrStanza) {
		t.Errorf("Forwarded of an envelope without a stanza: %v", err)
	}
}

// FuzzDecrypt: any payload decrypts to an error wrapping ErrDecrypt, or
// (only a genuine one) to its plaintext; never a panic.
func FuzzDecrypt(f *testing.F) {
	ua, auth := vectorDevice(f)
	f.Add(b64url(f, vecBody))
	f.Add([]byte{})
	f.Add(make([]byte, 120))
	f.Fuzz(func(t *testing.T, payload []byte) {
		plain, err := Decrypt(payload, ua, auth)
		if err != nil {
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("error %v does not wrap ErrDecrypt", err)
			}
			return
		}
		if string(plain) != vecPlain {
			t.Fatalf("a forged payload decrypted to %q", plain)
		}
	})
}

// Command push2 plays both ends of a Push 2.0 (urn:xmpp:push2:0) push: a
// device registers its keys with an <enable/>, the server (the push2
// package) builds the notification of a chat message, and the device
// checks the VAPID token, decrypts the payload and prints the stanza it
// carries. Keys are fresh on every run, so the payload differs; the rest of
// the transcript does not.
//
//	go run ./examples/push2
package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push2"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "push2:", err)
		os.Exit(1)
	}
}

// device is the phone: its message key pair, auth secret and VAPID key.
type device struct {
	key    *ecdh.PrivateKey
	secret []byte
	vapid  *ecdsa.PrivateKey
}

func newDevice() (*device, error) {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	vapid, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	d := &device{key: key, secret: make([]byte, 16), vapid: vapid}
	_, err = rand.Read(d.secret)
	return d, err
}

// enable returns the device's <enable/>.
func (d *device) enable() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(d.vapid)
	if err != nil {
		return nil, err
	}
	b64 := base64.StdEncoding.EncodeToString
	return []byte("<enable xmlns='urn:xmpp:push2:0'><service>push.example.org</service>" +
		"<client>https://push.example.org/wp/7f3e</client>" +
		"<match profile='urn:xmpp:push2:match:important'><grace>60</grace>" +
		"<send xmlns='urn:xmpp:push2:send:sce+rfc8291+rfc8292:0'>" +
		"<ua-public>" + b64(d.key.PublicKey().Bytes()) + "</ua-public>" +
		"<auth-secret>" + b64(d.secret) + "</auth-secret>" +
		"<jwt-alg>ES256</jwt-alg><jwt-key>" + b64(der) + "</jwt-key>" +
		"<jwt-claim name='aud'>https://push.example.org</jwt-claim>" +
		"</send></match></enable>"), nil
}

const stanza = `<message xmlns='jabber:client' from='romeo@montague.example/orchard' to='juliet@example.org' type='chat' id='m1'>` +
	`<body>But soft, what light through yonder window breaks?</body>` +
	`<stanza-id xmlns='urn:xmpp:sid:0' id='arch-1' by='juliet@example.org'/>` +
	`<x xmlns='urn:example:client-private'>state only the sender's client reads</x></message>`

func run(w io.Writer) error {
	phone, err := newDevice()
	if err != nil {
		return err
	}
	enable, err := phone.enable()
	if err != nil {
		return err
	}

	// The server parses the enable and stores it (as JSON) ...
	req, err := push2.ParseRequest(enable)
	if err != nil {
		return err
	}
	stored, err := json.Marshal(req)
	if err != nil {
		return err
	}
	var reg push2.Request
	if err := json.Unmarshal(stored, &reg); err != nil {
		return err
	}
	m := &reg.Matches[0]
	fmt.Fprintf(w, "registered: service %s, client %s, %s, grace %v, auth secret %v\n",
		reg.Service, reg.Client, m.Profile, m.Grace, m.Send.AuthSecret)

	// ... and later pushes a message that matches.
	st, err := events.ParseStanza([]byte(stanza))
	if err != nil {
		return err
	}
	if !m.Matches(&st, push2.Facts{Archived: true}) {
		return errors.New("the message does not match")
	}
	now := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	out, id, err := push2.AppendPush(nil, &reg, m, []byte(stanza), &push2.Push{
		Domain: "example.org", Now: now, Important: st.Important(), Rand: rand.Reader,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "notification: %d bytes, id is a UUID: %v\n", len(out), len(id) == 36)

	// The push service passes the payload and the token to the device.
	var n struct {
		To       string `xml:"to,attr"`
		Client   string `xml:"notification>client"`
		Priority string `xml:"notification>priority"`
		Payload  string `xml:"notification>encrypted>payload"`
		JWT      struct {
			Key   string `xml:"key,attr"`
			Token string `xml:",chardata"`
		} `xml:"notification>jwt"`
	}
	if err := xml.Unmarshal(out, &n); err != nil {
		return err
	}
	fmt.Fprintf(w, "to %s, client %s, priority %s\n", n.To, n.Client, n.Priority)
	claims, err := phone.verify(n.JWT.Key, n.JWT.Token)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "jwt verified: aud %v, sub %v, valid %v s\n", claims["aud"], claims["sub"], claims["exp"].(float64)-claims["iat"].(float64))
	body, err := base64.StdEncoding.DecodeString(n.Payload)
	if err != nil {
		return err
	}
	envelope, err := phone.decrypt(body)
	if err != nil {
		return err
	}
	var env struct {
		Message struct {
			Inner []byte `xml:",innerxml"`
		} `xml:"content>forwarded>message"`
	}
	if err := xml.Unmarshal(envelope, &env); err != nil {
		return err
	}
	fmt.Fprintf(w, "decrypted message content: %s\n", env.Message.Inner)
	fmt.Fprintf(w, "padded: %v\n", bytes.Contains(envelope, []byte("<rpad>")))

	// Had the push service failed, it would have answered with an error.
	reply, err := push2.ParseErrorReply([]byte("<message type='error' from='push.example.org' id='" + id + "'>" +
		"<error type='wait'><resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "an error answer to this push: same id %v, %v\n", reply.ID == id, &reply.Error)
	return nil
}

// verify checks the VAPID token against the key the notification names,
// which must be the device's own, and returns its claims.
func (d *device) verify(key, token string) (map[string]any, error) {
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return nil, err
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil || !pub.Equal(&d.vapid.PublicKey) {
		return nil, errors.New("jwt key is not the device's")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("malformed jwt")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return nil, errors.New("malformed jwt signature")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return nil, errors.New("jwt signature does not verify")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	return claims, json.Unmarshal(payload, &claims)
}

// decrypt opens an aes128gcm body of one record (RFC 8188, RFC 8291).
func (d *device) decrypt(body []byte) ([]byte, error) {
	if len(body) < 21+65 || body[20] != 65 || binary.BigEndian.Uint32(body[16:20]) != 4096 {
		return nil, errors.New("unexpected aes128gcm header")
	}
	salt := body[:16]
	server, err := ecdh.P256().NewPublicKey(body[21:86])
	if err != nil {
		return nil, err
	}
	shared, err := d.key.ECDH(server)
	if err != nil {
		return nil, err
	}
	info := "WebPush: info\x00" + string(d.key.PublicKey().Bytes()) + string(server.Bytes())
	ikm, err := hkdf.Key(sha256.New, shared, d.secret, info, 32)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, body[86:], nil)
	if err != nil {
		return nil, err
	}
	plain = bytes.TrimRight(plain, "\x00")
	if len(plain) == 0 || plain[len(plain)-1] != 2 {
		return nil, errors.New("missing last-record delimiter")
	}
	return plain[:len(plain)-1], nil
}

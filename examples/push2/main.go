// Command push2 plays a Push 2.0 (urn:xmpp:push2:0) push end to end
// through the push engine: a phone registers its keys with an <enable/>,
// hibernates, a chat message is queued for it, the engine's batch falls
// due and gives a notification, which the server renders and the phone
// (the device) checks: it verifies the VAPID token, decrypts the payload
// and prints the stanza it carries. The push service then answers with an
// error, which the engine counts. Keys are fresh on every run, so the
// payload differs; the rest of the transcript does not.
//
//	go run ./examples/push2
package main

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
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
	"github.com/pushrules/pushrules/push"
	"github.com/pushrules/pushrules/push2"
	"github.com/pushrules/pushrules/registry"
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

const phoneJID = "juliet@example.org/phone"

func run(w io.Writer) error {
	ctx := context.Background()
	phone, err := newDevice()
	if err != nil {
		return err
	}
	enable, err := phone.enable()
	if err != nil {
		return err
	}
	store := registry.NewMemory()
	engine, err := push.New(push.Config{Store: store})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "disco features: %s\n", strings.Join(engine.Push2Features(), " "))

	// The phone connects and enables Push 2.0; the engine stores the
	// registration under the phone's client.
	now := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	if _, err := engine.Handle(ctx, events.SessionOpened{Now: now, Session: phoneJID}); err != nil {
		return err
	}
	d, err := engine.Handle(ctx, events.IQ{Now: now, Session: phoneJID, ID: "en1", Payload: enable})
	if err != nil {
		return err
	}
	for _, r := range d.Replies {
		fmt.Fprintf(w, "server answers: %s\n", r.AppendXML(nil))
	}
	regs, err := store.Load(ctx, "juliet@example.org")
	if err != nil || len(regs) != 1 || regs[0].Push2 == nil {
		return fmt.Errorf("stored %d registrations: %v", len(regs), err)
	}
	m := &regs[0].Push2.Matches[0]
	fmt.Fprintf(w, "registered: client key %s, service %s, %s, grace %v, auth secret %v\n",
		regs[0].Client, regs[0].Push2.Service, m.Profile, m.Grace, m.Send.AuthSecret)

	// The phone's connection drops; a message is queued for it. The host
	// hands the engine the stanza's XML too (Raw), for the envelope.
	if _, err := engine.HibernationStart(ctx, events.HibernationStarted{Now: now.Add(time.Second), Session: phoneJID}); err != nil {
		return err
	}
	st, err := events.ParseStanza([]byte(stanza))
	if err != nil {
		return err
	}
	extra := st.Extras()
	extra.Raw = stanza // the XML a Push 2.0 notification forwards
	st.Extra = &extra
	d, err = engine.StanzaQueued(ctx, events.StanzaQueued{Now: now.Add(2 * time.Second), Session: phoneJID, Stanza: st})
	if err != nil {
		return err
	}
	d = engine.Wake(ctx, d.Wake)
	if len(d.Notifications) != 1 {
		return fmt.Errorf("%d notifications when the batch fell due", len(d.Notifications))
	}
	note := d.Notifications[0]
	out, err := note.AppendXML(nil, rand.Reader)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "notification after the batch window: %d bytes, id is a UUID: %v\n", len(out), len(note.ID) == 36)

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
	envelope, err := push2.Decrypt(body, phone.key, phone.secret)
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

	// The push service fails and answers with an error, matched by id and
	// sender: the engine counts it against the registration.
	reply, err := push2.ParseErrorReply([]byte("<message type='error' from='push.example.org' id='" + note.ID + "'>" +
		"<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"))
	if err != nil {
		return err
	}
	if _, err := engine.Handle(ctx, events.PublishResult{Now: now.Add(4 * time.Second), ID: reply.ID, From: reply.From, Error: &reply.Error}); err != nil {
		return err
	}
	if regs, err = store.Load(ctx, "juliet@example.org"); err != nil || len(regs) != 1 {
		return fmt.Errorf("after the error: %d registrations, %v", len(regs), err)
	}
	fmt.Fprintf(w, "the service answered %v: errors counted %d\n", &reply.Error, regs[0].Errors)
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

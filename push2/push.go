package push2

import (
	"fmt"
	"io"
	"time"
)

// Push holds what AppendPush needs beyond the registration and the stanza.
type Push struct {
	// Domain is the user's domain, the notification's from.
	Domain string
	// Contact is the VAPID sub claim, a contact URI for the server's
	// operator; "" gives "xmpp:" + Domain.
	Contact string
	// Now is the VAPID token's issue time.
	Now time.Time
	// Important is the engine's verdict on the stanza (events.Stanza's
	// Important): it makes the priority normal rather than low.
	Important bool
	// Cap is the envelope's size limit, 0 for DefaultCap.
	Cap int
	// ID is the notification's id; "" makes a fresh UUID with NewID. An
	// engine that matches the service's error answers by id sets its own.
	ID string
	// Call marks a Jingle Message propose or retract when no stanza is
	// given (a notify-only send needs none): high priority with <voip/>.
	Call bool
	// Rand is the random source of the id, the padding, the salt and the
	// ephemeral key; nil means crypto/rand.Reader.
	Rand io.Reader
}

// AppendPush appends the notification of stanza (the raw XML of one
// <message/>) for the registration req under its match m: its id (p.ID,
// or a fresh UUID; returned, to match the service's error answer), the
// priority (high with <voip/> for a Jingle Message propose or retract, in
// the stanza or by p.Call; normal when p.Important; low otherwise), for
// SendEncrypted the envelope encrypted for the device, and for a VAPID
// send a token signed with the client's key. A notify-only send needs no
// stanza (nil is accepted). It reads no clock and keeps nothing. On error
// dst is returned unchanged; the error wraps ErrRequest (a disable, or an
// unknown send profile), ErrStanza, ErrTooLarge, ErrKey or ErrRandom.
func AppendPush(dst []byte, req *Request, m *Match, stanza []byte, p *Push) ([]byte, string, error) {
	if req == nil || m == nil || p == nil {
		return dst, "", fmt.Errorf("%w: nil request, match or push", ErrRequest)
	}
	if req.Disable {
		return dst, "", fmt.Errorf("%w: a disable has no pushes", ErrRequest)
	}
	if m.Send.Profile.String() == "" {
		return dst, "", fmt.Errorf("%w: unknown send profile", ErrRequest)
	}
	s := &m.Send
	msg := &message{call: p.Call}
	if len(stanza) > 0 || s.Profile == SendEncrypted {
		var err error
		if msg, err = parseMessage(stanza); err != nil {
			return dst, "", err
		}
	}
	n := Notification{ID: p.ID, To: req.Service, From: p.Domain, Client: req.Client}
	var err error
	if n.ID == "" {
		if n.ID, err = NewID(p.Rand); err != nil {
			return dst, "", err
		}
	}
	switch {
	case msg.call || p.Call:
		n.Priority, n.VoIP = PriorityHigh, true
	case p.Important:
		n.Priority = PriorityNormal
	}
	if s.Profile == SendEncrypted {
		plain, err := msg.appendEnvelope(make([]byte, 0, len(stanza)+512), p.Cap, p.Rand)
		if err != nil {
			return dst, "", err
		}
		ua, err := s.UAKey()
		if err != nil {
			return dst, "", err
		}
		if n.Payload, err = Encrypt(plain, ua, s.AuthSecret[:], p.Rand); err != nil {
			return dst, "", err
		}
	}
	if s.VAPID {
		key, err := s.JWTKey.PrivateKey()
		if err != nil {
			return dst, "", err
		}
		sub := p.Contact
		if sub == "" {
			sub = "xmpp:" + p.Domain
		}
		if n.JWT, err = SignVAPID(key, s.Claims, sub, p.Now); err != nil {
			return dst, "", err
		}
		if n.JWTKey, err = key.PublicKey.Bytes(); err != nil {
			return dst, "", fmt.Errorf("%w: JWT public key", ErrKey)
		}
	}
	return AppendNotification(dst, n), n.ID, nil
}

package push2

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Push holds what AppendPush needs beyond the registration and the stanza.
type Push struct {
	// Domain is the user's domain, the notification's from.
	Domain string
	// Contact is the VAPID sub claim, a contact URI for the server's
	// operator; "" gives "xmpp:" + Domain.
	Contact string
	// Now is the time of the push, the event's: a VAPID token's iat is
	// Now rounded down to the start of its window (see AppendPush).
	Now time.Time
	// Important is the engine's verdict on the stanza (events.Stanza's
	// Important): it makes the priority normal rather than low.
	Important bool
	// Cap is the envelope's size limit, 0 for 2847 bytes.
	Cap int
	// ID is the notification's id; "" makes a fresh UUID with newID. An
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
// SendEncrypted the envelope encrypted for the device (with a new key pair
// every time, see Encrypt), and for a VAPID send a token signed with the
// client's key. A notify-only send needs no stanza (nil is accepted). It
// reads no clock and is safe for concurrent use.
//
// VAPID tokens are reused, as RFC 8292 allows until they expire:
// AppendPush keeps, in one cache shared by all its callers (safe for
// concurrent use) and bounded to 4096 registrations, the last token of
// each registration (its signing key, contact and claims) with the parsed
// key. A token (valid vapidLifetime, an hour) is sent for its first 50
// minutes, so it has at least 10 minutes left when sent. The 50-minute
// windows are fixed in time for each registration (shifted by a hash of
// its key and claims, so that registrations renew at different moments):
// iat is p.Now rounded down to the start of its window, and the claims
// depend on p.Now and the registration alone, not on earlier calls. A
// push in the same window signs nothing; the first in a later window
// signs again; a registration the cache does not hold (new, or forgotten
// when the cache was full) also has its key parsed. A deleted
// registration's key stays in the cache until it is forgotten.
//
// On error dst is returned unchanged; the error wraps ErrRequest (a
// disable, or an unknown send profile), ErrStanza, ErrTooLarge, ErrKey or
// ErrRandom.
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
	var msg message
	if len(stanza) > 0 || s.Profile == SendEncrypted {
		var attrs, body [256]byte
		var kids [16]child
		var err error
		if msg, err = parseMessage(stanza, attrs[:0], kids[:0], body[:0]); err != nil {
			return dst, "", err
		}
	}
	n := Notification{ID: p.ID, To: req.Service, From: p.Domain, Client: req.Client}
	var err error
	if n.ID == "" {
		if n.ID, err = newID(p.Rand); err != nil {
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
		buf := scratch.Get().(*[]byte)
		defer putScratch(buf)
		if n.Payload, err = msg.seal((*buf)[:0], s, p); err != nil {
			return dst, "", err
		}
		*buf = n.Payload[:0]
	}
	if s.VAPID {
		if n.JWT, n.JWTKey, err = vapidTokens.token(s, p); err != nil {
			return dst, "", err
		}
	}
	return AppendNotification(dst, n), n.ID, nil
}

// seal appends to buf the payload of an encrypted send: the envelope of
// m, encrypted for s's device.
func (m *message) seal(buf []byte, s *Send, p *Push) ([]byte, error) {
	rec, err := m.appendEnvelope(append(buf, make([]byte, headerLen)...), p.Cap, p.Rand)
	if err != nil {
		return nil, err
	}
	ua, err := s.UAKey()
	if err != nil {
		return nil, err
	}
	return sealRecord(rec, ua, s.AuthSecret[:], p.Rand)
}

// scratch holds the buffers AppendPush builds and encrypts envelopes in
// (*[]byte, so that Put does not allocate); putScratch drops those grown
// past a few records, which a very large stanza can make.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 2*recordSize); return &b }}

func putScratch(b *[]byte) {
	if cap(*b) <= 4*recordSize {
		scratch.Put(b)
	}
}

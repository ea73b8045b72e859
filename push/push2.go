package push

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/core"
	"github.com/pushrules/pushrules/internal/jid"
	"github.com/pushrules/pushrules/push2"
	"github.com/pushrules/pushrules/registry"
)

// This file wires Push 2.0 (package push2) into the engine. A Push 2.0
// registration is an ordinary registry.Registration with Push2 set, keyed
// by service and client (registry.Push2Identifier): it is stored, counted
// against MaxDevices, failed, expired and removed as a XEP-0357 one, and
// the rules give it the same triggers, batches and deduplication marks.
// Its pushes come out as Decisions.Notifications, which the host renders
// with Notification.AppendXML and sends as messages; the push service's
// error answers come back as events.PublishResult, matched by id and
// sender.

// Notification is one Push 2.0 push the engine decided: the host renders
// it with AppendXML and sends the <message/> to the push service, and
// feeds a <message type='error'/> answer back as an events.PublishResult
// (ID, From and the error from push2.ParseErrorReply). A Notification
// holds the device's secrets (through Request): never log it whole.
type Notification struct {
	// ID is the message id, a UUID the engine makes and recognises in the
	// service's answer.
	ID string
	// User is the bare JID of the user; Client the key of the
	// registration (the client id it was enabled under).
	User, Client string
	// Request is the registration, shared: do not modify it. Match is the
	// index in Request.Matches of the match that took the stanza.
	Request *push2.Request
	Match   int
	// Stanza is the stanza's XML (events.Stanza.Raw), "" when the host
	// gave none; Important is the engine's verdict on it; Call is set for
	// a call's proposal or end (high priority with <voip/>).
	Stanza          string
	Important, Call bool
	// Now is the time of the event that made the push. A VAPID token is
	// issued at Now rounded down to the registration's 50-minute window
	// (push2.AppendPush reuses it within the window).
	Now time.Time

	reg registry.Identifier
	gen uint64
}

// To returns the push service's JID, the message's to.
func (n *Notification) To() string { return n.Request.Service }

// AppendXML appends the notification <message/> to b: the forwarded
// stanza in an envelope encrypted for the device (for an encrypted send)
// and a VAPID token (when the client asked for one). rand is the source of
// the padding, the salt and the ephemeral key (nil: crypto/rand.Reader);
// with a deterministic rand the bytes are deterministic. On error b is
// returned unchanged and the error wraps a push2 Error (push2.ErrStanza
// for an encrypted send without a stanza); the text holds no secret.
func (n *Notification) AppendXML(b []byte, rand io.Reader) ([]byte, error) {
	if n.Request == nil || n.Match < 0 || n.Match >= len(n.Request.Matches) {
		return b, push2.ErrRequest
	}
	out, _, err := push2.AppendPush(b, n.Request, &n.Request.Matches[n.Match], []byte(n.Stanza), &push2.Push{
		ID: n.ID, Domain: jid.Domain(n.User), Now: n.Now, Important: n.Important, Call: n.Call, Rand: rand})
	return out, err
}

// Push2Features returns the disco#info features the user's account lists
// for Push 2.0: the namespace and the match and send profiles
// (push2.Features). Every Store keeps Push 2.0 registrations, so the
// engine always offers it; a host that does not want it neither lists
// these nor hands Push 2.0 requests in. The slice is new on every call.
func (e *Engine) Push2Features() []string {
	return push2.Features()
}

// notPush2 is push2.ParseRequest's text for an element that is no enable
// or disable of its namespace.
const notPush2 = "Not an enable or disable of " + push2.NS

// push2IQ answers an IQ that is a Push 2.0 request; it reports false for
// any other, which the XEP-0357 parser then answers. An enable is saved
// as a registration with ID Push2Identifier(service, key), a disable
// removes the registrations of the key, where the key is the client id
// of the requesting session, else its resource (push2Key); both go
// through the XEP-0357 enable's and disable's steps.
func (e *Engine) push2IQ(ctx context.Context, ev events.IQ, user string, d *Decisions) (bool, error) {
	if !bytes.Contains(ev.Payload, []byte(push2.NS)) {
		return false, nil
	}
	req, perr := push2.ParseRequest(ev.Payload)
	var se *events.StanzaError
	if errors.As(perr, &se) && se.Text == notPush2 {
		return false, nil
	}
	var err error
	switch {
	case perr != nil:
		if se == nil {
			se = errMalformedRequest
		}
	case req.Disable:
		se, err = e.disableWith(ctx, ev.Now, user, ev.Session, func(u *core.User) func(r *registry.Registration) bool {
			key := push2Key(u, ev.Session)
			return func(r *registry.Registration) bool {
				client, ok := r.ID.Push2Client()
				return ok && client == key
			}
		}, d)
	default:
		service, _ := jid.Prepare(req.Service) // push2.ParseRequest checked it
		if jid.SameAccount(user, service) {
			se = errOwnJID
			break
		}
		se, err = e.enableWith(ctx, ev.Now, user, ev.Session, func(u *core.User) registry.Registration {
			key := push2Key(u, ev.Session)
			return registry.Registration{User: user, ID: registry.Push2Identifier(req.Service, key), Client: key,
				Enabled: ev.Now, Generation: newGeneration(), Push2: &req}
		}, d)
	}
	d.Replies = append(d.Replies, Reply{Session: ev.Session, ID: ev.ID, Error: fresh(se)})
	return true, err
}

// push2Key is the key of the Push 2.0 registrations session full makes:
// the client id it opened with (events.SessionOpened.Client), else its
// resource.
func push2Key(u *core.User, full string) string {
	if c := clientOf(u, full); c != "" {
		return c
	}
	j, _ := jid.Prepare(full) // sessionUser checked it
	return j.Resource
}

// notify appends the Notification of the core's Push 2.0 publish p to d,
// with a wake-up for when it is a success if no error answers it.
func (e *Engine) notify(d *Decisions, p *core.Publish, now time.Time) {
	d.Notifications = append(d.Notifications, e.notification(p, now))
	d.wakeAt(timeoutLook(now.Add(e.cfg.PublishTimeout)))
}

// notification turns the core's Push 2.0 publish into a Notification with
// a fresh UUID id, remembered as a pending publish (with a retry state
// when retries are on) until its answer comes or PublishTimeout passes.
func (e *Engine) notification(p *core.Publish, now time.Time) Notification {
	client, _ := p.Registration.Push2Client()
	n := Notification{User: p.User, Client: client, Request: p.Push2, Match: p.Match,
		Stanza: p.Raw, Important: p.Important, Call: p.Call, Now: now, reg: p.Registration, gen: p.Generation}
	var rs *retryState
	if e.cfg.Errors.Retry.Attempts > 0 {
		rs = &retryState{note: new(Notification), first: now}
	}
	n.ID = e.sealUUID(now, &n, rs)
	if rs != nil {
		*rs.note = n // read only once the id is out, by the answer's event
	}
	return n
}

// sealUUID remembers the notification n (and its retry state rs, nil for
// none) as pending and returns its id: one sealed id block of its own
// (see sealID), written as a UUID (8-4-4-4-12 hexadecimal digits, which
// Push 2.0 services such as APNs gateways expect).
func (e *Engine) sealUUID(now time.Time, n *Notification, rs *retryState) string {
	shard := e.lockPending(pendingHome(n.User))
	ps := &e.pending[shard]
	e.expirePending(ps, now)
	expires := deadline(now, e.cfg.PublishTimeout)
	seq, dropped := ps.push(pendingPublish{user: n.User, id: n.reg, gen: n.gen, expires: expires}, true)
	if rs != nil {
		if ps.retries == nil {
			ps.retries = make(map[uint64]*retryState)
		}
		ps.retries[seq] = rs
	}
	if dropped {
		e.stats.publishesExpired.Add(1)
		e.count(PublishExpired, 1)
	}
	e.sealID(ps, seq, shard, 1)
	b := ps.block // sealID leaves the sealed block there
	ps.mu.Unlock()
	e.later.add(laterItem{due: time.Unix(0, expires), shard: int(shard)}) // a success then, unless an error came
	var text [36]byte
	return uuidText(&text, b[:])
}

// resendNote re-sends the notification of rs when its registration (one
// of regs) is still stored in the same life, with a new id; it reports
// whether it did.
func (e *Engine) resendNote(now time.Time, rs *retryState, regs []registry.Registration, d *Decisions) bool {
	n := *rs.note
	for i := range regs {
		if regs[i].ID == n.reg && regs[i].Generation == n.gen {
			n.Now = now
			n.ID = e.sealUUID(now, &n, rs)
			*rs.note = n
			d.Notifications = append(d.Notifications, n)
			d.wakeAt(timeoutLook(now.Add(e.cfg.PublishTimeout)))
			e.stats.publishesRetried.Add(1)
			return true
		}
	}
	return false
}

func uuidText(buf *[36]byte, b []byte) string {
	hex.Encode(buf[0:8], b[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], b[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], b[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], b[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:36], b[10:16])
	return string(buf[:])
}

// pendingOfUUID opens an id sealUUID made.
func (e *Engine) pendingOfUUID(id string) (ps *pendingShard, seq uint64, ok bool) {
	if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
		return nil, 0, false
	}
	var b [16]byte
	for i, r := range [...][2]int{{0, 8}, {9, 13}, {14, 18}, {19, 23}, {24, 36}} {
		off := [...]int{0, 4, 6, 8, 10}[i]
		if n, err := hex.Decode(b[off:], []byte(id[r[0]:r[1]])); err != nil || n != (r[1]-r[0])/2 {
			return nil, 0, false
		}
	}
	e.idKey.Decrypt(b[:], b[:])
	if [6]byte(b[10:]) != idCheck || b[8] >= pendingShards || b[9] != 1 {
		return nil, 0, false
	}
	return &e.pending[b[8]], binary.BigEndian.Uint64(b[:8]), true
}

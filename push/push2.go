package push

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/core"
	"github.com/pushrules/pushrules/internal/jid"
	"github.com/pushrules/pushrules/push2"
	"github.com/pushrules/pushrules/registry"
)

// This file wires Push 2.0 (package push2) into the engine. A Push 2.0
// registration is stored by a Store with the registry.Push2Store
// capability, keyed by client; the rules see it through its view
// (registry.Push2Registration.View) and give it the same triggers,
// batches and deduplication marks as a XEP-0357 registration. Its pushes
// come out as Decisions.Notifications, which the host renders with
// Notification.AppendXML and sends as messages; the push service's error
// answers come back as events.PublishResult, matched by id and sender.

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
	// Now is the time of the event that made the push, the VAPID token's
	// issue time.
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
// for Push 2.0 (the namespace and the match and send profiles): those of
// push2.Features when the Store keeps Push 2.0 registrations, none
// otherwise. The slice is new on every call.
func (e *Engine) Push2Features() []string {
	if _, ok := e.cfg.Store.(registry.Push2Store); !ok {
		return nil
	}
	return push2.Features()
}

// errPush2Unsupported answers a Push 2.0 <enable/> or <disable/> when the
// Store does not keep Push 2.0 registrations.
var errPush2Unsupported = &events.StanzaError{Type: "cancel", Condition: "feature-not-implemented", Text: "Push 2.0 is not offered"}

// notPush2 is push2.ParseRequest's text for an element that is no enable
// or disable of its namespace.
const notPush2 = "Not an enable or disable of " + push2.NS

// push2IQ answers an IQ that is a Push 2.0 request; it reports false for
// any other, which the XEP-0357 parser then answers. The registration's
// key is the resource of the requesting session.
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
	switch store, ok := e.cfg.Store.(registry.Push2Store); {
	case perr != nil:
		if se == nil {
			se = errMalformedRequest
		}
	case !ok:
		se = errPush2Unsupported
	case req.Disable:
		se, err = e.push2Change(ctx, ev, user, d, func(client string) ([]registry.Push2Registration, []registry.Push2Registration, bool, error) {
			removed, err := store.DeletePush2(ctx, user, client)
			return nil, removed, false, err
		})
	default:
		service, _ := jid.Prepare(req.Service) // push2.ParseRequest checked it
		if jid.SameAccount(user, service) {
			se = errOwnJID
			break
		}
		se, err = e.push2Change(ctx, ev, user, d, func(client string) ([]registry.Push2Registration, []registry.Push2Registration, bool, error) {
			reg := registry.Push2Registration{User: user, Client: client, Request: req, Enabled: ev.Now, Generation: newGeneration()}
			saved, evicted, err := store.SavePush2(ctx, reg, e.cfg.MaxDevices)
			return []registry.Push2Registration{saved}, evicted, saved.Generation != reg.Generation, err
		})
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

// push2Change runs a Store write of a Push 2.0 enable (saved holds the
// registration; replaced tells whether it was stored already) or disable,
// given the requesting session's key, in the user's turn; then binds the
// session to the saved registration, forgets the removed ones and records
// the changes.
func (e *Engine) push2Change(ctx context.Context, ev events.IQ, user string, d *Decisions,
	write func(client string) (saved, removed []registry.Push2Registration, replaced bool, err error)) (*events.StanzaError, error) {
	sh, u, err := e.begin(ctx, user, ev.Now)
	if err != nil {
		return errStorage, err
	}
	sh.mu.Lock()
	client := push2Key(&u.User, ev.Session)
	sh.mu.Unlock()
	saved, removed, replaced, werr := write(client)
	sh.finish()
	if werr == nil {
		views := make([]registry.Registration, len(removed))
		for i := range removed {
			views[i] = removed[i].View()
		}
		if len(saved) == 1 {
			view := saved[0].View()
			if err := e.rules.Enabled(ev.Now, &u.User, ev.Session, view, views, &sh.out); err != nil {
				e.stats.sessionsRefused.Add(1) // stored; the session is not bound
			}
			reason := ReasonEnabled
			if replaced {
				reason = ReasonReplaced
			}
			e.changes(d, ev.Now, ev.Session, reason, []registry.Registration{view})
			e.changes(d, ev.Now, ev.Session, ReasonEvicted, views)
		} else {
			e.rules.Removed(ev.Now, &u.User, views, &sh.out)
			e.changes(d, ev.Now, ev.Session, ReasonDisabled, views)
		}
		e.emit(sh, user, ev.Now, d)
	}
	e.end(sh, user, u)
	if werr != nil {
		return errStorage, e.storeError(ctx, "push2: write", user, werr)
	}
	if e.cfg.Logger.Enabled(ctx, slog.LevelDebug) {
		e.cfg.Logger.Debug("push2: registration changed", "user", user, "enabled", len(saved), "removed", len(removed))
	}
	return nil, nil
}

// loadPush2 appends the views of the user's Push 2.0 registrations to
// dst when the Store keeps them.
func (e *Engine) loadPush2(ctx context.Context, user string, dst []registry.Registration) ([]registry.Registration, error) {
	store, ok := e.cfg.Store.(registry.Push2Store)
	if !ok {
		return dst, nil
	}
	regs, err := store.LoadPush2(ctx, user)
	for i := range regs {
		dst = append(dst, regs[i].View())
	}
	return dst, err
}

// deletePush2User removes the user's Push 2.0 registrations and adds
// their views to removed.
func (e *Engine) deletePush2User(ctx context.Context, user string, removed []registry.Registration) ([]registry.Registration, error) {
	store, ok := e.cfg.Store.(registry.Push2Store)
	if !ok {
		return removed, nil
	}
	regs, err := store.DeleteUserPush2(ctx, user)
	for i := range regs {
		removed = append(removed, regs[i].View())
	}
	return removed, err
}

// countPush2Error counts an error answer to a notification and removes
// the registration when the run of errors reaches the limit of its kind or
// has lasted ErrorPolicy.FailureSpan, as countError does for XEP-0357. A
// Push 2.0 service answers errors only, so a notification left unanswered
// (a FailTimeout, seen when the policy counts timeouts) is a success: it
// ends the run.
func (e *Engine) countPush2Error(ctx context.Context, p pendingPublish, client string, now time.Time, kind FailureKind) ([]registry.Registration, int, error) {
	store, ok := e.cfg.Store.(registry.Push2Store)
	if !ok {
		return nil, 0, nil
	}
	if kind == FailTimeout {
		if err := store.ResetPush2Errors(ctx, p.user, client, p.gen); err != nil && !errors.Is(err, registry.ErrNotFound) {
			return nil, 0, e.storeError(ctx, "push2: reset errors", p.user, err)
		}
		return nil, 0, nil
	}
	reg, err := store.AddPush2Error(ctx, p.user, client, p.gen, now)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, e.storeError(ctx, "push2: count error", p.user, err)
	}
	n, span := reg.Errors, e.cfg.Errors.FailureSpan
	if n < e.cfg.Errors.limit(kind, e.cfg.MaxErrors) && (span == 0 || reg.FailingSince.IsZero() || now.Sub(reg.FailingSince) < span) {
		return nil, n, nil
	}
	regs, err := store.DeletePush2(ctx, p.user, client)
	if err != nil {
		return nil, n, e.storeError(ctx, "push2: remove failing registration", p.user, err)
	}
	removed := make([]registry.Registration, len(regs))
	for i := range regs {
		removed[i] = regs[i].View()
	}
	return removed, n, nil
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
	shard := e.lockPending(n.User)
	ps := &e.pending[shard]
	e.expirePending(ps, now)
	expires := now.Add(e.cfg.PublishTimeout)
	seq, dropped := ps.push(pendingPublish{user: n.User, id: n.reg, gen: n.gen, expires: expires.UnixNano()})
	if rs != nil {
		if ps.retries == nil {
			ps.retries = make(map[uint64]*retryState)
		}
		ps.retries[seq] = rs
	}
	if dropped {
		e.stats.publishesExpired.Add(1)
	}
	e.sealID(ps.scratch[:0], &ps.block, seq, shard, 1)
	b := ps.block // sealID leaves the sealed block there
	ps.mu.Unlock()
	if e.cfg.Errors.MaxTimeouts > 0 {
		e.later.add(laterItem{due: expires, shard: int(shard)}) // forgotten then, counting nothing
	}
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

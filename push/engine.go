package push

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/jid"
	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/session"
)

// Decisions is what the engine decided in answer to one event. The host
// executes it in field order, and may do so outside any lock of its own:
//
//  1. Replies: send each IQ reply to its session.
//  2. Timeouts: in order, set each session's hibernation timeout (a later
//     one for the same session replaces an earlier one).
//  3. Publishes: send each publish through the push service (a Sender),
//     and feed every answer back with Engine.PublishResult.
//  4. Wake: when not zero, call Engine.Wake at (or soon after) that time,
//     unless a wake-up at an earlier time is already planned.
//
// A Decisions and everything in it belong to the caller.
type Decisions struct {
	Replies   []Reply
	Timeouts  []Timeout
	Publishes []Publish
	// Wake is when a batch opened by this event falls due; from Engine.Wake,
	// the next time any batch falls due. Zero: nothing new to wake for.
	Wake time.Time
}

// Empty reports whether there is nothing to do.
func (d *Decisions) Empty() bool {
	return len(d.Replies) == 0 && len(d.Timeouts) == 0 && len(d.Publishes) == 0 && d.Wake.IsZero()
}

// ErrInvalidEvent is wrapped by the error a handler returns for an event it
// cannot take (Now not set, an empty session or user, a session JID without
// a bare part). Such an event changes nothing and gives no decisions.
var ErrInvalidEvent = errors.New("push: invalid event")

const (
	userShards    = 256
	pendingShards = 64
	sweepInterval = time.Minute
)

// Engine applies the push rules. It is safe for concurrent use: events of
// different users proceed in parallel, events of one user are serialised
// per shard. It never calls the Store or a Sender while holding a lock, and
// it starts no goroutines and reads no clock: time comes in with each event.
type Engine struct {
	cfg      Config
	seed     maphash.Seed
	idPrefix string
	users    [userShards]userShard
	pending  [pendingShards]pendingShard
	regBufs  sync.Pool // *[]registry.Registration for wakeAll
}

type userShard struct {
	mu        sync.Mutex
	users     map[string]*userState
	timers    batchTimers
	due       atomic.Int64 // when the earliest timer falls due, unix ns; 0: none
	nextSweep time.Time
}

// setDue publishes the earliest timer's due time; the caller holds mu.
func (sh *userShard) setDue() {
	if t, ok := sh.timers.peek(); ok {
		sh.due.Store(t.due.UnixNano())
	} else {
		sh.due.Store(0)
	}
}

// userState is the engine's memory of one user: its sessions and the
// stanzas already pushed to each of its registrations.
type userState struct {
	sessions []*session.State
	marks    *session.Marks // nil until a stanza with a Key is pushed
}

// New returns an Engine for cfg, or an error wrapping ErrInvalidConfig.
func New(cfg Config) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, seed: maphash.MakeSeed(), idPrefix: cfg.IDPrefix}
	if e.idPrefix == "" {
		var prefix [6]byte
		_, _ = rand.Read(prefix[:])
		e.idPrefix = "push-" + hex.EncodeToString(prefix[:]) + "-"
	}
	for i := range e.users {
		e.users[i].users = make(map[string]*userState)
	}
	e.regBufs.New = func() any { return new([]registry.Registration) }
	return e, nil
}

// Config returns the engine's configuration with every default filled in.
func (e *Engine) Config() Config { return e.cfg }

func (e *Engine) shard(user string) *userShard {
	return &e.users[maphash.String(e.seed, user)%userShards]
}

// lock locks the user's shard, sweeping it first when a sweep is due.
func (e *Engine) lock(user string, now time.Time) *userShard {
	sh := e.shard(user)
	sh.mu.Lock()
	if !now.Before(sh.nextSweep) {
		e.sweepShard(sh, now)
	}
	return sh
}

func (sh *userShard) get(user string) *userState {
	return sh.users[user]
}

func (sh *userShard) getOrCreate(user string) *userState {
	u := sh.users[user]
	if u == nil {
		u = &userState{}
		sh.users[user] = u
	}
	return u
}

func (u *userState) session(full string) *session.State {
	for _, s := range u.sessions {
		if s.JID == full {
			return s
		}
	}
	return nil
}

func (e *Engine) marks(u *userState) *session.Marks {
	if u.marks == nil {
		u.marks = session.NewMarks(e.cfg.DedupWindow, e.cfg.MarksPerUser)
	}
	return u.marks
}

// forget unbinds every session bound to one of ids and drops their marks,
// adding the timeout decisions that unbinding calls for.
func (e *Engine) forget(now time.Time, u *userState, ids []registry.Identifier, d *Decisions) {
	if u == nil {
		return
	}
	for _, s := range u.sessions {
		if s.Bound && slices.Contains(ids, s.Binding.ID) {
			if s.Unbind() {
				d.Timeouts = append(d.Timeouts, Timeout{Session: s.JID, Duration: e.cfg.HibernationTimeout, At: now})
			}
		}
	}
	if u.marks != nil {
		for _, id := range ids {
			u.marks.Forget(id)
		}
	}
}

func ids(regs []registry.Registration) []registry.Identifier {
	out := make([]registry.Identifier, len(regs))
	for i := range regs {
		out[i] = regs[i].ID
	}
	return out
}

func sessionUser(full string, now time.Time) (string, error) {
	if err := checkTime(now); err != nil {
		return "", err
	}
	if full == "" {
		return "", fmt.Errorf("%w: empty session", ErrInvalidEvent)
	}
	user := jid.Bare(full)
	if user == "" {
		return "", fmt.Errorf("%w: session %q has no bare JID", ErrInvalidEvent, full)
	}
	return user, nil
}

// checkTime refuses the zero time, and times beyond what the engine can
// count in nanoseconds (years 1678 to 2262).
func checkTime(now time.Time) error {
	if y := now.Year(); y < 1678 || y > 2261 {
		return fmt.Errorf("%w: Now %v is not set (or out of range)", ErrInvalidEvent, now)
	}
	return nil
}

func checkUser(user string, now time.Time) error {
	if err := checkTime(now); err != nil {
		return err
	}
	if user == "" || strings.IndexByte(user, '/') >= 0 {
		return fmt.Errorf("%w: user %q is not a bare JID", ErrInvalidEvent, user)
	}
	return nil
}

func newGeneration() uint64 {
	for {
		if g := mrand.Uint64(); g != 0 {
			return g
		}
	}
}

// newPublish builds the publish for one registration; st is nil for a
// ping.
func (e *Engine) newPublish(reg *registry.Registration, st *events.Stanza, important bool) Publish {
	p := Publish{
		User:         reg.User,
		Options:      reg.Options,
		Important:    important,
		Registration: reg.ID,
		gen:          reg.Generation,
	}
	if st == nil {
		return p
	}
	if e.cfg.WithSender {
		p.Sender = st.From
	}
	switch {
	case e.cfg.WithBody && st.Encrypted:
		if important {
			p.Body = e.cfg.ImportantBody
		}
	case e.cfg.WithBody && st.Body != "":
		p.Body = st.Body
	case important:
		p.Body = e.cfg.ImportantBody
	}
	return p
}

// processQueue gives the pushes of a bound session's queue (or batch) to its
// own registration, and cuts its extended timeout back at the first
// important one.
func (e *Engine) processQueue(now time.Time, u *userState, s *session.State, queue []events.Stanza, d *Decisions) {
	if !s.Bound || len(queue) == 0 {
		return
	}
	picks, n := session.Select(queue, e.marks(u), s.Binding.ID, now)
	for _, pk := range picks[:n] {
		d.Publishes = append(d.Publishes, e.newPublish(&s.Binding, pk.Stanza, pk.Important))
		if pk.Important && s.Hibernating && s.Extended {
			s.Extended = false
			d.Timeouts = append(d.Timeouts, Timeout{Session: s.JID, Duration: e.cfg.HibernationTimeout, At: now})
		}
	}
}

// Handle dispatches ev to the handler of its type. It is meant for hosts
// that carry events on one bus; ev must be one of the value types of
// package events.
func (e *Engine) Handle(ctx context.Context, ev events.Event) (Decisions, error) {
	switch ev := ev.(type) {
	case events.SessionOpened:
		return e.SessionOpened(ev)
	case events.SessionClosed:
		return e.SessionClosed(ev)
	case events.IQ:
		return e.IQ(ctx, ev)
	case events.AckDelayed:
		return e.AckDelayed(ev)
	case events.HibernationStarted:
		return e.HibernationStarted(ev)
	case events.StanzaQueued:
		return e.StanzaQueued(ev)
	case events.HibernationEnded:
		return e.HibernationEnded(ev)
	case events.MessageArchived:
		return e.MessageArchived(ctx, ev)
	case events.OfflineMessage:
		return e.OfflineMessage(ctx, ev)
	case events.GroupchatToBare:
		return e.GroupchatToBare(ctx, ev)
	case events.Ping:
		return e.Ping(ctx, ev)
	case events.UserDeleted:
		return e.UserDeleted(ctx, ev)
	case events.PublishResult:
		return e.PublishResult(ctx, ev)
	}
	return Decisions{}, fmt.Errorf("%w: unknown event type %T", ErrInvalidEvent, ev)
}

// SessionOpened records a new session of the user. Every session counts
// for the archive rule, push-enabled or not.
func (e *Engine) SessionOpened(ev events.SessionOpened) (Decisions, error) {
	user, err := sessionUser(ev.Session, ev.Now)
	if err != nil {
		return Decisions{}, err
	}
	sh := e.lock(user, ev.Now)
	defer sh.mu.Unlock()
	u := sh.getOrCreate(user)
	if s := u.session(ev.Session); s != nil {
		s.Hibernating, s.Extended = false, false
		s.Batch.Discard()
		return Decisions{}, nil
	}
	u.sessions = append(u.sessions, &session.State{JID: ev.Session})
	return Decisions{}, nil
}

// SessionClosed forgets the session and its pending batch. The
// registration it was bound to stays stored.
func (e *Engine) SessionClosed(ev events.SessionClosed) (Decisions, error) {
	user, err := sessionUser(ev.Session, ev.Now)
	if err != nil {
		return Decisions{}, err
	}
	sh := e.lock(user, ev.Now)
	defer sh.mu.Unlock()
	u := sh.get(user)
	if u == nil {
		return Decisions{}, nil
	}
	for i, s := range u.sessions {
		if s.JID == ev.Session {
			s.Closed = true
			s.Batch.Discard()
			u.sessions = slices.Delete(u.sessions, i, i+1)
			break
		}
	}
	if len(u.sessions) == 0 && u.marks == nil {
		delete(sh.users, user)
	}
	return Decisions{}, nil
}

// AckDelayed collects the session's unacknowledged queue into its batch
// when the session is bound; the batch is pushed when it falls due.
func (e *Engine) AckDelayed(ev events.AckDelayed) (Decisions, error) {
	return e.queue(ev.Now, ev.Session, ev.Queue...)
}

// StanzaQueued adds a stanza queued for a hibernating session to its batch
// when the session is bound.
func (e *Engine) StanzaQueued(ev events.StanzaQueued) (Decisions, error) {
	return e.queue(ev.Now, ev.Session, ev.Stanza)
}

func (e *Engine) queue(now time.Time, full string, stanzas ...events.Stanza) (Decisions, error) {
	user, err := sessionUser(full, now)
	if err != nil {
		return Decisions{}, err
	}
	sh := e.lock(user, now)
	defer sh.mu.Unlock()
	u := sh.get(user)
	if u == nil {
		return Decisions{}, nil
	}
	s := u.session(full)
	if s == nil || !s.Bound || len(stanzas) == 0 {
		return Decisions{}, nil
	}
	var d Decisions
	for i := range stanzas {
		if s.Batch.Add(now, e.cfg.BatchWindow, stanzas[i]) {
			sh.timers.push(batchTimer{due: s.Batch.Due, user: user, s: s})
			sh.setDue()
			d.Wake = s.Batch.Due
		}
	}
	return d, nil
}

// HibernationStarted marks the session hibernating. A bound session gets
// the extended timeout, its pending batch is discarded, and its queue is
// processed at once: at most one important and one unimportant push.
func (e *Engine) HibernationStarted(ev events.HibernationStarted) (Decisions, error) {
	user, err := sessionUser(ev.Session, ev.Now)
	if err != nil {
		return Decisions{}, err
	}
	sh := e.lock(user, ev.Now)
	u := sh.getOrCreate(user)
	s := u.session(ev.Session)
	if s == nil {
		s = &session.State{JID: ev.Session}
		u.sessions = append(u.sessions, s)
	}
	var d Decisions
	s.Hibernating = true
	s.Batch.Discard()
	if s.Bound {
		s.Extended = true
		d.Timeouts = append(d.Timeouts, Timeout{Session: s.JID, Duration: e.cfg.MaxHibernationTimeout, At: ev.Now})
		e.processQueue(ev.Now, u, s, ev.Queue, &d)
	}
	sh.mu.Unlock()
	e.track(ev.Now, d.Publishes)
	return d, nil
}

// HibernationEnded marks the resumed session live again and discards its
// pending batch.
func (e *Engine) HibernationEnded(ev events.HibernationEnded) (Decisions, error) {
	user, err := sessionUser(ev.Session, ev.Now)
	if err != nil {
		return Decisions{}, err
	}
	sh := e.lock(user, ev.Now)
	defer sh.mu.Unlock()
	if u := sh.get(user); u != nil {
		if s := u.session(ev.Session); s != nil {
			s.Hibernating, s.Extended = false, false
			s.Batch.Discard()
		}
	}
	return Decisions{}, nil
}

// Wake processes every batch due at now and returns their pushes, with
// Wake set to the next time a batch falls due (zero when none is pending).
func (e *Engine) Wake(now time.Time) Decisions {
	var d Decisions
	for i := range e.users {
		sh := &e.users[i]
		if due := sh.due.Load(); due == 0 || now.UnixNano() < due {
			continue
		}
		sh.mu.Lock()
		for {
			t, ok := sh.timers.popDue(now)
			if !ok {
				break
			}
			s := t.s
			if s.Closed || !s.Batch.Open() || !s.Batch.Due.Equal(t.due) {
				continue
			}
			if u := sh.get(t.user); u != nil {
				e.processQueue(now, u, s, s.Batch.Stanzas(), &d)
			}
			s.Batch.Discard()
		}
		sh.setDue()
		sh.mu.Unlock()
	}
	e.track(now, d.Publishes)
	d.Wake = e.NextWake()
	return d
}

// NextWake returns the earliest time a pending batch falls due, or zero.
// It takes no lock.
func (e *Engine) NextWake() time.Time {
	var next int64
	for i := range e.users {
		if due := e.users[i].due.Load(); due != 0 && (next == 0 || due < next) {
			next = due
		}
	}
	if next == 0 {
		return time.Time{}
	}
	return time.Unix(0, next).UTC()
}

// IQ answers a session's <enable/> or <disable/> (ev.Payload, parsed with
// ParseRequest). A malformed request is answered with the matching error;
// the reply is always in the returned Decisions.
func (e *Engine) IQ(ctx context.Context, ev events.IQ) (Decisions, error) {
	req, perr := ParseRequest(ev.Payload)
	if ev.ID == "" {
		ev.ID = req.IQID
	}
	if perr != nil {
		if _, err := sessionUser(ev.Session, ev.Now); err != nil {
			return Decisions{}, err
		}
		var se *events.StanzaError
		errors.As(perr, &se)
		return Decisions{Replies: []Reply{{Session: ev.Session, ID: ev.ID, Error: se}}}, nil
	}
	return e.Request(ctx, ev, req)
}

// Request is IQ for a request the host has already parsed (with
// DecodeRequest, say); ev.Payload is not read.
func (e *Engine) Request(ctx context.Context, ev events.IQ, req Request) (Decisions, error) {
	user, err := sessionUser(ev.Session, ev.Now)
	if err != nil {
		return Decisions{}, err
	}
	if ev.ID == "" {
		ev.ID = req.IQID
	}
	var d Decisions
	var rerr *events.StanzaError
	switch {
	case req.JID == "":
		rerr = ErrMissingJID
	case req.Disable:
		rerr = e.disable(ctx, ev.Now, user, req, &d)
	default:
		rerr = e.enable(ctx, ev.Now, user, ev.Session, req, &d)
	}
	d.Replies = append(d.Replies, Reply{Session: ev.Session, ID: ev.ID, Error: rerr})
	return d, nil
}

func (e *Engine) enable(ctx context.Context, now time.Time, user, full string, req Request, d *Decisions) *events.StanzaError {
	service, err := jid.Parse(req.JID)
	if err != nil || len(req.Node) > MaxNodeLen {
		return ErrJIDMalformed
	}
	if isOwn(user, service) {
		return ErrOwnJID
	}
	if _, err := e.cfg.Store.Load(ctx, user); err != nil {
		e.cfg.Logger.Warn("push enable: reading registrations failed", "user", user, "service", req.JID, "error", err)
		return ErrStorage
	}
	reg := registry.Registration{
		User:       user,
		ID:         registry.NewIdentifier(req.JID, req.Node),
		Options:    req.Options,
		Enabled:    now,
		Generation: newGeneration(),
	}
	saved, evicted, err := e.cfg.Store.Save(ctx, reg, e.cfg.MaxDevices)
	if err != nil {
		e.cfg.Logger.Warn("push enable: storing the registration failed", "user", user, "service", req.JID, "error", err)
		return ErrStorage
	}
	sh := e.lock(user, now)
	u := sh.getOrCreate(user)
	s := u.session(full)
	if s == nil {
		s = &session.State{JID: full}
		u.sessions = append(u.sessions, s)
	}
	e.forget(now, u, ids(evicted), d)
	for _, o := range u.sessions {
		if o.Bound && o.Binding.ID == saved.ID {
			o.Binding = saved
		}
	}
	s.Bind(saved)
	sh.mu.Unlock()
	if e.cfg.Logger.Enabled(ctx, slog.LevelDebug) {
		e.cfg.Logger.Debug("push enabled", "user", user, "service", req.JID, "evicted", len(evicted))
	}
	return nil
}

// isOwn reports whether service is the user's own account (bare or any
// full JID) or the server's own domain.
func isOwn(user string, service jid.JID) bool {
	u, err := jid.Parse(user)
	if err != nil {
		return false
	}
	if strings.EqualFold(service.Local, u.Local) && strings.EqualFold(service.Domain, u.Domain) {
		return true // the account itself, bare or with any resource
	}
	return service.Local == "" && strings.EqualFold(service.Domain, u.Domain)
}

func (e *Engine) disable(ctx context.Context, now time.Time, user string, req Request, d *Decisions) *events.StanzaError {
	regs, err := e.cfg.Store.Load(ctx, user)
	if err != nil {
		e.cfg.Logger.Warn("push disable: reading registrations failed", "user", user, "service", req.JID, "error", err)
		return ErrStorage
	}
	var match []registry.Identifier
	for _, r := range regs {
		if r.ID.JID() == req.JID && (req.Node == "" || r.ID.Node() == req.Node) {
			match = append(match, r.ID)
		}
	}
	if len(match) == 0 {
		return nil
	}
	removed, err := e.cfg.Store.Delete(ctx, user, match...)
	if err != nil {
		e.cfg.Logger.Warn("push disable: removing registrations failed", "user", user, "service", req.JID, "error", err)
		return ErrStorage
	}
	sh := e.lock(user, now)
	e.forget(now, sh.get(user), ids(removed), d)
	sh.mu.Unlock()
	if e.cfg.Logger.Enabled(ctx, slog.LevelDebug) {
		e.cfg.Logger.Debug("push disabled", "user", user, "service", req.JID, "removed", len(removed))
	}
	return nil
}

// MessageArchived wakes, for a message archived for its recipient, every
// registration of the user not bound to a current session of the user
// (all of them for a call proposal). It does nothing when the user has no
// session at all (the offline path is responsible) or when the message is
// not addressed to the user.
func (e *Engine) MessageArchived(ctx context.Context, ev events.MessageArchived) (Decisions, error) {
	if err := checkUser(ev.User, ev.Now); err != nil {
		return Decisions{}, err
	}
	if ev.Stanza.To != "" && !strings.EqualFold(jid.Bare(ev.Stanza.To), ev.User) {
		return Decisions{}, nil
	}
	sh := e.lock(ev.User, ev.Now)
	u := sh.get(ev.User)
	active := u != nil && len(u.sessions) > 0
	sh.mu.Unlock()
	if !active {
		return Decisions{}, nil
	}
	return e.wakeAll(ctx, ev.Now, ev.User, &ev.Stanza, !ev.Stanza.CallProposal)
}

// OfflineMessage wakes every registration of the user for a message stored
// offline.
func (e *Engine) OfflineMessage(ctx context.Context, ev events.OfflineMessage) (Decisions, error) {
	if err := checkUser(ev.User, ev.Now); err != nil {
		return Decisions{}, err
	}
	return e.wakeAll(ctx, ev.Now, ev.User, &ev.Stanza, false)
}

// GroupchatToBare wakes every registration of the user for a groupchat
// message addressed to the user's bare JID.
func (e *Engine) GroupchatToBare(ctx context.Context, ev events.GroupchatToBare) (Decisions, error) {
	if err := checkUser(ev.User, ev.Now); err != nil {
		return Decisions{}, err
	}
	return e.wakeAll(ctx, ev.Now, ev.User, &ev.Stanza, false)
}

// wakeAll pushes st to every registration of the user that has not had it
// yet, newest registration first, skipping those bound to a current session
// when skipBound is set.
func (e *Engine) wakeAll(ctx context.Context, now time.Time, user string, st *events.Stanza, skipBound bool) (Decisions, error) {
	buf := e.regBufs.Get().(*[]registry.Registration)
	defer func() {
		clear(*buf)
		*buf = (*buf)[:0]
		e.regBufs.Put(buf)
	}()
	regs, err := e.load(ctx, user, *buf)
	*buf = regs
	if err != nil {
		e.cfg.Logger.Warn("push: reading registrations failed; nothing pushed", "user", user, "error", err)
		return Decisions{}, nil
	}
	if len(regs) == 0 {
		return Decisions{}, nil
	}
	important := st.Important()
	var d Decisions
	sh := e.lock(user, now)
	u := sh.get(user)
	var m *session.Marks
	var pushed, marked uint64 // registrations (bits of m) pushed before, and now
	if st.Key != 0 {
		if u == nil {
			u = sh.getOrCreate(user)
		}
		m = e.marks(u)
		pushed = m.Pushed(st.Key, now)
	}
	for i := len(regs) - 1; i >= 0; i-- {
		reg := &regs[i]
		if skipBound && u != nil && u.bound(reg.ID) {
			continue
		}
		if m != nil {
			b := m.Bit(reg.ID)
			if pushed&b != 0 {
				continue
			}
			marked |= b
		}
		if d.Publishes == nil {
			d.Publishes = make([]Publish, 0, i+1)
		}
		d.Publishes = append(d.Publishes, e.newPublish(reg, st, important))
	}
	if m != nil {
		m.Mark(st.Key, marked, now)
	}
	sh.mu.Unlock()
	e.track(now, d.Publishes)
	return d, nil
}

// load reads the user's registrations, into dst when the Store can.
func (e *Engine) load(ctx context.Context, user string, dst []registry.Registration) ([]registry.Registration, error) {
	if a, ok := e.cfg.Store.(registry.Appender); ok {
		return a.LoadAppend(ctx, user, dst)
	}
	return e.cfg.Store.Load(ctx, user)
}

func (u *userState) bound(id registry.Identifier) bool {
	for _, s := range u.sessions {
		if s.Bound && s.Binding.ID == id {
			return true
		}
	}
	return false
}

// Ping wakes every registration of the user, or those whose node is in
// ev.Nodes, with an unimportant push carrying no stanza data.
func (e *Engine) Ping(ctx context.Context, ev events.Ping) (Decisions, error) {
	if err := checkUser(ev.User, ev.Now); err != nil {
		return Decisions{}, err
	}
	regs, err := e.cfg.Store.Load(ctx, ev.User)
	if err != nil {
		e.cfg.Logger.Warn("push ping: reading registrations failed; nothing pushed", "user", ev.User, "error", err)
		return Decisions{}, nil
	}
	var d Decisions
	for i := len(regs) - 1; i >= 0; i-- {
		if len(ev.Nodes) > 0 && !slices.Contains(ev.Nodes, regs[i].ID.Node()) {
			continue
		}
		d.Publishes = append(d.Publishes, e.newPublish(&regs[i], nil, false))
	}
	e.track(ev.Now, d.Publishes)
	return d, nil
}

// UserDeleted removes every registration of the user and unbinds its
// sessions. When the store fails it returns that error (wrapped) and
// changes nothing; the host should retry.
func (e *Engine) UserDeleted(ctx context.Context, ev events.UserDeleted) (Decisions, error) {
	if err := checkUser(ev.User, ev.Now); err != nil {
		return Decisions{}, err
	}
	removed, err := e.cfg.Store.DeleteUser(ctx, ev.User)
	if err != nil {
		return Decisions{}, fmt.Errorf("push: deleting the registrations of %s: %w", ev.User, err)
	}
	var d Decisions
	sh := e.lock(ev.User, ev.Now)
	if u := sh.get(ev.User); u != nil {
		e.forget(ev.Now, u, ids(removed), &d)
		for _, s := range u.sessions {
			if s.Bound && s.Unbind() {
				d.Timeouts = append(d.Timeouts, Timeout{Session: s.JID, Duration: e.cfg.HibernationTimeout, At: ev.Now})
			}
		}
		u.marks = nil
	}
	sh.mu.Unlock()
	return d, nil
}

// PublishResult applies a push service's answer to a publish. A result
// resets the registration's error count; an error of any type but wait,
// from the registered service JID, counts one, and at MaxErrors the
// registration is removed and its sessions unbound. Answers to unknown or
// expired publishes, to publishes made for an earlier life of the
// registration, or from another JID are ignored.
func (e *Engine) PublishResult(ctx context.Context, ev events.PublishResult) (Decisions, error) {
	if err := checkTime(ev.Now); err != nil {
		return Decisions{}, err
	}
	p, ok := e.takePending(ev.ID, ev.Now)
	if !ok {
		if e.cfg.Logger.Enabled(ctx, slog.LevelDebug) {
			e.cfg.Logger.Debug("push: answer to an unknown or expired publish ignored", "id", ev.ID)
		}
		return Decisions{}, nil
	}
	log := func() *slog.Logger { return e.cfg.Logger.With("user", p.user, "service", p.id.JID(), "id", ev.ID) }
	if !jid.Equal(ev.From, p.id.JID()) {
		log().Debug("push: answer from another JID ignored", "from", ev.From)
		return Decisions{}, nil
	}
	if ev.Error == nil {
		if err := e.cfg.Store.ResetErrors(ctx, p.user, p.id, p.gen); err != nil && !errors.Is(err, registry.ErrNotFound) {
			log().Warn("push: resetting the error count failed", "error", err)
		}
		return Decisions{}, nil
	}
	if ev.Error.Type == "wait" {
		return Decisions{}, nil
	}
	n, err := e.cfg.Store.AddError(ctx, p.user, p.id, p.gen)
	if err != nil {
		if !errors.Is(err, registry.ErrNotFound) {
			log().Warn("push: counting a publish error failed; answer dropped", "error", err)
		}
		return Decisions{}, nil
	}
	log().Info("push: publish failed", "errors", n, "condition", ev.Error.Condition)
	if n < e.cfg.MaxErrors {
		return Decisions{}, nil
	}
	removed, err := e.cfg.Store.Delete(ctx, p.user, p.id)
	if err != nil {
		log().Warn("push: removing a failing registration failed", "error", err)
		return Decisions{}, nil
	}
	var d Decisions
	sh := e.lock(p.user, ev.Now)
	e.forget(ev.Now, sh.get(p.user), ids(removed), &d)
	sh.mu.Unlock()
	log().Info("push: registration removed after too many errors")
	return d, nil
}

// ForgetPublish forgets a publish the host knows will never be answered
// (sending it failed, or its transport gave up on it), so that it stops
// taking memory before PublishTimeout. An answer that still arrives for it
// is ignored. Unknown ids are ignored.
func (e *Engine) ForgetPublish(id string) {
	ps, seq, ok := e.pendingOf(id)
	if !ok {
		return
	}
	ps.mu.Lock()
	ps.take(seq)
	ps.mu.Unlock()
}

// Sweep forgets, at once, everything that has expired by now: deduplication
// marks past the window, users with neither sessions nor marks, and
// unanswered publishes past PublishTimeout. The engine also does this by
// itself, a little at a time, as events arrive; Sweep is for hosts and tests
// that want memory back without waiting.
func (e *Engine) Sweep(now time.Time) {
	for i := range e.users {
		sh := &e.users[i]
		sh.mu.Lock()
		e.sweepShard(sh, now)
		sh.mu.Unlock()
	}
	for i := range e.pending {
		ps := &e.pending[i]
		ps.mu.Lock()
		ps.expire(now)
		ps.mu.Unlock()
	}
}

func (e *Engine) sweepShard(sh *userShard, now time.Time) {
	sh.nextSweep = now.Add(sweepInterval)
	for name, u := range sh.users {
		if u.marks != nil && u.marks.Expire(now) {
			u.marks = nil
		}
		if len(u.sessions) == 0 && u.marks == nil {
			delete(sh.users, name)
		}
	}
}

// Stats is a snapshot of the engine's memory, for monitoring.
type Stats struct {
	Users, Sessions, BoundSessions, Marks, PendingPublishes, BatchedStanzas int
}

// Stats counts what the engine holds now. It locks every shard in turn:
// call it for monitoring, not on a hot path.
func (e *Engine) Stats() Stats {
	var st Stats
	for i := range e.users {
		sh := &e.users[i]
		sh.mu.Lock()
		st.Users += len(sh.users)
		for _, u := range sh.users {
			st.Sessions += len(u.sessions)
			for _, s := range u.sessions {
				if s.Bound {
					st.BoundSessions++
				}
				st.BatchedStanzas += s.Batch.Len()
			}
			if u.marks != nil {
				st.Marks += u.marks.Len()
			}
		}
		sh.mu.Unlock()
	}
	for i := range e.pending {
		ps := &e.pending[i]
		ps.mu.Lock()
		st.PendingPublishes += ps.live
		ps.mu.Unlock()
	}
	return st
}

// Binding returns the identifier of the registration the session is bound
// to, and false when the session is unknown or not bound. It is meant for
// tests, diagnostics and admin interfaces.
func (e *Engine) Binding(session string) (registry.Identifier, bool) {
	sh := e.shard(jid.Bare(session))
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if u := sh.get(jid.Bare(session)); u != nil {
		if s := u.session(session); s != nil && s.Bound {
			return s.Binding.ID, true
		}
	}
	return "", false
}

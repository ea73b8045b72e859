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
	"reflect"
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
// A Decisions and everything in it belong to the caller. The handlers
// return a new one each time; HandleInto appends to one the caller reuses
// (see Reset).
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
	regBufs  sync.Pool     // *[]registry.Registration for wakeAll
	wakes    atomic.Uint64 // Wake calls, to spread their starting shards
}

type userShard struct {
	mu        sync.Mutex
	users     map[string]*userState
	timers    batchTimers
	due       atomic.Int64 // when the earliest timer falls due, unix ns; 0: none
	nextSweep time.Time
	_         [falseSharingPad]byte
}

// falseSharingPad separates neighbouring shards in an array by two cache
// lines, so that goroutines locking different shards do not contend for
// one line (or for a pair the CPU fetches together).
const falseSharingPad = 128

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
	marks    session.Marks // empty until a stanza with a Key is pushed
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

// getOrCreate returns the user's state in sh, creating it if needed.
func (e *Engine) getOrCreate(sh *userShard, user string) *userState {
	u := sh.users[user]
	if u == nil {
		u = &userState{}
		u.marks.Init(e.cfg.DedupWindow, e.cfg.MarksPerUser)
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
	for _, id := range ids {
		u.marks.Forget(id)
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
	picks, n := session.Select(queue, &u.marks, s.Binding.ID, now)
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
	var d Decisions
	err := e.HandleInto(ctx, ev, &d)
	return d, err
}

// HandleInto is Handle appending the decisions to d instead of returning
// new ones; Wake becomes the earlier of d's and the event's. A host that
// carries out each event's decisions before it takes the next can keep one
// Decisions per goroutine and Reset it between events: the engine then
// allocates nothing for decisions in the steady state. On error d is left
// as it was.
func (e *Engine) HandleInto(ctx context.Context, ev events.Event, d *Decisions) error {
	if d == nil {
		return ErrNilDecisions
	}
	switch ev := ev.(type) {
	case events.SessionOpened:
		return e.sessionOpened(ev)
	case events.SessionClosed:
		return e.sessionClosed(ev)
	case events.IQ:
		return e.iq(ctx, ev, d)
	case events.AckDelayed:
		return e.queue(ev.Now, ev.Session, d, ev.Queue...)
	case events.HibernationStarted:
		return e.hibernationStarted(ev, d)
	case events.StanzaQueued:
		return e.queue(ev.Now, ev.Session, d, ev.Stanza)
	case events.HibernationEnded:
		return e.hibernationEnded(ev)
	case events.MessageArchived:
		return e.messageArchived(ctx, ev, d)
	case events.OfflineMessage:
		return e.offlineMessage(ctx, ev, d)
	case events.GroupchatToBare:
		return e.groupchatToBare(ctx, ev, d)
	case events.Ping:
		return e.ping(ctx, ev, d)
	case events.UserDeleted:
		return e.userDeleted(ctx, ev, d)
	case events.PublishResult:
		return e.publishResult(ctx, ev, d)
	}
	return fmt.Errorf("%w: unknown event type %v", ErrInvalidEvent, reflect.TypeOf(ev))
}

// ErrNilDecisions is returned by HandleInto when it is given no Decisions
// to append to.
var ErrNilDecisions = errors.New("push: HandleInto needs a Decisions to append to")

// Reset empties d for reuse with HandleInto, keeping its capacity. The
// replies, timeouts and publishes it held must no longer be in use. Reset
// of a nil Decisions does nothing.
func (d *Decisions) Reset() {
	if d == nil {
		return
	}
	clear(d.Replies)
	clear(d.Timeouts)
	clear(d.Publishes)
	*d = Decisions{Replies: d.Replies[:0], Timeouts: d.Timeouts[:0], Publishes: d.Publishes[:0]}
}

// wakeAt sets Wake to t unless it is already earlier.
func (d *Decisions) wakeAt(t time.Time) {
	if d.Wake.IsZero() || t.Before(d.Wake) {
		d.Wake = t
	}
}

// SessionOpened records a new session of the user. Every session counts
// for the archive rule, push-enabled or not.
func (e *Engine) SessionOpened(ev events.SessionOpened) (Decisions, error) {
	return Decisions{}, e.sessionOpened(ev)
}

func (e *Engine) sessionOpened(ev events.SessionOpened) error {
	user, err := sessionUser(ev.Session, ev.Now)
	if err != nil {
		return err
	}
	sh := e.lock(user, ev.Now)
	defer sh.mu.Unlock()
	u := e.getOrCreate(sh, user)
	if s := u.session(ev.Session); s != nil {
		s.Hibernating, s.Extended = false, false
		s.Batch.Discard()
		return nil
	}
	u.sessions = append(u.sessions, &session.State{JID: ev.Session})
	return nil
}

// SessionClosed forgets the session and its pending batch. The
// registration it was bound to stays stored.
func (e *Engine) SessionClosed(ev events.SessionClosed) (Decisions, error) {
	return Decisions{}, e.sessionClosed(ev)
}

func (e *Engine) sessionClosed(ev events.SessionClosed) error {
	user, err := sessionUser(ev.Session, ev.Now)
	if err != nil {
		return err
	}
	sh := e.lock(user, ev.Now)
	defer sh.mu.Unlock()
	u := sh.get(user)
	if u == nil {
		return nil
	}
	for i, s := range u.sessions {
		if s.JID == ev.Session {
			s.Closed = true
			s.Batch.Discard()
			u.sessions = slices.Delete(u.sessions, i, i+1)
			break
		}
	}
	if len(u.sessions) == 0 && u.marks.Len() == 0 {
		delete(sh.users, user)
	}
	return nil
}

// AckDelayed collects the session's unacknowledged queue into its batch
// when the session is bound; the batch is pushed when it falls due.
func (e *Engine) AckDelayed(ev events.AckDelayed) (Decisions, error) {
	var d Decisions
	err := e.queue(ev.Now, ev.Session, &d, ev.Queue...)
	return d, err
}

// StanzaQueued adds a stanza queued for a hibernating session to its batch
// when the session is bound.
func (e *Engine) StanzaQueued(ev events.StanzaQueued) (Decisions, error) {
	var d Decisions
	err := e.queue(ev.Now, ev.Session, &d, ev.Stanza)
	return d, err
}

func (e *Engine) queue(now time.Time, full string, d *Decisions, stanzas ...events.Stanza) error {
	user, err := sessionUser(full, now)
	if err != nil {
		return err
	}
	sh := e.lock(user, now)
	defer sh.mu.Unlock()
	u := sh.get(user)
	if u == nil {
		return nil
	}
	s := u.session(full)
	if s == nil || !s.Bound || len(stanzas) == 0 {
		return nil
	}
	for i := range stanzas {
		if s.Batch.Add(now, e.cfg.BatchWindow, stanzas[i]) {
			sh.timers.push(batchTimer{due: s.Batch.Due, user: user, s: s})
			sh.setDue()
			d.wakeAt(s.Batch.Due)
		}
	}
	return nil
}

// HibernationStarted marks the session hibernating. A bound session gets
// the extended timeout, its pending batch is discarded, and its queue is
// processed at once: at most one important and one unimportant push.
func (e *Engine) HibernationStarted(ev events.HibernationStarted) (Decisions, error) {
	var d Decisions
	err := e.hibernationStarted(ev, &d)
	return d, err
}

func (e *Engine) hibernationStarted(ev events.HibernationStarted, d *Decisions) error {
	start := len(d.Publishes)
	user, err := sessionUser(ev.Session, ev.Now)
	if err != nil {
		return err
	}
	sh := e.lock(user, ev.Now)
	u := e.getOrCreate(sh, user)
	s := u.session(ev.Session)
	if s == nil {
		s = &session.State{JID: ev.Session}
		u.sessions = append(u.sessions, s)
	}
	s.Hibernating = true
	s.Batch.Discard()
	if s.Bound {
		s.Extended = true
		d.Timeouts = append(d.Timeouts, Timeout{Session: s.JID, Duration: e.cfg.MaxHibernationTimeout, At: ev.Now})
		e.processQueue(ev.Now, u, s, ev.Queue, d)
	}
	sh.mu.Unlock()
	e.track(ev.Now, d.Publishes[start:])
	return nil
}

// HibernationEnded marks the resumed session live again and discards its
// pending batch.
func (e *Engine) HibernationEnded(ev events.HibernationEnded) (Decisions, error) {
	return Decisions{}, e.hibernationEnded(ev)
}

func (e *Engine) hibernationEnded(ev events.HibernationEnded) error {
	user, err := sessionUser(ev.Session, ev.Now)
	if err != nil {
		return err
	}
	sh := e.lock(user, ev.Now)
	defer sh.mu.Unlock()
	if u := sh.get(user); u != nil {
		if s := u.session(ev.Session); s != nil {
			s.Hibernating, s.Extended = false, false
			s.Batch.Discard()
		}
	}
	return nil
}

// Wake processes every batch due at now and returns their pushes, with
// Wake set to the next time a batch falls due (zero when none is pending).
func (e *Engine) Wake(now time.Time) Decisions {
	var d Decisions
	// Wakes running at once (a host with several timers, or goroutines of
	// its own) start at different shards, and pass over a shard whose lock
	// is taken to come back to it at the end: they do not queue for the
	// same locks shard after shard, nor hold up the events of a shard.
	first := int(e.wakes.Add(1)*wakeStride) % userShards
	var busy [userShards]bool
	for i := range userShards {
		k := (first + i) % userShards
		busy[k] = !e.wakeShard(&e.users[k], now, &d, true)
	}
	for k := range busy {
		if busy[k] {
			e.wakeShard(&e.users[k], now, &d, false)
		}
	}
	d.Wake = e.NextWake()
	return d
}

// wakeStride spaces the first shards of successive Wake calls (prime to
// userShards, so every shard is a first one in turn).
const wakeStride = 97

// wakeShard processes every batch of sh due at now, taking the shard's
// lock once per batch: the events of the shard's other users wait for one
// batch at most. With try set it gives up, reporting false, when the lock
// is taken.
func (e *Engine) wakeShard(sh *userShard, now time.Time, d *Decisions, try bool) bool {
	for {
		if due := sh.due.Load(); due == 0 || now.UnixNano() < due {
			return true
		}
		if !try {
			sh.mu.Lock()
		} else if !sh.mu.TryLock() {
			return false
		}
		start := len(d.Publishes)
		if t, ok := sh.timers.popDue(now); ok {
			s := t.s
			if !s.Closed && s.Batch.Open() && s.Batch.Due.Equal(t.due) {
				if u := sh.get(t.user); u != nil {
					e.processQueue(now, u, s, s.Batch.Stanzas(), d)
				}
				s.Batch.Discard()
			}
		}
		sh.setDue()
		sh.mu.Unlock()
		e.track(now, d.Publishes[start:])
	}
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
	var d Decisions
	err := e.iq(ctx, ev, &d)
	return d, err
}

func (e *Engine) iq(ctx context.Context, ev events.IQ, d *Decisions) error {
	req, perr := ParseRequest(ev.Payload)
	if ev.ID == "" {
		ev.ID = req.IQID
	}
	if perr != nil {
		if _, err := sessionUser(ev.Session, ev.Now); err != nil {
			return err
		}
		var se *events.StanzaError
		errors.As(perr, &se)
		d.Replies = append(d.Replies, Reply{Session: ev.Session, ID: ev.ID, Error: se})
		return nil
	}
	return e.request(ctx, ev, req, d)
}

// Request is IQ for a request the host has already parsed (with
// DecodeRequest, say); ev.Payload is not read.
func (e *Engine) Request(ctx context.Context, ev events.IQ, req Request) (Decisions, error) {
	var d Decisions
	err := e.request(ctx, ev, req, &d)
	return d, err
}

func (e *Engine) request(ctx context.Context, ev events.IQ, req Request, d *Decisions) error {
	user, err := sessionUser(ev.Session, ev.Now)
	if err != nil {
		return err
	}
	if ev.ID == "" {
		ev.ID = req.IQID
	}
	var rerr *events.StanzaError
	switch {
	case req.JID == "":
		rerr = ErrMissingJID
	case req.Disable:
		rerr = e.disable(ctx, ev.Now, user, req, d)
	default:
		rerr = e.enable(ctx, ev.Now, user, ev.Session, req, d)
	}
	d.Replies = append(d.Replies, Reply{Session: ev.Session, ID: ev.ID, Error: rerr})
	return nil
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
	u := e.getOrCreate(sh, user)
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
	var d Decisions
	err := e.messageArchived(ctx, ev, &d)
	return d, err
}

func (e *Engine) messageArchived(ctx context.Context, ev events.MessageArchived, d *Decisions) error {
	if err := checkUser(ev.User, ev.Now); err != nil {
		return err
	}
	if ev.Stanza.To != "" && !strings.EqualFold(jid.Bare(ev.Stanza.To), ev.User) {
		return nil
	}
	sh := e.lock(ev.User, ev.Now)
	u := sh.get(ev.User)
	active := u != nil && len(u.sessions) > 0
	sh.mu.Unlock()
	if !active {
		return nil
	}
	return e.wakeAll(ctx, ev.Now, ev.User, &ev.Stanza, !ev.Stanza.CallProposal, d)
}

// OfflineMessage wakes every registration of the user for a message stored
// offline.
func (e *Engine) OfflineMessage(ctx context.Context, ev events.OfflineMessage) (Decisions, error) {
	var d Decisions
	err := e.offlineMessage(ctx, ev, &d)
	return d, err
}

func (e *Engine) offlineMessage(ctx context.Context, ev events.OfflineMessage, d *Decisions) error {
	if err := checkUser(ev.User, ev.Now); err != nil {
		return err
	}
	return e.wakeAll(ctx, ev.Now, ev.User, &ev.Stanza, false, d)
}

// GroupchatToBare wakes every registration of the user for a groupchat
// message addressed to the user's bare JID.
func (e *Engine) GroupchatToBare(ctx context.Context, ev events.GroupchatToBare) (Decisions, error) {
	var d Decisions
	err := e.groupchatToBare(ctx, ev, &d)
	return d, err
}

func (e *Engine) groupchatToBare(ctx context.Context, ev events.GroupchatToBare, d *Decisions) error {
	if err := checkUser(ev.User, ev.Now); err != nil {
		return err
	}
	return e.wakeAll(ctx, ev.Now, ev.User, &ev.Stanza, false, d)
}

// wakeAll pushes st to every registration of the user that has not had it
// yet, newest registration first, skipping those bound to a current session
// when skipBound is set.
func (e *Engine) wakeAll(ctx context.Context, now time.Time, user string, st *events.Stanza, skipBound bool, d *Decisions) error {
	start := len(d.Publishes)
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
		return nil
	}
	if len(regs) == 0 {
		return nil
	}
	important := st.Important()
	sh := e.lock(user, now)
	u := sh.get(user)
	var m *session.Marks
	var pushed, marked uint64 // registrations (bits of m) pushed before, and now
	if st.Key != 0 {
		if u == nil {
			u = e.getOrCreate(sh, user)
		}
		m = &u.marks
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
		if len(d.Publishes) == start {
			d.Publishes = slices.Grow(d.Publishes, i+1)
		}
		d.Publishes = append(d.Publishes, e.newPublish(reg, st, important))
	}
	if m != nil {
		m.Mark(st.Key, marked, now)
	}
	sh.mu.Unlock()
	e.track(now, d.Publishes[start:])
	return nil
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
	var d Decisions
	err := e.ping(ctx, ev, &d)
	return d, err
}

func (e *Engine) ping(ctx context.Context, ev events.Ping, d *Decisions) error {
	start := len(d.Publishes)
	if err := checkUser(ev.User, ev.Now); err != nil {
		return err
	}
	regs, err := e.cfg.Store.Load(ctx, ev.User)
	if err != nil {
		e.cfg.Logger.Warn("push ping: reading registrations failed; nothing pushed", "user", ev.User, "error", err)
		return nil
	}
	for i := len(regs) - 1; i >= 0; i-- {
		if len(ev.Nodes) > 0 && !slices.Contains(ev.Nodes, regs[i].ID.Node()) {
			continue
		}
		d.Publishes = append(d.Publishes, e.newPublish(&regs[i], nil, false))
	}
	e.track(ev.Now, d.Publishes[start:])
	return nil
}

// UserDeleted removes every registration of the user and unbinds its
// sessions. When the store fails it returns that error (wrapped) and
// changes nothing; the host should retry.
func (e *Engine) UserDeleted(ctx context.Context, ev events.UserDeleted) (Decisions, error) {
	var d Decisions
	err := e.userDeleted(ctx, ev, &d)
	return d, err
}

func (e *Engine) userDeleted(ctx context.Context, ev events.UserDeleted, d *Decisions) error {
	if err := checkUser(ev.User, ev.Now); err != nil {
		return err
	}
	removed, err := e.cfg.Store.DeleteUser(ctx, ev.User)
	if err != nil {
		return fmt.Errorf("push: deleting the registrations of %s: %w", ev.User, err)
	}
	sh := e.lock(ev.User, ev.Now)
	if u := sh.get(ev.User); u != nil {
		e.forget(ev.Now, u, ids(removed), d)
		for _, s := range u.sessions {
			if s.Bound && s.Unbind() {
				d.Timeouts = append(d.Timeouts, Timeout{Session: s.JID, Duration: e.cfg.HibernationTimeout, At: ev.Now})
			}
		}
		u.marks.Init(e.cfg.DedupWindow, e.cfg.MarksPerUser)
	}
	sh.mu.Unlock()
	return nil
}

// PublishResult applies a push service's answer to a publish. A result
// resets the registration's error count; an error of any type but wait,
// from the registered service JID, counts one, and at MaxErrors the
// registration is removed and its sessions unbound. Answers to unknown or
// expired publishes, to publishes made for an earlier life of the
// registration, or from another JID are ignored.
func (e *Engine) PublishResult(ctx context.Context, ev events.PublishResult) (Decisions, error) {
	var d Decisions
	err := e.publishResult(ctx, ev, &d)
	return d, err
}

func (e *Engine) publishResult(ctx context.Context, ev events.PublishResult, d *Decisions) error {
	if err := checkTime(ev.Now); err != nil {
		return err
	}
	p, ok := e.takePending(ev.ID, ev.Now)
	if !ok {
		if e.cfg.Logger.Enabled(ctx, slog.LevelDebug) {
			e.cfg.Logger.Debug("push: answer to an unknown or expired publish ignored", "id", ev.ID)
		}
		return nil
	}
	log := func() *slog.Logger { return e.cfg.Logger.With("user", p.user, "service", p.id.JID(), "id", ev.ID) }
	if !jid.Equal(ev.From, p.id.JID()) {
		log().Debug("push: answer from another JID ignored", "from", ev.From)
		return nil
	}
	if ev.Error == nil {
		if err := e.cfg.Store.ResetErrors(ctx, p.user, p.id, p.gen); err != nil && !errors.Is(err, registry.ErrNotFound) {
			log().Warn("push: resetting the error count failed", "error", err)
		}
		return nil
	}
	if ev.Error.Type == "wait" {
		return nil
	}
	n, err := e.cfg.Store.AddError(ctx, p.user, p.id, p.gen)
	if err != nil {
		if !errors.Is(err, registry.ErrNotFound) {
			log().Warn("push: counting a publish error failed; answer dropped", "error", err)
		}
		return nil
	}
	log().Info("push: publish failed", "errors", n, "condition", ev.Error.Condition)
	if n < e.cfg.MaxErrors {
		return nil
	}
	removed, err := e.cfg.Store.Delete(ctx, p.user, p.id)
	if err != nil {
		log().Warn("push: removing a failing registration failed", "error", err)
		return nil
	}
	sh := e.lock(p.user, ev.Now)
	e.forget(ev.Now, sh.get(p.user), ids(removed), d)
	sh.mu.Unlock()
	log().Info("push: registration removed after too many errors")
	return nil
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
		if u.marks.Expire(now) && len(u.sessions) == 0 {
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
			st.Marks += u.marks.Len()
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

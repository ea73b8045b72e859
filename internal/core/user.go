package core

import (
	"errors"
	"math/bits"
	"slices"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push2"
	"github.com/pushrules/pushrules/registry"
)

// Rules is the configuration the rules need, with every default already
// filled in by the caller. Its methods apply one event to one User.
type Rules struct {
	WithBody, WithSender  bool
	ImportantBody         string
	HibernationTimeout    time.Duration
	MaxHibernationTimeout time.Duration
	BatchWindow           time.Duration
	DedupWindow           time.Duration
	MarksPerUser          int
	// MaxSessions bounds one user's sessions (Open refuses more).
	MaxSessions int
	// Policy holds or coalesces pushes (off when zero).
	Policy Policy
	// Filters chooses what each registration wants pushed (all when zero).
	Filters Filters
	// NickMentions makes a room nick standing as a whole word in a
	// groupchat body count as a mention (the groupchat filter's
	// "mentioned").
	NickMentions bool
	// WakeBefore, when set, gives a hibernating session bound to a
	// XEP-0357 registration one push without stanza data that long before
	// its hibernation timeout runs out; ClearOnRead remembers the
	// registrations pushed for a stanza, for Read.
	WakeBefore  time.Duration
	ClearOnRead bool
	// RepeatAfter, when set, repeats the push of a session that hibernates
	// again with only stanzas it was pushed for before (it was woken,
	// resumed and acknowledged nothing): after RepeatAfter, doubling each
	// time, at most MaxRepeats times until it acknowledges.
	RepeatAfter time.Duration
	MaxRepeats  int
}

// Publish is one push the rules decided: to which registration, and what
// it carries. The shell gives it an id and sends it.
type Publish struct {
	User         string
	Registration registry.Identifier
	Options      registry.Form
	Generation   uint64
	Important    bool
	Body, Sender string
	// Since is when the oldest stanza the push covers reached the engine
	// (the event's time for a push made at once), in Unix nanoseconds.
	Since int64
	// Extensions are the registration's; VoIP marks a push that rings or
	// stops a call; Payload is set (nil otherwise) for a registration that
	// asked for encryption or Jingle.
	Extensions registry.Extensions
	VoIP       bool
	Payload    *Payload
	// Push2, for a Push 2.0 registration, is its request; Match is then
	// the index of the match that took the stanza and Raw the stanza's XML
	// (events.Stanza.Raw) to forward, Call set for a call's proposal or
	// end. Options, Body, Sender, Extensions and Payload are empty.
	Push2 *push2.Request
	Match int
	Raw   string
	Call  bool
}

// Timeout tells the host to set a session's hibernation timeout to
// Duration, counted from the event's time.
type Timeout struct {
	Session  string
	Duration time.Duration
}

// Due asks the shell to wake the engine at At for Session's batch: with
// Arm set it must set a timer that calls Flush(At) then; without, a timer
// that falls due no later is already set and At is only a hint for the
// host's next wake-up.
type Due struct {
	Session *Session
	At      time.Time
	Arm     bool
}

// Out collects the decisions of one or more calls, in the order made. The
// caller owns it and empties it with Reset.
type Out struct {
	Publishes []Publish
	Timeouts  []Timeout
	Due       []Due
	// Counts holds, per Reason, how many outcomes had it; Counted has
	// bit r set when Counts[r] may be non-zero (count sets both).
	Counts  [NumReasons]uint32
	Counted uint64
	// scratch is Select's, kept for the next call.
	scratch []uint8
}

// taken returns Select's scratch, n bytes long, each holding anything.
// Past MaxBatch stanzas (a long hibernation queue) it is not kept.
func (o *Out) taken(n int) []uint8 {
	if cap(o.scratch) >= n {
		return o.scratch[:n]
	}
	s := make([]uint8, n)
	if n <= MaxBatch {
		o.scratch = s
	}
	return s
}

// Decided reports whether o holds any decision or count (small enough to
// be inlined: most queued stanzas decide nothing, and their callers then
// skip the emitting call).
func (o *Out) Decided() bool {
	return o.Counted|uint64(len(o.Timeouts)|len(o.Publishes)|len(o.Due)) != 0
}

// Counted holds a bit per Reason.
var _ [64 - NumReasons]struct{}

// Reset empties o, keeping its capacity. The publishes are left in their
// slots, unlike the rest: slot hands them out again, and publish
// overwrites every field (a Publish is large, and this is every push's
// path).
func (o *Out) Reset() {
	clear(o.Due)
	clear(o.Timeouts)
	o.Publishes, o.Timeouts, o.Due = o.Publishes[:0], o.Timeouts[:0], o.Due[:0]
	for m := o.Counted; m != 0; m &= m - 1 {
		o.Counts[bits.TrailingZeros64(m)] = 0
	}
	o.Counted = 0
}

// slot returns the next publish of o, holding what an earlier one left
// there: the caller sets every field (publish does).
func (o *Out) slot() *Publish {
	if n := len(o.Publishes); n < cap(o.Publishes) {
		o.Publishes = o.Publishes[:n+1]
	} else {
		o.Publishes = append(o.Publishes, Publish{})
	}
	return &o.Publishes[len(o.Publishes)-1]
}

// ErrTooManySessions is returned by Open when the user already has
// Rules.MaxSessions sessions.
var ErrTooManySessions = errors.New("too many sessions")

// linearSessions is how many sessions are searched in turn; past it a map
// indexes them.
const linearSessions = 8

// User is one user's push state. Its zero value is not ready: call
// Rules.Init.
type User struct {
	sessions []*Session          // in the order they were opened
	index    map[string]*Session // nil up to linearSessions sessions
	marks    Marks
	holds    *holds // nil while the policy has nothing to remember
	wk       *wakes // nil while the wake-ups and reads have nothing to remember
}

// Init makes u an empty user.
func (r *Rules) Init(u *User) {
	*u = User{}
	u.marks.Init(r.DedupWindow, r.MarksPerUser)
}

// Session returns the session named full, or nil.
func (u *User) Session(full string) *Session {
	if u.index != nil {
		return u.index[full]
	}
	for _, s := range u.sessions {
		if s.JID == full {
			return s
		}
	}
	return nil
}

// Sessions returns the user's sessions, in the order they were opened.
// The slice is u's own.
func (u *User) Sessions() []*Session { return u.sessions }

// Marks returns the number of stanzas remembered as pushed.
func (u *User) Marks() int { return u.marks.Len() }

// Empty reports whether u holds nothing worth keeping: no session and no
// mark.
func (u *User) Empty() bool {
	return len(u.sessions) == 0 && u.marks.Len() == 0 && u.holds == nil && u.wk == nil
}

// Expire forgets the marks past the deduplication window at now, and the
// sends the delivery policy no longer looks back on (debounce is its
// window).
func (u *User) Expire(now time.Time, debounce time.Duration) {
	u.marks.Expire(now)
	if u.holds != nil && u.holds.expire(now, debounce) {
		u.holds = nil
	}
	if u.wk != nil && u.wk.expire(now) {
		u.wk = nil
	}
}

func (r *Rules) add(u *User, full string) (*Session, error) {
	if r.MaxSessions > 0 && len(u.sessions) >= r.MaxSessions {
		return nil, ErrTooManySessions
	}
	s := &Session{JID: full}
	u.sessions = append(u.sessions, s)
	if u.index != nil {
		u.index[full] = s
	} else if len(u.sessions) > linearSessions {
		u.index = make(map[string]*Session, 2*len(u.sessions))
		for _, o := range u.sessions {
			u.index[o.JID] = o
		}
	}
	return s, nil
}

// session returns the session named full, adding it when it is new.
func (r *Rules) session(u *User, full string) (*Session, error) {
	if s := u.Session(full); s != nil {
		return s, nil
	}
	return r.add(u, full)
}

// Open records a session (or, for one already known, makes it live again
// and discards its pending batch).
func (r *Rules) Open(u *User, full string, out *Out) error {
	if s := u.Session(full); s != nil {
		s.Hibernating, s.Extended = false, false
		out.withdraw(s)
		u.back(s, out)
		return nil
	}
	_, err := r.add(u, full)
	return err
}

// Close forgets the session and its pending batch; it reports whether the
// session was known.
func (r *Rules) Close(u *User, full string, out *Out) bool {
	i := slices.IndexFunc(u.sessions, func(s *Session) bool { return s.JID == full })
	if i < 0 {
		return false
	}
	s := u.sessions[i]
	s.Closed = true
	out.withdraw(s)
	u.sessions = slices.Delete(u.sessions, i, i+1)
	if u.index != nil {
		delete(u.index, full)
		if len(u.sessions) <= linearSessions {
			u.index = nil
		}
	}
	return true
}

// Resume makes a hibernating session live again and discards its batch;
// it reports whether the session was known.
func (r *Rules) Resume(u *User, full string, out *Out) bool {
	s := u.Session(full)
	if s == nil {
		return false
	}
	s.Hibernating, s.Extended = false, false
	out.withdraw(s)
	u.back(s, out)
	return true
}

// Queue adds stanzas (an overdue-ack queue, or one stanza queued while
// hibernating) to the batch of a bound session. A batch that fell due
// before now is processed first (its wake-up was missed), and one due
// further ahead than a batch window (the clock went back) is due a window
// from now. It reports whether the session is known (an unbound one
// queues nothing).
func (r *Rules) Queue(now time.Time, u *User, full string, stanzas []events.Stanza, out *Out) (known bool) {
	s := u.Session(full)
	if s == nil || !s.Bound {
		if s != nil {
			out.count(SuppressedUnbound, len(stanzas))
		}
		return s != nil
	}
	if s.Batch.Open() {
		due, t := s.Batch.Due.UnixNano(), now.UnixNano()
		switch {
		case t >= due:
			r.process(now, s.Batch.Opened, u, s, s.Batch.Stanzas(), out)
			s.Batch.Discard()
		case due-t > int64(r.BatchWindow):
			s.Batch.Due = now.Add(r.BatchWindow)
			r.arm(s, out)
		}
	}
	for i := range stanzas {
		if u.voip(&stanzas[i], &s.Binding, now) {
			r.process(now, now, u, s, stanzas[i:i+1], out) // a call rings (or stops) now
			continue
		}
		opened, kept := s.Batch.Add(now, r.BatchWindow, &stanzas[i])
		if opened {
			r.arm(s, out)
		}
		if !kept {
			out.count(SuppressedBatch, 1)
		}
	}
	return true
}

// arm asks for a wake-up at the batch's due time (armAt).
func (r *Rules) arm(s *Session, out *Out) { out.armAt(s, s.Batch.Due) }

// armAt asks for a wake-up of s's timer at at, and for a new timer unless
// one armed already falls due no later.
func (o *Out) armAt(s *Session, at time.Time) {
	arm := s.timer.IsZero() || at.Before(s.timer)
	if arm {
		s.timer = at
	}
	o.Due = append(o.Due, Due{Session: s, At: at, Arm: arm})
}

// Flush is the timer armed for s at due firing: it processes s's batch if
// it is due at now, and arms the timer again for a batch due later.
func (r *Rules) Flush(now time.Time, u *User, s *Session, due time.Time, out *Out) {
	if h := u.holds; h != nil && s == &h.timer {
		if s.timer.Equal(due) {
			s.timer = time.Time{}
			r.release(now, u, out)
		}
		return
	}
	if u.wk != nil && s == &u.wk.timer {
		r.wake(now, u, due, out)
		return
	}
	if s.Closed || !s.timer.Equal(due) {
		return // a timer replaced by an earlier one
	}
	s.timer = time.Time{}
	if !s.Batch.Open() {
		return
	}
	if now.Before(s.Batch.Due) {
		r.arm(s, out)
		return
	}
	r.process(now, s.Batch.Opened, u, s, s.Batch.Stanzas(), out)
	s.Batch.Discard()
}

// Hibernate marks the session hibernating (adding it when unknown),
// discards its batch and, when it is bound, gives it the extended timeout
// and processes its queue at once.
func (r *Rules) Hibernate(now time.Time, u *User, full string, queue []events.Stanza, out *Out) error {
	s, err := r.session(u, full)
	if err != nil {
		return err
	}
	s.Hibernating, s.hibernated = true, now
	s.Batch.Discard()
	if !s.Bound {
		out.count(SuppressedUnbound, len(queue))
		return nil
	}
	s.Extended = true
	out.Timeouts = append(out.Timeouts, Timeout{Session: s.JID, Duration: r.MaxHibernationTimeout})
	r.timedOut(now, u, s, r.MaxHibernationTimeout, out)
	r.repeatLater(now, u, s, queue, out)
	r.process(now, now, u, s, queue, out)
	return nil
}

// process gives the pushes of a bound session's queue (or batch, collected
// since since) to its own registration, and cuts its extended timeout back
// at the first important one.
func (r *Rules) process(now, since time.Time, u *User, s *Session, queue []events.Stanza, out *Out) {
	if !s.Bound || len(queue) == 0 {
		return
	}
	reg := &s.Binding
	picks, n := Select(queue, &u.marks, reg, now, r.taker(now, u, reg), r.Filters.of(reg), out)
	for _, pk := range picks[:n] {
		if !r.push(now, since.UnixNano(), u, reg, pk.Stanza, pk.Important, u.voip(pk.Stanza, reg, now), out) {
			continue
		}
		u.markCall(pk.Stanza, reg, now)
		if pk.Important && s.Hibernating && s.Extended {
			s.Extended = false
			out.Timeouts = append(out.Timeouts, Timeout{Session: s.JID, Duration: r.HibernationTimeout})
			r.timedOut(now, u, s, r.HibernationTimeout, out)
		}
	}
}

// publish sets every field of p (a slot that may hold an earlier
// publish) to the push for one registration, in place: a Publish is
// large, and this is every push's path. st is nil for a ping; voip marks
// a push that rings or stops a call; since is when the oldest stanza the
// push covers reached the engine, in Unix nanoseconds.
func (r *Rules) publish(p *Publish, reg *registry.Registration, st *events.Stanza, important, voip bool, since int64) {
	p.User, p.Registration, p.Options, p.Generation, p.Important = reg.User, reg.ID, reg.Options, reg.Generation, important
	p.Extensions, p.VoIP, p.Payload, p.Since = reg.Extensions, voip, nil, since
	p.Push2, p.Match, p.Raw, p.Call = nil, 0, "", false
	p.Body, p.Sender = "", ""
	if reg.Extensions.Encrypted() || reg.Extensions.Jingle() {
		p.Payload = r.payload(st, voip)
	}
	if st == nil {
		return
	}
	if r.WithSender {
		p.Sender = st.From
	}
	switch {
	case r.WithBody && st.Encrypted:
		if important {
			p.Body = r.ImportantBody
		}
	case r.WithBody && st.Body != "":
		p.Body = st.Body
	case important:
		p.Body = r.ImportantBody
	}
}

package core

import (
	"time"

	"github.com/pushrules/pushrules/registry"
)

// Policy is the delivery policy of Rules: debounce and rate limits per
// registration and per user. Its zero value sends every push at once.
type Policy struct {
	// Debounce is the window after a push to a registration in which later
	// pushes to it are held and coalesced into one at the window's end.
	Debounce time.Duration
	// PerRegistration and PerUser cap the pushes in any minute (0: no cap);
	// a push past a cap is held until the cap allows it, coalesced with
	// any other push held for its registration.
	PerRegistration, PerUser int
	// Grace holds pushes to a registration while a session of the user
	// not bound to it was active (Rules.Active) within that long.
	Grace time.Duration
}

// on reports whether the policy can hold a push.
func (p *Policy) on() bool {
	return p.Debounce > 0 || p.PerRegistration > 0 || p.PerUser > 0 || p.Grace > 0
}

// holds is a user's delivery state under a policy: when pushes were sent,
// and the push held for each registration. The timer Session is not a
// client session: it names the user's hold timer to the shell, which
// hands it back to Flush.
type holds struct {
	regs  []regHold
	sent  []time.Time // the user's sends within the last minute, oldest first
	timer Session
}

// regHold is one registration's delivery state.
type regHold struct {
	id   registry.Identifier
	last time.Time   // the last send; zero: none remembered
	sent []time.Time // sends within the last minute, oldest first
	// held is the push waiting for due (when holding), and why it waits.
	held    Publish
	holding bool
	why     Reason
	due     time.Time
}

// minute is the span of the rate limits.
const minute = time.Minute

// gate sends p (appending it to out and counting it) or holds it for its
// registration. A call (ring) is never held. The caller has marked its
// stanza as pushed: a held push covers it.
func (r *Rules) gate(now time.Time, u *User, p *Publish, call bool, out *Out) {
	if !r.Policy.on() {
		r.send(now, u, p, out)
		return
	}
	r.hold(now, u, p, call, out)
}

// hold is gate under a policy that can hold pushes.
func (r *Rules) hold(now time.Time, u *User, p *Publish, call bool, out *Out) {
	if u.holds == nil {
		u.holds = &holds{}
	}
	h := u.holds
	rh := h.reg(p.Registration)
	if call {
		r.count(now, h, rh)
		r.send(now, u, p, out)
		return
	}
	if rh.holding {
		r.coalesce(rh, p, out)
		return
	}
	at, why := r.allowed(now, u, rh)
	if !at.After(now) {
		r.record(now, h, rh)
		r.send(now, u, p, out)
		return
	}
	rh.held, rh.holding, rh.why, rh.due = *p, true, why, at
	r.armHold(h, out)
}

// send appends p to out and counts it.
func (r *Rules) send(now time.Time, u *User, p *Publish, out *Out) {
	out.Publishes = append(out.Publishes, *p)
	out.count(published(p.Important), 1)
	if r.ClearOnRead && p.Push2 == nil {
		r.notePushed(now, u, p.Registration)
	}
}

// coalesce merges p into the push held for rh: an important push replaces
// an unimportant one, never the reverse; a push of the same class replaces
// the held one (its content is the newer). The displaced push counts the
// reason of the hold; the kept one keeps the earliest Since.
func (r *Rules) coalesce(rh *regHold, p *Publish, out *Out) {
	out.count(rh.why, 1)
	if rh.held.Important && !p.Important {
		return
	}
	since := rh.held.Since
	rh.held = *p
	rh.held.Since = since
}

// allowed returns the earliest time a push to rh may be sent, from now,
// and the reason it waits when that is later than now.
func (r *Rules) allowed(now time.Time, u *User, rh *regHold) (time.Time, Reason) {
	h := u.holds
	at, why := now, SuppressedDebounce
	if r.Policy.Debounce > 0 && !rh.last.IsZero() {
		if t := rh.last.Add(r.Policy.Debounce); t.After(at) {
			at = t
		}
	}
	if t := capped(now, rh.sent, r.Policy.PerRegistration); t.After(at) {
		at, why = t, SuppressedRateLimit
	}
	if t := capped(now, h.sent, r.Policy.PerUser); t.After(at) {
		at, why = t, SuppressedRateLimit
	}
	if t := r.graceEnd(u, rh.id); t.After(at) {
		at, why = t, SuppressedGrace
	}
	return at, why
}

// graceEnd returns when the grace period of the latest activity of a
// session of u not bound to id ends (zero when there is none).
func (r *Rules) graceEnd(u *User, id registry.Identifier) time.Time {
	var end time.Time
	if r.Policy.Grace <= 0 {
		return end
	}
	for _, s := range u.sessions {
		if s.Active.IsZero() || s.Bound && s.Binding.ID == id {
			continue
		}
		if t := s.Active.Add(r.Policy.Grace); t.After(end) {
			end = t
		}
	}
	return end
}

// Active records that session full sent a message or chat state at now;
// it reports whether the session is known.
func (r *Rules) Active(now time.Time, u *User, full string) bool {
	s := u.Session(full)
	if s == nil {
		return false
	}
	s.Active = now
	return true
}

// back withdraws the push held for the registration s is bound to: the
// session is back (resumed or reopened) and gets its stanzas itself.
func (u *User) back(s *Session, out *Out) {
	if u.holds == nil || !s.Bound {
		return
	}
	for i := range u.holds.regs {
		if rh := &u.holds.regs[i]; rh.id == s.Binding.ID && rh.holding {
			rh.holding, rh.held = false, Publish{}
			out.count(SuppressedWithdrawn, 1)
		}
	}
}

// capped returns when another send is allowed under a cap of max sends per
// minute, given the sends within the last minute (oldest first).
func capped(now time.Time, sent []time.Time, max int) time.Time {
	if max <= 0 || len(sent) < max {
		return now
	}
	return sent[len(sent)-max].Add(minute)
}

// reg returns id's state, adding it when new.
func (h *holds) reg(id registry.Identifier) *regHold {
	for i := range h.regs {
		if h.regs[i].id == id {
			return &h.regs[i]
		}
	}
	h.regs = append(h.regs, regHold{id: id})
	return &h.regs[len(h.regs)-1]
}

// record remembers a send to rh at now: it opens a debounce window and
// counts towards the caps.
func (r *Rules) record(now time.Time, h *holds, rh *regHold) {
	rh.last = now
	r.count(now, h, rh)
}

// count counts a send to rh at now towards the caps (a call's send, which
// opens no debounce window: it must not delay the pushes held meanwhile).
func (r *Rules) count(now time.Time, h *holds, rh *regHold) {
	if r.Policy.PerRegistration > 0 {
		rh.sent = append(trim(now, rh.sent), now)
	}
	if r.Policy.PerUser > 0 {
		h.sent = append(trim(now, h.sent), now)
	}
}

// trim drops the sends older than a minute before now.
func trim(now time.Time, sent []time.Time) []time.Time {
	i := 0
	for i < len(sent) && !sent[i].Add(minute).After(now) {
		i++
	}
	return append(sent[:0], sent[i:]...)
}

// armHold asks for a wake-up at the earliest due time of the held pushes.
func (r *Rules) armHold(h *holds, out *Out) {
	var next time.Time
	for i := range h.regs {
		if rh := &h.regs[i]; rh.holding && (next.IsZero() || rh.due.Before(next)) {
			next = rh.due
		}
	}
	if next.IsZero() {
		return
	}
	out.armAt(&h.timer, next)
}

// release is the hold timer firing: it sends the held pushes due at now
// (oldest due first, each only when the policy still allows it) and arms
// the timer again for those still held.
func (r *Rules) release(now time.Time, u *User, out *Out) {
	h := u.holds
	for {
		var rh *regHold
		for i := range h.regs {
			c := &h.regs[i]
			if c.holding && !c.due.After(now) && (rh == nil || c.due.Before(rh.due)) {
				rh = c
			}
		}
		if rh == nil {
			break
		}
		if at, why := r.allowed(now, u, rh); at.After(now) {
			rh.due, rh.why = at, why
			continue
		}
		rh.holding = false
		r.record(now, h, rh)
		r.send(now, u, &rh.held, out)
		rh.held = Publish{}
	}
	r.armHold(h, out)
}

// drop withdraws the pushes held for registrations no longer stored and
// forgets their state (all of them when ids is nil).
func (h *holds) drop(ids func(registry.Identifier) bool, out *Out) {
	kept := h.regs[:0]
	for _, rh := range h.regs {
		if ids == nil || ids(rh.id) {
			if rh.holding {
				out.count(SuppressedWithdrawn, 1)
			}
			continue
		}
		kept = append(kept, rh)
	}
	clear(h.regs[len(kept):])
	h.regs = kept
}

// expire forgets the sends older than what the policy looks back on; it
// reports whether nothing is left (no send to remember, no push held).
func (h *holds) expire(now time.Time, debounce time.Duration) bool {
	h.sent = trim(now, h.sent)
	kept := h.regs[:0]
	for _, rh := range h.regs {
		rh.sent = trim(now, rh.sent)
		if rh.holding || len(rh.sent) > 0 || rh.last.Add(debounce).After(now) {
			kept = append(kept, rh)
		}
	}
	clear(h.regs[len(kept):])
	h.regs = kept
	return len(h.regs) == 0 && len(h.sent) == 0
}

// Held returns the number of pushes the delivery policy holds.
func (u *User) Held() int {
	n := 0
	if u.holds != nil {
		for i := range u.holds.regs {
			if u.holds.regs[i].holding {
				n++
			}
		}
	}
	return n
}

package core

import (
	"slices"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

// The rules of the wake-ups around hibernation (Rules.WakeBefore, Restart)
// and of the clearing pushes (Rules.ClearOnRead, Read).

// wakes is a user's state for the wake-ups and the clearing pushes; a
// User keeps it only while it remembers something. The timer Session is
// not a client session: it names the user's wake timer to the shell,
// which hands it back to Flush.
type wakes struct {
	due     []wakeDue     // hibernating sessions to wake before they are destroyed
	pushed  []pushedReg   // registrations pushed since the user last read, oldest first
	repeats []repeat      // sessions in an episode of unacknowledged stanzas
	window  time.Duration // how long a push is remembered in pushed
	timer   Session
}

// wakeDue is when a hibernating session gets its wake-up push: WakeBefore
// before the timeout the host was last told to set.
type wakeDue struct {
	s  *Session
	at time.Time
}

// pushedReg is a registration that got a push for a stanza at at.
type pushedReg struct {
	id registry.Identifier
	at time.Time
}

// maxPushed bounds the registrations remembered as pushed per user; past
// it the oldest is forgotten (it gets no clearing push).
const maxPushed = 32

// wakes returns u's state, adding it when there is none.
func (r *Rules) wakes(u *User) *wakes {
	if u.wk == nil {
		u.wk = &wakes{window: r.DedupWindow}
	}
	return u.wk
}

// timedOut is called when the host is told to set the hibernation timeout
// of s, hibernating, to timeout from now: with WakeBefore set and s bound
// to a XEP-0357 registration, s's wake-up is due WakeBefore before then.
func (r *Rules) timedOut(now time.Time, u *User, s *Session, timeout time.Duration, out *Out) {
	if r.WakeBefore <= 0 || !s.Bound || s.Binding.Push2 != nil {
		return
	}
	w := r.wakes(u)
	at := now.Add(max(timeout-r.WakeBefore, 0))
	if i := slices.IndexFunc(w.due, func(d wakeDue) bool { return d.s == s }); i >= 0 {
		w.due[i].at = at
	} else {
		w.due = append(w.due, wakeDue{s: s, at: at})
	}
	r.armWakes(w, out)
}

// armWakes asks for a wake-up at the earliest due wake-up or repeated
// push, and for a new timer unless one armed already falls due no later.
func (r *Rules) armWakes(w *wakes, out *Out) {
	var next time.Time
	for _, d := range w.due {
		if next.IsZero() || d.at.Before(next) {
			next = d.at
		}
	}
	for _, rp := range w.repeats {
		if rp.pending && (next.IsZero() || rp.at.Before(next)) {
			next = rp.at
		}
	}
	if next.IsZero() {
		return
	}
	out.armAt(&w.timer, next)
}

// wake is the wake timer armed for due firing: each session whose wake-up
// is due by now and that still hibernates, bound, gets one push without
// stanza data to its registration, the repeated pushes due are sent, and
// the timer is armed again for the rest.
func (r *Rules) wake(now time.Time, u *User, due time.Time, out *Out) {
	w := u.wk
	if !w.timer.timer.Equal(due) {
		return // a timer replaced by an earlier one
	}
	w.timer.timer = time.Time{}
	kept := w.due[:0]
	for _, d := range w.due {
		if d.at.After(now) {
			kept = append(kept, d)
			continue
		}
		if s := d.s; !s.Closed && s.Hibernating && s.Bound && s.Binding.Push2 == nil {
			r.wakeUp(now, &s.Binding, out)
		}
	}
	clear(w.due[len(kept):])
	w.due = kept
	r.repeatDue(now, u, w, out)
	r.armWakes(w, out)
}

// wakeUp pushes to reg without stanza data, counted PublishedWake.
func (r *Rules) wakeUp(now time.Time, reg *registry.Registration, out *Out) {
	r.pushNow(now, reg, nil, false, PublishedWake, out)
}

// pushNow appends to out a push to reg for st (nil: without stanza data),
// sent at once whatever the delivery policy, and counts it as why.
func (r *Rules) pushNow(now time.Time, reg *registry.Registration, st *events.Stanza, important bool, why Reason, out *Out) {
	r.publish(out.slot(), reg, st, important, false, now.UnixNano())
	out.count(why, 1)
}

// Restart wakes, after the host restarted, every XEP-0357 registration in
// regs whose node is in nodes (all of them when nodes is empty), newest
// first: their sessions were hibernating when the host stopped.
func (r *Rules) Restart(now time.Time, regs []registry.Registration, nodes []string, out *Out) {
	for i := len(regs) - 1; i >= 0; i-- {
		if regs[i].Push2 != nil || len(nodes) > 0 && !slices.Contains(nodes, regs[i].ID.Node()) {
			continue // Push 2.0 has no pushes without a stanza
		}
		r.wakeUp(now, &regs[i], out)
	}
}

// notePushed remembers that registration id got a push for a stanza at
// now, for the clearing push of the user's next read. The caller checks
// ClearOnRead.
func (r *Rules) notePushed(now time.Time, u *User, id registry.Identifier) {
	w := r.wakes(u)
	if i := slices.IndexFunc(w.pushed, func(p pushedReg) bool { return p.id == id }); i >= 0 {
		w.pushed = append(slices.Delete(w.pushed, i, i+1), pushedReg{id: id, at: now})
		return
	}
	if len(w.pushed) == maxPushed {
		w.pushed = slices.Delete(w.pushed, 0, 1)
	}
	w.pushed = append(w.pushed, pushedReg{id: id, at: now})
}

// Unread reports whether a registration of u got a push since the user
// last read (Read would then send clearing pushes).
func (u *User) Unread() bool { return u.wk != nil && len(u.wk.pushed) > 0 }

// Read applies the user's reading on session full (a displayed marker, a
// display synchronisation, an offline retrieval): with ClearOnRead, each
// XEP-0357 registration of regs that got a push since the last read, but
// the one full is bound to, gets a push with no stanza data (the shell
// gives it a message count of 0), counted PublishedCleared, newest
// first; pushes held by the delivery policy are withdrawn (they would
// announce what was read). It reports whether the session is known.
func (r *Rules) Read(now time.Time, u *User, full string, regs []registry.Registration, out *Out) bool {
	s := u.Session(full)
	if s == nil {
		return false
	}
	if !r.ClearOnRead {
		return true
	}
	if u.holds != nil {
		for i := range u.holds.regs {
			if rh := &u.holds.regs[i]; rh.holding {
				rh.holding, rh.held = false, Publish{}
				out.count(SuppressedWithdrawn, 1)
			}
		}
	}
	w := u.wk
	if w == nil || len(w.pushed) == 0 {
		return true
	}
	var reader registry.Identifier
	if s.Bound {
		reader = s.Binding.ID
	}
	for i := len(regs) - 1; i >= 0; i-- {
		reg := &regs[i]
		if reg.Push2 != nil || reg.ID == reader || !slices.ContainsFunc(w.pushed, func(p pushedReg) bool { return p.id == reg.ID }) {
			continue
		}
		r.pushNow(now, reg, nil, false, PublishedCleared, out)
	}
	w.pushed = w.pushed[:0]
	return true
}

// expire forgets the pushes older than the window, the wake-ups of
// sessions that no longer hibernate and the episodes of closed sessions;
// it reports whether nothing is left.
func (w *wakes) expire(now time.Time) bool {
	w.pushed = slices.DeleteFunc(w.pushed, func(p pushedReg) bool { return !p.at.Add(w.window).After(now) })
	w.due = slices.DeleteFunc(w.due, func(d wakeDue) bool { return d.s.Closed || !d.s.Hibernating })
	w.repeats = slices.DeleteFunc(w.repeats, func(rp repeat) bool { return rp.s.Closed })
	return len(w.pushed) == 0 && len(w.due) == 0 && len(w.repeats) == 0
}

package core

import (
	"slices"
	"time"

	"github.com/pushrules/pushrules/events"
)

// The rule of repeated pushes (Rules.RepeatAfter): iOS gives an app about
// 30 seconds per push. A session woken by a push that resumes,
// acknowledges nothing and hibernates again with the same stanzas queued
// would get no push for them (they were pushed already): it gets one more
// after a back-off, a limited number of times per episode. An episode
// ends when the session hibernates with a stanza it was not pushed for or
// with nothing queued (it acknowledged), or when it closes.

// repeat is one session's episode of unacknowledged stanzas.
type repeat struct {
	s *Session
	// n counts the pushes repeated in this episode.
	n int
	// pending is set while a repeat is due at at, for the hibernation that
	// started at hibernated, with the push of st (of class important).
	pending    bool
	at         time.Time
	hibernated time.Time
	st         events.Stanza
	important  bool
}

// repeatLater is called as s, bound, starts hibernating with queue,
// before the queue is processed: when every stanza of the queue with an
// identity was pushed to s's registration before, it plans a repeated
// push (of the first important one, else the first) after the back-off;
// otherwise the session's episode ends.
func (r *Rules) repeatLater(now time.Time, u *User, s *Session, queue []events.Stanza, out *Out) {
	if r.RepeatAfter <= 0 || s.Binding.Push2 != nil {
		return
	}
	pick := -1
	for i := range queue {
		st := &queue[i]
		if st.Key == 0 {
			continue
		}
		if !u.marks.Has(st.Key, s.Binding.ID, now) {
			pick = -1
			break
		}
		if pick < 0 || st.Important() && !queue[pick].Important() {
			pick = i
		}
	}
	if pick < 0 {
		if u.wk != nil {
			u.wk.repeats = slices.DeleteFunc(u.wk.repeats, func(rp repeat) bool { return rp.s == s })
		}
		return
	}
	w := r.wakes(u)
	i := slices.IndexFunc(w.repeats, func(rp repeat) bool { return rp.s == s })
	if i < 0 {
		w.repeats = append(w.repeats, repeat{s: s})
		i = len(w.repeats) - 1
	}
	rp := &w.repeats[i]
	if rp.n >= r.MaxRepeats {
		rp.pending = false
		return
	}
	st := &queue[pick]
	rp.pending, rp.at, rp.hibernated = true, now.Add(r.RepeatAfter<<rp.n), now
	rp.st, rp.important = *st, st.Important()
	r.armWakes(w, out)
}

// repeatDue sends the repeated pushes due by now (the wake timer fired),
// each only when its session still sleeps in the hibernation it was
// planned for, bound to a registration.
func (r *Rules) repeatDue(now time.Time, u *User, w *wakes, out *Out) {
	for i := range w.repeats {
		rp := &w.repeats[i]
		if !rp.pending || rp.at.After(now) {
			continue
		}
		rp.pending = false
		s := rp.s
		if s.Closed || !s.Hibernating || !s.hibernated.Equal(rp.hibernated) || !s.Bound || s.Binding.Push2 != nil {
			continue
		}
		rp.n++
		r.pushNow(now, &s.Binding, &rp.st, rp.important, PublishedRepeat, out)
		rp.st = events.Stanza{}
		if rp.important && s.Extended { // as the first important push of a hibernation does
			s.Extended = false
			out.Timeouts = append(out.Timeouts, Timeout{Session: s.JID, Duration: r.HibernationTimeout})
			r.timedOut(now, u, s, r.HibernationTimeout, out)
		}
	}
}

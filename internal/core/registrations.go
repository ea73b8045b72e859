package core

import (
	"slices"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

// The rules of registration changes (enable, removal, deletion, another
// node's change) and of the paths that push to every registration (the
// archive, offline storage, groupchat to the bare JID, pings).

// Enabled applies a stored enable: the evicted registrations are
// forgotten, sessions bound to the saved one see its new form, and the
// enabling session (added when unknown) is bound to it.
func (r *Rules) Enabled(now time.Time, u *User, full string, saved registry.Registration, evicted []registry.Registration, out *Out) error {
	s, err := r.session(u, full)
	if err != nil {
		return err
	}
	r.Removed(now, u, evicted, out)
	for _, o := range u.sessions {
		if o.Bound && o.Binding.ID == saved.ID {
			o.Binding = saved
		}
	}
	s.Bind(saved)
	return nil
}

// Removed forgets registrations that are no longer stored: the sessions
// bound to them are unbound (a hibernating one with the extended timeout
// gets the normal timeout back) and their marks are dropped.
func (r *Rules) Removed(now time.Time, u *User, removed []registry.Registration, out *Out) {
	if len(removed) == 0 {
		return
	}
	for _, s := range u.sessions {
		if s.Bound && slices.ContainsFunc(removed, func(reg registry.Registration) bool { return reg.ID == s.Binding.ID }) {
			r.unbind(s, out)
		}
	}
	for i := range removed {
		u.marks.Forget(removed[i].ID)
	}
	if u.holds != nil {
		u.holds.drop(func(id registry.Identifier) bool {
			return slices.ContainsFunc(removed, func(reg registry.Registration) bool { return reg.ID == id })
		}, out)
	}
}

func (r *Rules) unbind(s *Session, out *Out) {
	out.count(SuppressedWithdrawn, s.Batch.Len())
	if s.Unbind() {
		out.Timeouts = append(out.Timeouts, Timeout{Session: s.JID, Duration: r.HibernationTimeout})
	}
}

// Deleted forgets everything of a deleted user but its sessions, which
// are unbound.
func (r *Rules) Deleted(now time.Time, u *User, out *Out) {
	for _, s := range u.sessions {
		if s.Bound {
			r.unbind(s, out)
		}
	}
	u.marks.Init(r.DedupWindow, r.MarksPerUser)
	if u.holds != nil {
		u.holds.drop(nil, out)
	}
}

// Sync brings the bindings in line with what is stored now (after another
// node changed the user's registrations): sessions bound to a registration
// not in stored, or stored with another generation, are unbound; the
// others see the stored form.
func (r *Rules) Sync(now time.Time, u *User, stored []registry.Registration, out *Out) {
	for _, s := range u.sessions {
		if !s.Bound {
			continue
		}
		i := slices.IndexFunc(stored, func(reg registry.Registration) bool { return reg.ID == s.Binding.ID })
		if i < 0 || stored[i].Generation != s.Binding.Generation {
			id := s.Binding.ID
			r.unbind(s, out)
			if i < 0 {
				u.marks.Forget(id)
			}
			continue
		}
		s.Binding = stored[i]
	}
	if u.holds != nil {
		u.holds.drop(func(id registry.Identifier) bool {
			return !slices.ContainsFunc(stored, func(reg registry.Registration) bool { return reg.ID == id })
		}, out)
	}
}

// Fanout pushes st to every registration in regs that has not had it yet
// and whose filters let it pass, newest registration (last in regs) first,
// skipping those bound to a session of u when skipBound is set (but for
// the end of a call pushed to them).
func (r *Rules) Fanout(now time.Time, u *User, regs []registry.Registration, st *events.Stanza, skipBound bool, out *Out) {
	important, since := st.Important(), now.UnixNano()
	var pushed, marked uint64 // registrations (bits of the marks) pushed before, and now
	if st.Key != 0 {
		pushed = u.marks.Pushed(st.Key, now)
	}
	for i := len(regs) - 1; i >= 0; i-- {
		reg := &regs[i]
		voip := u.voip(st, reg, now)
		if skipBound && !(st.CallEnd && voip) && u.bound(reg.ID) {
			out.count(SuppressedBound, 1)
			continue
		}
		if !r.Passes(reg, st) {
			out.count(SuppressedFilter, 1)
			continue
		}
		if !r.Filters.of(reg).allows(st) {
			out.count(SuppressedPolicy, 1)
			continue
		}
		var b uint64
		if st.Key != 0 {
			b = u.marks.Bit(reg.ID)
			if pushed&b != 0 {
				out.count(SuppressedDedup, 1)
				continue
			}
		}
		if len(out.Publishes) == cap(out.Publishes) {
			out.Publishes = slices.Grow(out.Publishes, i+1)
		}
		if r.push(now, since, u, reg, st, important, voip, out) {
			marked |= b
			u.markCall(st, reg, now)
		}
	}
	if st.Key != 0 {
		u.marks.Mark(st.Key, marked, now)
	}
}

// Ping pushes to every registration in regs, or to those whose node is in
// nodes when nodes is not empty, newest first, without stanza data.
func (r *Rules) Ping(now time.Time, regs []registry.Registration, nodes []string, out *Out) {
	for i := len(regs) - 1; i >= 0; i-- {
		if regs[i].Push2 != nil || len(nodes) > 0 && !slices.Contains(nodes, regs[i].ID.Node()) {
			continue // Push 2.0 has no pings
		}
		r.publish(out.slot(), &regs[i], nil, false, false, now.UnixNano())
		out.count(PublishedPing, 1)
	}
}

func (u *User) bound(id registry.Identifier) bool {
	for _, s := range u.sessions {
		if s.Bound && s.Binding.ID == id {
			return true
		}
	}
	return false
}

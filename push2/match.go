package push2

import (
	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/jid"
)

// Facts are what Matches needs to know about a stanza beyond
// events.Stanza, computed by the engine.
type Facts struct {
	// Archived is set when the stanza carries a XEP-0359 <stanza-id/> from
	// the user's archive. (events.Stanza will carry this itself; until
	// then the engine passes it here.)
	Archived bool
	// Mentioned is set when the stanza mentions the user (in a groupchat,
	// the user's nick as a word of the body, or a XEP-0372 reference).
	Mentioned bool
	// Reply is set when the stanza is a XEP-0461 reply to one of the
	// user's messages.
	Reply bool
	// CallRetraction is set for a XEP-0353 <retract/> (Jingle Message :0
	// or :1): important, like the proposal it ends, so that the device
	// stops ringing. (events.Stanza flags proposals only.)
	CallRetraction bool
}

// Matches reports whether the stanza st (nil is an empty stanza), with the
// facts f, is to be pushed under m. The profile decides first:
//
//   - MatchAll: every stanza;
//   - MatchImportant: st.Important() (call proposals included) or
//     f.CallRetraction;
//   - MatchArchived: f.Archived;
//   - MatchArchivedWithBody: f.Archived and st.HasBody.
//
// Then the filters: the first filter whose JID equals st.From (local part
// and domain compared case-folded), else its bare JID, else its domain,
// mutes the stanza unless the filter has Mention and f.Mentioned, or
// Reply and f.Reply. The grace period is the engine's to apply.
func (m *Match) Matches(st *events.Stanza, f Facts) bool {
	if st == nil {
		st = &events.Stanza{}
	}
	var ok bool
	switch m.Profile {
	case MatchAll:
		ok = true
	case MatchImportant:
		ok = st.Important() || f.CallRetraction
	case MatchArchived:
		ok = f.Archived
	case MatchArchivedWithBody:
		ok = f.Archived && st.HasBody
	}
	if !ok || len(m.Filters) == 0 {
		return ok
	}
	flt := m.filterFor(st.From)
	if flt == nil {
		return true
	}
	return flt.Mention && f.Mentioned || flt.Reply && f.Reply
}

// filterFor returns the filter of the chat from: by full JID, then bare,
// then domain; nil when none applies.
func (m *Match) filterFor(from string) *Filter {
	j, err := jid.Prepare(from)
	if err != nil {
		return nil
	}
	candidates := [3]string{from, j.Bare(), j.Domain}
	for _, c := range candidates {
		for i := range m.Filters {
			if jid.Equal(m.Filters[i].JID, c) {
				return &m.Filters[i]
			}
		}
	}
	return nil
}

package core

import (
	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

// Filter is what a registration wants pushed.
type Filter uint8

// The filters.
const (
	// FilterAll pushes every stanza the rules push (Prosody's behaviour).
	FilterAll Filter = iota
	// FilterImportant pushes only stanzas the rules class as important.
	FilterImportant
	// FilterMessages pushes only messages with a body or an encrypted
	// payload, and calls (ejabberd's notify_on: messages).
	FilterMessages
)

// Filters is how Rules chooses a registration's Filter.
type Filters struct {
	// Default is the filter of a registration that names none.
	Default Filter
	// Field, when set, is the publish-options field in which a client
	// names its filter; Names maps its values to filters (a value not in
	// it gives Default).
	Field string
	Names map[string]Filter
}

// of returns reg's filter.
func (f *Filters) of(reg *registry.Registration) Filter {
	if f.Field == "" {
		return f.Default
	}
	return f.named(reg)
}

// named returns the filter reg's client names in Field, or Default.
func (f *Filters) named(reg *registry.Registration) Filter {
	if v, ok := reg.Options.Value(f.Field); ok {
		if fl, ok := f.Names[v]; ok {
			return fl
		}
	}
	return f.Default
}

// allows reports whether a registration with filter f wants st pushed.
func (f Filter) allows(st *events.Stanza) bool {
	switch f {
	case FilterImportant:
		return st.Important()
	case FilterMessages:
		return st.Kind == events.KindMessage && (st.HasBody || st.Encrypted || st.CallProposal)
	}
	return true
}

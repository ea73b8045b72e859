package core

import (
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

// Session is the push state of one client session, named by its full JID.
type Session struct {
	// JID is the session's full JID.
	JID string
	// Bound says whether the session is bound to a registration; Binding is
	// that registration as it was when the session enabled it (kept up to
	// date when the same registration is enabled again). A bound session's
	// own pushes use Binding and need no store read.
	Bound   bool
	Binding registry.Registration
	// Hibernating is set between hibernation start and its end (resumption
	// or close); hibernated is when it last started (the Push 2.0 grace
	// period counts from it).
	Hibernating bool
	hibernated  time.Time
	// Extended is set while the host has been told to give the hibernating
	// session the extended (maximum) timeout, until its first important push
	// from its own queue or until it is unbound.
	Extended bool
	// Batch holds the stanzas collected for the next batched push.
	Batch Batch
	// timer is the due time of the batch timer the shell holds for the
	// session (zero: none); at most one is armed at a time, however often
	// batches open and close while the clock stands still.
	timer time.Time
	// Closed is set when the session is gone; a closed Session is never used
	// again (pending timers that still name it are ignored).
	Closed bool
	// Active is when the session last sent a message or chat state (zero:
	// never reported).
	Active time.Time
	// Client is the client id the session opened with (XEP-0388), "" for
	// none; its enable records it in the registration.
	Client string
}

// Bind binds the session to reg.
func (s *Session) Bind(reg registry.Registration) {
	s.Bound, s.Binding = true, reg
}

// Unbind clears the binding and discards the pending batch. It reports
// whether the host must now cut the hibernation timeout back to normal: the
// session hibernates and still had the extended timeout.
func (s *Session) Unbind() (restoreTimeout bool) {
	restoreTimeout = s.Hibernating && s.Extended
	s.Bound, s.Binding, s.Extended = false, registry.Registration{}, false
	s.Batch.Discard()
	return restoreTimeout
}

// Batch collects the stanzas queued to one session within one batch window.
// Its zero value is an empty, closed batch.
type Batch struct {
	// Due is when the batch must be processed; zero while the batch is
	// closed (empty).
	Due time.Time
	// Opened is when the batch's first stanza was added.
	Opened  time.Time
	stanzas []events.Stanza
	has     [2]bool // which classes the batch holds
}

// MaxBatch bounds the stanzas a batch keeps. Past it, a stanza of a class
// (important or not) the batch already holds is dropped: it is not marked as
// pushed, so another path may still push it. A stanza of a class the batch
// does not hold yet is kept, so that it is still pushed.
const MaxBatch = 1024

// Open reports whether the batch holds stanzas waiting for Due.
func (b *Batch) Open() bool { return !b.Due.IsZero() }

// Add appends st to the batch. When the batch was closed it opens it with
// Due = now + window and reports opened = true; kept is false when st was
// dropped (see MaxBatch).
func (b *Batch) Add(now time.Time, window time.Duration, st *events.Stanza) (opened, kept bool) {
	if b.Due.IsZero() {
		b.Opened = now
		b.Due = now.Add(window)
		if b.Due.IsZero() { // now + window landed on the zero instant
			b.Due = b.Due.Add(1)
		}
		opened = true
	}
	c := class(st)
	if len(b.stanzas) >= MaxBatch && b.has[c] {
		return opened, false
	}
	b.has[c] = true
	b.stanzas = append(b.stanzas, *st)
	return opened, true
}

// Len returns the number of stanzas held.
func (b *Batch) Len() int { return len(b.stanzas) }

// Stanzas returns the held stanzas, oldest first. The slice is the batch's
// own: it is valid until the next Add, Take or Discard.
func (b *Batch) Stanzas() []events.Stanza { return b.stanzas }

// Discard empties and closes the batch, keeping its capacity.
func (b *Batch) Discard() {
	clear(b.stanzas)
	b.stanzas = b.stanzas[:0]
	b.Due, b.Opened = time.Time{}, time.Time{}
	b.has = [2]bool{}
}

// Class indexes: the two classes of stanza a queue can give one push each.
const (
	Unimportant = 0
	Important   = 1
)

func class(st *events.Stanza) int {
	if st.Important() {
		return Important
	}
	return Unimportant
}

// Pick is one push chosen from a queue: the stanza it is for and its class.
type Pick struct {
	Stanza    *events.Stanza
	Important bool
}

// Select chooses the pushes a queue gives registration id: at most one per
// class (important, unimportant), each for the first stanza of its class not
// yet marked as pushed to id, in the order each class first appears. Every
// stanza of a class that gets a push is then marked (the push covers them
// all). The Picks point into queue. Stanzas with a zero Key are never
// marked, nor are those filter f or the registration itself (take, when
// not nil: take.takes, its extension filters or its Push 2.0 matches) do
// not allow. Every stanza of queue but the picks adds one to out's counts:
// SuppressedFilter for those the registration does not take, SuppressedPolicy for those f does not allow,
// SuppressedBatch for those of a class picked before them, SuppressedDedup
// for the others (already pushed to id); the picks count when they are
// sent or held. It classifies each stanza once, in out's scratch memory,
// and marks from there.
func Select(queue []events.Stanza, marks *Marks, reg *registry.Registration, now time.Time, take *taker, f Filter, out *Out) (picks [2]Pick, n int) {
	id := reg.ID
	var classes [2]bool
	// taken[i] is stanza i's class + 1 when the registration takes it and
	// f allows it, else 0: the marking below reads no stanza but its Key.
	taken := out.taken(len(queue))
	for i := range queue {
		st := &queue[i]
		c := class(st)
		switch {
		case take != nil && !take.takes(st):
			taken[i] = 0
			out.count(SuppressedFilter, 1)
			continue
		case f != FilterAll && !f.allows(st):
			taken[i] = 0
			out.count(SuppressedPolicy, 1)
			continue
		}
		taken[i] = uint8(c) + 1
		switch {
		case classes[c]:
			out.count(SuppressedBatch, 1)
		case marks.Has(st.Key, id, now):
			out.count(SuppressedDedup, 1)
		default:
			classes[c] = true
			picks[n] = Pick{Stanza: st, Important: c == Important}
			n++
		}
	}
	if n == 0 {
		return picks, 0
	}
	bit := marks.Bit(id)
	for i, t := range taken {
		if t != 0 && classes[t-1] && queue[i].Key != 0 {
			marks.Mark(queue[i].Key, bit, now)
		}
	}
	return picks, n
}

// published is the reason of a push for a stanza of that class.
func published(important bool) Reason {
	if important {
		return PublishedImportant
	}
	return PublishedUnimportant
}

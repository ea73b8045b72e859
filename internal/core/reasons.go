package core

// Reason is what became of one stanza for one registration (or of one
// ping): each call counts exactly one Reason per stanza it considers for a
// registration in Out.Counts, so that an operator can tell why a phone was
// or was not woken.
type Reason uint8

// The reasons, in the order the push package exports them.
const (
	// PublishedImportant and PublishedUnimportant count pushes made for a
	// stanza of that class; PublishedPing pushes without stanza (Ping).
	PublishedImportant Reason = iota
	PublishedUnimportant
	PublishedPing
	// SuppressedDedup counts stanzas the registration already had a push
	// for.
	SuppressedDedup
	// SuppressedBatch counts stanzas covered by another push of the same
	// queue or batch (even when pushed before), or dropped from a full
	// batch.
	SuppressedBatch
	// SuppressedUnbound counts stanzas queued to a session bound to no
	// registration.
	SuppressedUnbound
	// SuppressedBound counts registrations a fan-out skipped because a
	// session is bound to them (its own queue pushes).
	SuppressedBound
	// SuppressedWithdrawn counts batched stanzas dropped because their
	// session resumed, reopened, closed or was unbound before the batch
	// was due.
	SuppressedWithdrawn
	// SuppressedDebounce and SuppressedRateLimit count pushes held for a
	// registration (within its debounce window, or past a per-minute cap)
	// and then displaced by a later push that covers them.
	SuppressedDebounce
	SuppressedRateLimit
	// SuppressedGrace counts the same for pushes held in a grace period
	// (another session of the user was active).
	SuppressedGrace
	// SuppressedPolicy counts stanzas a registration's filter does not
	// want pushed (Filter).
	SuppressedPolicy
	// SuppressedFilter counts stanzas the registration's own filters stop
	// (Tigase's muted, groupchat and ignore-unknown filters; Push 2.0
	// matches that take nothing).
	SuppressedFilter
	// PublishedWake counts pushes without stanza that wake a device: one
	// shortly before its hibernating session would be destroyed
	// (Rules.WakeBefore), or one after the host restarted (Restart).
	PublishedWake
	// PublishedCleared counts pushes with a message count of 0 and no body
	// to a device that got a push before the user read on another device
	// (Rules.ClearOnRead).
	PublishedCleared
	// PublishedRepeat counts pushes repeated for stanzas a device was
	// woken for but never acknowledged (Rules.RepeatAfter).
	PublishedRepeat
	// NumReasons is the number of reasons.
	NumReasons
)

// count adds n to the count of r.
func (o *Out) count(r Reason, n int) {
	o.Counts[r] += uint32(n)
	o.Counted |= 1 << r
}

// withdraw discards s's batch, counting what it held as withdrawn.
func (o *Out) withdraw(s *Session) {
	o.count(SuppressedWithdrawn, s.Batch.Len())
	s.Batch.Discard()
}

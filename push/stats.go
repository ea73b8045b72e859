package push

import "sync/atomic"

// Stats is a snapshot of the engine's memory and of the counters of
// things a host should know about: most are host mistakes the engine
// survives (see the README, "Mistakes the library catches").
type Stats struct {
	// What the engine holds now.
	Users, Sessions, BoundSessions, Marks, PendingPublishes, BatchedStanzas int
	// HeldPushes counts the pushes the delivery policy holds
	// (DebounceWindow, MaxPushesPerMinute, MaxUserPushesPerMinute).
	HeldPushes int

	// StoreErrors counts Store calls that failed (each also returned as a
	// *StoreError and logged at warning level).
	StoreErrors uint64
	// UnknownSessions counts events for sessions the engine was never
	// told of with SessionOpened or HibernationStarted (logged at debug
	// level): a host that forgets SessionOpened gets no pushes for them.
	UnknownSessions uint64
	// SessionsRefused counts sessions refused at MaxSessionsPerUser (each
	// also returned as a *LimitError).
	SessionsRefused uint64
	// AnswersWithoutFrom counts publish answers with no From (logged at
	// warning level): the engine cannot tell them from forgeries, so they
	// count nothing.
	AnswersWithoutFrom uint64
	// AnswersForeign counts answers from another address than the
	// publish's push service (logged at info level); the publish stays
	// pending for its genuine answer.
	AnswersForeign uint64
	// AnswersUnknown counts answers to unknown, already answered or
	// expired publishes (logged at debug level).
	AnswersUnknown uint64
	// PublishesExpired counts publishes forgotten unanswered after
	// PublishTimeout (or to bound memory); PublishesForgotten those the
	// host forgot with ForgetPublish.
	PublishesExpired, PublishesForgotten uint64
	// RemoteDisablesIgnored counts events.RemoteDisabled that named no
	// stored registration (from another address than its service, or
	// for a node not stored; logged at info level).
	RemoteDisablesIgnored uint64
	// PublishesRetried counts the retries sent (ErrorPolicy.Retry).
	PublishesRetried uint64
	// RosterErrors counts failed Config.Roster lookups (logged at warning
	// level); each stanza concerned was pushed as if the sender were known.
	RosterErrors uint64
	// CounterErrors counts failed Config.Counter calls (logged at warning
	// level; the pushes went out without counts).
	CounterErrors uint64
}

type counters struct {
	storeErrors, unknownSessions, sessionsRefused      atomic.Uint64
	answersWithoutFrom, answersForeign, answersUnknown atomic.Uint64
	publishesExpired, publishesForgotten               atomic.Uint64
	remoteDisablesIgnored, publishesRetried            atomic.Uint64
	rosterErrors, counterErrors                        atomic.Uint64
}

// Stats counts what the engine holds now and reads its counters. It locks
// every shard in turn: call it for monitoring, not on a hot path.
func (e *Engine) Stats() Stats {
	st := Stats{
		StoreErrors:           e.stats.storeErrors.Load(),
		UnknownSessions:       e.stats.unknownSessions.Load(),
		SessionsRefused:       e.stats.sessionsRefused.Load(),
		AnswersWithoutFrom:    e.stats.answersWithoutFrom.Load(),
		AnswersForeign:        e.stats.answersForeign.Load(),
		AnswersUnknown:        e.stats.answersUnknown.Load(),
		PublishesForgotten:    e.stats.publishesForgotten.Load(),
		RemoteDisablesIgnored: e.stats.remoteDisablesIgnored.Load(),
		PublishesRetried:      e.stats.publishesRetried.Load(),
		RosterErrors:          e.stats.rosterErrors.Load(),
		CounterErrors:         e.stats.counterErrors.Load(),
	}
	for i := range e.users {
		sh := &e.users[i]
		sh.mu.Lock()
		st.Users += sh.users.n
		sh.users.each(func(u *userEntry) {
			st.Sessions += len(u.Sessions())
			for _, s := range u.Sessions() {
				if s.Bound {
					st.BoundSessions++
				}
				st.BatchedStanzas += s.Batch.Len()
			}
			st.Marks += u.Marks()
			st.HeldPushes += u.Held()
		})
		sh.mu.Unlock()
	}
	for i := range e.pending {
		ps := &e.pending[i]
		ps.mu.Lock()
		st.PendingPublishes += ps.live
		ps.mu.Unlock()
	}
	st.PublishesExpired = e.stats.publishesExpired.Load()
	return st
}

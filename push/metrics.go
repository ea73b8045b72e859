package push

import (
	"context"
	"log/slog"
	"math/bits"
	"slices"
	"sync/atomic"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/core"
)

// Reason names one outcome the engine counts in its metrics: a push made,
// a push not made and why, a push service's answer, a publish expired.
// (ChangeReason, another type, says why a registration changed.) For the stanza reasons (Published*, Suppressed*) every stanza
// an event or a batch considers for a registration counts exactly one.
type Reason uint8

// The stanza reasons: what became of one stanza for one registration.
const (
	// PublishedImportant and PublishedUnimportant count pushes for a
	// stanza of that class; PublishedPing pushes without stanza (Ping).
	PublishedImportant   = Reason(core.PublishedImportant)
	PublishedUnimportant = Reason(core.PublishedUnimportant)
	PublishedPing        = Reason(core.PublishedPing)
	// SuppressedDedup counts stanzas the registration already had a push
	// for (by another path, or in an earlier queue).
	SuppressedDedup = Reason(core.SuppressedDedup)
	// SuppressedBatch counts stanzas covered by another push of the same
	// queue or batch (one push per class: a later stanza of a class pushed
	// counts here even when pushed before), or dropped from a full batch.
	SuppressedBatch = Reason(core.SuppressedBatch)
	// SuppressedUnbound counts stanzas queued to a session that has not
	// enabled push.
	SuppressedUnbound = Reason(core.SuppressedUnbound)
	// SuppressedBound counts registrations the archive path skipped
	// because a session is bound to them: its own queue pushes instead.
	SuppressedBound = Reason(core.SuppressedBound)
	// SuppressedWithdrawn counts batched stanzas dropped because their
	// session resumed, reopened, closed or was unbound before the batch
	// was due.
	SuppressedWithdrawn = Reason(core.SuppressedWithdrawn)
	// SuppressedDebounce counts pushes held within a registration's
	// DebounceWindow and displaced by a later push that covers them (the
	// later one, or the held one when it is important and the later one
	// is not); SuppressedRateLimit the same for pushes held past
	// MaxPushesPerMinute or MaxUserPushesPerMinute. The push finally sent
	// counts as published.
	SuppressedDebounce  = Reason(core.SuppressedDebounce)
	SuppressedRateLimit = Reason(core.SuppressedRateLimit)
	// SuppressedGrace counts the same for pushes held within GracePeriod
	// of another session's activity.
	SuppressedGrace = Reason(core.SuppressedGrace)
	// SuppressedPolicy counts stanzas a registration's PushPolicy does not
	// want pushed.
	SuppressedPolicy = Reason(core.SuppressedPolicy)
	// SuppressedFilter counts stanzas a registration's own filters stop
	// (Tigase's muted, groupchat and ignore-unknown filters; Push 2.0
	// matches that take nothing).
	SuppressedFilter = Reason(core.SuppressedFilter)
	// PublishedWake counts pushes without stanza that wake a device whose
	// session is about to be destroyed (Config.WakeBeforeTimeout) or was
	// lost in a restart (events.Restarted).
	PublishedWake = Reason(core.PublishedWake)
	// PublishedCleared counts pushes with a message count of 0 and no body
	// telling a device the user read elsewhere (Config.ClearOnRead).
	PublishedCleared = Reason(core.PublishedCleared)
	// PublishedRepeat counts pushes repeated, after a back-off, for
	// stanzas a device was woken for but never acknowledged
	// (Config.RepeatAfter).
	PublishedRepeat = Reason(core.PublishedRepeat)
)

// The other reasons: answers and expiries, one per publish. Changes to
// registrations (removals among them) are counted by ChangeReason in
// Snapshot.Changes.
const (
	// ResultSuccess counts successful answers; ResultWait error answers of
	// type wait (transient: retried or not counted, see ErrorPolicy);
	// ResultError the other error answers (see Snapshot.Errors for their
	// type and condition).
	ResultSuccess Reason = Reason(core.NumReasons) + iota
	ResultWait
	ResultError
	// PublishExpired counts publishes never answered within
	// PublishTimeout (or forgotten to bound memory).
	PublishExpired
	// NumReasons is the number of reasons.
	NumReasons
)

var metricNames = [NumReasons]string{
	"published_important", "published_unimportant", "published_ping",
	"suppressed_dedup", "suppressed_batch", "suppressed_unbound", "suppressed_bound", "suppressed_withdrawn",
	"suppressed_debounce", "suppressed_rate_limit", "suppressed_grace", "suppressed_policy", "suppressed_filter",
	"published_wake", "published_cleared", "published_repeat",
	"result_success", "result_wait", "result_error",
	"publish_expired",
}

// String returns the reason's name as metrics show it, such as
// "suppressed_dedup".
func (r Reason) String() string {
	if r < NumReasons {
		return metricNames[r]
	}
	return "unknown"
}

// Metrics receives the engine's counts as they happen, for a host that
// feeds its own metrics system; the engine keeps its own counts too (see
// Engine.Metrics). Its methods are called concurrently, some with an
// engine lock held: they must be quick, must not block and must not call
// the Engine.
type Metrics interface {
	// Count adds n to the counter of r.
	Count(r Reason, n uint64)
	// PublishError counts one error answer to a publish (ResultError or
	// ResultWait) by its error type and defined condition; both are
	// "other" when not among RFC 6120's, so there are few distinct pairs.
	PublishError(errorType, condition string)
	// Observe records one duration in histogram h.
	Observe(h Histogram, d time.Duration)
}

// Snapshot is the engine's counts at one moment (not atomically across
// counters: each is exact, the set may straddle an event).
type Snapshot struct {
	// Counts holds each Reason's count, indexed by Reason.
	Counts [NumReasons]uint64
	// Errors counts error answers by "type/condition", such as
	// "cancel/item-not-found"; pairs never seen are absent.
	Errors map[string]uint64
	// Changes counts changes to registrations (Decisions.Changes) by their
	// ChangeReason's name, such as "disabled" or "failed"; reasons never
	// seen are absent.
	Changes map[string]uint64
	// Histograms holds each Histogram, indexed by Histogram.
	Histograms [NumHistograms]HistogramSnapshot
}

// shardMetrics are the counts of one user shard: plain numbers, written
// and read only under the shard's lock, which every event of its users
// holds already (no atomic instruction on the hot path). They live in the
// shard, next to its lock, and in this order, so that what a push touches
// (the sum, the count, the first buckets, the counts of pushes made, which
// are the first reasons) lies within a few neighbouring cache lines.
type shardMetrics struct {
	toPushSum   time.Duration
	toPushCount uint64
	toPush      [NumBuckets]uint64
	counts      [core.NumReasons]uint64
}

// engineMetrics are the counts outside the user shards: answers, removals,
// expiries, latency.
type engineMetrics struct {
	counts  [NumReasons]atomic.Uint64 // the reasons past the core's
	changes [maxChangeReasons]atomic.Uint64
	errors  [len(errorTypes) + 1][len(errorConditions) + 1]atomic.Uint64
	latency histogram
}

// RFC 6120's error types and defined conditions: the others count as
// "other".
var (
	errorTypes      = [...]string{"auth", "cancel", "continue", "modify", "wait"}
	errorConditions = [...]string{"bad-request", "conflict", "feature-not-implemented", "forbidden", "gone",
		"internal-server-error", "item-not-found", "jid-malformed", "not-acceptable", "not-allowed",
		"not-authorized", "policy-violation", "recipient-unavailable", "redirect", "registration-required",
		"remote-server-not-found", "remote-server-timeout", "resource-constraint", "service-unavailable",
		"subscription-required", "undefined-condition", "unexpected-request"}
)

// known returns the index of s in names, or len(names) and "other".
func known(names []string, s string) (int, string) {
	if i := slices.Index(names, s); i >= 0 {
		return i, s
	}
	return len(names), "other"
}

// record adds the core's counts of one event of user and its publishes'
// delays to the shard's metrics and to the host's, and logs them at debug
// level. The caller holds sh.mu.
func (e *Engine) record(sh *userShard, user string, now time.Time, out *core.Out) {
	m, hook := &sh.metrics, e.cfg.Metrics
	for set := out.Counted; set != 0; set &= set - 1 {
		r := bits.TrailingZeros64(set)
		if n := out.Counts[r]; n != 0 {
			m.counts[r] += uint64(n)
			if hook != nil {
				hook.Count(Reason(r), uint64(n))
			}
		}
	}
	if e.debugging(context.Background()) {
		e.logDecisions(user, now, out)
	}
	// The publishes of one event mostly cover stanzas that arrived
	// together (a fan-out's, a batch's): each run of them that does is
	// recorded at once.
	t, pubs := now.UnixNano(), out.Publishes
	for i := 0; i < len(pubs); {
		since, n := pubs[i].Since, 1
		for i+n < len(pubs) && pubs[i+n].Since == since {
			n++
		}
		i += n
		d := max(time.Duration(t-since), 0)
		m.toPush[bucket(d)] += uint64(n)
		m.toPushSum += d * time.Duration(n)
		m.toPushCount += uint64(n)
		if hook != nil {
			for range n {
				hook.Observe(StanzaToPush, d)
			}
		}
	}
}

// debugging reports whether debug records are logged: never without a
// Config.Logger (so that the default configuration asks no handler per
// event), else as the Logger says.
func (e *Engine) debugging(ctx context.Context) bool {
	return e.logs && e.cfg.Logger.Enabled(ctx, slog.LevelDebug)
}

// count adds n to one of the reasons the shell counts.
func (e *Engine) count(r Reason, n int) {
	if n <= 0 {
		return
	}
	e.metrics.counts[r].Add(uint64(n))
	if e.cfg.Metrics != nil {
		e.cfg.Metrics.Count(r, uint64(n))
	}
}

// maxChangeReasons bounds the ChangeReasons counted.
const maxChangeReasons = 16

// countChanges counts n changes of reason.
func (e *Engine) countChanges(reason ChangeReason, n int) {
	if int(reason) < maxChangeReasons && n > 0 {
		e.metrics.changes[reason].Add(uint64(n))
	}
}

// countAnswer counts one push service answer (se nil: success): its
// reason and, for an error, its type and condition.
func (e *Engine) countAnswer(se *events.StanzaError) {
	switch {
	case se == nil:
		e.count(ResultSuccess, 1)
		return
	case se.Type == "wait":
		e.count(ResultWait, 1)
	default:
		e.count(ResultError, 1)
	}
	t, typ := known(errorTypes[:], se.Type)
	c, cond := known(errorConditions[:], se.Condition)
	e.metrics.errors[t][c].Add(1)
	if e.cfg.Metrics != nil {
		e.cfg.Metrics.PublishError(typ, cond)
	}
}

// start returns the time a handler starts, with Config.MeasureLatency;
// else the zero time, which stop ignores.
func (e *Engine) start() time.Time {
	if !e.cfg.MeasureLatency {
		return time.Time{}
	}
	return time.Now()
}

// stop records the wall time of a handler that started at start, unless
// start is zero (small enough to be inlined: without MeasureLatency it
// costs a test).
func (e *Engine) stop(start time.Time) {
	if !start.IsZero() {
		e.observeLatency(start)
	}
}

func (e *Engine) observeLatency(start time.Time) {
	d := time.Since(start)
	e.metrics.latency.observe(d)
	if e.cfg.Metrics != nil {
		e.cfg.Metrics.Observe(HandlerLatency, d)
	}
}

// Metrics returns the engine's counts so far. It may be called at any
// time, from any goroutine; it locks each user shard in turn (as Stats
// does) for a moment, so call it for monitoring, not per event.
func (e *Engine) Metrics() Snapshot {
	var s Snapshot
	tp := &s.Histograms[StanzaToPush]
	for i := range e.users {
		m := &e.users[i].metrics
		e.users[i].mu.Lock()
		for r := range m.counts {
			s.Counts[r] += m.counts[r]
		}
		for b := range m.toPush {
			tp.Buckets[b] += m.toPush[b]
		}
		tp.Sum += m.toPushSum
		tp.Count += m.toPushCount
		e.users[i].mu.Unlock()
	}
	for r := Reason(core.NumReasons); r < NumReasons; r++ {
		s.Counts[r] = e.metrics.counts[r].Load()
	}
	e.metrics.latency.addTo(&s.Histograms[HandlerLatency])
	for r := range e.metrics.changes {
		if n := e.metrics.changes[r].Load(); n > 0 {
			if s.Changes == nil {
				s.Changes = make(map[string]uint64)
			}
			s.Changes[ChangeReason(r).String()] = n
		}
	}
	for t := range e.metrics.errors {
		for c := range e.metrics.errors[t] {
			if n := e.metrics.errors[t][c].Load(); n > 0 {
				if s.Errors == nil {
					s.Errors = make(map[string]uint64)
				}
				s.Errors[name(errorTypes[:], t)+"/"+name(errorConditions[:], c)] = n
			}
		}
	}
	return s
}

// name is names[i], or "other" past them.
func name(names []string, i int) string {
	if i < len(names) {
		return names[i]
	}
	return "other"
}

// logDecisions logs one record per reason counted in out and one per
// publish, each with the reason as an attribute.
func (e *Engine) logDecisions(user string, now time.Time, out *core.Out) {
	log := e.cfg.Logger
	for r, n := range out.Counts {
		if n != 0 {
			log.Debug("push: decision", "user", user, "reason", Reason(r).String(), "count", n)
		}
	}
	for i := range out.Publishes {
		p := &out.Publishes[i]
		r := PublishedUnimportant
		switch {
		case out.Counts[core.PublishedPing] > 0: // a Ping's publishes are all pings
			r = PublishedPing
		case out.Counts[core.PublishedCleared] > 0: // a read's publishes are all clearing ones
			r = PublishedCleared
		case out.Counts[core.PublishedWake] > 0 && out.Counts[core.PublishedRepeat] == 0: // a restart's and a wake timer's
			r = PublishedWake
		case out.Counts[core.PublishedRepeat] > 0 && out.Counts[core.PublishedWake] == 0:
			r = PublishedRepeat
		case p.Important:
			r = PublishedImportant
		}
		log.Debug("push: publish", "user", user, "service", p.Registration.JID(), "node", p.Registration.Node(),
			"reason", r.String(), "delay", time.Duration(now.UnixNano()-p.Since))
	}
}

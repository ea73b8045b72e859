package push

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// retryState is what a push that may be retried keeps across its sends:
// the publish (its ID aside), when it was first sent and how often it was
// retried. Only the publish's pending entry (in its shard's retries) or
// its laterItem points to it, one at a time.
type retryState struct {
	pub     Publish
	note    *Notification // a Push 2.0 notification's instead of pub
	first   time.Time
	attempt int
}

// retryState returns the history to keep with publish p sent at now: p's
// own for a retry, a new one for a first send, nil when retries are off.
func (e *Engine) retryState(now time.Time, p *Publish) *retryState {
	if e.cfg.Errors.Retry.Attempts == 0 {
		return nil
	}
	if p.retry != nil {
		return p.retry
	}
	rs := &retryState{pub: *p, first: now}
	rs.pub.ID = ""
	return rs
}

// laterItem is work due at a time: a retry (retry set), or a look for
// publishes left unanswered in pending shard shard.
type laterItem struct {
	due   time.Time
	seq   uint64
	retry *retryState
	shard int
}

type laterHeap []laterItem

func (h laterHeap) Len() int { return len(h) }
func (h laterHeap) Less(i, j int) bool {
	if c := h[i].due.Compare(h[j].due); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}
func (h laterHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *laterHeap) Push(x any)   { *h = append(*h, x.(laterItem)) }
func (h *laterHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = laterItem{}
	*h = old[:len(old)-1]
	return it
}

// laterQueue holds the retries and timeout looks Wake must do, and the
// publishes found unanswered that Wake must count. mu is never held while
// a pending shard's lock is taken.
type laterQueue struct {
	mu       sync.Mutex
	items    laterHeap
	seq      uint64
	looks    [pendingShards]int64 // due (unix ns) of each shard's last timeout look
	timedOut []pendingPublish
	next     atomic.Int64 // unix ns of the earliest item; 0: none
}

// add queues it; a timeout look is rounded up to the second and queued
// once per shard and second.
func (q *laterQueue) add(it laterItem) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if it.retry == nil {
		it.due = timeoutLook(it.due)
		if q.looks[it.shard] >= it.due.UnixNano() {
			return
		}
		q.looks[it.shard] = it.due.UnixNano()
	}
	q.seq++
	it.seq = q.seq
	heap.Push(&q.items, it)
	q.publish()
}

// timeoutLook is when to look for the publishes expiring at expires: the
// next whole second.
func timeoutLook(expires time.Time) time.Time { return expires.Truncate(time.Second).Add(time.Second) }

func (q *laterQueue) publish() {
	if len(q.items) == 0 {
		q.next.Store(0)
		return
	}
	q.next.Store(q.items[0].due.UnixNano())
}

// take removes and returns the items due at now, earliest first.
func (q *laterQueue) take(now time.Time) (due []laterItem) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) > 0 && !now.Before(q.items[0].due) {
		due = append(due, heap.Pop(&q.items).(laterItem))
	}
	q.publish()
	return due
}

// takeTimedOut removes and returns the publishes found unanswered.
func (q *laterQueue) takeTimedOut() []pendingPublish {
	q.mu.Lock()
	defer q.mu.Unlock()
	t := q.timedOut
	q.timedOut = nil
	return t
}

// scheduleRetry queues the retry of the publish with IQ id id and retry
// state rs, which got a transient error at now, and returns when it is
// due; ok is false when retries are off (rs nil) or the budget is spent.
func (e *Engine) scheduleRetry(now time.Time, id string, rs *retryState) (due time.Time, ok bool) {
	r := &e.cfg.Errors.Retry
	if rs == nil || rs.attempt >= r.Attempts {
		return time.Time{}, false
	}
	delay := r.Max
	if rs.attempt < 32 {
		delay = min(r.Max, r.Base<<rs.attempt)
	}
	delay = delay/2 + time.Duration(jitter(strings.TrimPrefix(id, e.idPrefix), rs.attempt)%uint64(delay/2+1))
	due = now.Add(delay)
	if due.Sub(rs.first) > r.Within {
		return time.Time{}, false
	}
	rs.attempt++
	e.later.add(laterItem{due: due, retry: rs})
	return due, true
}

// jitter is a number drawn from the sealed part of the publish's id and
// the attempt. The id is sealed with the engine's key, so the draws are
// reproducible given Config.IDSecret and unpredictable without it.
func jitter(id string, attempt int) uint64 {
	h := sha256.New()
	h.Write([]byte(id))
	h.Write([]byte{byte(attempt)})
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint64(h.Sum(sum[:0]))
}

// wakeLater does the retries and timeout looks due at now, then counts
// the publishes found unanswered: a XEP-0357 publish as a failure
// (FailTimeout), a Push 2.0 notification as a success, which ends its
// registration's run of errors as a XEP-0357 success answer does.
func (e *Engine) wakeLater(ctx context.Context, now time.Time, d *Decisions) {
	if at := e.later.next.Load(); at != 0 && now.UnixNano() >= at {
		for _, it := range e.later.take(now) {
			if it.retry != nil {
				e.resend(ctx, now, it.retry, d)
				continue
			}
			ps := &e.pending[it.shard]
			ps.mu.Lock()
			e.expirePending(ps, now)
			ps.mu.Unlock()
		}
	}
	for _, p := range e.later.takeTimedOut() { // a Store failure is logged and counted
		if _, ok := p.id.Push2Client(); ok {
			_ = e.succeed(ctx, p, now)
			continue
		}
		_ = e.fail(ctx, p, now, FailTimeout, TimeoutCondition, d)
	}
}

// timedOut keeps a publish found unanswered for Wake: a XEP-0357 publish
// when timeouts count (ErrorPolicy.MaxTimeouts), to count as a failure;
// a Push 2.0 notification always, to count as a success (its service
// answers errors only). The caller holds the publish's pending shard.
func (e *Engine) timedOut(p *pendingPublish) {
	if _, ok := p.id.Push2Client(); !ok && e.cfg.Errors.MaxTimeouts == 0 {
		return
	}
	e.later.mu.Lock()
	e.later.timedOut = append(e.later.timedOut, *p)
	e.later.mu.Unlock()
}

// TimeoutCondition is the condition recorded (Registration.LastError,
// Change.Condition) for a publish left unanswered past PublishTimeout.
const TimeoutCondition = "timeout"

// resend sends a retry when its registration is still stored in the same
// life; a Store failure drops it (logged and counted).
func (e *Engine) resend(ctx context.Context, now time.Time, rs *retryState, d *Decisions) {
	user := rs.pub.User
	if rs.note != nil {
		user = rs.note.User
	}
	sh, u, err := e.begin(ctx, user, now)
	if err != nil {
		return
	}
	regs, lerr := e.load(ctx, user, nil)
	sh.finish()
	e.end(sh, u)
	if lerr != nil {
		_ = e.storeError(ctx, "retry: load", user, lerr)
		return
	}
	if rs.note != nil {
		e.resendNote(now, rs, regs, d)
		return
	}
	for i := range regs {
		if regs[i].ID == rs.pub.Registration && regs[i].Generation == rs.pub.gen {
			p := rs.pub
			p.retry = rs
			d.Publishes = append(d.Publishes, p)
			e.track(now, u, d.Publishes[len(d.Publishes)-1:])
			e.stats.publishesRetried.Add(1)
			return
		}
	}
}

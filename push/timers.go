package push

import (
	"cmp"
	"container/heap"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushrules/pushrules/internal/core"
)

// batchTimer says a session's batch falls due. seq orders timers of the
// same due time by when they were set, so Wake processes batches in one
// order on every run.
type batchTimer struct {
	due  time.Time
	seq  uint64
	user string
	s    *core.Session
}

func (a batchTimer) before(b batchTimer) bool {
	if c := a.due.Compare(b.due); c != 0 {
		return c < 0
	}
	return a.seq < b.seq
}

// batchTimers is a min-heap of one shard's batch timers.
type batchTimers []batchTimer

func (h batchTimers) Len() int           { return len(h) }
func (h batchTimers) Less(i, j int) bool { return h[i].before(h[j]) }
func (h batchTimers) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *batchTimers) Push(x any)        { *h = append(*h, x.(batchTimer)) }
func (h *batchTimers) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = batchTimer{}
	*h = old[:len(old)-1]
	return t
}

// timerClock numbers the timers and publishes each shard's earliest due
// time, so NextWake takes no lock.
type timerClock struct {
	seq atomic.Uint64
	due [userShards]atomic.Int64 // unix ns of each shard's earliest timer; 0: none
	buf sync.Pool                // *[]batchTimer for Wake
}

// add sets a timer for s's batch; the caller holds sh.mu. A session has at
// most one open batch, so a timer is set only when one opens: a standing
// clock cannot pile timers up.
func (c *timerClock) add(sh *userShard, user string, s *core.Session, due time.Time) {
	heap.Push(&sh.timers, batchTimer{due: due, seq: c.seq.Add(1), user: user, s: s})
	c.publish(sh)
}

func (c *timerClock) publish(sh *userShard) {
	i := sh.self
	if len(sh.timers) == 0 {
		c.due[i].Store(0)
		return
	}
	c.due[i].Store(sh.timers[0].due.UnixNano())
}

// Wake processes every batch due at now (and every held push, wake-up
// and repeated push due), in the order of their due times (then of when
// they were planned), then the retries due (ErrorPolicy.Retry)
// and the publishes found unanswered (counted with
// ErrorPolicy.MaxTimeouts), and returns their pushes and changes, with Wake
// set to the next time a batch, a retry or a look for unanswered publishes
// falls due (zero when none is pending). A batch of a user whose Store
// operation is under way waits for it, as any event of that user does.
func (e *Engine) Wake(ctx context.Context, now time.Time) Decisions {
	var d Decisions
	bufp, _ := e.timers.buf.Get().(*[]batchTimer)
	if bufp == nil {
		bufp = new([]batchTimer)
	}
	due := (*bufp)[:0]
	t := now.UnixNano()
	for i := range e.users {
		if at := e.timers.due[i].Load(); at == 0 || t < at {
			continue
		}
		sh := &e.users[i]
		sh.mu.Lock()
		for len(sh.timers) > 0 && !now.Before(sh.timers[0].due) {
			due = append(due, heap.Pop(&sh.timers).(batchTimer))
		}
		e.timers.publish(sh)
		sh.mu.Unlock()
	}
	slices.SortFunc(due, func(a, b batchTimer) int {
		if c := a.due.Compare(b.due); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	for _, bt := range due {
		start := len(d.Publishes)
		sh, u, owned, err := e.enter(ctx, bt.user, now, false)
		if err != nil {
			continue // the context ended: the batch stays pending until the session's next event
		}
		if u != nil {
			e.rules.Flush(now, &u.User, bt.s, bt.due, &sh.out)
			e.emit(sh, &sh.out, bt.user, now, &d)
		}
		e.done(sh, u, owned)
		e.askCounts(ctx, d.Publishes[start:], false)
		e.track(now, u, d.Publishes[start:])
	}
	clear(due)
	*bufp = due[:0]
	e.timers.buf.Put(bufp)
	e.wakeLater(ctx, now, &d)
	d.Wake = e.NextWake()
	return d
}

// NextWake returns the earliest time a pending batch, a retry or a look
// for unanswered publishes falls due, or zero.
// It takes no lock.
func (e *Engine) NextWake() time.Time {
	next := e.later.next.Load()
	for i := range e.timers.due {
		if due := e.timers.due[i].Load(); due != 0 && (next == 0 || due < next) {
			next = due
		}
	}
	if next == 0 {
		return time.Time{}
	}
	return time.Unix(0, next).UTC()
}

package push

import (
	"container/heap"
	"hash/maphash"
	"sync"
	"time"

	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/session"
)

// pendingPublish is what the engine remembers of a publish until its answer
// arrives or PublishTimeout passes.
type pendingPublish struct {
	user    string
	id      registry.Identifier
	gen     uint64
	expires time.Time
}

type pendingShard struct {
	mu    sync.Mutex
	m     map[string]pendingPublish
	order []pendingOrder // ids by expiry, oldest first, from head on
	head  int
}

type pendingOrder struct {
	id      string
	expires time.Time
}

// expire forgets the publishes whose answer is overdue at now.
func (ps *pendingShard) expire(now time.Time) {
	for ps.head < len(ps.order) && !now.Before(ps.order[ps.head].expires) {
		o := ps.order[ps.head]
		if p, ok := ps.m[o.id]; ok && p.expires.Equal(o.expires) {
			delete(ps.m, o.id)
		}
		ps.order[ps.head] = pendingOrder{}
		ps.head++
	}
	if ps.head > 0 && ps.head >= len(ps.order)/2 {
		n := copy(ps.order, ps.order[ps.head:])
		clear(ps.order[n:])
		ps.order = ps.order[:n]
		ps.head = 0
	}
}

func (e *Engine) pendingShard(id string) *pendingShard {
	return &e.pending[maphash.String(e.seed, id)%pendingShards]
}

// track remembers the publishes just decided, so that their answers can be
// matched.
func (e *Engine) track(now time.Time, pubs []Publish) {
	expires := now.Add(e.cfg.PublishTimeout)
	for i := range pubs {
		p := &pubs[i]
		ps := e.pendingShard(p.ID)
		ps.mu.Lock()
		ps.expire(now)
		ps.m[p.ID] = pendingPublish{user: p.User, id: p.id, gen: p.gen, expires: expires}
		ps.order = append(ps.order, pendingOrder{id: p.ID, expires: expires})
		ps.mu.Unlock()
	}
}

// takePending removes and returns the publish with IQ id, unless it is
// unknown or its answer comes too late.
func (e *Engine) takePending(id string, now time.Time) (pendingPublish, bool) {
	ps := e.pendingShard(id)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.expire(now)
	p, ok := ps.m[id]
	if !ok {
		return pendingPublish{}, false
	}
	delete(ps.m, id)
	return p, now.Before(p.expires)
}

// batchTimer says a session's batch falls due.
type batchTimer struct {
	due  time.Time
	user string
	s    *session.State
}

// batchTimers is a min-heap of batch timers by due time.
type batchTimers []batchTimer

func (h batchTimers) Len() int           { return len(h) }
func (h batchTimers) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h batchTimers) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *batchTimers) Push(x any)        { *h = append(*h, x.(batchTimer)) }
func (h *batchTimers) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = batchTimer{}
	*h = old[:len(old)-1]
	return t
}

func (h *batchTimers) push(t batchTimer) { heap.Push(h, t) }

func (h *batchTimers) peek() (batchTimer, bool) {
	if len(*h) == 0 {
		return batchTimer{}, false
	}
	return (*h)[0], true
}

// popDue removes and returns the earliest timer if it is due at now.
func (h *batchTimers) popDue(now time.Time) (batchTimer, bool) {
	if len(*h) == 0 || now.Before((*h)[0].due) {
		return batchTimer{}, false
	}
	return heap.Pop(h).(batchTimer), true
}

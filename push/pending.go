package push

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

const pendingShards = 64

// maxPendingPerShard bounds the unanswered publishes one shard remembers
// (pendingShards times this in all); past it the oldest is forgotten.
const maxPendingPerShard = 1 << 14

// pendingPublish is what the engine remembers of a publish until its answer
// arrives or PublishTimeout passes. expires == 0 marks an entry that was
// answered or forgotten.
type pendingPublish struct {
	user    string
	id      registry.Identifier
	gen     uint64
	expires int64 // unix nanoseconds
}

// pendingShard keeps publishes in the order of their sequence numbers, which
// the shard hands out itself, in a ring: the entry of sequence s is at
// (head + s - base) & (len(q)-1). Entries leave from the front when they
// expire or, answered, reach it.
type pendingShard struct {
	mu   sync.Mutex
	q    []pendingPublish // len is 0 or a power of two
	head int
	n    int
	base uint64 // sequence number of the entry at head
	live int    // entries not answered or forgotten
	_    [falseSharingPad]byte
}

func (ps *pendingShard) at(i int) *pendingPublish { return &ps.q[(ps.head+i)&(len(ps.q)-1)] }

// pop drops the entry at the front.
func (ps *pendingShard) pop() {
	p := ps.at(0)
	if p.expires != 0 {
		ps.live--
	}
	*p = pendingPublish{}
	ps.head = (ps.head + 1) & (len(ps.q) - 1)
	ps.n--
	ps.base++
}

// expire forgets, from the front, the publishes whose answer is overdue at
// now and the answered ones; it returns how many unanswered ones it
// forgot.
func (ps *pendingShard) expire(now time.Time) (expired int) {
	t := now.UnixNano()
	for ps.n > 0 {
		p := ps.at(0)
		if p.expires != 0 && t < p.expires {
			break
		}
		if p.expires != 0 {
			expired++
		}
		ps.pop()
	}
	if len(ps.q) > 16 && ps.n < len(ps.q)/4 {
		ps.resize(len(ps.q) / 2)
	}
	return expired
}

// expirePending expires ps at now and counts what expired unanswered.
// The caller holds ps.mu.
func (e *Engine) expirePending(ps *pendingShard, now time.Time) {
	if n := ps.expire(now); n > 0 {
		e.stats.publishesExpired.Add(uint64(n))
	}
}

// resize moves the entries into a ring of the given size.
func (ps *pendingShard) resize(size int) {
	q := make([]pendingPublish, size)
	for i := range ps.n {
		q[i] = *ps.at(i)
	}
	ps.q, ps.head = q, 0
}

// push appends a publish and returns its sequence number; dropped says
// an unanswered publish was forgotten to make room.
func (ps *pendingShard) push(p pendingPublish) (seq uint64, dropped bool) {
	if ps.n == maxPendingPerShard {
		dropped = ps.at(0).expires != 0
		ps.pop()
	}
	if ps.n == len(ps.q) {
		ps.resize(max(16, 2*len(ps.q)))
	}
	*ps.at(ps.n) = p
	ps.n++
	ps.live++
	return ps.base + uint64(ps.n-1), dropped
}

// peek returns the live entry of sequence seq.
func (ps *pendingShard) peek(seq uint64) (pendingPublish, bool) {
	if seq < ps.base || seq >= ps.base+uint64(ps.n) {
		return pendingPublish{}, false
	}
	p := ps.at(int(seq - ps.base))
	return *p, p.expires != 0
}

// take removes and returns the live entry of sequence seq.
func (ps *pendingShard) take(seq uint64) (pendingPublish, bool) {
	if seq < ps.base || seq >= ps.base+uint64(ps.n) {
		return pendingPublish{}, false
	}
	p := ps.at(int(seq - ps.base))
	if p.expires == 0 {
		return pendingPublish{}, false
	}
	out := *p
	*p = pendingPublish{}
	ps.live--
	return out, true
}

// track assigns the publishes just decided their IQ ids and remembers them,
// so that their answers can be matched. An id is the engine's prefix, the
// sequence number, a dot and the shard ("push-17.40"). The shard is the
// first publish's user's, and the ids share one allocation.
func (e *Engine) track(now time.Time, pubs []Publish) {
	if len(pubs) == 0 {
		return
	}
	expires := now.Add(e.cfg.PublishTimeout).UnixNano()
	shard := e.lockPending(pubs[0].User)
	ps := &e.pending[shard]
	var stack [256]byte
	buf := stack[:0]
	ends := make([]int, 0, 8)
	e.expirePending(ps, now)
	for i := range pubs {
		p := &pubs[i]
		seq, dropped := ps.push(pendingPublish{user: p.User, id: p.Registration, gen: p.gen, expires: expires})
		if dropped {
			e.stats.publishesExpired.Add(1)
		}
		buf = append(buf, e.idPrefix...)
		buf = strconv.AppendUint(buf, seq, 10)
		buf = append(buf, '.')
		buf = strconv.AppendUint(buf, shard, 10)
		ends = append(ends, len(buf))
	}
	ps.mu.Unlock()
	ids := string(buf)
	start := 0
	for i, end := range ends {
		pubs[i].ID = ids[start:end]
		start = end
	}
}

// lockPending locks and returns a pending shard for the publishes of user:
// the user's own (so that a run of events gives the same ids every time),
// or when its lock is taken the next free one, as the shard is written in
// the ids anyway. It blocks only when every shard tried is busy.
func (e *Engine) lockPending(user string) uint64 {
	home := uint64(events.KeyOf(user)) % pendingShards // deterministic, unlike maphash
	for i := range uint64(pendingTries) {
		shard := (home + i) % pendingShards
		if e.pending[shard].mu.TryLock() {
			return shard
		}
	}
	e.pending[home].mu.Lock()
	return home
}

// pendingTries is how many pending shards lockPending tries before it
// waits.
const pendingTries = 4

// pendingOf parses one of the engine's publish ids.
func (e *Engine) pendingOf(id string) (ps *pendingShard, seq uint64, ok bool) {
	rest, found := strings.CutPrefix(id, e.idPrefix)
	if !found {
		return nil, 0, false
	}
	seqText, shardText, found := strings.Cut(rest, ".")
	if !found {
		return nil, 0, false
	}
	seq, err := strconv.ParseUint(seqText, 10, 64)
	if err != nil {
		return nil, 0, false
	}
	shard, err := strconv.ParseUint(shardText, 10, 64)
	if err != nil || shard >= pendingShards {
		return nil, 0, false
	}
	return &e.pending[shard], seq, true
}

type pendingStatus uint8

const (
	pendingTaken       pendingStatus = iota
	pendingUnknown                   // unknown, already answered, or expired
	pendingOtherSender               // known, but the answer is not from its service
)

// takePending removes and returns the publish with IQ id when the answer
// comes from its service in time. An answer from another address leaves
// the publish in place, so that a forged answer cannot eat the genuine
// one.
func (e *Engine) takePending(id, from string, now time.Time) (pendingPublish, pendingStatus) {
	ps, seq, ok := e.pendingOf(id)
	if !ok {
		return pendingPublish{}, pendingUnknown
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	e.expirePending(ps, now)
	p, ok := ps.peek(seq)
	if !ok || now.UnixNano() >= p.expires {
		return pendingPublish{}, pendingUnknown
	}
	if !sameService(from, p.id.JID()) {
		return pendingPublish{}, pendingOtherSender
	}
	out, _ := ps.take(seq)
	return out, pendingTaken
}

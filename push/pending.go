package push

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

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
	mu      sync.Mutex
	q       []pendingPublish // len is 0 or a power of two
	head    int
	n       int
	base    uint64           // sequence number of the entry at head
	live    int              // entries not answered or forgotten
	push2   int              // live entries that are Push 2.0 notifications
	block   [16]byte         // scratch for sealID
	scratch [idBlockLen]byte // the text of the last block sealed
	// ids is the chunk publish ids are cut from: the bytes below its
	// length belong to ids handed out and are never written again.
	ids []byte
	// retries holds, by sequence number, the retry state of the pending
	// publishes that may be retried; nil unless ErrorPolicy.Retry is on.
	retries map[uint64]*retryState
	_       [falseSharingPad]byte
}

func (ps *pendingShard) at(i int) *pendingPublish { return &ps.q[(ps.head+i)&(len(ps.q)-1)] }

// pop drops the entry at the front.
func (ps *pendingShard) pop() {
	p := ps.at(0)
	if p.expires != 0 {
		ps.live--
		ps.forget(p)
	}
	*p = pendingPublish{}
	if ps.retries != nil {
		delete(ps.retries, ps.base)
	}
	ps.head = (ps.head + 1) & (len(ps.q) - 1)
	ps.n--
	ps.base++
}

// expire forgets, from the front, the publishes whose answer is overdue at
// now and the answered ones; it returns how many unanswered ones it
// forgot, and hands each to timedOut when it is not nil.
func (ps *pendingShard) expire(now time.Time, timedOut func(*pendingPublish)) (expired int) {
	t := now.UnixNano()
	for ps.n > 0 {
		p := ps.at(0)
		if p.expires != 0 && t < p.expires {
			break
		}
		if p.expires != 0 {
			expired++
			if timedOut != nil {
				timedOut(p)
			}
		}
		ps.pop()
	}
	if len(ps.q) > 16 && ps.n < len(ps.q)/4 {
		ps.resize(len(ps.q) / 2)
	}
	return expired
}

// expirePending expires ps at now and counts what expired unanswered;
// it keeps for Wake those timedOut keeps. The caller holds ps.mu.
func (e *Engine) expirePending(ps *pendingShard, now time.Time) {
	var keep func(*pendingPublish)
	if e.cfg.Errors.MaxTimeouts > 0 || ps.push2 > 0 {
		keep = e.timedOut // else nothing needs them: their ids are not read
	}
	if n := ps.expire(now, keep); n > 0 {
		e.stats.publishesExpired.Add(uint64(n))
		e.count(PublishExpired, n)
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

// push appends a publish (a Push 2.0 notification when push2 is set)
// and returns its sequence number; dropped says an unanswered publish was
// forgotten to make room.
func (ps *pendingShard) push(p pendingPublish, push2 bool) (seq uint64, dropped bool) {
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
	if push2 {
		ps.push2++
	}
	return ps.base + uint64(ps.n-1), dropped
}

// forget uncounts a live entry leaving the shard from push2.
func (ps *pendingShard) forget(p *pendingPublish) {
	if ps.push2 > 0 {
		if _, ok := p.id.Push2Client(); ok {
			ps.push2--
		}
	}
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
	ps.forget(&out)
	return out, true
}

// track assigns the publishes just decided for the user of entry u their
// IQ ids and remembers them, so that their answers can be matched. The
// publishes of one event get consecutive sequence numbers in one pending
// shard (the user's home, or a neighbour when it is busy), sealed
// together: an id is the engine's prefix, 22 characters of sealed block
// and "." with the publish's place in the block ("p-0Vq...Xw.2"). The ids
// are cut from the shard's chunk (idChunk bytes), so that most events
// allocate nothing for them; an id a host keeps keeps its chunk.
func (e *Engine) track(now time.Time, u *userEntry, pubs []Publish) {
	if len(pubs) == 0 {
		return
	}
	expires := deadline(now, e.cfg.PublishTimeout)
	var home uint64
	if u != nil {
		home = u.home
	} else { // u, the publishing user's entry, is nil only by mistake
		home = pendingHome(pubs[0].User)
	}
	shard := e.lockPending(home)
	ps := &e.pending[shard]
	e.expirePending(ps, now)
	// At most this many bytes, so that the appends below never move the
	// chunk (which would leave the ids cut so far pointing at the old one).
	need := len(pubs) * (len(e.idPrefix) + idBlockLen + len(".255"))
	if cap(ps.ids)-len(ps.ids) < need {
		ps.ids = make([]byte, 0, max(idChunk, need))
	}
	buf := ps.ids
	var head []byte  // the prefix and sealed block of the current run of publishes
	var first uint64 // its first sequence number
	for i := range pubs {
		p := &pubs[i]
		seq, dropped := ps.push(pendingPublish{user: p.User, id: p.Registration, gen: p.gen, expires: expires}, false)
		if rs := e.retryState(now, p); rs != nil {
			if ps.retries == nil {
				ps.retries = make(map[uint64]*retryState)
			}
			ps.retries[seq] = rs
		}
		if dropped {
			e.stats.publishesExpired.Add(1)
			e.count(PublishExpired, 1)
		}
		start := len(buf)
		if i%maxPerBlock == 0 {
			first = seq
			buf = append(buf, e.idPrefix...)
			buf = append(buf, e.sealID(ps, seq, shard, min(len(pubs)-i, maxPerBlock))...)
			head = buf[start:]
		} else {
			buf = append(buf, head...) // the block's other ids start alike
		}
		if k := seq - first; k < 10 { // most events: fewer than ten publishes
			buf = append(buf, '.', byte('0'+k))
		} else {
			buf = append(buf, '.')
			buf = strconv.AppendUint(buf, k, 10)
		}
		p.ID = unsafe.String(&buf[start], len(buf)-start) // bytes never written again
	}
	ps.ids = buf
	ps.mu.Unlock()
	if e.cfg.Errors.MaxTimeouts > 0 {
		e.later.add(laterItem{due: time.Unix(0, expires), shard: int(shard)})
	}
}

// deadline returns now plus d (d >= 0) in Unix nanoseconds, or
// math.MaxInt64 when the sum is past what they can hold: a pending
// publish's expiry. (time.Time.Add costs several times this, minding the
// monotonic clock.)
func deadline(now time.Time, d time.Duration) int64 {
	t := now.UnixNano()
	if end := t + int64(d); end >= t {
		return end
	}
	return math.MaxInt64
}

// idChunk is the size of the chunks publish ids are cut from, and
// idBlockLen the length of a sealed block's text.
const (
	idChunk    = 2048
	idBlockLen = 22
)

// maxPerBlock is how many publishes one sealed block names.
const maxPerBlock = 255

// idCheck fills the rest of an id's block: an id whose block does not
// open to it was not made by this engine.
var idCheck = [6]byte{'p', 'u', 's', 'h', 'r', 'u'}

// idEncoding writes an id's block; strict, so that each block has one
// text only.
var idEncoding = base64.RawURLEncoding.Strict()

// sealID appends the text of one id block: one AES block of the first
// sequence number, the shard, the number of publishes it names and
// idCheck, encrypted with the engine's id key, in unpadded base64url.
// Without the key nobody can make a valid id, nor tell from one id (their
// own user's, say) what another user's ids are: the place after the block
// reaches only the publishes of the same event. It works in ps's scratch
// space, under its lock (a local array would escape to the heap through
// the cipher): the sealed block is left in ps.block, its text in
// ps.scratch, which it returns.
func (e *Engine) sealID(ps *pendingShard, seq, shard uint64, n int) []byte {
	b := &ps.block
	binary.BigEndian.PutUint64(b[:8], seq)
	b[8] = byte(shard)
	b[9] = byte(n)
	copy(b[10:], idCheck[:])
	e.idKey.Encrypt(b[:], b[:])
	idEncoding.Encode(ps.scratch[:], b[:])
	return ps.scratch[:]
}

// pendingHome returns the pending shard of user's publishes: a hash of
// the name (deterministic, unlike maphash), which the user's entry keeps.
func pendingHome(user string) uint64 { return uint64(events.KeyOf(user)) % pendingShards }

// lockPending locks and returns a pending shard for the publishes of a
// user whose home (pendingHome) is home: that shard (so that a run of
// events gives the same ids every time), or when its lock is taken the
// next free one, as the shard is written in the ids anyway. It blocks only
// when every shard tried is busy.
func (e *Engine) lockPending(home uint64) uint64 {
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

// pendingOf opens one of the engine's publish ids.
func (e *Engine) pendingOf(id string) (ps *pendingShard, seq uint64, ok bool) {
	rest, found := strings.CutPrefix(id, e.idPrefix)
	if !found && len(id) == 36 {
		return e.pendingOfUUID(id) // a Push 2.0 notification's
	}
	if !found || len(rest) < 24 || rest[22] != '.' {
		return nil, 0, false
	}
	place, err := strconv.ParseUint(rest[23:], 10, 8)
	if err != nil || strconv.FormatUint(place, 10) != rest[23:] {
		return nil, 0, false
	}
	var b [16]byte
	if n, err := idEncoding.Decode(b[:], []byte(rest[:22])); err != nil || n != len(b) {
		return nil, 0, false
	}
	e.idKey.Decrypt(b[:], b[:])
	if [6]byte(b[10:]) != idCheck || b[8] >= pendingShards || place >= uint64(b[9]) {
		return nil, 0, false
	}
	return &e.pending[b[8]], binary.BigEndian.Uint64(b[:8]) + place, true
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
func (e *Engine) takePending(id, from string, now time.Time) (pendingPublish, *retryState, pendingStatus) {
	ps, seq, ok := e.pendingOf(id)
	if !ok {
		return pendingPublish{}, nil, pendingUnknown
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	e.expirePending(ps, now)
	p, ok := ps.peek(seq)
	if !ok || now.UnixNano() >= p.expires {
		return pendingPublish{}, nil, pendingUnknown
	}
	if !sameService(from, p.id.JID()) {
		return pendingPublish{}, nil, pendingOtherSender
	}
	out, _ := ps.take(seq)
	return out, ps.takeRetry(seq), pendingTaken
}

// takeRetry removes and returns the retry state of the publish of
// sequence seq, nil when it has none.
func (ps *pendingShard) takeRetry(seq uint64) *retryState {
	rs := ps.retries[seq]
	if rs != nil {
		delete(ps.retries, seq)
	}
	return rs
}

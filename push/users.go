package push

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pushrules/pushrules/internal/core"
	"github.com/pushrules/pushrules/internal/jid"
	"github.com/pushrules/pushrules/registry"
)

const (
	userShards    = 256
	sweepInterval = time.Minute
)

// falseSharingPad separates neighbouring shards in an array by two cache
// lines, so that goroutines locking different shards do not contend for
// one line (or for a pair the CPU fetches together).
const falseSharingPad = 128

// userShard holds the users whose names hash to it. mu guards everything
// in it; it is held only for in-memory work, never across a Store call.
type userShard struct {
	mu        sync.Mutex
	users     userTable
	timers    batchTimers
	nextSweep int64 // unix ns; a sweep is due then (or when the clock went back)
	metrics   shardMetrics
	out       core.Out // the core's scratch output, used under mu
	self      int      // the shard's index
	_         [falseSharingPad]byte
}

// userEntry is one user's state and the user's turn: operations of one
// user run one after another, in the order they arrived. An operation that
// must call the Store takes the turn (busy) and gives it up when done;
// operations arriving meanwhile queue in waiters and get the turn in
// order.
type userEntry struct {
	core.User
	name    string
	hash    uint64 // of name, which picks the shard (see shard)
	busy    bool
	home    uint64 // pendingHome of the user, computed once
	waiters []chan struct{}
}

// shard returns the user's shard and the hash of the name, which finds
// the user in it.
func (e *Engine) shard(user string) (*userShard, uint64) {
	h := maphash.String(e.seed, user)
	return &e.users[h%userShards], h
}

// lock locks the user's shard, sweeping it first when a sweep is due (or
// when the clock went back by more than the sweep interval).
func (e *Engine) lock(user string, now time.Time) (*userShard, uint64) {
	sh, h := e.shard(user)
	sh.mu.Lock()
	if t := now.UnixNano(); t >= sh.nextSweep || sh.nextSweep-t > int64(sweepInterval) {
		e.sweepShard(sh, now)
	}
	return sh, h
}

// enter locks the user's shard and, when another operation of the user
// holds the turn, waits for it. It returns with sh.mu held and u the
// user's entry (nil when there is none and create is false). owned says
// the caller got the turn by waiting and must pass it on (leave) when
// done. On a context error nothing is held.
func (e *Engine) enter(ctx context.Context, user string, now time.Time, create bool) (sh *userShard, u *userEntry, owned bool, err error) {
	sh, h := e.lock(user, now)
	u = sh.users.get(h, user)
	if u == nil {
		if !create {
			return sh, nil, false, nil
		}
		u = &userEntry{name: user, hash: h, home: pendingHome(user)}
		e.rules.Init(&u.User)
		sh.users.add(u)
	}
	if !u.busy {
		return sh, u, false, nil
	}
	ch := make(chan struct{})
	u.waiters = append(u.waiters, ch)
	sh.mu.Unlock()
	select {
	case <-ch:
		sh.mu.Lock()
		return sh, u, true, nil
	case <-ctx.Done():
	}
	sh.mu.Lock()
	if i := slices.Index(u.waiters, ch); i >= 0 {
		u.waiters = slices.Delete(u.waiters, i, i+1)
	} else {
		e.leave(sh, u) // the turn came as the context ended: pass it on
	}
	sh.mu.Unlock()
	return nil, nil, false, ctx.Err()
}

// leave gives the user's turn to the next waiting operation, or frees it
// and drops an entry that holds nothing. The caller holds sh.mu.
func (e *Engine) leave(sh *userShard, u *userEntry) {
	if len(u.waiters) > 0 {
		ch := u.waiters[0]
		u.waiters[0] = nil
		u.waiters = u.waiters[1:]
		close(ch)
		return
	}
	u.busy = false
	if u.Empty() {
		sh.users.remove(u)
	}
}

// done ends an operation that entered without I/O: it passes the turn on
// when it held it, drops an empty entry, and unlocks the shard.
func (e *Engine) done(sh *userShard, u *userEntry, owned bool) {
	if u != nil {
		if owned {
			e.leave(sh, u)
		} else if !u.busy && u.Empty() {
			sh.users.remove(u)
		}
	}
	sh.mu.Unlock()
}

// begin takes the user's turn for an operation that calls the Store: it
// returns with the turn held and no lock held. The caller calls finish
// after its Store calls, which relocks the shard.
func (e *Engine) begin(ctx context.Context, user string, now time.Time) (*userShard, *userEntry, error) {
	sh, u, _, err := e.enter(ctx, user, now, true)
	if err != nil {
		return nil, nil, err
	}
	u.busy = true
	sh.mu.Unlock()
	return sh, u, nil
}

// finish relocks the shard after begin's Store calls; the caller applies
// the result to the core and then calls end.
func (sh *userShard) finish() { sh.mu.Lock() }

// end passes the turn on and unlocks the shard.
func (e *Engine) end(sh *userShard, u *userEntry) {
	e.leave(sh, u)
	sh.mu.Unlock()
}

func (e *Engine) sweepShard(sh *userShard, now time.Time) {
	sh.nextSweep = now.Add(sweepInterval).UnixNano()
	sh.users.removeIf(func(u *userEntry) bool {
		u.Expire(now, e.cfg.DebounceWindow)
		return !u.busy && u.Empty()
	})
}

// Sweep forgets, at once, everything that has expired by now: deduplication
// marks past the window, users with neither sessions nor marks, and
// unanswered publishes past PublishTimeout. The engine also does this by
// itself, a little at a time, as events arrive; Sweep is for hosts and tests
// that want memory back without waiting.
func (e *Engine) Sweep(now time.Time) {
	for i := range e.users {
		sh := &e.users[i]
		sh.mu.Lock()
		e.sweepShard(sh, now)
		sh.mu.Unlock()
	}
	for i := range e.pending {
		ps := &e.pending[i]
		ps.mu.Lock()
		e.expirePending(ps, now)
		ps.mu.Unlock()
	}
}

func sessionUser(full string, now time.Time) (string, error) {
	if err := checkTime(now); err != nil {
		return "", err
	}
	if full == "" {
		return "", fmt.Errorf("%w: empty session", ErrInvalidEvent)
	}
	i := strings.IndexByte(full, '/')
	if i <= 0 || i == len(full)-1 {
		return "", fmt.Errorf("%w: session %q is not a full JID", ErrInvalidEvent, full)
	}
	return full[:i], nil
}

// The times the engine can count in nanoseconds: years 1678 to 2261.
var (
	minTime = time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxTime = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
)

// checkTime refuses the zero time, and times beyond what the engine can
// count in nanoseconds (years 1678 to 2261).
func checkTime(now time.Time) error {
	if sec := now.Unix(); sec < minTime || sec >= maxTime {
		return fmt.Errorf("%w: Now %v is not set (or out of range)", ErrInvalidEvent, now)
	}
	return nil
}

func checkUser(user string, now time.Time) error {
	if err := checkTime(now); err != nil {
		return err
	}
	if user == "" || strings.IndexByte(user, '/') >= 0 {
		return fmt.Errorf("%w: user %q is not a bare JID", ErrInvalidEvent, user)
	}
	return nil
}

// Binding returns the identifier of the registration the session is bound
// to, and false when the session is unknown or not bound. It is meant for
// tests, diagnostics and admin interfaces.
func (e *Engine) Binding(session string) (registry.Identifier, bool) {
	user := jid.Bare(session)
	sh, h := e.shard(user)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if u := sh.users.get(h, user); u != nil {
		if s := u.Session(session); s != nil && s.Bound {
			return s.Binding.ID, true
		}
	}
	return "", false
}

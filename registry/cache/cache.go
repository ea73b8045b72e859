package cache

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/pushrules/pushrules/registry"
)

// Defaults of the bounds in Options.
const (
	defaultMaxUsers     = 100_000
	defaultMaxFormBytes = 64 << 20
)

const maxShards = 64

// Notifier publishes a change of a user's registrations to the other nodes
// sharing the underlying store. The Store calls Notify after every write
// that succeeded and changed the user's registrations (Save, and Delete or
// DeleteUser that removed something), never while holding a lock. The
// context is detached from the caller's cancellation (the write is done;
// the notice must still go out), so Notify must bound its own time. An
// error is logged and counted (Stats.NotifyErrors); the write still
// succeeds, since what is stored has changed. Notify must be safe for
// concurrent use.
type Notifier interface {
	Notify(ctx context.Context, user string) error
}

// Options configures a Store. The zero value means the defaults and no
// notifier (a single node).
type Options struct {
	// MaxUsers bounds the number of users cached, users with no
	// registrations included (a Load of such a user is cached too);
	// 100,000 when 0. The cache is split in up to 64 shards (fewer for
	// small bounds), each with its share of both bounds, so it may evict
	// before the total reaches a bound.
	MaxUsers int
	// MaxFormBytes bounds the bytes of publish-options forms cached,
	// counting for each form the length of its type, of every field's var
	// and type and of every value, plus one byte per string; 64 MiB when
	// 0. A user whose forms exceed a shard's share is not cached: every
	// Load of that user reads the underlying store.
	MaxFormBytes int
	// Notifier, if not nil, tells the other nodes of every change made
	// through this Store; nil for a single node.
	Notifier Notifier
	// OnRemoteChange, if not nil, is called by Invalidate, after the user's
	// entry was dropped, outside the Store's locks: another node changed
	// the user's registrations. It is called whether or not the user was
	// cached. The host wires it to the push engine so that sessions of this
	// node bound to a registration removed elsewhere are unbound. It must
	// not block for long: the notice listener waits for it.
	OnRemoteChange func(user string)
	// OnReset, if not nil, is called after InvalidateAll, Suspend and
	// Resume dropped every entry, outside the Store's locks: any user's
	// registrations may have changed elsewhere without a notice reaching
	// this node.
	OnReset func()
	// Logger receives a warning for each failed Notify; nil is silent.
	Logger *slog.Logger
}

// Error is the type of the package's sentinel errors. They are constants:
// compare with errors.Is.
type Error string

// Error returns the message.
func (e Error) Error() string { return string(e) }

// ErrInvalidOptions is wrapped by New's error for a nil store or Options it
// cannot use; the message names the field.
const ErrInvalidOptions Error = "cache: invalid options"

// Store is a registry.Store (and registry.Appender) that serves Load from
// memory and writes through to an underlying Store. It is safe for
// concurrent use; it never holds a lock while calling the underlying store,
// the Notifier or a callback. See the package documentation for what it
// guarantees. Create it with New.
type Store struct {
	store    registry.Store
	opts     Options
	seed     maphash.Seed
	shards   []shard
	maxUsers int // per shard
	maxBytes int // per shard

	epoch        atomic.Uint64 // bumped by InvalidateAll, Suspend and Resume
	suspended    atomic.Bool
	notifyErrors atomic.Uint64
}

var (
	_ registry.Store    = (*Store)(nil)
	_ registry.Appender = (*Store)(nil)
)

// New returns an empty cache over store. For a nil store or negative
// bounds it returns an error wrapping ErrInvalidOptions.
func New(store registry.Store, opts Options) (*Store, error) {
	switch {
	case store == nil:
		return nil, fmt.Errorf("%w: nil store", ErrInvalidOptions)
	case opts.MaxUsers < 0:
		return nil, fmt.Errorf("%w: Options.MaxUsers: %d is negative", ErrInvalidOptions, opts.MaxUsers)
	case opts.MaxFormBytes < 0:
		return nil, fmt.Errorf("%w: Options.MaxFormBytes: %d is negative", ErrInvalidOptions, opts.MaxFormBytes)
	}
	if opts.MaxUsers == 0 {
		opts.MaxUsers = defaultMaxUsers
	}
	if opts.MaxFormBytes == 0 {
		opts.MaxFormBytes = defaultMaxFormBytes
	}
	// Fewer shards for small bounds, so that every shard's share is at
	// least a few dozen users and 16 KiB of forms.
	n := maxShards
	for n > 1 && (opts.MaxUsers/n < 32 || opts.MaxFormBytes/n < 16<<10) {
		n /= 2
	}
	s := &Store{store: store, opts: opts, seed: maphash.MakeSeed(), shards: make([]shard, n),
		maxUsers: opts.MaxUsers / n, maxBytes: opts.MaxFormBytes / n}
	for i := range s.shards {
		s.shards[i].init()
	}
	return s, nil
}

func (s *Store) shard(user string) *shard {
	return &s.shards[maphash.String(s.seed, user)%uint64(len(s.shards))]
}

// Load implements registry.Store: the cached registrations when the user
// is cached, else the underlying store's, which are then cached.
func (s *Store) Load(ctx context.Context, user string) ([]registry.Registration, error) {
	return s.load(ctx, user, nil, false)
}

// LoadAppend implements registry.Appender: Load appending to dst. A hit
// allocates nothing when dst has room.
func (s *Store) LoadAppend(ctx context.Context, user string, dst []registry.Registration) ([]registry.Registration, error) {
	return s.load(ctx, user, dst, true)
}

func (s *Store) load(ctx context.Context, user string, dst []registry.Registration, appending bool) ([]registry.Registration, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	// The epoch is read before suspended: Suspend sets suspended before it
	// bumps the epoch, so a load that misses the one sees the other.
	epoch := s.epoch.Load()
	if s.suspended.Load() {
		return s.read(ctx, user, dst, appending)
	}
	sh := s.shard(user)
	sh.mu.RLock()
	if e := sh.users[user]; e != nil {
		if !appending {
			dst = make([]registry.Registration, 0, len(e.regs))
		}
		dst = append(dst, e.regs...)
		if !e.ref.Load() {
			e.ref.Store(true)
		}
		sh.mu.RUnlock()
		sh.hits.Add(1)
		return dst, nil
	}
	sh.mu.RUnlock()
	sh.misses.Add(1)

	sh.mu.Lock()
	f, gen := sh.begin(user)
	sh.mu.Unlock()
	start := len(dst)
	dst, err := s.read(ctx, user, dst, appending)
	sh.mu.Lock()
	sh.end(user, f)
	if err == nil && f.gen == gen && s.epoch.Load() == epoch && sh.users[user] == nil {
		sh.insert(user, slices.Clone(dst[start:]), s.maxUsers, s.maxBytes)
	}
	sh.mu.Unlock()
	return dst, err
}

// read loads from the underlying store.
func (s *Store) read(ctx context.Context, user string, dst []registry.Registration, appending bool) ([]registry.Registration, error) {
	if !appending {
		return s.store.Load(ctx, user)
	}
	if a, ok := s.store.(registry.Appender); ok {
		return a.LoadAppend(ctx, user, dst)
	}
	regs, err := s.store.Load(ctx, user)
	if err != nil {
		return dst, err
	}
	return append(dst, regs...), nil
}

// Save implements registry.Store: it saves through the underlying store,
// which applies maxDevices in its own atomic step, drops the user's entry
// and notifies the other nodes.
func (s *Store) Save(ctx context.Context, reg registry.Registration, maxDevices int) (registry.Registration, []registry.Registration, error) {
	saved, evicted, err := s.store.Save(ctx, reg, maxDevices)
	s.wrote(ctx, reg.User, err == nil)
	return saved, evicted, err
}

// Delete implements registry.Store, through the underlying store; it drops
// the user's entry and, when something was removed, notifies the other
// nodes.
func (s *Store) Delete(ctx context.Context, user string, ids ...registry.Identifier) ([]registry.Registration, error) {
	removed, err := s.store.Delete(ctx, user, ids...)
	s.wrote(ctx, user, err == nil && len(removed) > 0)
	return removed, err
}

// DeleteUser implements registry.Store, like Delete.
func (s *Store) DeleteUser(ctx context.Context, user string) ([]registry.Registration, error) {
	removed, err := s.store.DeleteUser(ctx, user)
	s.wrote(ctx, user, err == nil && len(removed) > 0)
	return removed, err
}

// wrote drops the user's entry after a write, whatever its outcome (an
// error from a database may hide a write that was committed; dropping an
// entry only costs a read), and notifies the other nodes when the write
// changed something.
// notifyTries is how many times a notice is sent before it is given up:
// a write committed on one pooled connection may meet a broken one for its
// notice (a database restart), and a lost notice leaves other nodes with
// the old registrations until their entry is dropped for another reason.
const notifyTries = 4

// notify sends the user's notice, trying again after 10, 40 and 160 ms.
func (s *Store) notify(ctx context.Context, user string) error {
	var err error
	for i := range notifyTries {
		if err = s.opts.Notifier.Notify(ctx, user); err == nil {
			return nil
		}
		if i < notifyTries-1 {
			time.Sleep(10 * time.Millisecond << (2 * i))
		}
	}
	return err
}

func (s *Store) wrote(ctx context.Context, user string, changed bool) {
	sh := s.shard(user)
	sh.mu.Lock()
	sh.drop(user)
	sh.mu.Unlock()
	if !changed || s.opts.Notifier == nil {
		return
	}
	if err := s.notify(context.WithoutCancel(ctx), user); err != nil {
		s.notifyErrors.Add(1)
		if s.opts.Logger != nil {
			s.opts.Logger.Warn("registry cache: notifying the other nodes failed; they may serve the old registrations of the user until their entry is dropped",
				"user", user, "error", err)
		}
	}
}

// AddError implements registry.Store. The count is kept by the underlying
// store, atomically; the cached registration takes the count AddError
// returns. Other nodes are not notified: their cached counts may lag (see
// the package documentation).
func (s *Store) AddError(ctx context.Context, user string, id registry.Identifier, generation uint64) (int, error) {
	n, err := s.store.AddError(ctx, user, id, generation)
	s.counted(user, id, generation, n, err)
	return n, err
}

// ResetErrors implements registry.Store, like AddError.
func (s *Store) ResetErrors(ctx context.Context, user string, id registry.Identifier, generation uint64) error {
	err := s.store.ResetErrors(ctx, user, id, generation)
	s.counted(user, id, generation, 0, err)
	return err
}

// counted updates the cached count after AddError or ResetErrors, or drops
// the entry when the call failed (ErrNotFound means the entry may be stale).
func (s *Store) counted(user string, id registry.Identifier, generation uint64, n int, err error) {
	sh := s.shard(user)
	sh.mu.Lock()
	if err == nil {
		sh.setErrors(user, id, generation, n)
	} else {
		sh.drop(user)
	}
	sh.mu.Unlock()
}

// LoadFresh implements registry.FreshLoader: it drops the user's entry and
// reads the underlying store, caching what it reads. The engine calls it
// before an enable or a disable, so that they act on what is stored now
// even while another node's notice is still on its way.
func (s *Store) LoadFresh(ctx context.Context, user string) ([]registry.Registration, error) {
	sh := s.shard(user)
	sh.mu.Lock()
	sh.drop(user)
	sh.mu.Unlock()
	return s.load(ctx, user, nil, false)
}

// Invalidate drops the user's entry, so that the next Load reads the
// underlying store, and keeps loads of the user already in progress from
// caching what they read; then it calls Options.OnRemoteChange. A listener
// calls it for each notice of another node.
func (s *Store) Invalidate(user string) {
	sh := s.shard(user)
	sh.mu.Lock()
	sh.drop(user)
	sh.mu.Unlock()
	if s.opts.OnRemoteChange != nil {
		s.opts.OnRemoteChange(user)
	}
}

// InvalidateAll drops every entry, keeps loads in progress from caching
// what they read, and calls Options.OnReset. A listener calls it when
// notices may have been lost.
func (s *Store) InvalidateAll() {
	s.epoch.Add(1)
	s.reset()
}

// Suspend drops every entry and makes the Store serve every Load from the
// underlying store, caching nothing, until Resume; then it calls
// Options.OnReset. A listener calls it when it stops receiving notices.
func (s *Store) Suspend() {
	s.suspended.Store(true)
	s.epoch.Add(1)
	s.reset()
}

// Resume ends Suspend: it drops every entry again (notices may have been
// lost before the listener was listening again), caches again, and calls
// Options.OnReset. A listener calls it once it receives notices again.
func (s *Store) Resume() {
	s.suspended.Store(false)
	s.epoch.Add(1)
	s.reset()
}

func (s *Store) reset() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		sh.clear()
		sh.mu.Unlock()
	}
	if s.opts.OnReset != nil {
		s.opts.OnReset()
	}
}

// Stats are counters of a Store, for monitoring.
type Stats struct {
	Hits, Misses uint64 // Loads served from memory, and from the underlying store while caching
	Evictions    uint64 // entries dropped to stay within the bounds
	Users        int    // users cached now
	FormBytes    int    // form bytes cached now (as MaxFormBytes counts them)
	NotifyErrors uint64 // failed Notify calls
	Suspended    bool   // between Suspend and Resume
}

// Stats returns the Store's counters. Loads while suspended count neither
// as hits nor as misses.
func (s *Store) Stats() Stats {
	st := Stats{NotifyErrors: s.notifyErrors.Load(), Suspended: s.suspended.Load()}
	for i := range s.shards {
		sh := &s.shards[i]
		st.Hits += sh.hits.Load()
		st.Misses += sh.misses.Load()
		st.Evictions += sh.evictions.Load()
		sh.mu.RLock()
		st.Users += len(sh.users)
		st.FormBytes += sh.bytes
		sh.mu.RUnlock()
	}
	return st
}

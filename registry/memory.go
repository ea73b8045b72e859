package registry

import (
	"context"
	"hash/maphash"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/pushrules/pushrules/push2"
)

const memoryShards = 64

// Memory is the in-process Store: registrations live in sharded maps and are
// lost when the process exits. Its zero value is not usable; call NewMemory.
// It is safe for concurrent use; operations on different users rarely
// contend. It honours context cancellation only before it starts an
// operation (every operation is a short in-memory step). Enabled times come
// back in UTC, to the nanosecond. It keeps a Push 2.0 registration's
// request by pointer: the caller must not modify it after Save.
type Memory struct {
	seed   maphash.Seed
	shards [memoryShards]memoryShard
}

type memoryShard struct {
	mu    sync.RWMutex
	users map[string][]memoryEntry // exactly sized, replaced on every write
	audit map[string][]AuditEntry  // Auditor's histories; nil until the first
	_     [128]byte                // keeps neighbouring shards' locks off one cache line
}

// memoryEntry is a Registration without its user (the map key), with
// compact times, and with the fields most registrations leave zero apart
// (rare): every message reads a user's entries, and 88 bytes of three
// registrations span fewer cache lines than 128 would.
type memoryEntry struct {
	id         Identifier
	options    Form
	ext        Extensions
	sec        int64 // Enabled, unix seconds
	generation uint64
	success    int64 // LastSuccess, unix nanoseconds (0: zero time)
	nsec       int32 // Enabled's nanoseconds
	errors     int32
	rare       *memoryRare // nil while its fields are all zero
}

// memoryRare holds what a healthy XEP-0357 registration leaves zero: a
// run of errors' start and condition, a client id, a Push 2.0 request.
// It is never changed once an entry points to it (a change makes a new
// one), so entries may share it.
type memoryRare struct {
	failing   int64 // FailingSince, unix nanoseconds (0: zero time)
	lastError string
	client    string
	push2     *push2.Request // a Push 2.0 registration's request, nil for XEP-0357
}

// rareOf returns r, or nil when all its fields are zero.
func rareOf(r memoryRare) *memoryRare {
	if r == (memoryRare{}) {
		return nil
	}
	return &r
}

// rareFields returns e's rare fields, zero when it has none.
func (e *memoryEntry) rareFields() memoryRare {
	if e.rare == nil {
		return memoryRare{}
	}
	return *e.rare
}

// setRare changes e's rare fields to r, in a new memoryRare when they
// differ.
func (e *memoryEntry) setRare(r memoryRare) {
	if r != e.rareFields() {
		e.rare = rareOf(r)
	}
}

// maxErrorCount is the highest error count Memory keeps.
const maxErrorCount = math.MaxInt32

func entryOf(r Registration) memoryEntry {
	return memoryEntry{id: r.ID, options: r.Options, ext: r.Extensions, sec: r.Enabled.Unix(), nsec: int32(r.Enabled.Nanosecond()),
		generation: r.Generation, errors: int32(min(r.Errors, maxErrorCount)), success: unixNano(r.LastSuccess),
		rare: rareOf(memoryRare{failing: unixNano(r.FailingSince), lastError: r.LastError, client: r.Client, push2: r.Push2})}
}

func (e *memoryEntry) registration(user string) Registration {
	var r Registration
	e.fill(&r, user)
	return r
}

// fill sets every field of r from e, in place: LoadAppend fills the
// caller's slice without building a Registration and copying it.
func (e *memoryEntry) fill(r *Registration, user string) {
	r.User, r.ID, r.Options, r.Extensions = user, e.id, e.options, e.ext
	r.Enabled = time.Unix(e.sec, int64(e.nsec)).UTC()
	r.Generation, r.Errors = e.generation, int(e.errors)
	r.LastSuccess = timeOf(e.success)
	if x := e.rare; x != nil {
		r.FailingSince, r.LastError, r.Client, r.Push2 = timeOf(x.failing), x.lastError, x.client, x.push2
	} else {
		r.FailingSince, r.LastError, r.Client, r.Push2 = time.Time{}, "", "", nil
	}
}

// NewMemory returns an empty in-memory Store.
func NewMemory() *Memory {
	m := &Memory{seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].users = make(map[string][]memoryEntry)
	}
	return m
}

func (m *Memory) shard(user string) *memoryShard {
	return &m.shards[m.shardIndex(user)]
}

func (m *Memory) shardIndex(user string) uint64 { return maphash.String(m.seed, user) % memoryShards }

func registrations(user string, entries []memoryEntry) []Registration {
	out := make([]Registration, len(entries))
	for i := range entries {
		out[i] = entries[i].registration(user)
	}
	return out
}

// Load implements Store.
func (m *Memory) Load(ctx context.Context, user string) ([]Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := m.shard(user)
	s.mu.RLock()
	defer s.mu.RUnlock()
	return registrations(user, s.users[user]), nil
}

// LoadAppend implements Appender.
func (m *Memory) LoadAppend(ctx context.Context, user string, dst []Registration) ([]Registration, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	s := m.shard(user)
	s.mu.RLock()
	defer s.mu.RUnlock()
	entries := s.users[user]
	n := len(dst)
	dst = slices.Grow(dst, len(entries))[:n+len(entries)]
	for i := range entries {
		entries[i].fill(&dst[n+i], user)
	}
	return dst, nil
}

// Save implements Store.
func (m *Memory) Save(ctx context.Context, reg Registration, maxDevices int) (Registration, []Registration, error) {
	if err := ctx.Err(); err != nil {
		return Registration{}, nil, err
	}
	s := m.shard(reg.User)
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.users[reg.User]
	entries := make([]memoryEntry, 0, len(old)+1)
	for _, e := range old {
		if e.id == reg.ID {
			reg.Generation, reg.Errors = e.generation, int(e.errors)
			x := e.rareFields()
			reg.LastSuccess, reg.FailingSince, reg.LastError = timeOf(e.success), timeOf(x.failing), x.lastError
			continue
		}
		entries = append(entries, e)
	}
	entries = append(entries, entryOf(reg))
	var evicted []Registration
	if maxDevices > 0 && len(entries) > maxDevices {
		n := len(entries) - maxDevices
		evicted = registrations(reg.User, entries[:n])
		entries = entries[n:]
	}
	s.users[reg.User] = slices.Clip(entries)
	return entries[len(entries)-1].registration(reg.User), evicted, nil
}

// Delete implements Store.
func (m *Memory) Delete(ctx context.Context, user string, ids ...Identifier) ([]Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := m.shard(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	var removed []Registration
	var kept []memoryEntry
	for _, e := range s.users[user] {
		if slices.Contains(ids, e.id) {
			removed = append(removed, e.registration(user))
		} else {
			kept = append(kept, e)
		}
	}
	if len(removed) == 0 {
		return nil, nil
	}
	if len(kept) == 0 {
		delete(s.users, user)
	} else {
		s.users[user] = slices.Clip(kept)
	}
	return removed, nil
}

// DeleteUser implements Store.
func (m *Memory) DeleteUser(ctx context.Context, user string) ([]Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := m.shard(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	removed := registrations(user, s.users[user])
	delete(s.users, user)
	return removed, nil
}

// AddError implements Store.
func (m *Memory) AddError(ctx context.Context, user string, id Identifier, generation uint64) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s := m.shard(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := find(s.users[user], id, generation)
	if e == nil {
		return 0, ErrNotFound
	}
	if e.errors < maxErrorCount {
		e.errors++
	}
	return int(e.errors), nil
}

// ResetErrors implements Store.
func (m *Memory) ResetErrors(ctx context.Context, user string, id Identifier, generation uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := m.shard(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := find(s.users[user], id, generation)
	if e == nil {
		return ErrNotFound
	}
	x := e.rareFields()
	x.failing = 0
	e.errors = 0
	e.setRare(x)
	return nil
}

// find returns the entry of id and generation, or nil. The entry is the
// stored one: only callers holding the shard's write lock may change it.
func find(entries []memoryEntry, id Identifier, generation uint64) *memoryEntry {
	for i := range entries {
		if entries[i].id == id && entries[i].generation == generation {
			return &entries[i]
		}
	}
	return nil
}

package registry

import (
	"context"
	"hash/maphash"
	"slices"
	"sync"
)

const memoryShards = 64

// Memory is the in-process Store: registrations live in sharded maps and are
// lost when the process exits. Its zero value is not usable; call NewMemory.
// It is safe for concurrent use; operations on different users rarely
// contend. It honours context cancellation only before it starts an
// operation (every operation is a short in-memory step).
type Memory struct {
	seed   maphash.Seed
	shards [memoryShards]memoryShard
}

type memoryShard struct {
	mu    sync.RWMutex
	users map[string][]Registration
}

// NewMemory returns an empty in-memory Store.
func NewMemory() *Memory {
	m := &Memory{seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].users = make(map[string][]Registration)
	}
	return m
}

func (m *Memory) shard(user string) *memoryShard {
	return &m.shards[maphash.String(m.seed, user)%memoryShards]
}

// Load implements Store.
func (m *Memory) Load(ctx context.Context, user string) ([]Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := m.shard(user)
	s.mu.RLock()
	regs := slices.Clone(s.users[user])
	s.mu.RUnlock()
	if regs == nil {
		regs = []Registration{}
	}
	return regs, nil
}

// Save implements Store.
func (m *Memory) Save(ctx context.Context, reg Registration, maxDevices int) (Registration, []Registration, error) {
	if err := ctx.Err(); err != nil {
		return Registration{}, nil, err
	}
	s := m.shard(reg.User)
	s.mu.Lock()
	defer s.mu.Unlock()
	regs := s.users[reg.User]
	if i := indexOf(regs, reg.ID); i >= 0 {
		reg.Generation, reg.Errors = regs[i].Generation, regs[i].Errors
		regs = slices.Delete(regs, i, i+1)
	}
	regs = append(regs, reg)
	var evicted []Registration
	if maxDevices > 0 && len(regs) > maxDevices {
		n := len(regs) - maxDevices
		evicted = slices.Clone(regs[:n])
		regs = slices.Delete(regs, 0, n)
	}
	s.users[reg.User] = regs
	return reg, evicted, nil
}

// Delete implements Store.
func (m *Memory) Delete(ctx context.Context, user string, ids ...Identifier) ([]Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := m.shard(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	regs := s.users[user]
	var removed []Registration
	kept := regs[:0]
	for _, r := range regs {
		if slices.Contains(ids, r.ID) {
			removed = append(removed, r)
		} else {
			kept = append(kept, r)
		}
	}
	clear(regs[len(kept):])
	m.put(s, user, kept)
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
	removed := s.users[user]
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
	regs := s.users[user]
	i := indexOf(regs, id)
	if i < 0 || regs[i].Generation != generation {
		return 0, ErrNotFound
	}
	regs[i].Errors++
	return regs[i].Errors, nil
}

// ResetErrors implements Store.
func (m *Memory) ResetErrors(ctx context.Context, user string, id Identifier, generation uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := m.shard(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	regs := s.users[user]
	i := indexOf(regs, id)
	if i < 0 || regs[i].Generation != generation {
		return ErrNotFound
	}
	regs[i].Errors = 0
	return nil
}

func (m *Memory) put(s *memoryShard, user string, regs []Registration) {
	if len(regs) == 0 {
		delete(s.users, user)
		return
	}
	s.users[user] = regs
}

func indexOf(regs []Registration, id Identifier) int {
	for i := range regs {
		if regs[i].ID == id {
			return i
		}
	}
	return -1
}

package registry

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pushrules/pushrules/push2"
)

// Push2Registration is one stored Push 2.0 (urn:xmpp:push2:0) registration
// of a user. Unlike a XEP-0357 Registration it is keyed by the client that
// made it, not by the push service and node: a client enables once and its
// registration outlives its sessions; enabling again replaces it.
//
// It is a value; its Request shares its slices with every copy, so treat
// it as immutable once saved.
type Push2Registration struct {
	// User is the bare JID of the account.
	User string
	// Client is the key: the client's SASL2 client id (XEP-0388), or the
	// resource of the enabling session for a client that gave none. It is
	// not Request.Client, which is the push service's name for the device.
	Client string
	// Request is the client's <enable/>: service, device and match rules.
	// It holds the device's secrets.
	Request push2.Request
	// Enabled is when the registration was last enabled (informational).
	Enabled time.Time
	// Generation identifies one life of the registration, as for
	// Registration: chosen at creation, kept when enabled again. Never 0 in
	// a stored registration.
	Generation uint64
	// Errors counts the notification errors since the last success;
	// FailingSince is when the first of them came (zero while Errors is
	// 0).
	Errors       int
	FailingSince time.Time
}

// Push2Store is an optional Store capability: a Store that has it keeps
// Push 2.0 registrations beside the XEP-0357 ones, and the push engine
// offers Push 2.0 (answers its <enable/>, lists it in disco) only over a
// Store that has it. Memory has it. The contract is Store's: safe for
// concurrent use, a failed call changes nothing, context errors returned as
// they are; ErrNotFound names a registration not stored (or stored with
// another Generation).
type Push2Store interface {
	// LoadPush2 returns the user's Push 2.0 registrations, least recently
	// enabled first; none gives an empty (possibly nil) slice. The caller
	// owns the slice.
	LoadPush2(ctx context.Context, user string) ([]Push2Registration, error)

	// SavePush2 stores reg under (reg.User, reg.Client) as the user's most
	// recently enabled Push 2.0 registration, replacing one stored under
	// that key (keeping its Generation and Errors). When the user then has
	// more than maxDevices of them, the least recently enabled are removed
	// and returned in the same atomic step; maxDevices <= 0 means no limit.
	// A new registration must have a non-zero Generation.
	SavePush2(ctx context.Context, reg Push2Registration, maxDevices int) (saved Push2Registration, evicted []Push2Registration, err error)

	// DeletePush2 removes the user's registrations of the named clients in
	// one atomic step and returns those that were stored, in any order.
	DeletePush2(ctx context.Context, user string, clients ...string) (removed []Push2Registration, err error)

	// DeleteUserPush2 removes every Push 2.0 registration of the user and
	// returns them.
	DeleteUserPush2(ctx context.Context, user string) (removed []Push2Registration, err error)

	// AddPush2Error counts one notification error, at time at, for
	// (user, client) of the given generation and returns the registration
	// as now stored: Errors one more, FailingSince at when it was the
	// first error of a run (kept otherwise).
	AddPush2Error(ctx context.Context, user, client string, generation uint64, at time.Time) (Push2Registration, error)

	// ResetPush2Errors ends the run of errors of (user, client) of the
	// given generation: Errors 0, FailingSince zero.
	ResetPush2Errors(ctx context.Context, user, client string, generation uint64) error
}

// push2Shard holds one shard's Push 2.0 registrations; its map is made on
// the first write, so a Memory that never sees Push 2.0 costs nothing.
type push2Shard struct {
	mu    sync.RWMutex
	users map[string][]Push2Registration // replaced on every write
}

func (m *Memory) push2Shard(user string) *push2Shard {
	return &m.push2[m.shardIndex(user)]
}

// LoadPush2 implements Push2Store.
func (m *Memory) LoadPush2(ctx context.Context, user string) ([]Push2Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := m.push2Shard(user)
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.users[user]), nil
}

// SavePush2 implements Push2Store.
func (m *Memory) SavePush2(ctx context.Context, reg Push2Registration, maxDevices int) (Push2Registration, []Push2Registration, error) {
	if err := ctx.Err(); err != nil {
		return Push2Registration{}, nil, err
	}
	s := m.push2Shard(reg.User)
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.users[reg.User]
	regs := make([]Push2Registration, 0, len(old)+1)
	for _, o := range old {
		if o.Client == reg.Client {
			reg.Generation, reg.Errors, reg.FailingSince = o.Generation, o.Errors, o.FailingSince
			continue
		}
		regs = append(regs, o)
	}
	reg.Enabled = reg.Enabled.UTC()
	regs = append(regs, reg)
	var evicted []Push2Registration
	if maxDevices > 0 && len(regs) > maxDevices {
		n := len(regs) - maxDevices
		evicted = slices.Clone(regs[:n])
		regs = regs[n:]
	}
	if s.users == nil {
		s.users = make(map[string][]Push2Registration)
	}
	s.users[reg.User] = slices.Clip(regs)
	return reg, evicted, nil
}

// DeletePush2 implements Push2Store.
func (m *Memory) DeletePush2(ctx context.Context, user string, clients ...string) ([]Push2Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := m.push2Shard(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	var removed, kept []Push2Registration
	for _, r := range s.users[user] {
		if slices.Contains(clients, r.Client) {
			removed = append(removed, r)
		} else {
			kept = append(kept, r)
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

// DeleteUserPush2 implements Push2Store.
func (m *Memory) DeleteUserPush2(ctx context.Context, user string) ([]Push2Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := m.push2Shard(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	removed := s.users[user]
	delete(s.users, user)
	return removed, nil
}

// AddPush2Error implements Push2Store.
func (m *Memory) AddPush2Error(ctx context.Context, user, client string, generation uint64, at time.Time) (Push2Registration, error) {
	if err := ctx.Err(); err != nil {
		return Push2Registration{}, err
	}
	s := m.push2Shard(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := findPush2(s.users[user], client, generation)
	if r == nil {
		return Push2Registration{}, ErrNotFound
	}
	if r.Errors == 0 {
		r.FailingSince = at.UTC()
	}
	if r.Errors < math.MaxInt32 {
		r.Errors++
	}
	return *r, nil
}

// ResetPush2Errors implements Push2Store.
func (m *Memory) ResetPush2Errors(ctx context.Context, user, client string, generation uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := m.push2Shard(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := findPush2(s.users[user], client, generation)
	if r == nil {
		return ErrNotFound
	}
	r.Errors, r.FailingSince = 0, time.Time{}
	return nil
}

// findPush2 returns the stored registration of client and generation, or
// nil; only holders of the shard's write lock may change it.
func findPush2(regs []Push2Registration, client string, generation uint64) *Push2Registration {
	for i := range regs {
		if regs[i].Client == client && regs[i].Generation == generation {
			return &regs[i]
		}
	}
	return nil
}

// push2Mark starts the node of a Push 2.0 view's Identifier: a NUL, which
// no XML text (so no XEP-0357 node) holds.
const push2Mark = "\x00"

// Push2Identifier is the Identifier of the view of the Push 2.0
// registration of client with the push service: the service as its JID (a
// service's answers are checked against it) and a node no XEP-0357
// registration can have.
func Push2Identifier(service, client string) Identifier {
	return NewIdentifier(service, push2Mark+client)
}

// Push2Client returns the client of a Push2Identifier; ok is false for
// the Identifier of a XEP-0357 registration.
func (id Identifier) Push2Client() (client string, ok bool) {
	return strings.CutPrefix(id.Node(), push2Mark)
}

// View returns r as the Registration the push engine's rules work on:
// its Identifier is Push2Identifier(r.Request.Service, r.Client), its
// Client is r.Client (so that a session opening with that client id is
// bound to it), its Push2 points to a copy of r.Request, and it has no
// Options.
func (r Push2Registration) View() Registration {
	req := r.Request
	return Registration{User: r.User, ID: Push2Identifier(req.Service, r.Client), Enabled: r.Enabled,
		Generation: r.Generation, Errors: r.Errors, Client: r.Client, Push2: &req}
}

// Package registry holds users' push registrations: what a client asked for
// with a XEP-0357 <enable/>, keyed per user by the push identifier
// "service JID<node", or with a Push 2.0 <enable/> (Registration.Push2
// set), keyed by the service and the client (Push2Identifier). Both kinds
// are stored alike, by the same Store methods, in one order per user and
// under one device limit.
//
// The Store interface is what the push engine reads and writes; Memory is
// the default, in-process implementation. A durable SQL implementation lives
// in the nested module registry/sqlstore, and registry/registrytest holds the
// conformance suite every Store implementation should pass.
//
// Registrations are values; a Form is an immutable value too, so a
// Registration can be copied and shared freely.
package registry

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/pushrules/pushrules/push2"
)

// Identifier names one registration of a user: the push service JID, "<",
// and the node ("push.example.net<yxs32uqsflafdk3iuqo"; with no node
// "push.example.net<"). A JID's resource may itself hold '<', so in the JID
// part each '\' is written `\\` and each '<' is written `\<`: the first
// '<' not escaped so splits the two parts, and every (jid, node) pair has its
// own Identifier. The node is written as it is. An ordinary identifier (no
// '\' or '<' in its JID) is therefore exactly jid + "<" + node.
//
// The text is meant for storage and as a map key; to show an identifier to
// people or in logs use JID and Node, or LogValue.
type Identifier string

// NewIdentifier joins a push service JID and a node into an Identifier;
// JID and Node give them back unchanged, whatever they hold.
func NewIdentifier(jid, node string) Identifier {
	if strings.IndexByte(jid, '\\') < 0 && strings.IndexByte(jid, '<') < 0 {
		return Identifier(jid + "<" + node)
	}
	var b strings.Builder
	b.Grow(len(jid) + len(node) + 8)
	for i := 0; i < len(jid); i++ {
		if jid[i] == '\\' || jid[i] == '<' {
			b.WriteByte('\\')
		}
		b.WriteByte(jid[i])
	}
	b.WriteByte('<')
	b.WriteString(node)
	return Identifier(b.String())
}

// Split returns the push service JID and the node of the identifier. ok is
// false when the text is not one NewIdentifier writes (no separating '<',
// an empty JID, or a '\' in the JID part that escapes neither '\' nor
// '<'); jid and node are then what JID and Node return.
func (id Identifier) Split() (jid, node string, ok bool) {
	enc, node, sep := id.cut()
	jid, canonical := unescape(enc)
	return jid, node, sep && jid != "" && canonical
}

// JID returns the push service JID of the identifier: the JID part with its
// escapes undone, the whole text when there is no separating '<'.
func (id Identifier) JID() string {
	enc, _, _ := id.cut()
	jid, _ := unescape(enc)
	return jid
}

// Node returns the node of the identifier, "" when it has none.
func (id Identifier) Node() string {
	_, node, _ := id.cut()
	return node
}

// LogValue renders the identifier for log/slog as a group of its "jid" and
// "node" (for a Push 2.0 registration's, its "jid" and "client"), so that
// people see the pair a client named rather than the escaped text.
func (id Identifier) LogValue() slog.Value {
	if v, ok := id.logValue(); ok {
		return v
	}
	return slog.GroupValue(slog.String("jid", id.JID()), slog.String("node", id.Node()))
}

// cut splits the text at the first '<' that no '\' escapes; sep is false
// when there is none (enc is then the whole text).
func (id Identifier) cut() (enc, node string, sep bool) {
	s := string(id)
	if i := strings.IndexByte(s, '<'); i >= 0 && strings.IndexByte(s[:i], '\\') < 0 {
		return s[:i], s[i+1:], true // the common case, without escapes
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '<':
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// unescape undoes the escapes of a JID part. canonical is false when a
// '\' escapes something else than '\' or '<' or ends the text; such a
// '\' is dropped and the character after it kept.
func unescape(enc string) (jid string, canonical bool) {
	if strings.IndexByte(enc, '\\') < 0 {
		return enc, true
	}
	var b strings.Builder
	b.Grow(len(enc))
	canonical = true
	for i := 0; i < len(enc); i++ {
		if enc[i] == '\\' {
			i++
			if i == len(enc) {
				return b.String(), false
			}
			canonical = canonical && (enc[i] == '\\' || enc[i] == '<')
		}
		b.WriteByte(enc[i])
	}
	return b.String(), canonical
}

// Registration is one stored push registration of a user.
type Registration struct {
	// User is the bare JID of the account that enabled push.
	User string
	// ID is the push service JID and node.
	ID Identifier
	// Options is the publish-options form the client sent with <enable/>,
	// echoed in every publish; the zero Form when it sent none.
	Options Form
	// Enabled is when the registration was last enabled (created or
	// replaced). It is informational: order is kept by the Store.
	Enabled time.Time
	// Generation identifies one life of the registration: it is chosen when
	// the registration is created and kept when it is enabled again, so an
	// answer to a publish made for an earlier life can be told apart. Never 0
	// in a stored registration.
	Generation uint64
	// Errors counts the publish errors since the last success.
	Errors int
	// LastSuccess is when a publish to the registration last succeeded,
	// FailingSince when its current run of counted failures began (zero
	// while Errors is 0), and LastError the condition of its last counted
	// failure ("" for none). Only a Store that is a Tracker keeps them;
	// they are kept when the registration is enabled again.
	LastSuccess, FailingSince time.Time
	LastError                 string
	// Client is the client id (XEP-0388) of the session that enabled the
	// registration, "" when it gave none; a Save replacing a registration
	// takes the new Client.
	Client string
	// Extensions are the extension children of the <enable/> (filters,
	// priority, encryption, Jingle); the zero Extensions for none. Like
	// Options it is replaced by each enable. It holds the encryption key:
	// a Store keeps it as a secret.
	Extensions Extensions
	// Push2 is the client's <enable/> of a Push 2.0 registration (service,
	// device and match rules; it holds the device's secrets, so a Store
	// keeps it as a secret), nil for a XEP-0357 one. A Push 2.0
	// registration has ID Push2Identifier(service, Client), no Options and
	// no Extensions; Save replaces Push2 as it replaces Options. The
	// Request is shared by every copy of the Registration, and by the
	// Store: treat it as immutable once saved.
	Push2 *push2.Request
}

// ErrNotFound is returned by Store methods that name a registration which is
// not stored (or is stored with another Generation).
const ErrNotFound Error = "registry: registration not found"

// Store keeps users' registrations. Implementations must be safe for
// concurrent use. Every method that fails must leave what is stored exactly
// as it was; the error it returns is the caller's to log, and a context error
// is returned as is (errors.Is(err, context.Canceled) holds).
//
// A Store keeps both kinds of registration, XEP-0357 and Push 2.0
// (Registration.Push2 set), with the same methods, in one enable order
// per user; the push engine offers Push 2.0 over every Store.
//
// The push engine calls a Store without holding any lock of its own, and
// reads a user's registrations each time it needs them: a Store may cache.
type Store interface {
	// Load returns the user's registrations, least recently enabled first.
	// A user with none gives an empty (possibly nil) slice and no error. The caller owns
	// the slice; the Forms in it are shared.
	Load(ctx context.Context, user string) ([]Registration, error)

	// Save stores reg under (reg.User, reg.ID) as the most recently enabled
	// registration of the user. If one is already stored under that key it
	// is replaced but keeps its Generation and Errors; otherwise reg is
	// added with reg.Generation and reg.Errors as given. When the user then
	// has more than maxDevices registrations (XEP-0357 and Push 2.0 ones
	// counted together), the least recently enabled are
	// removed and returned, least recently enabled first, in the same atomic
	// step; maxDevices <= 0 means no limit. Save returns the registration as
	// stored. A new registration must have a non-zero Generation (the SQL
	// store refuses one without).
	Save(ctx context.Context, reg Registration, maxDevices int) (saved Registration, evicted []Registration, err error)

	// Delete removes the named registrations of the user in one atomic step
	// and returns those that were stored, in any order. Names not stored are
	// ignored.
	Delete(ctx context.Context, user string, ids ...Identifier) (removed []Registration, err error)

	// DeleteUser removes every registration of the user and returns them.
	DeleteUser(ctx context.Context, user string) (removed []Registration, err error)

	// AddError counts one publish error for the registration (user, id) of
	// the given generation and returns the new count; ErrNotFound when that
	// registration is not stored.
	AddError(ctx context.Context, user string, id Identifier, generation uint64) (int, error)

	// ResetErrors sets the error count of the registration (user, id) of the
	// given generation to zero; ErrNotFound when it is not stored.
	ResetErrors(ctx context.Context, user string, id Identifier, generation uint64) error
}

// Appender is an optional Store capability for hot paths: LoadAppend is
// Load appending to dst (which the caller owns and may reuse) instead of
// allocating a new slice. The push engine uses it when the Store has it.
type Appender interface {
	LoadAppend(ctx context.Context, user string, dst []Registration) ([]Registration, error)
}

// FreshLoader is an optional Store capability for caches: LoadFresh
// returns what is stored now, never a copy kept in memory. The push engine
// uses it (when the Store has it) to read before the writes it decides on,
// an enable's or a disable's, so that a change another server node made a
// moment ago, whose notice is still on its way, cannot make a disable miss
// a registration.
type FreshLoader interface {
	LoadFresh(ctx context.Context, user string) ([]Registration, error)
}

// Error is the type of the package's sentinel errors. They are constants:
// compare with errors.Is.
type Error string

// Error returns the message.
func (e Error) Error() string { return string(e) }

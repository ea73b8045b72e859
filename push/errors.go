package push

import (
	"context"
	"fmt"
)

// Error is the type of the engine's sentinel errors. They are constants:
// compare with errors.Is.
type Error string

// Error returns the message.
func (e Error) Error() string { return string(e) }

const (
	// ErrInvalidEvent is wrapped by the error a handler returns for an
	// event it cannot take (Now not set, a nil event, an empty session or
	// user, a session that is not a full JID, a user that is not a bare
	// JID). Such an event changes nothing and gives no decisions.
	ErrInvalidEvent Error = "push: invalid event"
	// ErrNilDecisions is returned by HandleInto when it is given no
	// Decisions to append to.
	ErrNilDecisions Error = "push: HandleInto needs a Decisions to append to"
	// ErrInvalidConfig is wrapped by the error New (and NewDriver) returns
	// for a configuration it cannot use.
	ErrInvalidConfig Error = "push: invalid config"
	// ErrStore is matched (errors.Is) by every *StoreError.
	ErrStore Error = "push: store failed"
	// ErrLimit is matched (errors.Is) by every *LimitError.
	ErrLimit Error = "push: limit reached"
	// ErrClosed is returned by Driver.Handle after Close.
	ErrClosed Error = "push: driver closed"
)

// StoreError reports that the Store failed while the engine handled an
// event. The event's decisions are still valid (see Engine.Handle) and
// nothing stored was lost; the host may retry the event. errors.Is(err,
// ErrStore) holds, and Unwrap gives the Store's own error (so
// errors.Is(err, context.Canceled) holds for a cancelled context).
type StoreError struct {
	// Op names what the engine was doing ("enable: save", "load", ...).
	Op string
	// User is the user whose registrations were read or written.
	User string
	// Err is the Store's error.
	Err error
}

// Error describes the failure.
func (e *StoreError) Error() string {
	return fmt.Sprintf("push: store failed (%s, user %s): %v", e.Op, e.User, e.Err)
}

// Unwrap returns the Store's error.
func (e *StoreError) Unwrap() error { return e.Err }

// Is reports whether target is ErrStore.
func (e *StoreError) Is(target error) bool { return target == ErrStore }

// storeError builds a StoreError, counts it and logs it at warning level
// (a cancelled context at debug level: the host ended it).
func (e *Engine) storeError(ctx context.Context, op, user string, err error) *StoreError {
	e.stats.storeErrors.Add(1)
	if ctx.Err() != nil {
		e.cfg.Logger.Debug("push: store call ended with its context", "op", op, "user", user, "error", err)
	} else {
		e.cfg.Logger.Warn("push: store failed", "op", op, "user", user, "error", err)
	}
	return &StoreError{Op: op, User: user, Err: err}
}

// LimitError reports an event refused because a configured limit was
// reached (say, Config.MaxSessionsPerUser). errors.Is(err, ErrLimit)
// holds. Nothing changed.
type LimitError struct {
	// Limit names the Config field.
	Limit string
	// User is the user concerned.
	User string
}

// Error describes the refusal.
func (e *LimitError) Error() string {
	return fmt.Sprintf("push: %s reached for %s", e.Limit, e.User)
}

// Is reports whether target is ErrLimit.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

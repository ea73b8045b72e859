package sqlstore

// The package's errors, and how a method turns a database or context error
// into the one it returns.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pushrules/pushrules/registry"
)

// ErrCorrupt is wrapped by the error a Store method returns when a stored
// row cannot be decoded into a registration; errors.As with a *CorruptError
// tells which row. The method that met it changed nothing.
const ErrCorrupt Error = "sqlstore: corrupt registration row"

// ErrInvalid is wrapped by the error Save returns for a registration it
// refuses to store because it could not be read back as it was: an
// identifier that registry.Identifier.Split refuses (no '<' after the
// service JID, an empty service JID, a '\' in the JID part escaping neither
// '\' nor '<'), a new registration
// with Generation 0, a negative or huge Errors, an Enabled time outside the
// years 1678 to 2262 (the zero time is fine), a user or identifier that is
// not valid UTF-8 or holds NUL, a form string that is not valid UTF-8, a
// Push 2.0 request under a XEP-0357 identifier or the other way round
// (registry.Registration.Push2). Nothing is changed.
const ErrInvalid Error = "sqlstore: invalid registration"

// CorruptError describes a row that does not decode. It wraps ErrCorrupt.
type CorruptError struct {
	User   string // the username column
	ID     string // the identifier column
	Reason string // what is wrong with the row
}

// Error describes the row and what is wrong with it.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("sqlstore: corrupt registration row (user %q, identifier %q): %s", e.User, e.ID, e.Reason)
}

// Unwrap returns ErrCorrupt.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// fail turns err from the database into the error a method returns: the
// context's error when the context is done (the interface asks for it as
// is), else err wrapped with the operation's name. Errors of this package
// (ErrCorrupt, ErrInvalid) pass unchanged.
func fail(ctx context.Context, op string, err error) error {
	if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrInvalid) || errors.Is(err, registry.ErrNotFound) {
		return err
	}
	if ctxErr := ctxDone(ctx); ctxErr != nil {
		return ctxErr
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// ctxDone returns the context's error, or DeadlineExceeded when its
// deadline has passed but it has not noticed yet: a driver's I/O timeout set
// from the deadline may fire first, and the interface asks for the context
// error.
func ctxDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

func invalid(reg registry.Registration, reason string) error {
	return fmt.Errorf("%w (user %q, identifier %q): %s", ErrInvalid, reg.User, reg.ID, reason)
}

// Error is the type of the package's sentinel errors. They are constants:
// compare with errors.Is.
type Error string

// Error returns the message.
func (e Error) Error() string { return string(e) }

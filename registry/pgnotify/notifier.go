package pgnotify

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"
)

// Options configures a Notifier and a Listener. A node gives both the same
// Options: the Listener ignores the notices of its own Node.
type Options struct {
	// Node identifies this server node among those sharing the database
	// (its host name, or a random id made at start-up); required: up to
	// 64 bytes of UTF-8 without '|'.
	Node string
	// Channel is the PostgreSQL notification channel, the same on every
	// node; "pushrules_registrations" when empty. At most 63 bytes.
	Channel string
	// Timeout bounds one Notify and one health check; 5 s when 0.
	Timeout time.Duration
	// HealthInterval is how long the Listener waits for a notice before it
	// checks that its connection still works (a connection can die without
	// the listener hearing of it); 10 s when 0.
	HealthInterval time.Duration
	// MinBackoff and MaxBackoff bound the Listener's wait between
	// reconnection attempts, doubled after each failure; 100 ms and 10 s
	// when 0.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives the Listener's connection events; nil is silent.
	Logger *slog.Logger
}

// Error is the type of the package's sentinel errors. They are constants:
// compare with errors.Is.
type Error string

// Error returns the message.
func (e Error) Error() string { return string(e) }

// ErrInvalidOptions is wrapped by the error of NewNotifier and Listen for
// a nil argument or Options they cannot use; the message names the field.
const ErrInvalidOptions Error = "pgnotify: invalid options"

// invalid returns an error wrapping ErrInvalidOptions about what.
func invalid(what, reason string) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidOptions, what, reason)
}

func (o Options) withDefaults() (Options, error) {
	if err := checkNode(o.Node); err != nil {
		return o, invalid("Options.Node", err.Error())
	}
	if o.Channel == "" {
		o.Channel = defaultChannel
	}
	if len(o.Channel) > 63 || !utf8.ValidString(o.Channel) {
		return o, invalid("Options.Channel", "not a PostgreSQL identifier (at most 63 bytes of UTF-8)")
	}
	for _, d := range []struct {
		field string
		v     *time.Duration
		def   time.Duration
	}{
		{"Timeout", &o.Timeout, 5 * time.Second},
		{"HealthInterval", &o.HealthInterval, 10 * time.Second},
		{"MinBackoff", &o.MinBackoff, 100 * time.Millisecond},
		{"MaxBackoff", &o.MaxBackoff, 10 * time.Second},
	} {
		if *d.v < 0 {
			return o, invalid("Options."+d.field, fmt.Sprintf("%v is negative", *d.v))
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if o.MaxBackoff < o.MinBackoff {
		return o, invalid("Options.MaxBackoff", "less than MinBackoff")
	}
	return o, nil
}

// Execer runs a statement; *sql.DB, *sql.Conn and *sql.Tx are Execers.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Notifier sends a notice to the other nodes through PostgreSQL's
// pg_notify, over the host's database handle (with pgx's database/sql
// driver or lib/pq). It implements cache.Notifier and is safe for
// concurrent use.
type Notifier struct {
	db   Execer
	opts Options
}

// NewNotifier returns a Notifier sending on db. For a nil db or Options it
// cannot use it returns an error wrapping ErrInvalidOptions.
func NewNotifier(db Execer, opts Options) (*Notifier, error) {
	if db == nil {
		return nil, invalid("db", "nil")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Notifier{db: db, opts: opts}, nil
}

// Notify tells the other nodes that the user's registrations changed. A
// user too long for a notice (PostgreSQL's payload limit is 8000 bytes) or
// not valid UTF-8 is sent as NotifyAll. It waits at most Options.Timeout
// and returns the database's error.
func (n *Notifier) Notify(ctx context.Context, user string) error {
	return n.send(ctx, encodeUser(n.opts.Node, user))
}

// NotifyAll tells the other nodes to drop every cached user, for changes
// made to the database without going through a cache (by hand, by a batch
// job).
func (n *Notifier) NotifyAll(ctx context.Context) error {
	return n.send(ctx, encodeAll(n.opts.Node))
}

func (n *Notifier) send(ctx context.Context, payload string) error {
	ctx, cancel := context.WithTimeout(ctx, n.opts.Timeout)
	defer cancel()
	if _, err := n.db.ExecContext(ctx, "SELECT pg_notify($1, $2)", n.opts.Channel, payload); err != nil {
		return fmt.Errorf("pgnotify: notify on %q: %w", n.opts.Channel, err)
	}
	return nil
}

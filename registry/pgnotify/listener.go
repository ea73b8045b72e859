package pgnotify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Target receives what a Listener hears; *cache.Store is one.
type Target interface {
	// Invalidate drops what is cached for user: another node changed it.
	Invalidate(user string)
	// InvalidateAll drops everything: another node asked for it.
	InvalidateAll()
	// Suspend drops everything and serves from the database until Resume:
	// the Listener is not receiving notices.
	Suspend()
	// Resume drops everything and caches again: the Listener receives
	// notices again.
	Resume()
}

// Listener receives the notices of the other nodes on a dedicated
// connection (not from the host's pool: LISTEN belongs to one session)
// and passes them to its Target. Create it with Listen; stop it with Close
// or by ending Listen's context (Close, called then, waits until it has
// stopped).
//
// It calls Target.Suspend before it first connects and whenever its
// connection fails (an error while waiting, or a health check that does
// not answer within Options.Timeout), then reconnects with back-off
// between Options.MinBackoff and MaxBackoff, and calls Target.Resume once
// it listens again. When it stops it leaves the Target suspended: without
// notices, a cache cannot stay coherent.
type Listener struct {
	cfg    *pgx.ConnConfig
	target Target
	opts   Options
	cancel context.CancelFunc
	done   chan struct{}

	listening  atomic.Bool
	mu         sync.Mutex
	lastErr    error
	reconnects atomic.Uint64
	pid        atomic.Uint32
}

// Listen starts a Listener connecting with connString (a pgx connection
// string: URL or key=value) and returns at once; the Listener works in a
// goroutine of its own until ctx ends or Close is called. For a nil target
// or Options it cannot use it returns an error wrapping ErrInvalidOptions;
// for a bad connString, the parse error.
func Listen(ctx context.Context, connString string, target Target, opts Options) (*Listener, error) {
	if target == nil {
		return nil, invalid("target", "nil")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("pgnotify: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	l := &Listener{cfg: cfg, target: target, opts: opts, cancel: cancel, done: make(chan struct{})}
	target.Suspend()
	go l.run(ctx)
	return l, nil
}

// Close stops the Listener and waits until its goroutine and connection
// are gone. It returns nil; calling it again does nothing.
func (l *Listener) Close() error {
	l.cancel()
	<-l.done
	return nil
}

// Listening reports whether the Listener is connected and listening, that
// is whether its Target is not suspended by it.
func (l *Listener) Listening() bool { return l.listening.Load() }

// Reconnects counts the connections the Listener lost; each is counted
// after the Target was suspended.
func (l *Listener) Reconnects() uint64 { return l.reconnects.Load() }

// Err returns the error that ended the last connection or connection
// attempt, nil if none failed.
func (l *Listener) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastErr
}

func (l *Listener) setErr(err error) {
	l.mu.Lock()
	l.lastErr = err
	l.mu.Unlock()
}

func (l *Listener) run(ctx context.Context) {
	defer close(l.done)
	backoff := l.opts.MinBackoff
	for {
		listened, err := l.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if listened {
			backoff = l.opts.MinBackoff
		}
		l.setErr(err)
		if l.opts.Logger != nil {
			l.opts.Logger.Warn("pgnotify: not listening; the registry cache reads the database until the listener is back",
				"channel", l.opts.Channel, "retry_in", backoff, "error", err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, l.opts.MaxBackoff)
	}
}

// session connects, listens, and passes notices on until the connection
// fails or ctx ends. It returns whether it listened, and why it ended.
func (l *Listener) session(ctx context.Context) (listened bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, l.cfg)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), l.opts.Timeout)
		conn.Close(cctx)
		cancel()
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.opts.Channel}.Sanitize()); err != nil {
		return false, err
	}
	// The cache first, then what Listening and Reconnects report: a
	// caller that waits on those may rely on the cache having followed.
	l.target.Resume()
	l.pid.Store(conn.PgConn().PID())
	l.listening.Store(true)
	if l.opts.Logger != nil {
		l.opts.Logger.Info("pgnotify: listening", "channel", l.opts.Channel, "pid", conn.PgConn().PID())
	}
	defer func() {
		l.target.Suspend()
		l.listening.Store(false)
		l.pid.Store(0)
		l.reconnects.Add(1)
	}()
	for {
		wctx, cancel := context.WithTimeout(ctx, l.opts.HealthInterval)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			l.deliver(n.Payload)
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// Nothing heard for a while: is the connection still there?
			pctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, fmt.Errorf("pgnotify: health check: %w", err)
			}
		default:
			return true, err
		}
	}
}

func (l *Listener) deliver(payload string) {
	n, err := parseNotice(payload)
	switch {
	case err != nil:
		// Not ours: a notice from something else on this channel. Drop
		// everything rather than miss a change.
		if l.opts.Logger != nil {
			l.opts.Logger.Warn("pgnotify: malformed notice; dropping every cached user", "channel", l.opts.Channel)
		}
		l.target.InvalidateAll()
	case n.node == l.opts.Node:
		// Our own write: the cache already dropped the entry.
	case n.all:
		l.target.InvalidateAll()
	default:
		l.target.Invalidate(n.user)
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
)

// Host is what the adapter needs from the server to carry out the engine's
// decisions.
type Host interface {
	// WriteToSession writes an IQ reply onto a client session's stream.
	WriteToSession(session string, xml []byte) error
	// SetHibernationTimeout replaces a hibernating session's
	// stream-management timeout: the session may hibernate for d, counted
	// from the moment from (the time of the event that decided it, which
	// may lie a little in the past by the time the call is made).
	SetHibernationTimeout(session string, d time.Duration, from time.Time)
}

// AdapterConfig configures an Adapter. Engine, Bus, Host and Push are
// required.
type AdapterConfig struct {
	// Engine applies the push rules.
	Engine *push.Engine
	// Bus is the server's event bus; the adapter subscribes to its topics.
	Bus *Bus
	// Host writes replies and sets hibernation timeouts.
	Host Host
	// Push is the connection to the push services (a server-to-server or
	// component stream); the adapter owns it and closes it in Close.
	Push io.ReadWriteCloser
	// AnswerTimeout is how long a publish waits for its answer (see
	// PushClientConfig.Timeout); 0 means DefaultAnswerTimeout.
	AnswerTimeout time.Duration
	// Logger receives log records; nil means silent.
	Logger *slog.Logger
}

// Adapter connects a push.Engine to a server's event bus. It translates the
// payloads of the server's topics into events (stanzas parsed with
// events.ParseStanza, keyed by events.KeyOf of their server stanza ID), runs
// them through a push.Driver, which owns the batch timer, and executes the
// decisions: replies onto the sessions' streams, hibernation timeouts
// through the Host, publishes through a PushClient, whose answers come back
// into the driver. A publish the PushClient could not send, or whose answer
// did not come in time, is forgotten by the engine too
// (push.Engine.ForgetPublish).
//
// Bus handlers run on the publishing goroutine of the server; the adapter
// adds two goroutines (the PushClient's) and the driver's timer. Close, or
// the end of the context given to NewAdapter, stops them all.
type Adapter struct {
	cfg    AdapterConfig
	log    *slog.Logger
	ctx    context.Context // for the driver's and the engine's work; cancelled by Close
	cancel context.CancelFunc
	driver *push.Driver
	client *PushClient
	unsubs []func()
	done   chan struct{}
	once   sync.Once
	err    error

	mu   sync.Mutex
	stop func() bool // stops the watch on NewAdapter's context
}

// NewAdapter subscribes to the server's topics and starts the PushClient on
// cfg.Push. When ctx ends, the adapter closes itself.
func NewAdapter(ctx context.Context, cfg AdapterConfig) (*Adapter, error) {
	if cfg.Engine == nil || cfg.Bus == nil || cfg.Host == nil || cfg.Push == nil {
		return nil, errors.New("eventbus: an Adapter needs an Engine, a Bus, a Host and a Push connection")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Adapter{cfg: cfg, log: cfg.Logger, done: make(chan struct{})}
	a.ctx, a.cancel = context.WithCancel(context.WithoutCancel(ctx))
	driver, err := push.NewDriver(cfg.Engine, push.DriverConfig{
		// a.client is created below, as it needs the driver for its
		// answers; the Sender is only called once events flow, after that.
		Sender:    push.SenderFunc(func(ctx context.Context, p push.Publish) error { return a.client.Send(ctx, p) }),
		Reply:     a.reply,
		Timeout:   func(t push.Timeout) { cfg.Host.SetHibernationTimeout(t.Session, t.Duration, t.At) },
		SendError: a.sendError, // the driver then forgets the publish
		Context:   a.ctx,       // for the batches falling due on the driver's timer
	})
	if err != nil {
		return nil, err
	}
	a.driver = driver
	a.client = NewPushClient(cfg.Push, PushClientConfig{
		Timeout:  cfg.AnswerTimeout,
		OnAnswer: func(r events.PublishResult) { a.handle(r) },
		OnExpire: cfg.Engine.ForgetPublish,
		Logger:   cfg.Logger,
	})
	a.subscribe()
	stop := context.AfterFunc(ctx, func() { a.Close() })
	a.mu.Lock()
	a.stop = stop
	a.mu.Unlock()
	return a, nil
}

// subscribe hooks one translation per topic into the bus.
func (a *Adapter) subscribe() {
	on := func(topic string, fn func(payload any) (events.Event, bool)) {
		a.unsubs = append(a.unsubs, a.cfg.Bus.Subscribe(topic, func(payload any) {
			ev, ok := fn(payload)
			if !ok {
				a.log.Error("eventbus: unexpected payload", "topic", topic, "type", typeName(payload))
				return
			}
			a.handle(ev)
		}))
	}
	on(TopicSessionBound, func(p any) (events.Event, bool) {
		s, ok := as[SessionInfo](p)
		return events.SessionOpened{Session: s.JID}, ok
	})
	on(TopicSessionClosed, func(p any) (events.Event, bool) {
		s, ok := as[SessionInfo](p)
		return events.SessionClosed{Session: s.JID}, ok
	})
	on(TopicIQPush, func(p any) (events.Event, bool) {
		iq, ok := as[IQRequest](p)
		return events.IQ{Session: iq.Session, ID: iq.ID, Payload: iq.XML}, ok
	})
	on(TopicAckDelayed, func(p any) (events.Event, bool) {
		q, ok := as[SmacksQueue](p)
		return events.AckDelayed{Session: q.Session, Queue: a.stanzas(q.Queue)}, ok
	})
	on(TopicHibernationStart, func(p any) (events.Event, bool) {
		q, ok := as[SmacksQueue](p)
		return events.HibernationStarted{Session: q.Session, Queue: a.stanzas(q.Queue)}, ok
	})
	on(TopicStanzaQueued, func(p any) (events.Event, bool) {
		q, ok := as[QueuedStanza](p)
		return events.StanzaQueued{Session: q.Session, Stanza: a.stanza(q.Stanza)}, ok
	})
	on(TopicHibernationEnd, func(p any) (events.Event, bool) {
		s, ok := as[SessionInfo](p)
		return events.HibernationEnded{Session: s.JID}, ok
	})
	on(TopicArchiveAdded, func(p any) (events.Event, bool) {
		m, ok := as[UserStanza](p)
		return events.MessageArchived{User: m.User, Stanza: a.stanza(m.Stanza)}, ok
	})
	on(TopicOfflineStore, func(p any) (events.Event, bool) {
		m, ok := as[UserStanza](p)
		return events.OfflineMessage{User: m.User, Stanza: a.stanza(m.Stanza)}, ok
	})
	on(TopicUserDeleted, func(p any) (events.Event, bool) {
		u, ok := as[UserInfo](p)
		return events.UserDeleted{User: u.User}, ok
	})
}

// handle runs ev through the driver, which executes the decisions.
func (a *Adapter) handle(ev events.Event) {
	if err := a.driver.Handle(a.ctx, ev); err != nil && !errors.Is(err, push.ErrClosed) {
		a.log.Error("eventbus: event refused", "event", typeName(ev), "error", err)
	}
}

func (a *Adapter) reply(r push.Reply) {
	if err := a.cfg.Host.WriteToSession(r.Session, r.AppendXML(nil)); err != nil {
		a.log.Warn("eventbus: writing a reply failed", "session", r.Session, "error", err)
	}
}

func (a *Adapter) sendError(p push.Publish, err error) {
	if !errors.Is(err, ErrClosed) {
		a.log.Warn("eventbus: sending a publish failed", "id", p.ID, "service", p.To(), "error", err)
	}
}

// stanzas translates a smacks queue.
func (a *Adapter) stanzas(q []ServerStanza) []events.Stanza {
	out := make([]events.Stanza, len(q))
	for i := range q {
		out[i] = a.stanza(q[i])
	}
	return out
}

// stanza translates a server stanza. One the parser refuses (the server
// would not have routed it, so this is a bug) is logged and handed on as a
// KindOther stanza: unimportant, but still able to wake a device.
func (a *Adapter) stanza(s ServerStanza) events.Stanza {
	st, err := events.ParseStanza(s.XML)
	if err != nil {
		a.log.Error("eventbus: unparsable stanza", "id", s.ID, "error", err)
		st = events.Stanza{}
	}
	st.Key = events.KeyOf(s.ID)
	return st
}

// Engine returns the engine the adapter drives.
func (a *Adapter) Engine() *push.Engine { return a.cfg.Engine }

// Client returns the adapter's PushClient.
func (a *Adapter) Client() *PushClient { return a.client }

// Done is closed once the adapter is closed.
func (a *Adapter) Done() <-chan struct{} { return a.done }

// Close unsubscribes from the bus, cancels the context given to the engine,
// closes the push connection and waits for the client's goroutines, then
// closes the driver, which stops its timer and waits for the Handle calls
// (bus handlers already running) and the wake-up in progress: no Host method
// is called after Close returns. A publish those late Handle calls make
// fails with ErrClosed and is forgotten by the engine. Batches not yet due
// are not pushed. Close returns the push connection's
// Close error; calling it again does nothing. It must not be called from
// the Host's methods, which may run on the goroutines it waits for.
func (a *Adapter) Close() error {
	a.once.Do(func() {
		a.mu.Lock()
		if a.stop != nil { // nil when the context ended during NewAdapter
			a.stop()
		}
		a.mu.Unlock()
		for _, u := range a.unsubs {
			u()
		}
		a.cancel()
		a.err = a.client.Close()
		a.driver.Close()
		close(a.done)
	})
	return a.err
}

// as returns payload as a T, accepting a T or a non-nil *T.
func as[T any](payload any) (T, bool) {
	switch p := payload.(type) {
	case T:
		return p, true
	case *T:
		if p != nil {
			return *p, true
		}
	}
	var zero T
	return zero, false
}

func typeName(v any) string { return fmt.Sprintf("%T", v) }

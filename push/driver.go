package push

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pushrules/pushrules/events"
)

// DriverConfig configures a Driver.
type DriverConfig struct {
	// Sender sends every publish. Required.
	Sender Sender
	// Reply receives every IQ reply to send to a session; nil drops them.
	Reply func(Reply)
	// Timeout receives every hibernation timeout to set; nil drops them.
	Timeout func(Timeout)
	// Change receives every change to a registration (the audit trail);
	// nil drops them.
	Change func(Change)
	// Notify receives every Push 2.0 notification, to render
	// (Notification.AppendXML) and send; nil drops them. Set it when the
	// host offers Push 2.0 (lists Engine.Push2Features). A notification
	// that cannot be sent is best forgotten with Engine.ForgetPublish.
	Notify func(Notification)
	// SendError is told about publishes the Sender could not send; nil
	// logs them through the engine's Logger.
	SendError func(Publish, error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Context is passed to the Sender and the Store for work the driver
	// starts itself (batches falling due); nil means context.Background().
	Context context.Context
}

// Driver runs an Engine for hosts that do not want to manage time: it fills
// in events' Now from its clock, executes every decision (replies,
// timeouts and changes through callbacks, publishes through the Sender)
// and owns the real timer that wakes the engine when a batch, a retry or
// a timeout look falls due, and expires registrations (Config.Expiry)
// every hour.
//
// Handle may be called from many goroutines. Callbacks and the Sender are
// called without any lock of the driver's held, from the goroutine calling
// Handle or from the driver's timer goroutine.
type Driver struct {
	engine *Engine
	cfg    DriverConfig

	mu     sync.Mutex
	timer  *time.Timer
	armed  time.Time // when the timer fires; zero when it is not set
	closed bool
	wg     sync.WaitGroup

	nextExpire time.Time // when the timer next calls Engine.Expire; guarded by mu

	decisions sync.Pool // *Decisions, reused across Handle calls
}

// NewDriver returns a Driver for engine, or an error wrapping
// ErrInvalidConfig when engine or cfg.Sender is nil.
func NewDriver(engine *Engine, cfg DriverConfig) (*Driver, error) {
	if engine == nil || cfg.Sender == nil {
		return nil, fmt.Errorf("%w: a Driver needs an Engine and a Sender", ErrInvalidConfig)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Context == nil {
		cfg.Context = context.Background()
	}
	d := &Driver{engine: engine, cfg: cfg}
	if engine.cfg.Expiry > 0 {
		d.nextExpire = cfg.Now().Add(expiryInterval(engine.cfg.Expiry))
		d.arm(d.nextExpire)
	}
	return d, nil
}

// Engine returns the driven engine.
func (d *Driver) Engine() *Engine { return d.engine }

// Handle feeds ev to the engine (setting its Now from the driver's clock
// when it is zero) and executes the decisions. It returns the engine's
// error: for an invalid event (nothing executed), or a *StoreError (the
// decisions were executed, as the engine asks); or ErrClosed.
func (d *Driver) Handle(ctx context.Context, ev events.Event) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	d.wg.Add(1)
	d.mu.Unlock()
	defer d.wg.Done()
	if ev == nil {
		return fmt.Errorf("%w: nil event", ErrInvalidEvent)
	}
	if ev.Time().IsZero() {
		ev = events.WithTime(ev, d.cfg.Now())
	}
	dec, _ := d.decisions.Get().(*Decisions)
	if dec == nil {
		dec = new(Decisions)
	}
	defer func() {
		dec.Reset()
		d.decisions.Put(dec)
	}()
	err := d.engine.HandleInto(ctx, ev, dec)
	var storeErr *StoreError
	if err != nil && !errors.As(err, &storeErr) {
		return err // an invalid event: nothing to execute
	}
	d.Execute(ctx, *dec)
	return err
}

// Execute carries out decisions the host obtained from the engine itself.
// A publish the Sender could not send is reported to SendError (or logged)
// and forgotten by the engine (Engine.ForgetPublish). Execute keeps nothing
// of dec once it returns: the Sender and the callbacks get copies of its
// entries, so the caller may Reset and reuse it.
func (d *Driver) Execute(ctx context.Context, dec Decisions) {
	for _, r := range dec.Replies {
		if d.cfg.Reply != nil {
			d.cfg.Reply(r)
		}
	}
	for _, t := range dec.Timeouts {
		if d.cfg.Timeout != nil {
			d.cfg.Timeout(t)
		}
	}
	for _, n := range dec.Notifications {
		if d.cfg.Notify != nil {
			d.cfg.Notify(n)
		}
	}
	for _, p := range dec.Publishes {
		if err := d.cfg.Sender.Send(ctx, p); err != nil {
			if d.cfg.SendError != nil {
				d.cfg.SendError(p, err)
			} else {
				d.engine.cfg.Logger.Warn("push: sending a publish failed", "user", p.User, "service", p.To(), "error", err)
			}
			d.engine.ForgetPublish(p.ID)
		}
	}
	for _, c := range dec.Changes {
		if d.cfg.Change != nil {
			d.cfg.Change(c)
		}
	}
	if !dec.Wake.IsZero() {
		d.arm(dec.Wake)
	}
}

// arm makes sure the timer fires no later than at.
func (d *Driver) arm(at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || (!d.armed.IsZero() && !at.Before(d.armed)) {
		return
	}
	d.armed = at
	delay := at.Sub(d.cfg.Now())
	if d.timer == nil {
		d.timer = time.AfterFunc(delay, d.fire)
		return
	}
	d.timer.Reset(delay)
}

func (d *Driver) fire() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.armed = time.Time{}
	d.wg.Add(1)
	d.mu.Unlock()
	defer d.wg.Done()
	now := d.cfg.Now()
	dec := d.engine.Wake(d.cfg.Context, now)
	d.Execute(d.cfg.Context, dec)
	d.expire(now)
}

// expire calls Engine.Expire when it is due, executes its decisions and
// arms the timer for the next time.
func (d *Driver) expire(now time.Time) {
	if d.engine.cfg.Expiry == 0 {
		return
	}
	d.mu.Lock()
	due := !now.Before(d.nextExpire)
	if due {
		d.nextExpire = now.Add(expiryInterval(d.engine.cfg.Expiry))
	}
	next := d.nextExpire
	d.mu.Unlock()
	if due {
		dec, err := d.engine.Expire(d.cfg.Context, now)
		if err != nil {
			d.engine.cfg.Logger.Warn("push: expiring registrations failed", "error", err)
		}
		d.Execute(d.cfg.Context, dec)
	}
	d.arm(next)
}

// expiryInterval is how often a Driver expires registrations: every hour,
// or more often for an Expiry below two hours.
func expiryInterval(expiry time.Duration) time.Duration { return min(time.Hour, expiry/2) }

// Close stops the timer and waits for the Handle calls and the wake-up in
// progress to finish; no callback runs after it returns. Pending batches
// are not pushed. Handle returns ErrClosed afterwards.
func (d *Driver) Close() {
	d.mu.Lock()
	d.closed = true
	if d.timer != nil {
		d.timer.Stop()
	}
	d.mu.Unlock()
	d.wg.Wait()
}

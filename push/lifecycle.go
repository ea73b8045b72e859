package push

import (
	"fmt"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/jid"
	"github.com/pushrules/pushrules/registry"
)

// Defaults of an ErrorPolicy whose Retry is enabled.
const (
	defaultRetryBase   = 5 * time.Second
	defaultRetryMax    = 5 * time.Minute
	defaultRetryWithin = 30 * time.Minute
)

// ErrorPolicy says how a push service's errors count toward removing a
// registration. Every error a registration gets in a row, without a
// success between them, is one counted failure unless it is FailTransient;
// the registration is removed when the run reaches the limit of the kind
// of its latest failure (MaxErrors, MaxPermanent or MaxTimeouts) or, with
// FailureSpan, when it has lasted that long. Its zero value keeps
// Prosody's behaviour but for resource-constraint errors, which it treats
// as transient (app servers answer rate limits so).
type ErrorPolicy struct {
	// MaxPermanent is the run of counted failures that removes a
	// registration when its latest is FailPermanent; 0 means Config.MaxErrors.
	MaxPermanent int
	// MaxTimeouts is the run of counted failures that removes a
	// registration when its latest is a publish left unanswered past
	// PublishTimeout; 0 means timeouts are not counted (only seen in
	// Stats.PublishesExpired), as in Prosody. A host counting timeouts
	// must call Engine.Wake at Decisions.Wake: timeouts are counted there.
	// It does not apply to Push 2.0 notifications: their services answer
	// errors only, so one left unanswered is a success (counted at Wake
	// too), whatever MaxTimeouts is.
	MaxTimeouts int
	// FailureSpan removes a registration whose run of counted failures
	// has lasted this long (Push 2.0 recommends at least 72 hours); 0
	// means never. It needs a Store that is a registry.Tracker (Memory
	// is; so is the SQL store).
	FailureSpan time.Duration
	// Retry resends publishes that got a FailTransient error.
	Retry RetryPolicy
	// Services overrides the classification per push service JID (as
	// the registrations name it, compared as prepared JIDs), for app
	// servers whose errors say less than they should.
	Services map[string]ServicePolicy
}

// RetryPolicy bounds the retries of a publish that got a FailTransient error.
// The n-th retry (from 0) is sent after a delay drawn evenly between half
// and all of min(Max, Base·2ⁿ), taken from a generator keyed by
// Config.IDSecret (so runs are reproducible). Retries are publishes due at
// a time: Engine.Wake sends them, so the host must call Wake at
// Decisions.Wake. A retry is sent only while the registration is stored
// with the same Generation.
type RetryPolicy struct {
	// Attempts is how many times one publish is retried; 0 disables
	// retries (Prosody's behaviour: a wait error is dropped).
	Attempts int
	// Base is the first delay; 0 means 5 s.
	Base time.Duration
	// Max caps each delay; 0 means 5 minutes.
	Max time.Duration
	// Within is the whole budget, from the first send: no retry is sent
	// later; 0 means 30 minutes.
	Within time.Duration
	// CountExhausted counts a publish whose budget ran out as a failure
	// (of kind FailOther); by default it is dropped and counts nothing.
	CountExhausted bool
}

// ServicePolicy overrides the classification of one push service's
// errors.
type ServicePolicy struct {
	// Transient lists error conditions that are FailTransient from this
	// service whatever their type: fpush, for one, answers
	// cancel/bad-request for an upstream (APNs) failure.
	Transient []string
}

// FailureKind is how an answer to a publish counts.
type FailureKind uint8

// The kinds of failure.
const (
	// FailTransient errors (type wait, condition resource-constraint, or a
	// service's override) never count; they are retried under
	// RetryPolicy.
	FailTransient FailureKind = iota + 1
	// FailPermanent errors (type cancel or auth, and the conditions
	// item-not-found, forbidden, not-authorized and
	// registration-required of any type) count toward MaxPermanent.
	FailPermanent
	// FailOther errors (modify, continue, unknown types) count toward
	// Config.MaxErrors.
	FailOther
	// FailTimeout is a publish left unanswered past PublishTimeout; it
	// counts toward MaxTimeouts.
	FailTimeout
)

// String returns the kind's name in lower case ("transient").
func (k FailureKind) String() string {
	switch k {
	case FailTransient:
		return "transient"
	case FailPermanent:
		return "permanent"
	case FailOther:
		return "other"
	case FailTimeout:
		return "timeout"
	}
	return fmt.Sprintf("FailureKind(%d)", uint8(k))
}

// Classify tells how an error from push service service counts. A nil
// error is classified FailOther (it is no answer a service gives).
func (p *ErrorPolicy) Classify(service string, e *events.StanzaError) FailureKind {
	if e == nil {
		return FailOther
	}
	for s, sp := range p.Services {
		if jid.Equal(s, service) {
			for _, c := range sp.Transient {
				if c == e.Condition {
					return FailTransient
				}
			}
		}
	}
	switch {
	case e.Type == "wait" || e.Condition == "resource-constraint":
		return FailTransient
	case e.Type == "cancel" || e.Type == "auth":
		return FailPermanent
	}
	switch e.Condition {
	case "item-not-found", "forbidden", "not-authorized", "registration-required":
		return FailPermanent
	}
	return FailOther
}

// limit returns the run of counted failures that removes a registration
// whose latest failure is of kind k.
func (p *ErrorPolicy) limit(k FailureKind, maxErrors int) int {
	switch k {
	case FailPermanent:
		return p.MaxPermanent
	case FailTimeout:
		return p.MaxTimeouts
	}
	return maxErrors
}

// withDefaults checks p and fills in what is zero.
func (p ErrorPolicy) withDefaults(maxErrors int) (ErrorPolicy, error) {
	r := &p.Retry
	if p.MaxPermanent < 0 || p.MaxTimeouts < 0 || r.Attempts < 0 {
		return p, fmt.Errorf("%w: ErrorPolicy.MaxPermanent, MaxTimeouts and Retry.Attempts must not be negative", ErrInvalidConfig)
	}
	if p.FailureSpan < 0 || r.Base < 0 || r.Max < 0 || r.Within < 0 {
		return p, fmt.Errorf("%w: ErrorPolicy durations must not be negative", ErrInvalidConfig)
	}
	if p.MaxPermanent == 0 {
		p.MaxPermanent = maxErrors
	}
	if r.Base == 0 {
		r.Base = defaultRetryBase
	}
	if r.Max == 0 {
		r.Max = defaultRetryMax
	}
	if r.Within == 0 {
		r.Within = defaultRetryWithin
	}
	if r.Max < r.Base {
		return p, fmt.Errorf("%w: ErrorPolicy.Retry.Max %v is below Base %v", ErrInvalidConfig, r.Max, r.Base)
	}
	return p, nil
}

// ChangeReason says why a registration changed.
type ChangeReason uint8

// The reasons of a Change.
const (
	// ReasonEnabled: a session enabled a new registration.
	ReasonEnabled ChangeReason = iota + 1
	// ReasonReplaced: a session enabled a registration already stored (same
	// service and node); its form and enable time were replaced.
	ReasonReplaced
	// ReasonEvicted: removed to make room under Config.MaxDevices.
	ReasonEvicted
	// ReasonDisabled: removed by a session's <disable/>.
	ReasonDisabled
	// ReasonFailed: removed after its run of counted publish failures
	// reached its limit or lasted ErrorPolicy.FailureSpan.
	ReasonFailed
	// ReasonExpired: removed by Engine.Expire, unused for Config.Expiry.
	ReasonExpired
	// ReasonRemoteDisabled: removed by its push service (XEP-0357 §6).
	ReasonRemoteDisabled
	// ReasonRemoved: removed by the host through Engine.Remove.
	ReasonRemoved
	// ReasonUserDeleted: removed with its account.
	ReasonUserDeleted
)

var reasonNames = [...]string{ReasonEnabled: "enabled", ReasonReplaced: "replaced", ReasonEvicted: "evicted", ReasonDisabled: "disabled",
	ReasonFailed: "failed", ReasonExpired: "expired", ReasonRemoteDisabled: "remote-disabled", ReasonRemoved: "removed", ReasonUserDeleted: "user-deleted"}

// String returns the reason's name, in lower case with dashes
// ("remote-disabled").
func (r ChangeReason) String() string {
	if int(r) < len(reasonNames) && reasonNames[r] != "" {
		return reasonNames[r]
	}
	return fmt.Sprintf("ChangeReason(%d)", uint8(r))
}

// Change is one change to a registration, for the host's audit trail
// (Decisions.Changes).
type Change struct {
	// At is the time of the event that made the change.
	At time.Time
	// User is the bare JID of the registration's account.
	User string
	// Registration names the registration changed.
	Registration registry.Identifier
	// Reason says why.
	Reason ChangeReason
	// Session is the session that enabled or disabled it
	// (ReasonEnabled, ReasonReplaced, ReasonDisabled; for ReasonEvicted
	// the session whose enable evicted it); "" otherwise.
	Session string
	// Errors and Condition are, for ReasonFailed, the run of counted failures
	// and the condition of the last one ("timeout" for an unanswered
	// publish); otherwise the registration's count when it changed, and
	// "".
	Errors    int
	Condition string
}

// changes appends a Change of reason for each registration in regs.
// They are counted in the engine's metrics (Snapshot.Changes).
func (e *Engine) changes(d *Decisions, at time.Time, session string, reason ChangeReason, regs []registry.Registration) {
	e.countChanges(reason, len(regs))
	for i := range regs {
		d.Changes = append(d.Changes, Change{At: at, User: regs[i].User, Registration: regs[i].ID, Reason: reason,
			Session: session, Errors: regs[i].Errors})
	}
}

// Entry returns the change as a registry.AuditEntry, for a Store that
// keeps audit trails (registry.Auditor).
func (c Change) Entry() registry.AuditEntry {
	return registry.AuditEntry{At: c.At, User: c.User, ID: c.Registration, Reason: c.Reason.String(), By: c.Session,
		Errors: c.Errors, Condition: c.Condition}
}

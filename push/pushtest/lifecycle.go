package pushtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
)

// traceChange is a change to a registration (push.Change), recorded only
// when the scenario's config sets "audit".
type traceChange struct {
	// User is the account; Registration the push identifier changed.
	User, Registration string
	// Reason is push.ChangeReason's name ("enabled", "failed", ...).
	Reason string
	// Session is the session (or, for "removed", who) that made the
	// change; "" for none.
	Session string
	// Errors and Condition are the change's error count and condition
	// (0 and "" when the entry leaves them out).
	Errors    int
	Condition string
}

// The lifecycle actions (see FORMAT.md).
const (
	actRemoteDisable = "remote-disable"
	actExpire        = "expire"
	actRemove        = "remove"
)

// lifecycleConfigKeys are the config keys of the registration lifecycle.
var lifecycleConfigKeys = []string{"audit", "max_permanent", "max_timeouts", "failure_span", "publish_timeout", "retry", "transient", "expiry"}

// lifecycleConfig reads one lifecycle config key.
func (sc *Scenario) lifecycleConfig(k string, v json.RawMessage, what string) (err error) {
	c := &sc.config
	switch k {
	case "audit":
		sc.audit, err = asBool(v, what)
	case "max_permanent":
		c.Errors.MaxPermanent, err = asCount(v, what)
	case "max_timeouts":
		c.Errors.MaxTimeouts, err = asCount(v, what)
	case "failure_span":
		c.Errors.FailureSpan, err = asPeriod(v, what)
	case "publish_timeout":
		c.PublishTimeout, err = asPeriod(v, what)
	case "expiry":
		c.Expiry, err = asPeriod(v, what)
	case "retry":
		var o *object
		if o, err = parseObject(v, what); err != nil {
			return err
		}
		if err = o.allow("config.retry", "attempts", "base", "max", "within", "count_exhausted"); err != nil {
			return err
		}
		r := &c.Errors.Retry
		for _, rk := range o.keys {
			rv, rwhat := o.vals[rk], `"config.retry.`+rk+`"`
			switch rk {
			case "attempts":
				r.Attempts, err = asCount(rv, rwhat)
			case "base":
				r.Base, err = asPeriod(rv, rwhat)
			case "max":
				r.Max, err = asPeriod(rv, rwhat)
			case "within":
				r.Within, err = asPeriod(rv, rwhat)
			case "count_exhausted":
				r.CountExhausted, err = asBool(rv, rwhat)
			}
			if err != nil {
				return err
			}
		}
	case "transient":
		var o *object
		if o, err = parseObject(v, what); err != nil {
			return err
		}
		c.Errors.Services = make(map[string]push.ServicePolicy, len(o.keys))
		for _, service := range o.keys {
			conds, err := asStrings(o.vals[service], fmt.Sprintf("%s for %q", what, service))
			if err != nil {
				return err
			}
			c.Errors.Services[service] = push.ServicePolicy{Transient: conds}
		}
	}
	return err
}

// lifecycleFields are the keys of the lifecycle actions.
var lifecycleFields = map[string]struct{ required, optional []string }{
	actRemoteDisable: {required: []string{"user", "from"}, optional: []string{"node"}},
	actExpire:        {},
	actRemove:        {required: []string{"user", "by", "ids"}},
}

// lifecycleStep reads a lifecycle step's key.
func lifecycleStep(st *step, k string, v json.RawMessage, what string) (err error) {
	switch k {
	case "client":
		st.client, err = asName(v, what)
	case "by":
		st.by, err = asName(v, what)
	case "ids":
		var ids []string
		if ids, err = asStrings(v, what); err != nil {
			return err
		}
		if len(ids) == 0 {
			return fmt.Errorf("%s must not be empty", what)
		}
		for _, s := range ids {
			id, err := asIdentifier(s, what)
			if err != nil {
				return err
			}
			st.ids = append(st.ids, id)
		}
	}
	return err
}

// lifecycleEvent runs a lifecycle step: an event for Handle, or, for the
// steps that call an Engine method, its decisions (handled true).
func (r *run) lifecycleEvent(ctx context.Context, st *step) (ev events.Event, d push.Decisions, handled bool, err error) {
	now := r.clock.Now()
	switch st.action {
	case actRemoteDisable:
		return events.RemoteDisabled{Now: now, User: st.user, From: st.from, Node: st.node}, d, false, nil
	case actExpire:
		d, err = r.eng.Expire(ctx, now)
		return nil, d, true, err
	case actRemove:
		d, err = r.eng.Remove(ctx, now, st.user, st.by, st.ids...)
		return nil, d, true, err
	}
	return nil, d, false, fmt.Errorf("unknown action %q", st.action)
}

// changeEntry builds the trace entry of a change.
func changeEntry(c push.Change) *traceChange {
	return &traceChange{User: c.User, Registration: string(c.Registration), Reason: c.Reason.String(),
		Session: c.Session, Errors: c.Errors, Condition: c.Condition}
}

func (c *traceChange) appendJSON(b []byte) []byte {
	b = append(b, `, "change": {"user": `...)
	b = appendString(b, c.User)
	b = append(b, `, "registration": `...)
	b = appendString(b, c.Registration)
	b = append(b, `, "reason": `...)
	b = appendString(b, c.Reason)
	if c.Session != "" {
		b = append(b, `, "session": `...)
		b = appendString(b, c.Session)
	}
	if c.Errors != 0 {
		b = append(b, `, "errors": `...)
		b = strconv.AppendInt(b, int64(c.Errors), 10)
	}
	if c.Condition != "" {
		b = append(b, `, "condition": `...)
		b = appendString(b, c.Condition)
	}
	return append(b, '}')
}

func parseChange(raw json.RawMessage) (*traceChange, error) {
	o, err := fieldsOf(raw, "change", []string{"user", "registration", "reason"}, []string{"session", "errors", "condition"})
	if err != nil {
		return nil, err
	}
	c := &traceChange{}
	for k, d := range map[string]*string{"user": &c.User, "registration": &c.Registration, "reason": &c.Reason, "session": &c.Session, "condition": &c.Condition} {
		if v, ok := o.vals[k]; ok {
			if *d, err = asString(v, `"change.`+k+`"`); err != nil {
				return nil, err
			}
		}
	}
	if v, ok := o.vals["errors"]; ok {
		if c.Errors, err = asCount(v, `"change.errors"`); err != nil {
			return nil, err
		}
	}
	if _, err := asIdentifier(c.Registration, `"change.registration"`); err != nil {
		return nil, err
	}
	if !knownReason(c.Reason) {
		return nil, fmt.Errorf(`"change.reason" %q is not a reason the engine gives`, c.Reason)
	}
	return c, nil
}

func knownReason(s string) bool {
	for r := push.ChangeReason(1); r < 64; r++ {
		if r.String() == s {
			return true
		}
	}
	return false
}

var errNoAudit = errors.New(`a "change" entry needs "audit": true in the config`)

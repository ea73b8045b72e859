package pushtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/pushrules/pushrules/push"
	"github.com/pushrules/pushrules/registry"
)

// timerStep is the Step of an entry decided when a timer fired (written
// "timer" in a scenario file) rather than by a step.
const timerStep = -1

// entry is one decision in a trace: a reply, a hibernation timeout, a
// publish or a Push 2.0 notification (exactly one of Reply, Timeout, Push
// and Notification is set), when it was made
// and what caused it. It marshals to JSON in the shape of a scenario's
// "expect" entries.
type entry struct {
	// At is the clock when the decision was made, as time since the start
	// of the scenario (epoch).
	At time.Duration
	// Step is the 0-based index of the step that caused the decision, or
	// timerStep when a timer fired.
	Step int

	// Exactly one of these is set: the decision.
	Reply        *traceReply
	Timeout      *traceTimeout
	Push         *tracePush
	Notification *traceNotification
	Change       *traceChange
}

// traceReply is a reply to a session's <enable/> or <disable/>.
type traceReply struct {
	// Session is the full JID of the session answered, ID the request's id.
	Session, ID string
	// Type is "result" or "error"; for an error, ErrorType, Condition and
	// Text ("" for none) describe it.
	Type, ErrorType, Condition, Text string
}

// traceTimeout tells the host to set a session's hibernation timeout.
type traceTimeout struct {
	// Session is the full JID of the hibernating session.
	Session string
	// Duration is the new timeout, counted from the entry's At.
	Duration time.Duration
}

// tracePush is a publish to a push service.
type tracePush struct {
	// To is the push service's JID and Node the registration's node ("" for
	// none).
	To, Node string
	// Count, Sender and Body are the summary fields message-count,
	// last-message-sender and last-message-body ("" when empty).
	Count, Sender, Body string
	// Subscriptions is the pending-subscription-count, "" when empty (left
	// out of the JSON then).
	Subscriptions string
	// Important tells whether the publish is a high-priority one.
	Important bool
	// Options maps each publish-options field to its first value; nil when
	// the registration has no publish-options form.
	Options map[string]string
	// Priority is the text of the <priority/> ("high", "low"), "" when
	// the registration did not ask for one.
	Priority string
	// Encrypted is the decrypted <encrypted/> of a registration that asked
	// for encryption; Count, Sender and Body are then "" (the summary form
	// is replaced) and left out of the JSON.
	Encrypted *traceEncrypted
	// Jingle is the <jingle/> of a call push to a registration that asked
	// for one.
	Jingle *traceJingle
}

// pushEntry builds the push entry of a publish.
func pushEntry(p *push.Publish) (*tracePush, error) {
	messages, _ := p.Counts()
	tp := &tracePush{
		Subscriptions: subscriptionsOf(p),
		To:            p.To(),
		Node:          p.Node(),
		Count:         strconv.Itoa(messages),
		Sender:        p.Sender,
		Body:          p.Body,
		Important:     p.Important,
		Options:       formMap(p.Options),
	}
	err := extendedEntry(tp, p)
	if tp.Encrypted != nil {
		tp.Count, tp.Sender, tp.Body, tp.Subscriptions = "", "", "", ""
	}
	return tp, err
}

func formMap(f registry.Form) map[string]string {
	if f.IsZero() {
		return nil
	}
	m := map[string]string{}
	for it := f.Iter(); it.Next(); {
		if _, ok := m[it.Var()]; !ok {
			m[it.Var()], _ = it.Value()
		}
	}
	return m
}

// String renders e on one line, as it is written in a scenario's "expect".
func (e entry) String() string {
	return string(e.appendJSON(nil))
}

// MarshalJSON renders e in the shape of a scenario's "expect" entries.
func (e entry) MarshalJSON() ([]byte, error) {
	if e.Reply == nil && e.Timeout == nil && e.Push == nil && e.Notification == nil && e.Change == nil {
		return nil, errors.New("pushtest: an entry needs a Reply, a Timeout, a Push, a Notification or a Change")
	}
	return e.appendJSON(nil), nil
}

func (e entry) appendJSON(b []byte) []byte {
	b = append(b, `{"at": `...)
	b = append(b, seconds(e.At)...)
	b = append(b, `, "step": `...)
	if e.Step == timerStep {
		b = append(b, `"timer"`...)
	} else {
		b = strconv.AppendInt(b, int64(e.Step), 10)
	}
	switch {
	case e.Notification != nil:
		b = appendNotification(b, e.Notification)
	case e.Reply != nil:
		r := e.Reply
		b = append(b, `, "reply": {"session": `...)
		b = appendString(b, r.Session)
		b = append(b, `, "id": `...)
		b = appendString(b, r.ID)
		b = append(b, `, "type": `...)
		b = appendString(b, r.Type)
		if r.Type != "result" {
			b = append(b, `, "error_type": `...)
			b = appendString(b, r.ErrorType)
			b = append(b, `, "condition": `...)
			b = appendString(b, r.Condition)
			if r.Text != "" {
				b = append(b, `, "text": `...)
				b = appendString(b, r.Text)
			}
		}
		b = append(b, '}')
	case e.Timeout != nil:
		b = append(b, `, "timeout": {"session": `...)
		b = appendString(b, e.Timeout.Session)
		b = append(b, `, "seconds": `...)
		b = append(b, seconds(e.Timeout.Duration)...)
		b = append(b, '}')
	case e.Push != nil:
		p := e.Push
		b = append(b, `, "push": {"to": `...)
		b = appendString(b, p.To)
		b = append(b, `, "node": `...)
		b = appendString(b, p.Node)
		if p.Encrypted == nil {
			b = append(b, `, "count": `...)
			b = appendString(b, p.Count)
			b = append(b, `, "sender": `...)
			b = appendString(b, p.Sender)
			b = append(b, `, "body": `...)
			b = appendString(b, p.Body)
			if p.Subscriptions != "" {
				b = append(b, `, "subscriptions": `...)
				b = appendString(b, p.Subscriptions)
			}
		}
		b = append(b, `, "important": `...)
		b = strconv.AppendBool(b, p.Important)
		b = append(b, `, "options": `...)
		if p.Options == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '{')
			keys := make([]string, 0, len(p.Options))
			for k := range p.Options {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for i, k := range keys {
				if i > 0 {
					b = append(b, ", "...)
				}
				b = appendString(b, k)
				b = append(b, ": "...)
				b = appendString(b, p.Options[k])
			}
			b = append(b, '}')
		}
		b = appendExtendedJSON(b, p)
		b = append(b, '}')
	case e.Change != nil:
		b = e.Change.appendJSON(b)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string, without escaping <, > and &.
func appendString(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// seconds renders d as a number of seconds: "5", "0.25".
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// marshalTrace renders a trace as a JSON array in the shape of a scenario's
// "expect", one entry per line, ready to paste into a scenario file.
func marshalTrace(trace []entry) []byte {
	if len(trace) == 0 {
		return []byte("[]\n")
	}
	b := []byte("[\n")
	for i, e := range trace {
		b = append(b, "  "...)
		b = e.appendJSON(b)
		if i < len(trace)-1 {
			b = append(b, ',')
		}
		b = append(b, '\n')
	}
	return append(b, "]\n"...)
}

// parseEntry parses one entry of a scenario's "expect", strictly.
func parseEntry(raw json.RawMessage) (entry, error) {
	var e entry
	o, err := parseObject(raw, "an entry")
	if err != nil {
		return e, err
	}
	if err := o.allow("", "at", "step", "reply", "timeout", "push", "notification", "change"); err != nil {
		return e, err
	}
	for _, k := range []string{"at", "step"} {
		if _, ok := o.vals[k]; !ok {
			return e, fmt.Errorf("missing key %q", k)
		}
	}
	if e.At, err = asTime(o.vals["at"], `"at"`); err != nil {
		return e, err
	}
	if v := o.vals["step"]; isString(v) {
		if s, _ := asString(v, `"step"`); s != "timer" {
			return e, fmt.Errorf(`"step" must be a step index or "timer", not %q`, s)
		}
		e.Step = timerStep
	} else {
		n, err := asNumber(v, `"step"`)
		if err != nil || n < 0 || n > maxSeconds || n != float64(int(n)) {
			return e, errors.New(`"step" must be a step index or "timer"`)
		}
		e.Step = int(n)
	}
	var kind string
	for _, k := range o.keys {
		if k == "at" || k == "step" {
			continue
		}
		if kind != "" {
			return e, fmt.Errorf("both %q and %q: an entry has exactly one", kind, k)
		}
		kind = k
	}
	switch kind {
	case "reply":
		e.Reply, err = parseReply(o.vals[kind])
	case "timeout":
		e.Timeout, err = parseTimeout(o.vals[kind])
	case "push":
		e.Push, err = parsePush(o.vals[kind])
	case "notification":
		e.Notification, err = parseNotification(o.vals[kind])
	case "change":
		e.Change, err = parseChange(o.vals[kind])
	default:
		err = errors.New(`an entry needs one of "reply", "timeout", "push", "notification" or "change"`)
	}
	return e, err
}

// fieldsOf parses an object with exactly the required keys and possibly
// the optional ones.
func fieldsOf(raw json.RawMessage, in string, required, optional []string) (*object, error) {
	o, err := parseObject(raw, fmt.Sprintf("%q", in))
	if err != nil {
		return nil, err
	}
	if err := o.allow(in, append(slices.Clone(required), optional...)...); err != nil {
		return nil, err
	}
	for _, k := range required {
		if _, ok := o.vals[k]; !ok {
			return nil, fmt.Errorf("missing key %q in %q", k, in)
		}
	}
	return o, nil
}

func parseReply(raw json.RawMessage) (*traceReply, error) {
	o, err := fieldsOf(raw, "reply", []string{"session", "id", "type"}, []string{"error_type", "condition", "text"})
	if err != nil {
		return nil, err
	}
	r := &traceReply{}
	dst := map[string]*string{"session": &r.Session, "id": &r.ID, "type": &r.Type,
		"error_type": &r.ErrorType, "condition": &r.Condition, "text": &r.Text}
	for _, k := range o.keys {
		if *dst[k], err = asString(o.vals[k], `"reply.`+k+`"`); err != nil {
			return nil, err
		}
	}
	_, hasType := o.vals["error_type"]
	_, hasCond := o.vals["condition"]
	_, hasText := o.vals["text"]
	switch r.Type {
	case "result":
		if hasType || hasCond || hasText {
			return nil, errors.New(`a "reply" of type "result" has no "error_type", "condition" or "text"`)
		}
	case "error":
		if !hasType || !hasCond {
			return nil, errors.New(`a "reply" of type "error" needs "error_type" and "condition"`)
		}
	default:
		return nil, fmt.Errorf(`"reply.type" must be "result" or "error", not %q`, r.Type)
	}
	return r, nil
}

func parseTimeout(raw json.RawMessage) (*traceTimeout, error) {
	o, err := fieldsOf(raw, "timeout", []string{"session", "seconds"}, nil)
	if err != nil {
		return nil, err
	}
	t := &traceTimeout{}
	if t.Session, err = asString(o.vals["session"], `"timeout.session"`); err != nil {
		return nil, err
	}
	if t.Duration, err = asTime(o.vals["seconds"], `"timeout.seconds"`); err != nil {
		return nil, err
	}
	return t, nil
}

func parsePush(raw json.RawMessage) (*tracePush, error) {
	required := []string{"to", "node", "count", "sender", "body", "important", "options"}
	if probe, err := parseObject(raw, `"push"`); err == nil && probe.vals["encrypted"] != nil {
		required = []string{"to", "node", "important", "options"} // the summary form is replaced
	}
	o, err := fieldsOf(raw, "push", required, []string{"priority", "encrypted", "jingle", "subscriptions"})
	if err != nil {
		return nil, err
	}
	p := &tracePush{}
	if err := parseExtendedPush(o, p); err != nil {
		return nil, err
	}
	dst := map[string]*string{"to": &p.To, "node": &p.Node}
	if p.Encrypted == nil {
		dst["count"], dst["sender"], dst["body"] = &p.Count, &p.Sender, &p.Body
		if _, ok := o.vals["subscriptions"]; ok {
			dst["subscriptions"] = &p.Subscriptions
		}
	}
	for k, d := range dst {
		if *d, err = asString(o.vals[k], `"push.`+k+`"`); err != nil {
			return nil, err
		}
	}
	if p.Important, err = asBool(o.vals["important"], `"push.important"`); err != nil {
		return nil, err
	}
	if v := o.vals["options"]; !isNull(v) {
		opts, err := parseObject(v, `"push.options" (an object or null)`)
		if err != nil {
			return nil, err
		}
		p.Options = make(map[string]string, len(opts.keys))
		for _, k := range opts.keys {
			if p.Options[k], err = asString(opts.vals[k], fmt.Sprintf(`"push.options" field %q`, k)); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

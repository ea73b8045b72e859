package pushtest

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
	"github.com/pushrules/pushrules/push2"
)

// This file holds the Push 2.0 parts of the scenario format: the devices'
// keys, the "notification" entries of a trace and the answers to
// notifications.

// traceNotification is a Push 2.0 notification to a push service, as the
// device sees it once decrypted.
type traceNotification struct {
	// To is the push service's JID; Client the <client/> the device is
	// known by.
	To, Client string
	// Priority is "high", "normal" or "low"; VoIP tells whether the
	// notification asks for a VoIP push.
	Priority string
	VoIP     bool
	// Stanza is the forwarded stanza the device decrypted, nil for a
	// notify-only send.
	Stanza *string
}

// parseDevices reads a scenario's "devices": base64url private keys (32
// bytes, RFC 8291's ua_private) of the devices whose notifications the
// runner decrypts.
func parseDevices(raw json.RawMessage) ([]*ecdh.PrivateKey, error) {
	keys, err := asStrings(raw, `"devices"`)
	if err != nil {
		return nil, err
	}
	out := make([]*ecdh.PrivateKey, len(keys))
	for i, k := range keys {
		b, err := base64.RawURLEncoding.DecodeString(k)
		if err == nil {
			out[i], err = ecdh.P256().NewPrivateKey(b)
		}
		if err != nil {
			return nil, fmt.Errorf(`"devices" item %d is not a base64url P-256 private key`, i)
		}
	}
	return out, nil
}

var (
	priorityRE = regexp.MustCompile(`<priority>([a-z]+)</priority>`)
	payloadRE  = regexp.MustCompile(`<payload>([^<]*)</payload>`)
)

// notificationEntry renders n (with a fixed random source, so that runs
// are repeatable) and opens it as its device: the key among devices whose
// public key the registration holds.
func (sc *Scenario) notificationEntry(n *push.Notification) (*traceNotification, error) {
	msg, err := n.AppendXML(nil, rand.NewChaCha8([32]byte{'p', 'u', 's', 'h', '2'}))
	if err != nil {
		return nil, fmt.Errorf("rendering a notification: %w", err)
	}
	e := &traceNotification{To: n.To(), Client: n.Request.Client, VoIP: bytes.Contains(msg, []byte("<voip/>"))}
	if m := priorityRE.FindSubmatch(msg); m != nil {
		e.Priority = string(m[1])
	}
	send := &n.Request.Matches[n.Match].Send
	if send.Profile != push2.SendEncrypted {
		return e, nil
	}
	m := payloadRE.FindSubmatch(msg)
	if m == nil {
		return nil, errors.New("an encrypted notification without a payload")
	}
	body, err := base64.StdEncoding.DecodeString(string(m[1]))
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	for _, dev := range sc.devices {
		if !bytes.Equal(dev.PublicKey().Bytes(), send.UAPublic[:]) {
			continue
		}
		plain, err := push2.Decrypt(body, dev, send.AuthSecret[:])
		if err != nil {
			return nil, err
		}
		fwd, err := push2.Forwarded(plain)
		if err != nil {
			return nil, err
		}
		s := string(fwd)
		e.Stanza = &s
		return e, nil
	}
	return nil, errors.New(`no key in "devices" matches the registration's ua-public`)
}

// appendNotification writes the "notification" key of an entry.
func appendNotification(b []byte, n *traceNotification) []byte {
	b = append(b, `, "notification": {"to": `...)
	b = appendString(b, n.To)
	b = append(b, `, "client": `...)
	b = appendString(b, n.Client)
	b = append(b, `, "priority": `...)
	b = appendString(b, n.Priority)
	b = append(b, `, "voip": `...)
	b = strconv.AppendBool(b, n.VoIP)
	b = append(b, `, "stanza": `...)
	if n.Stanza == nil {
		b = append(b, "null"...)
	} else {
		b = appendString(b, *n.Stanza)
	}
	return append(b, '}')
}

func parseNotification(raw json.RawMessage) (*traceNotification, error) {
	o, err := fieldsOf(raw, "notification", []string{"to", "client", "priority", "voip", "stanza"}, nil)
	if err != nil {
		return nil, err
	}
	n := &traceNotification{}
	for k, d := range map[string]*string{"to": &n.To, "client": &n.Client, "priority": &n.Priority} {
		if *d, err = asString(o.vals[k], `"notification.`+k+`"`); err != nil {
			return nil, err
		}
	}
	switch n.Priority {
	case "high", "normal", "low":
	default:
		return nil, fmt.Errorf(`"notification.priority" must be "high", "normal" or "low", not %q`, n.Priority)
	}
	if n.VoIP, err = asBool(o.vals["voip"], `"notification.voip"`); err != nil {
		return nil, err
	}
	if v := o.vals["stanza"]; !isNull(v) {
		s, err := asString(v, `"notification.stanza" (a string or null)`)
		if err != nil {
			return nil, err
		}
		n.Stanza = &s
	}
	return n, nil
}

// answerNotification finds the oldest unanswered notification to (to,
// client) and returns the error answer of a respond step.
func (r *run) answerNotification(now time.Time, st *step) (events.PublishResult, error) {
	for j := range r.notes {
		n := &r.notes[j]
		if r.notesAnswered[j] || n.To() != st.to || n.Request.Client != st.client || st.user != "" && n.User != st.user {
			continue
		}
		r.notesAnswered[j] = true
		from := st.from
		if from == "" {
			from = st.to
		}
		return events.PublishResult{Now: now, ID: n.ID, From: from, Error: st.err}, nil
	}
	return events.PublishResult{}, fmt.Errorf("no unanswered notification to %q, client %q to respond to", st.to, st.client)
}

// recordNotifications appends the notifications' entries to the trace.
func (r *run) recordNotifications(_ context.Context, at time.Duration, step int, notes []push.Notification) error {
	for i := range notes {
		e, err := r.sc.notificationEntry(&notes[i])
		if err != nil {
			return err
		}
		r.result.trace = append(r.result.trace, entry{At: at, Step: step, Notification: e})
		r.notes = append(r.notes, notes[i])
		r.notesAnswered = append(r.notesAnswered, false)
	}
	return nil
}

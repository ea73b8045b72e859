// Package events defines what a host server tells the push rules: one type
// per event, each carrying the time it happened, and Stanza, the facts the
// rules need about one stanza (parsed from XML or filled in by the host).
//
// Sessions are named by their full JID and users by their bare JID, as the
// host has already prepared them (the rules compare them as given). Every
// event carries Now, the host's clock when the event happened: the rules
// never read a clock of their own.
//
// The events, and when a host raises them:
//
//	SessionOpened        a client session is bound (any session, push or not)
//	SessionClosed        a session is gone for good
//	IQ                   a session sent a urn:xmpp:push:0 <enable/> or <disable/>
//	AckDelayed           a session did not acknowledge its queue in time (XEP-0198)
//	HibernationStarted   a session's connection died; it hibernates with a queue
//	StanzaQueued         a stanza was queued for a hibernating session
//	HibernationEnded     a hibernating session was resumed
//	MessageArchived      the archive (XEP-0313) stored a message for a user
//	OfflineMessage       a message is stored offline for a user
//	GroupchatToBare      a groupchat message reached a user's bare JID
//	Ping                 another component asks to wake a user's devices
//	UserDeleted          an account was deleted
//	RegistrationsChanged another node (or a tool) changed a user's registrations
//	PublishResult        a push service answered a publish
//	RemoteDisabled       a push service said a registration is gone (XEP-0357 §6)
//	SessionActive        a session sent a message or a chat state (the user is there)
//	MessagesRead         the user read their messages on one session
//	Restarted            the host restarted and lost a user's hibernating sessions
package events

import (
	"fmt"
	"time"
)

// Event is implemented by the event types of this package, and by no
// other type: the set is sealed, so a handler can be sure to know every
// event it is given.
type Event interface {
	// Time returns the event's Now.
	Time() time.Time
	event()
}

// SessionOpened says a client session with full JID Session is bound and
// online. The rules count a user's sessions for the archive rule, so every
// session is reported, push-enabled or not. Client is the session's client
// id, when the client gave one (XEP-0388 SASL2 <user-agent id=.../>, used
// by XEP-0386 Bind2), "" otherwise: a session with the client id of a
// stored registration is bound to it at once, and its <enable/> replaces
// that registration.
type SessionOpened struct {
	Now     time.Time
	Session string
	Client  string
}

// SessionClosed says session Session is gone for good: closed cleanly, or
// destroyed when its hibernation ran out. Where the host then re-handles
// the session's unacknowledged stanzas as offline messages, it raises
// OfflineMessage for each afterwards, with the same Keys.
type SessionClosed struct {
	Now     time.Time
	Session string
}

// IQ carries a urn:xmpp:push:0 request sent by session Session to its own
// account: Payload is the XML of the <enable/> or <disable/> element, or of
// the whole <iq/> around it. ID is the IQ's id, echoed in the reply; when
// Payload is a whole <iq/> and ID is empty, the iq's own id is used.
type IQ struct {
	Now     time.Time
	Session string
	ID      string
	Payload []byte
}

// AckDelayed says session Session, still connected, has not acknowledged the
// stanzas in Queue (its unacknowledged queue, oldest first) in time.
type AckDelayed struct {
	Now     time.Time
	Session string
	Queue   []Stanza
}

// HibernationStarted says session Session lost its connection and hibernates
// with the unacknowledged stanzas in Queue, oldest first.
type HibernationStarted struct {
	Now     time.Time
	Session string
	Queue   []Stanza
}

// StanzaQueued says the host queued Stanza for the hibernating session
// Session.
type StanzaQueued struct {
	Now     time.Time
	Session string
	Stanza  Stanza
}

// HibernationEnded says the hibernating session Session was resumed by its
// client.
type HibernationEnded struct {
	Now     time.Time
	Session string
}

// MessageArchived says the message archive stored Stanza in User's archive.
// Raise it for every message archived, incoming or outgoing; the rules keep
// only those addressed to User.
type MessageArchived struct {
	Now    time.Time
	User   string
	Stanza Stanza
}

// OfflineMessage says Stanza is being stored offline for User (no available
// resource, or a hibernation ran out with it unacknowledged).
type OfflineMessage struct {
	Now    time.Time
	User   string
	Stanza Stanza
}

// GroupchatToBare says a groupchat message reached User's bare JID (for
// instance from a MUC's offline delivery).
type GroupchatToBare struct {
	Now    time.Time
	User   string
	Stanza Stanza
}

// Ping asks to wake User's devices: every registration, or only those whose
// node is in Nodes when Nodes is not empty. Pings carry no stanza and are
// never deduplicated.
type Ping struct {
	Now   time.Time
	User  string
	Nodes []string
}

// UserDeleted says the account User was deleted.
type UserDeleted struct {
	Now  time.Time
	User string
}

// RegistrationsChanged says User's registrations were changed behind the
// engine's back: by another server node sharing the Store, or by an admin
// tool writing the Store directly. The engine reads them again and unbinds
// the sessions whose registration is gone, so that nothing is pushed to a
// removed registration. registry/cache calls the host back for each such
// change it hears of from another node.
//
// With All set (and User empty), every user with a session on this node
// is checked: raise it when changes may have been missed, for instance
// after a cache lost its connection to the other nodes.
type RegistrationsChanged struct {
	Now  time.Time
	User string
	All  bool
}

// PublishResult is a push service's answer to a publish: ID is the publish
// IQ's id, From the address the answer came from, and Error nil for a
// result or the error the service returned.
type PublishResult struct {
	Now   time.Time
	ID    string
	From  string
	Error *StanzaError
}

// RemoteDisabled says a <message/> from From to User carried a pubsub
// affiliation of "none" for Node: the push service says the registration
// (From, Node) is gone (XEP-0357 §6). The engine removes User's
// registration of that service JID and node; one from any other address
// names no registration and is ignored. push.ParseRemoteDisable reads it
// from the message.
type RemoteDisabled struct {
	Now  time.Time
	User string
	From string
	Node string
}

// StanzaError is an XMPP stanza error (RFC 6120 §8.3): a type, a defined
// condition and an optional text. It implements error, so a parse failure
// of a client's request can be inspected with errors.As and answered as is.
type StanzaError struct {
	// Type is "auth", "cancel", "continue", "modify" or "wait".
	Type string
	// Condition is the defined condition's element name ("bad-request").
	Condition string
	// Text is the human-readable text, "" for none.
	Text string
}

// Is reports whether target is a *StanzaError with the same type,
// condition and text, so that errors.Is matches a copy of a known error.
func (e *StanzaError) Is(target error) bool {
	t, ok := target.(*StanzaError)
	return ok && e != nil && t != nil && *e == *t
}

// Error returns "type/condition" and the text when there is one.
func (e *StanzaError) Error() string {
	if e.Text != "" {
		return fmt.Sprintf("%s/%s: %s", e.Type, e.Condition, e.Text)
	}
	return e.Type + "/" + e.Condition
}

// Time implements Event.
func (e SessionOpened) Time() time.Time { return e.Now }

// Time implements Event.
func (e SessionClosed) Time() time.Time { return e.Now }

// Time implements Event.
func (e IQ) Time() time.Time { return e.Now }

// Time implements Event.
func (e AckDelayed) Time() time.Time { return e.Now }

// Time implements Event.
func (e HibernationStarted) Time() time.Time { return e.Now }

// Time implements Event.
func (e StanzaQueued) Time() time.Time { return e.Now }

// Time implements Event.
func (e HibernationEnded) Time() time.Time { return e.Now }

// Time implements Event.
func (e MessageArchived) Time() time.Time { return e.Now }

// Time implements Event.
func (e OfflineMessage) Time() time.Time { return e.Now }

// Time implements Event.
func (e GroupchatToBare) Time() time.Time { return e.Now }

// Time implements Event.
func (e Ping) Time() time.Time { return e.Now }

// Time implements Event.
func (e UserDeleted) Time() time.Time { return e.Now }

// Time implements Event.
func (e PublishResult) Time() time.Time { return e.Now }

// Time implements Event.
func (e RegistrationsChanged) Time() time.Time { return e.Now }

// Time implements Event.
func (e RemoteDisabled) Time() time.Time { return e.Now }

func (SessionOpened) event()        {}
func (SessionClosed) event()        {}
func (IQ) event()                   {}
func (AckDelayed) event()           {}
func (HibernationStarted) event()   {}
func (StanzaQueued) event()         {}
func (HibernationEnded) event()     {}
func (MessageArchived) event()      {}
func (OfflineMessage) event()       {}
func (GroupchatToBare) event()      {}
func (Ping) event()                 {}
func (UserDeleted) event()          {}
func (RegistrationsChanged) event() {}
func (PublishResult) event()        {}
func (RemoteDisabled) event()       {}

// WithTime returns a copy of ev with its Now set to now. Events of types
// not defined in this package are returned unchanged.
func WithTime(ev Event, now time.Time) Event {
	switch e := ev.(type) {
	case SessionOpened:
		e.Now = now
		return e
	case SessionClosed:
		e.Now = now
		return e
	case IQ:
		e.Now = now
		return e
	case AckDelayed:
		e.Now = now
		return e
	case HibernationStarted:
		e.Now = now
		return e
	case StanzaQueued:
		e.Now = now
		return e
	case HibernationEnded:
		e.Now = now
		return e
	case MessageArchived:
		e.Now = now
		return e
	case OfflineMessage:
		e.Now = now
		return e
	case GroupchatToBare:
		e.Now = now
		return e
	case Ping:
		e.Now = now
		return e
	case UserDeleted:
		e.Now = now
		return e
	case RegistrationsChanged:
		e.Now = now
		return e
	case PublishResult:
		e.Now = now
		return e
	case SessionActive:
		e.Now = now
		return e
	case RemoteDisabled:
		e.Now = now
		return e
	case MessagesRead:
		e.Now = now
		return e
	case Restarted:
		e.Now = now
		return e
	}
	return ev
}

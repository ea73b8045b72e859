package events

import "time"

// MessagesRead says the user read, on session Session, the messages that
// reached them up to now: the session sent a displayed marker (XEP-0333),
// a display synchronisation (XEP-0490), or retrieved its offline messages.
// With push.Config.ClearOnRead set, the user's other devices that got a
// push since the last such event get a push with a message count of 0 and
// no body, so that they clear their badges and notifications.
type MessagesRead struct {
	Now     time.Time
	Session string
}

// Restarted says the host restarted and lost the hibernating sessions of
// User, which were bound to the registrations whose nodes are in Nodes
// (every registration of the user when Nodes is empty). Each of them gets
// one push without stanza data, so that its client connects again
// (ejabberd's wake_on_start). Raise it once per user after a restart; a
// host that does not raise it keeps Prosody's behaviour.
type Restarted struct {
	Now   time.Time
	User  string
	Nodes []string
}

// Time implements Event.
func (e MessagesRead) Time() time.Time { return e.Now }

// Time implements Event.
func (e Restarted) Time() time.Time { return e.Now }

func (MessagesRead) event() {}
func (Restarted) event()    {}

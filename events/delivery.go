package events

import "time"

// SessionActive says session Session of a user sent a message or a chat
// state just now: the user is at that device (typing on the desktop, say).
// With a grace period configured, pushes of ordinary messages to the
// user's other devices wait until the user has been quiet for that long.
// A host reports it for each message and chat state a session sends; the
// engine keeps only the latest time per session.
type SessionActive struct {
	Now     time.Time
	Session string
}

// Time implements Event.
func (e SessionActive) Time() time.Time { return e.Now }

func (SessionActive) event() {}

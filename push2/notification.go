package push2

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/pushrules/pushrules/events"
)

// Priority is the <priority/> of a notification.
type Priority uint8

// The priorities: high for a call (Jingle Message propose or retract),
// normal for an important stanza, low otherwise.
const (
	PriorityLow Priority = iota
	PriorityNormal
	PriorityHigh
)

// String returns "low", "normal" or "high".
func (p Priority) String() string {
	switch p {
	case PriorityNormal:
		return "normal"
	case PriorityHigh:
		return "high"
	}
	return "low"
}

// Notification is the <message/> sent to the push service.
type Notification struct {
	// ID is the message id; the service's error answer carries it back.
	// Make one with newID.
	ID string
	// To is the push service (Request.Service); From the user's domain.
	To, From string
	// Client is Request.Client.
	Client   string
	Priority Priority
	// VoIP asks for a VoIP push (calls).
	VoIP bool
	// Payload is Encrypt's output; nil for a notify-only send.
	Payload []byte
	// JWT is the VAPID token, "" for none; JWTKey the signer's 65-byte
	// uncompressed public key.
	JWT    string
	JWTKey []byte
}

// AppendNotification appends n as a Push 2.0 notification:
//
//	<message to='service' from='domain' id='ID'><notification xmlns='urn:xmpp:push2:0'>
//	<client>...</client><priority>...</priority>[<voip/>]
//	[<encrypted xmlns='urn:xmpp:sce:rfc8291:0'><payload>base64</payload></encrypted>]
//	[<jwt key='base64'>JWT</jwt>]</notification></message>
//
// Strings are escaped; byte fields are standard base64.
func AppendNotification(dst []byte, n Notification) []byte {
	dst = append(dst, "<message to='"...)
	dst = appendEscaped(dst, n.To)
	dst = append(dst, "' from='"...)
	dst = appendEscaped(dst, n.From)
	dst = append(dst, "' id='"...)
	dst = appendEscaped(dst, n.ID)
	dst = append(dst, "'><notification xmlns='"+NS+"'><client>"...)
	dst = appendEscaped(dst, n.Client)
	dst = append(dst, "</client><priority>"...)
	dst = append(dst, n.Priority.String()...)
	dst = append(dst, "</priority>"...)
	if n.VoIP {
		dst = append(dst, "<voip/>"...)
	}
	if n.Payload != nil {
		dst = append(dst, "<encrypted xmlns='"+nsRFC8291+"'><payload>"...)
		dst = base64.StdEncoding.AppendEncode(dst, n.Payload)
		dst = append(dst, "</payload></encrypted>"...)
	}
	if n.JWT != "" {
		dst = append(dst, "<jwt key='"...)
		dst = base64.StdEncoding.AppendEncode(dst, n.JWTKey)
		dst = append(dst, "'>"...)
		dst = appendEscaped(dst, n.JWT)
		dst = append(dst, "</jwt>"...)
	}
	return append(dst, "</notification></message>"...)
}

// newID returns a random (version 4) UUID read from rand (nil means
// crypto/rand.Reader), in its lower-case 36-character form. The error
// wraps ErrRandom.
func newID(rand io.Reader) (string, error) {
	var u [16]byte
	if _, err := io.ReadFull(source(rand), u[:]); err != nil {
		return "", fmt.Errorf("%w: %v", ErrRandom, err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	hex.Encode(b[9:13], u[4:6])
	hex.Encode(b[14:18], u[6:8])
	hex.Encode(b[19:23], u[8:10])
	hex.Encode(b[24:], u[10:])
	b[8], b[13], b[18], b[23] = '-', '-', '-', '-'
	return string(b[:]), nil
}

// maxReplySize is the largest error answer ParseErrorReply reads, in bytes.
const maxReplySize = 64 << 10

// ErrorReply is a push service's error answer to a notification.
type ErrorReply struct {
	// ID is the notification's id; From the service that answered.
	ID, From string
	// Error is the error: its type, defined condition and text.
	Error events.StanzaError
}

// ParseErrorReply reads a <message type='error'/> (in no namespace,
// jabber:client or jabber:server) with an <error/> child holding a type
// (auth, cancel, continue, modify or wait), a defined condition and an
// optional <text/>. Extra elements are ignored. The error wraps ErrReply
// for anything else (malformed XML or XML the scanner does not take, data
// over maxReplySize, another message type, a missing or unknown error
// type, a missing condition).
func ParseErrorReply(data []byte) (ErrorReply, error) {
	if len(data) > maxReplySize {
		return ErrorReply{}, fmt.Errorf("%w: over %d bytes", ErrReply, maxReplySize)
	}
	root, ok := scanTree(data)
	if !ok {
		return ErrorReply{}, fmt.Errorf("%w: malformed", ErrReply)
	}
	if root.local != "message" || !stanzaNS(root.space) {
		return ErrorReply{}, fmt.Errorf("%w: not a message", ErrReply)
	}
	if t, _ := root.attr("type"); t != "error" {
		return ErrorReply{}, fmt.Errorf("%w: not of type error", ErrReply)
	}
	var r ErrorReply
	r.ID, _ = root.attr("id")
	r.From, _ = root.attr("from")
	for _, e := range root.kids {
		if e.local != "error" || e.space != root.space {
			continue
		}
		r.Error.Type, _ = e.attr("type")
		for _, k := range e.kids {
			switch {
			case k.space != nsStanzas:
			case k.local == "text":
				if r.Error.Text == "" {
					r.Error.Text = k.text
				}
			case r.Error.Condition == "":
				r.Error.Condition = k.local
			}
		}
		switch r.Error.Type {
		case "auth", "cancel", "continue", "modify", "wait":
		default:
			return ErrorReply{}, fmt.Errorf("%w: unknown error type", ErrReply)
		}
		if r.Error.Condition == "" {
			return ErrorReply{}, fmt.Errorf("%w: no defined condition", ErrReply)
		}
		return r, nil
	}
	return ErrorReply{}, fmt.Errorf("%w: no error element", ErrReply)
}

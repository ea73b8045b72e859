package main

import (
	"bytes"
	"fmt"
	"sync"
	"time"
)

// Topics the server raises on its Bus, and the payload type of each.
const (
	TopicSessionBound     = "session/bound"            // SessionInfo: a client session is bound
	TopicSessionClosed    = "session/closed"           // SessionInfo: a session is gone for good
	TopicIQPush           = "iq/push"                  // IQRequest: an IQ in urn:xmpp:push:0 to the user's account
	TopicAckDelayed       = "smacks/ack-delayed"       // SmacksQueue: acks are overdue
	TopicHibernationStart = "smacks/hibernation-start" // SmacksQueue: the connection died
	TopicStanzaQueued     = "smacks/stanza-queued"     // QueuedStanza: queued while hibernating
	TopicHibernationEnd   = "smacks/hibernation-end"   // SessionInfo: the session was resumed
	TopicArchiveAdded     = "archive/added"            // UserStanza: the archive stored a message
	TopicOfflineStore     = "offline/store"            // UserStanza: a message is stored offline
	TopicUserDeleted      = "user/deleted"             // UserInfo: an account was deleted
)

// ServerStanza is the server's own representation of a routed stanza: the
// identifier it stamped on the stanza when it first routed it (kept on every
// path the stanza takes: smacks queue, archive, offline store) and its
// serialised XML.
type ServerStanza struct {
	ID  string
	XML []byte
}

// SessionInfo is the payload of session/bound, session/closed and
// smacks/hibernation-end.
type SessionInfo struct {
	// JID is the session's full JID.
	JID string
}

// IQRequest is the payload of iq/push: an IQ a client session sent to its
// own account with a urn:xmpp:push:0 child.
type IQRequest struct {
	// Session is the full JID of the sending session.
	Session string
	// ID is the IQ's id.
	ID string
	// XML is the whole <iq/>.
	XML []byte
}

// SmacksQueue is the payload of smacks/ack-delayed and
// smacks/hibernation-start: a session and its unacknowledged queue, oldest
// first.
type SmacksQueue struct {
	Session string
	Queue   []ServerStanza
}

// QueuedStanza is the payload of smacks/stanza-queued: a stanza queued for a
// hibernating session.
type QueuedStanza struct {
	Session string
	Stanza  ServerStanza
}

// UserStanza is the payload of archive/added and offline/store: a message
// stored for the user with bare JID User.
type UserStanza struct {
	User   string
	Stanza ServerStanza
}

// UserInfo is the payload of user/deleted.
type UserInfo struct {
	// User is the account's bare JID.
	User string
}

// Server is a stand-in for an XMPP server: it owns every client session's
// outgoing stream and stream-management timeout, and raises its events on
// Bus. It implements Host. It is safe for concurrent use.
type Server struct {
	// Bus carries the server's events.
	Bus *Bus
	// Log, when not nil, is told about every write to a session stream and
	// every timeout set, one line each.
	Log func(format string, args ...any)

	mu       sync.Mutex
	streams  map[string]*Stream
	timeouts map[string]hibernation
	nextID   uint64
}

// hibernation is a session's stream-management timeout.
type hibernation struct {
	d        time.Duration
	deadline time.Time // when the session is dropped unless resumed
}

// NewServer returns a server with no sessions, raising events on bus.
func NewServer(bus *Bus) *Server {
	return &Server{Bus: bus, streams: make(map[string]*Stream), timeouts: make(map[string]hibernation)}
}

// Stanza stamps xml with a fresh server stanza ID, as the server does when it
// first routes a stanza.
func (s *Server) Stanza(xml string) ServerStanza {
	s.mu.Lock()
	s.nextID++
	id := fmt.Sprintf("stanza-%d", s.nextID)
	s.mu.Unlock()
	return ServerStanza{ID: id, XML: []byte(xml)}
}

// Bind opens a client session's stream and raises session/bound.
func (s *Server) Bind(session string) *Stream {
	s.mu.Lock()
	st := &Stream{}
	s.streams[session] = st
	s.mu.Unlock()
	s.Bus.Publish(TopicSessionBound, SessionInfo{JID: session})
	return st
}

// Stream returns the outgoing stream of a session, nil when it was never
// bound.
func (s *Server) Stream(session string) *Stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams[session]
}

// WriteToSession implements Host: it writes xml onto the session's stream.
func (s *Server) WriteToSession(session string, xml []byte) error {
	st := s.Stream(session)
	if st == nil {
		return fmt.Errorf("no session %s", session)
	}
	if s.Log != nil {
		s.Log("%-8s ← %s", shortJID(session), xml)
	}
	_, err := st.Write(xml)
	return err
}

// SetHibernationTimeout implements Host: it replaces the session's
// stream-management hibernation timeout, d counted from from (a real
// server would re-arm the session's timer for the deadline from+d).
func (s *Server) SetHibernationTimeout(session string, d time.Duration, from time.Time) {
	s.mu.Lock()
	s.timeouts[session] = hibernation{d: d, deadline: from.Add(d)}
	s.mu.Unlock()
	if s.Log != nil {
		s.Log("smacks   %s may hibernate for %v", session, d)
	}
}

// HibernationTimeout returns the timeout last set for the session, 0 when
// none was set.
func (s *Server) HibernationTimeout(session string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.timeouts[session].d
}

// HibernationDeadline returns when the session's last set timeout runs
// out, the zero time when none was set.
func (s *Server) HibernationDeadline(session string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.timeouts[session].deadline
}

// Stream is an in-memory outgoing XML stream, safe for concurrent use.
type Stream struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the stream.
func (s *Stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// String returns everything written so far.
func (s *Stream) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// shortJID returns the resource of a full JID (the local part of a bare
// one), for the transcript.
func shortJID(j string) string {
	for i := len(j) - 1; i >= 0; i-- {
		if j[i] == '/' {
			return j[i+1:]
		}
	}
	return j
}

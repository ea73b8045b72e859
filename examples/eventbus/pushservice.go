package main

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"sync"

	"github.com/pushrules/pushrules/events"
)

// stanzasNS is the namespace of stanza error conditions (RFC 6120).
const stanzasNS = "urn:ietf:params:xml:ns:xmpp-stanzas"

// PushServiceConfig configures a PushService.
type PushServiceConfig struct {
	// JID is the service's address, the from of its answers.
	JID string
	// Errors maps a node to the error every publish to it is answered
	// with; publishes to other nodes get a result.
	Errors map[string]*events.StanzaError
	// Silent lists nodes whose publishes are never answered.
	Silent map[string]bool
}

// ReceivedPublish is a publish IQ as a PushService received it.
type ReceivedPublish struct {
	// ID, From and To are the IQ's attributes; Node is the publish node.
	ID, From, To, Node string
	// Summary holds the first value of each field of the notification's
	// urn:xmpp:push:summary form; Options those of the publish-options
	// form (nil when there is none).
	Summary, Options map[string]string
}

// PushService is a fake XEP-0357 app server for the demo and the tests:
// a goroutine reads publish IQs from its end of a connection, records them,
// and answers each with a result, or with an error for the nodes configured
// so. It is safe for concurrent use.
type PushService struct {
	conn io.ReadWriteCloser
	cfg  PushServiceConfig
	wg   sync.WaitGroup

	mu       sync.Mutex
	received []ReceivedPublish
}

// NewPushService starts a service on conn, which it owns.
func NewPushService(conn io.ReadWriteCloser, cfg PushServiceConfig) *PushService {
	s := &PushService{conn: conn, cfg: cfg}
	s.wg.Add(1)
	go s.serve()
	return s
}

// Received returns the publishes received so far, in order.
func (s *PushService) Received() []ReceivedPublish {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ReceivedPublish(nil), s.received...)
}

// Close closes the connection and waits for the service's goroutine.
func (s *PushService) Close() error {
	err := s.conn.Close()
	s.wg.Wait()
	if errors.Is(err, io.ErrClosedPipe) {
		err = nil
	}
	return err
}

// formXML is a jabber:x:data form as encoding/xml sees it.
type formXML struct {
	Fields []struct {
		Var    string   `xml:"var,attr"`
		Values []string `xml:"jabber:x:data value"`
	} `xml:"jabber:x:data field"`
}

func (f *formXML) values() map[string]string {
	m := make(map[string]string)
	for _, fd := range f.Fields {
		v := ""
		if len(fd.Values) > 0 {
			v = fd.Values[0]
		}
		m[fd.Var] = v
	}
	return m
}

// publishXML is a XEP-0357 publish IQ as encoding/xml sees it.
type publishXML struct {
	ID     string `xml:"id,attr"`
	From   string `xml:"from,attr"`
	To     string `xml:"to,attr"`
	PubSub struct {
		Publish struct {
			Node    string  `xml:"node,attr"`
			Summary formXML `xml:"item>notification>x"`
		} `xml:"publish"`
		Options *struct {
			Form formXML `xml:"jabber:x:data x"`
		} `xml:"publish-options"`
	} `xml:"http://jabber.org/protocol/pubsub pubsub"`
}

func (s *PushService) serve() {
	defer s.wg.Done()
	d := xml.NewDecoder(s.conn)
	for {
		tok, err := d.Token()
		if err != nil {
			return // closed
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		var x publishXML
		if err := d.DecodeElement(&x, &start); err != nil {
			return
		}
		p := ReceivedPublish{ID: x.ID, From: x.From, To: x.To, Node: x.PubSub.Publish.Node, Summary: x.PubSub.Publish.Summary.values()}
		if x.PubSub.Options != nil {
			p.Options = x.PubSub.Options.Form.values()
		}
		s.mu.Lock()
		s.received = append(s.received, p)
		s.mu.Unlock()
		if s.cfg.Silent[p.Node] {
			continue
		}
		res := events.PublishResult{ID: p.ID, From: s.cfg.JID, Error: s.cfg.Errors[p.Node]}
		if _, err := s.conn.Write(appendAnswer(nil, res, p.From)); err != nil {
			return
		}
	}
}

// appendAnswer appends a push service's answer to a publish, addressed to
// to, and returns the extended buffer: an <iq type='result'/> when
// res.Error is nil, an <iq type='error'/> carrying it otherwise (an empty
// type or condition reads as cancel, undefined-condition). The iq has no
// namespace: the stream's default applies. push.ParseResult reads it back
// (without To and Now).
func appendAnswer(b []byte, res events.PublishResult, to string) []byte {
	typ := "result"
	if res.Error != nil {
		typ = "error"
	}
	b = append(b, "<iq type='"+typ+"' id='"...)
	b = appendEscaped(b, res.ID)
	if res.From != "" {
		b = append(b, "' from='"...)
		b = appendEscaped(b, res.From)
	}
	if to != "" {
		b = append(b, "' to='"...)
		b = appendEscaped(b, to)
	}
	if res.Error == nil {
		return append(b, "'/>"...)
	}
	e := *res.Error
	if e.Type == "" {
		e.Type = "cancel"
	}
	if e.Condition == "" {
		e.Condition = "undefined-condition"
	}
	b = append(b, "'><error type='"...)
	b = appendEscaped(b, e.Type)
	b = append(b, "'><"...)
	b = append(b, e.Condition...) // a name chosen by the service's configuration
	b = append(b, " xmlns='"+stanzasNS+"'/>"...)
	if e.Text != "" {
		b = append(b, "<text xmlns='"+stanzasNS+"'>"...)
		b = appendEscaped(b, e.Text)
		b = append(b, "</text>"...)
	}
	return append(b, "</error></iq>"...)
}

// appendEscaped appends s escaped for XML text and attribute values
// (characters XML cannot carry become U+FFFD).
func appendEscaped(b []byte, s string) []byte {
	var sb strings.Builder
	xml.EscapeText(&sb, []byte(s)) // a strings.Builder never fails
	return append(b, sb.String()...)
}

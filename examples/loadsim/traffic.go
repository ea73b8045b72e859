package main

// The simulated traffic: the setup of every user's devices and the random
// actions of the measured phase.

import (
	"context"
	"slices"
	"strconv"

	"github.com/pushrules/pushrules/events"
)

func enablePayload(service, node, secret string) []byte {
	return []byte(`<enable xmlns='urn:xmpp:push:0' jid='` + service + `' node='` + node + `'>` +
		`<x xmlns='jabber:x:data' type='submit'>` +
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>` +
		`<field var='secret'><value>` + secret + `</value></field></x></enable>`)
}

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

func (s *sim) random(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[s.rng.IntN(len(alphabet))]
	}
	return string(b)
}

func (s *sim) setup(ctx context.Context) int {
	n := 0
	s.users = make([]user, s.cfg.users)
	for i := range s.users {
		u := &s.users[i]
		u.bare = "user" + strconv.Itoa(i) + "@example.org"
		u.phone = u.bare + "/phone-" + s.random(8)
		u.desktop = u.bare + "/desktop"
		node := s.random(40)
		u.enable[0] = enablePayload(service1, node, s.random(20))
		if s.rng.IntN(200) == 0 {
			s.dead[node] = true
		}
		if i%2 == 0 {
			node := s.random(40)
			u.enable[1] = enablePayload(service2, node, s.random(20))
			if s.rng.IntN(200) == 0 {
				s.dead[node] = true
			}
		}
		n += s.open(ctx, u)
		if s.rng.IntN(10) < 3 {
			s.handle(ctx, events.SessionOpened{Now: s.now(), Session: u.desktop})
			u.desktopOnline = true
			n++
		}
		switch r := s.rng.IntN(10); {
		case r < 7:
			s.handle(ctx, events.HibernationStarted{Now: s.now(), Session: u.phone})
			u.phoneState = hibernating
			n++
		case r < 8:
			s.handle(ctx, events.SessionClosed{Now: s.now(), Session: u.phone})
			u.phoneState = closed
			n++
		}
	}
	return n
}

// open connects the phone and enables its registrations.
func (s *sim) open(ctx context.Context, u *user) int {
	s.handle(ctx, events.SessionOpened{Now: s.now(), Session: u.phone})
	u.phoneState = online
	n := 1
	for _, p := range u.enable {
		if p != nil {
			s.handle(ctx, events.IQ{Now: s.now(), Session: u.phone, ID: "push-enable", Payload: p})
			n++
		}
	}
	return n
}

// pick returns a user: half the time one of the busiest 1%, otherwise any.
func (s *sim) pick() *user {
	if hot := max(len(s.users)/100, 1); s.rng.IntN(2) == 0 {
		return &s.users[s.rng.IntN(hot)]
	}
	return &s.users[s.rng.IntN(len(s.users))]
}

// message returns a new stanza for u: mostly chat messages with a body,
// some encrypted, a few call proposals, and chat states (not important).
func (s *sim) message(u *user) events.Stanza {
	s.key++
	st := events.Stanza{Key: s.key, Kind: events.KindMessage, Type: "chat",
		From: s.contacts[s.rng.IntN(len(s.contacts))], To: u.bare}
	switch r := s.rng.IntN(100); {
	case r < 80:
		st.Body, st.HasBody = "See you at the orchard tonight?", true
	case r < 90:
		st.Body, st.HasBody, st.Encrypted = "This message is OMEMO encrypted.", true, true
	case r < 91:
		st.CallProposal = true
	}
	return st
}

func (u *user) remember(st events.Stanza) {
	if len(u.unacked) == 4 {
		u.unacked = slices.Delete(u.unacked, 0, 1)
	}
	u.unacked = append(u.unacked, st)
}

// act performs one random action of the simulated server: 60% messages,
// 40% changes of the user's sessions.
func (s *sim) act(ctx context.Context) {
	u := s.pick()
	now := s.now()
	if s.rng.IntN(100) < 60 {
		st := s.message(u)
		archived := st.HasBody || st.CallProposal
		switch {
		case u.phoneState == hibernating:
			s.handle(ctx, events.StanzaQueued{Now: now, Session: u.phone, Stanza: st})
			u.remember(st)
		case u.phoneState == online:
			if s.rng.IntN(10) < 3 { // not acknowledged yet
				u.remember(st)
			}
		case !u.desktopOnline:
			if archived {
				s.handle(ctx, events.OfflineMessage{Now: now, User: u.bare, Stanza: st})
			}
			return
		}
		if archived {
			s.handle(ctx, events.MessageArchived{Now: now, User: u.bare, Stanza: st})
		}
		return
	}
	r := s.rng.IntN(100)
	if r >= 70 { // the desktop comes or goes
		if u.desktopOnline {
			s.handle(ctx, events.SessionClosed{Now: now, Session: u.desktop})
		} else {
			s.handle(ctx, events.SessionOpened{Now: now, Session: u.desktop})
		}
		u.desktopOnline = !u.desktopOnline
		return
	}
	switch u.phoneState {
	case online:
		switch {
		case r < 40:
			s.handle(ctx, events.HibernationStarted{Now: now, Session: u.phone, Queue: slices.Clone(u.unacked)})
			u.phoneState = hibernating
		case r < 60:
			if len(u.unacked) > 0 {
				s.handle(ctx, events.AckDelayed{Now: now, Session: u.phone, Queue: slices.Clone(u.unacked)})
				u.unacked = u.unacked[:0]
			}
		default:
			s.handle(ctx, events.SessionClosed{Now: now, Session: u.phone})
			u.phoneState, u.unacked = closed, u.unacked[:0]
		}
	case hibernating:
		if r < 45 {
			s.handle(ctx, events.HibernationEnded{Now: now, Session: u.phone})
			u.phoneState, u.unacked = online, u.unacked[:0]
			return
		}
		// The hibernation runs out: the session is destroyed and its
		// unacknowledged stanzas are stored offline, with the same Keys.
		s.handle(ctx, events.SessionClosed{Now: now, Session: u.phone})
		u.phoneState = closed
		if !u.desktopOnline {
			for _, st := range u.unacked {
				s.handle(ctx, events.OfflineMessage{Now: now, User: u.bare, Stanza: st})
			}
		}
		u.unacked = u.unacked[:0]
	case closed:
		s.open(ctx, u)
	}
}

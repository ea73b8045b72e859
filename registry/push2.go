package registry

import (
	"log/slog"
	"strings"
)

// A Push 2.0 (urn:xmpp:push2:0) registration is an ordinary Registration
// whose Push2 holds the client's <enable/> and whose ID is
// Push2Identifier(service, client): the push service as its JID and the
// client that made it (its XEP-0388 client id, else the resource of the
// enabling session) behind a mark in its node. Every Store method, and
// every capability, serves both kinds alike; a user's registrations of
// both kinds share one order and one device limit.

// push2Mark starts the node of a Push 2.0 registration's Identifier: the
// character U+0001, which XML cannot carry (so no node of a XEP-0357
// <enable/> holds it) and which SQL text columns store as it is.
const push2Mark = "\x01"

// Push2Identifier is the Identifier of the Push 2.0 registration of
// client with the push service: the service as its JID (the service's
// answers are checked against it) and a node no XEP-0357 <enable/> can
// give. Distinct (service, client) pairs have distinct identifiers.
func Push2Identifier(service, client string) Identifier {
	return NewIdentifier(service, push2Mark+client)
}

// Push2Client returns the client of a Push2Identifier; ok is false for
// the Identifier of a XEP-0357 registration.
func (id Identifier) Push2Client() (client string, ok bool) {
	if strings.IndexByte(string(id), push2Mark[0]) < 0 {
		return "", false // the common case, without splitting
	}
	return strings.CutPrefix(id.Node(), push2Mark)
}

// logValue renders a Push 2.0 identifier's pair as "jid" and "client".
func (id Identifier) logValue() (slog.Value, bool) {
	client, ok := id.Push2Client()
	if !ok {
		return slog.Value{}, false
	}
	return slog.GroupValue(slog.String("jid", id.JID()), slog.String("client", client)), true
}

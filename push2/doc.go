// Package push2 holds the protocol pieces of Push 2.0 (urn:xmpp:push2:0), the
// push design from the XMPP Summit 25 that Prosody's community module
// mod_push2 implements: parsing a client's <enable/> and <disable/>,
// deciding whether a stanza matches a registration, building the XEP-0420
// envelope of a stanza cut down to the push service's size limit,
// encrypting it for the device (RFC 8291, aes128gcm), signing a VAPID token
// (RFC 8292), and writing the <notification/> message sent to the push
// service, as well as reading the service's error answers.
//
// The package decides nothing about when to push: triggers, batching,
// deduplication and the grace period belong to the engine that calls it.
// Every function is safe for concurrent use; no function reads a clock (the
// time is always a parameter). The one state kept between calls is
// AppendPush's bounded cache of VAPID tokens, which changes no result but
// the signature bytes (see AppendPush).
//
// Secrets (the device's auth secret, the VAPID signing key, the ephemeral
// ECDH keys) never appear in an error text or in the output of the fmt
// verbs: AuthSecret and SigningKey print as "[redacted]". They do appear in
// the JSON of a Request, which is meant for the host's store.
//
// Errors: ParseRequest answers a client's request, so its errors are
// *events.StanzaError values to send back as they are. The other functions
// return errors that wrap one of the Error constants below (test with
// errors.Is).
package push2

// Namespaces of the wire format (the match and send profiles are the
// String of MatchProfile and SendProfile values).
const (
	NS         = "urn:xmpp:push2:0"
	nsSCE      = "urn:xmpp:sce:1"
	nsRFC8291  = "urn:xmpp:sce:rfc8291:0"
	nsForward  = "urn:xmpp:forward:0"
	nsStanzas  = "urn:ietf:params:xml:ns:xmpp-stanzas"
	nsClient   = "jabber:client"
	nsServer   = "jabber:server"
	nsSID      = "urn:xmpp:sid:0"
	nsJMI0     = "urn:xmpp:jingle-message:0"
	nsJMI1     = "urn:xmpp:jingle-message:1"
	nsConf     = "jabber:x:conference"
	matchURN   = "urn:xmpp:push2:match:"
	sendURNEnc = "urn:xmpp:push2:send:sce+rfc8291+rfc8292:0"
	sendURNNo  = "urn:xmpp:push2:send:notify-only:0"
)

// Error is the type of the error constants of the package's API calls (not
// ParseRequest, which answers with *events.StanzaError). Returned errors
// wrap one of the constants, with detail that never includes a secret:
// test them with errors.Is.
type Error string

// Error returns the text of the constant.
func (e Error) Error() string { return string(e) }

// The errors of the package's API calls.
const (
	// ErrKey: a key or secret has the wrong size or is not a valid P-256
	// key.
	ErrKey Error = "push2: invalid key"
	// ErrRandom: the random source failed.
	ErrRandom Error = "push2: random source failed"
	// ErrStanza: the stanza given to AppendEnvelope or AppendPush is not a
	// single well-formed <message/> the scanner accepts.
	ErrStanza Error = "push2: stanza is not a message the scanner accepts"
	// ErrTooLarge: the envelope exceeds the cap even after every
	// minimisation step, or the cap exceeds one RFC 8188 record.
	ErrTooLarge Error = "push2: envelope too large"
	// ErrRequest: a Request (built by hand or decoded from JSON) is not one
	// ParseRequest could have returned.
	ErrRequest Error = "push2: invalid request"
	// ErrReply: data given to ParseErrorReply is not a message error reply.
	ErrReply Error = "push2: not a message error reply"
)

package events

import "strings"

// Kind is the top-level element of a stanza.
type Kind uint8

// The kinds of stanza. KindOther is anything that is not one of the three
// XMPP stanzas (a nonza, or an element the parser does not know).
const (
	KindOther Kind = iota
	KindMessage
	KindPresence
	KindIQ
)

// String returns the element name of the kind ("message", "presence", "iq")
// or "other".
func (k Kind) String() string {
	switch k {
	case KindMessage:
		return "message"
	case KindPresence:
		return "presence"
	case KindIQ:
		return "iq"
	}
	return "other"
}

// Carbon says whether a message is a XEP-0280 carbon copy, and of which
// direction.
type Carbon uint8

// Carbon directions. For a carbon, the Stanza's addresses, body and payload
// flags are those of the forwarded message.
const (
	NotCarbon Carbon = iota
	CarbonReceived
	CarbonSent
)

// Key is the identity of one stanza across the paths it takes through the
// host (its smacks queue, the archive, offline storage): the rules push a
// stanza at most once to each registration, and they recognise "the same
// stanza" by its Key. Hosts choose keys; two different stanzas of one user
// must not share a non-zero key within the deduplication window (see
// push.Config). A good key is a hash of the archive's stanza-id, or a
// counter the host stamps on each stanza when it first routes it. The zero
// Key means "no identity": such a stanza is never recognised again.
type Key uint64

// KeyOf derives a Key from a stanza identity the host already has, such as
// the archive's stanza-id (XEP-0359) or its own routing id: a 64-bit FNV-1a
// hash of id, never 0 for a non-empty id. KeyOf("") is 0, "no identity".
func KeyOf(id string) Key {
	if id == "" {
		return 0
	}
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	if h == 0 {
		h = 1
	}
	return Key(h)
}

// Bounds of the lists of a Stanza: what is beyond them is left out.
const (
	maxMentions  = 8 // entries of Extra.Mentions
	maxCallMedia = 4 // entries of Extra.CallMedia
)

// Stanza holds the facts the rules need about one stanza. Parse it from XML
// with ParseStanza or DecodeStanza, or fill it in from the host's
// own stanza representation. Strings are referenced, not copied: a Stanza
// handed to the engine may be kept (in a pending batch) until it is pushed or
// discarded, so it must not point into buffers the host reuses.
//
// A Stanza is copied into every batch it joins, so it holds only what
// every stanza has (96 bytes); the facts few stanzas carry (mentions,
// replies, calls, the raw XML) are in Extra, nil when there are none.
type Stanza struct {
	// Key identifies the stanza across paths; 0 means none.
	Key Key
	// Type is the type attribute ("chat", "groupchat", "headline", "error",
	// ...; "" when absent). For a carbon, that of the forwarded message.
	Type string
	// From and To are the addresses. For a carbon, those of the forwarded
	// message.
	From, To string
	// Body is the text of the first <body/>; HasBody says whether there is
	// one at all (an empty <body/> gives HasBody true and Body "").
	Body string
	// Kind is message, presence, iq or other.
	Kind Kind
	// Carbon is the carbon direction; NotCarbon for an ordinary stanza.
	Carbon  Carbon
	HasBody bool
	// HasSubject is set when the message carries a <subject/> (even empty).
	HasSubject bool
	// MUCMention is set for a MUC mention notification (urn:xmpp:mmn:0): a
	// message a room sends to a member it mentions, holding a <mentions/>
	// whose <forwarded/> (urn:xmpp:forward:0) holds the groupchat message.
	// Like a carbon it is unwrapped: Type ("groupchat"), the addresses, the
	// body and the payload flags are those of the forwarded message. A
	// <mentions/> forwarding anything but a groupchat message is no
	// mention: the wrapper is classified. A carbon or a mention, whichever
	// comes complete first, is unwrapped; not both.
	MUCMention bool
	// StanzaID is set when the message carries a XEP-0359 <stanza-id/>
	// (urn:xmpp:sid:0): an archive has stored it.
	StanzaID bool
	// Encrypted is set when the message carries an encrypted payload a
	// person will read: OMEMO (eu.siacs.conversations.axolotl or
	// urn:xmpp:omemo:0) with a <payload/>, XEP-0027 jabber:x:encrypted, or
	// XEP-0373 urn:xmpp:openpgp:0. An OMEMO key transport (no payload) is
	// not Encrypted.
	Encrypted bool
	// CallProposal is set for a XEP-0353 <propose/> in
	// urn:xmpp:jingle-message:0 or :1.
	CallProposal bool
	// CallEnd is set for a XEP-0353 <retract/> or <reject/>: a call that
	// stops ringing. It is not Important, but it concerns whoever got the
	// proposal.
	CallEnd bool
	// Correction is set for a XEP-0308 <replace/>.
	Correction bool
	// Retraction is set for a XEP-0424 <retract/> in
	// urn:xmpp:message-retract:0 or :1, also inside a XEP-0422 <apply-to/>.
	Retraction bool
	// Reaction is set for a XEP-0444 <reactions/>.
	Reaction bool
	// SenderUnknown is set when the sender is not in the user's roster:
	// the push engine sets it, from its Roster, on the stanzas that reach
	// a registration with the ignore-unknown filter, which drops them. A
	// host may set it itself; the parsers never do.
	SenderUnknown bool
	// Extra holds the facts few stanzas carry; nil when the stanza has
	// none of them. The parsers allocate it only for such a stanza. It is
	// shared, not copied, by the copies of the Stanza the engine keeps:
	// do not change it after handing the Stanza over.
	Extra *Extra
}

// Extra holds the facts of a Stanza that few stanzas carry. A field that
// does not apply is "".
type Extra struct {
	// Mentions lists the JIDs of the message's first 8 XEP-0372
	// mentions (<reference type='mention' uri='xmpp:JID'/> in
	// urn:xmpp:reference:0), in order, separated by "\n" (which no JID
	// holds). A URI counts when it is an xmpp: URI without authority whose
	// path, percent-decoded (query and fragment dropped), is a valid JID.
	// Stanza.Mentioned tests for one JID.
	Mentions string
	// ReplyTo is the to attribute of a XEP-0461 <reply/>
	// (urn:xmpp:reply:0), the author of the message answered.
	ReplyTo string
	// CallID is the id of the XEP-0353 <propose/>, <retract/>, <reject/>,
	// <accept/> or <proceed/> (the first such element's).
	CallID string
	// CallMedia lists the media of the <description/> children of a
	// <propose/>, the first 4 of them, in order, separated by
	// spaces ("audio", "audio video"); a media attribute that is empty or
	// holds white space is left out.
	CallMedia string
	// Raw is the stanza's own XML (one <message/>), which a Push 2.0
	// notification forwards, encrypted, to the device. ParseStanza and
	// DecodeStanza leave it empty (they copy nothing): a host with Push 2.0
	// devices sets it (Extra.Raw = string(data)) on the stanzas it hands to
	// the engine, which keeps it as long as it keeps the Stanza. A Push 2.0
	// device with an encrypted send gets no notification for a stanza
	// without Raw (rendering it fails with push2.ErrStanza).
	Raw string
}

// Extras returns s.Extra's facts, all "" when s.Extra is nil.
func (s *Stanza) Extras() Extra {
	if s.Extra == nil {
		return Extra{}
	}
	return *s.Extra
}

// Mentioned reports whether addr is one of s.Extra.Mentions, compared exactly
// (normalise both sides first if you need to).
func (s *Stanza) Mentioned(addr string) bool {
	if addr == "" {
		return false
	}
	if s.Extra == nil {
		return false
	}
	for m := range strings.SplitSeq(s.Extra.Mentions, "\n") {
		if m == addr {
			return true
		}
	}
	return false
}

// Important reports whether a person should see the stanza now: a message
// that is not a headline, a sent carbon, a correction, a retraction or a
// reaction, and that carries an encrypted payload, a call proposal, or a
// non-empty body; a groupchat message with a subject is important only for an
// encrypted payload or a call proposal. A MUC mention is judged as its
// groupchat message: important with a body, unless it corrects, retracts
// or reacts. The end of a call is not important. Presences, IQs and
// everything else are not important.
func (s *Stanza) Important() bool {
	if s.Kind != KindMessage || s.Type == "headline" || s.Carbon == CarbonSent {
		return false
	}
	if s.Correction || s.Retraction || s.Reaction {
		return false
	}
	if s.Encrypted || s.CallProposal {
		return true
	}
	if s.Type == "groupchat" && s.HasSubject {
		return false
	}
	return s.Body != ""
}

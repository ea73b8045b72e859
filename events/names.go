package events

// The names the classifier (classify.go) knows. It only ever looks at the
// names in these lists; every other name or namespace is nameOther or
// nsOther.

type nsID uint8

const (
	nsOther nsID = iota
	nsNone       // no namespace at all
	nsClient
	nsServer
	nsComponent
	nsForward
	nsCarbons
	nsMMN
	nsAxolotl
	nsOMEMO0
	nsXEncrypted
	nsOpenPGP
	nsJMI0
	nsJMI1
	nsCorrect
	nsRetract0
	nsRetract1
	nsFasten
	nsReactions
	nsSID
	nsReference
	nsReply
)

// isStanzaNS reports whether a message and its <body/> or <subject/> in
// namespace ns count as such.
func isStanzaNS(ns nsID) bool {
	return ns >= nsNone && ns <= nsForward
}

func lookupNS[T string | []byte](s T) nsID {
	switch string(s) {
	case "":
		return nsNone
	case "jabber:client":
		return nsClient
	case "jabber:server":
		return nsServer
	case "jabber:component:accept":
		return nsComponent
	case "urn:xmpp:forward:0":
		return nsForward
	case "urn:xmpp:carbons:2":
		return nsCarbons
	case "urn:xmpp:mmn:0":
		return nsMMN
	case "eu.siacs.conversations.axolotl":
		return nsAxolotl
	case "urn:xmpp:omemo:0":
		return nsOMEMO0
	case "jabber:x:encrypted":
		return nsXEncrypted
	case "urn:xmpp:openpgp:0":
		return nsOpenPGP
	case "urn:xmpp:jingle-message:0":
		return nsJMI0
	case "urn:xmpp:jingle-message:1":
		return nsJMI1
	case "urn:xmpp:message-correct:0":
		return nsCorrect
	case "urn:xmpp:message-retract:0":
		return nsRetract0
	case "urn:xmpp:message-retract:1":
		return nsRetract1
	case "urn:xmpp:fasten:0":
		return nsFasten
	case "urn:xmpp:reactions:0":
		return nsReactions
	case "urn:xmpp:sid:0":
		return nsSID
	case "urn:xmpp:reference:0":
		return nsReference
	case "urn:xmpp:reply:0":
		return nsReply
	}
	return nsOther
}

type nameID uint8

const (
	nameOther nameID = iota
	nameMessage
	namePresence
	nameIQ
	nameBody
	nameSubject
	nameReceived
	nameSent
	nameMentions
	nameForwarded
	nameEncrypted
	namePayload
	nameX
	nameOpenPGP
	namePropose
	nameReject
	nameAccept
	nameProceed
	nameDescription
	nameReplace
	nameRetract
	nameApplyTo
	nameReactions
	nameStanzaID
	nameReference
	nameReply
)

func lookupName[T string | []byte](s T) nameID {
	switch string(s) {
	case "message":
		return nameMessage
	case "presence":
		return namePresence
	case "iq":
		return nameIQ
	case "body":
		return nameBody
	case "subject":
		return nameSubject
	case "received":
		return nameReceived
	case "sent":
		return nameSent
	case "mentions":
		return nameMentions
	case "forwarded":
		return nameForwarded
	case "encrypted":
		return nameEncrypted
	case "payload":
		return namePayload
	case "x":
		return nameX
	case "openpgp":
		return nameOpenPGP
	case "propose":
		return namePropose
	case "reject":
		return nameReject
	case "accept":
		return nameAccept
	case "proceed":
		return nameProceed
	case "description":
		return nameDescription
	case "replace":
		return nameReplace
	case "retract":
		return nameRetract
	case "apply-to":
		return nameApplyTo
	case "reactions":
		return nameReactions
	case "stanza-id":
		return nameStanzaID
	case "reference":
		return nameReference
	case "reply":
		return nameReply
	}
	return nameOther
}

type attrID uint8

const (
	attrOther attrID = iota
	attrType
	attrFrom
	attrTo
	attrIdent
	attrURI
	attrMedia
)

func lookupAttr[T string | []byte](s T) attrID {
	switch string(s) {
	case "type":
		return attrType
	case "from":
		return attrFrom
	case "to":
		return attrTo
	case "id":
		return attrIdent
	case "uri":
		return attrURI
	case "media":
		return attrMedia
	}
	return attrOther
}

// intern returns the common stanza types and call media without
// allocating.
func intern(b []byte) (string, bool) {
	switch string(b) {
	case "":
		return "", true
	case "chat":
		return "chat", true
	case "groupchat":
		return "groupchat", true
	case "headline":
		return "headline", true
	case "normal":
		return "normal", true
	case "error":
		return "error", true
	case "get":
		return "get", true
	case "set":
		return "set", true
	case "result":
		return "result", true
	case "unavailable":
		return "unavailable", true
	case "subscribe":
		return "subscribe", true
	case "subscribed":
		return "subscribed", true
	case "unsubscribe":
		return "unsubscribe", true
	case "unsubscribed":
		return "unsubscribed", true
	case "probe":
		return "probe", true
	case "audio":
		return "audio", true
	case "video":
		return "video", true
	}
	return "", false
}

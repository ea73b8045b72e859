package events

import "strings"

const (
	romeo  = "romeo@montague.example/orchard"
	juliet = "juliet@example.org/phone"
)

// chat wraps inner in a chat message from romeo to juliet.
func chat(inner string) string {
	return "<message from='" + romeo + "' to='" + juliet + "' type='chat' id='m1'>" + inner + "</message>"
}

// chatWant is what chat gives before its inner part is looked at.
var chatWant = Stanza{Kind: KindMessage, Type: "chat", From: romeo, To: juliet}

// with returns s changed by f.
func with(s Stanza, f func(*Stanza)) Stanza {
	f(&s)
	return s
}

type parseCase struct {
	name      string
	xml       string
	want      Stanza
	important bool
}

// classificationCases are DESIGN.md's "Important stanzas" and the
// verified table of the reference's section E, and then the corners of
// the parser.
var classificationCases = []parseCase{
	{"chat with body", chat("<body>Hello</body>"),
		with(chatWant, func(s *Stanza) { s.Body, s.HasBody = "Hello", true }), true},
	{"normal without type",
		"<message from='" + romeo + "' to='" + juliet + "'><body>Hello</body></message>",
		Stanza{Kind: KindMessage, From: romeo, To: juliet, Body: "Hello", HasBody: true}, true},
	{"empty body", chat("<body/>"),
		with(chatWant, func(s *Stanza) { s.HasBody = true }), false},
	{"empty body with end tag", chat("<body></body>"),
		with(chatWant, func(s *Stanza) { s.HasBody = true }), false},
	{"whitespace body", chat("<body> </body>"),
		with(chatWant, func(s *Stanza) { s.Body, s.HasBody = " ", true }), true},
	{"chat state only", chat("<active xmlns='http://jabber.org/protocol/chatstates'/>"),
		chatWant, false},
	{"receipt", chat("<received xmlns='urn:xmpp:receipts' id='m0'/>"), chatWant, false},
	{"marker", chat("<displayed xmlns='urn:xmpp:chat-markers:0' id='m0'/>"), chatWant, false},
	{"omemo axolotl with payload",
		chat("<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'><key rid='2'>MwohBR5D</key><iv>cjQ3a2F0</iv></header><payload>q3ZWtVpR</payload></encrypted><store xmlns='urn:xmpp:hints'/>"),
		with(chatWant, func(s *Stanza) { s.Encrypted = true }), true},
	{"omemo:0 with payload and fallback body",
		chat("<encrypted xmlns='urn:xmpp:omemo:0'><header sid='1'><key rid='2'>MwohBR5D</key><iv>cjQ3a2F0</iv></header><payload>q3ZWtVpR</payload></encrypted><body>I sent you an OMEMO encrypted message.</body>"),
		with(chatWant, func(s *Stanza) {
			s.Encrypted, s.Body, s.HasBody = true, "I sent you an OMEMO encrypted message.", true
		}), true},
	{"omemo key transport without payload",
		chat("<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'><key rid='2'>MwohBR5D</key><iv>cjQ3a2F0</iv></header></encrypted>"),
		chatWant, false},
	{"omemo:0 key transport without payload",
		chat("<encrypted xmlns='urn:xmpp:omemo:0'><header sid='1'><key rid='2'>MwohBR5D</key></header></encrypted>"),
		chatWant, false},
	{"omemo:2 is not recognised",
		chat("<encrypted xmlns='urn:xmpp:omemo:2'><header sid='1'/><payload>q3ZWtVpR</payload></encrypted>"),
		chatWant, false},
	{"omemo payload in another namespace",
		chat("<encrypted xmlns='eu.siacs.conversations.axolotl'><payload xmlns='urn:example'>q3ZW</payload></encrypted>"),
		chatWant, false},
	{"omemo payload too deep",
		chat("<encrypted xmlns='urn:xmpp:omemo:0'><header><payload>q3ZW</payload></header></encrypted>"),
		chatWant, false},
	{"jabber:x:encrypted", chat("<x xmlns='jabber:x:encrypted'>BASE64</x>"),
		with(chatWant, func(s *Stanza) { s.Encrypted = true }), true},
	{"openpgp", chat("<openpgp xmlns='urn:xmpp:openpgp:0'>BASE64</openpgp>"),
		with(chatWant, func(s *Stanza) { s.Encrypted = true }), true},
	{"eme hint only", chat("<encryption xmlns='urn:xmpp:eme:0' namespace='urn:xmpp:otr:0'/>"),
		chatWant, false},
	{"muc x is not encryption", chat("<x xmlns='http://jabber.org/protocol/muc#user'/>"),
		chatWant, false},
	{"jmi:0 propose",
		chat("<propose xmlns='urn:xmpp:jingle-message:0' id='call1'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose>"),
		with(chatWant, func(s *Stanza) { s.CallProposal, extra(s).CallID, extra(s).CallMedia = true, "call1", "audio" }), true},
	{"jmi:0 retract", chat("<retract xmlns='urn:xmpp:jingle-message:0' id='call1'/>"),
		with(chatWant, func(s *Stanza) { s.CallEnd, extra(s).CallID = true, "call1" }), false},
	{"jmi:1 propose",
		chat("<propose xmlns='urn:xmpp:jingle-message:1' id='call1'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'/></propose>"),
		with(chatWant, func(s *Stanza) { s.CallProposal, extra(s).CallID, extra(s).CallMedia = true, "call1", "video" }), true},
	{"jmi:1 propose with audio, video and odd media",
		chat("<propose xmlns='urn:xmpp:jingle-message:1' id='c&amp;2'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>" +
			"<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'/><description media='screen'/><x media='no'/><description/>" +
			"<description media='a b'/><description media=''/><description media='6'/><description media='7'/></propose>"),
		with(chatWant, func(s *Stanza) {
			s.CallProposal, extra(s).CallID, extra(s).CallMedia = true, "c&2", "audio video screen 6"
		}), true},
	{"jmi:1 reject", chat("<reject xmlns='urn:xmpp:jingle-message:1' id='call1'/>"),
		with(chatWant, func(s *Stanza) { s.CallEnd, extra(s).CallID = true, "call1" }), false},
	{"jmi:1 accept and proceed are no end", chat("<accept xmlns='urn:xmpp:jingle-message:1' id='a1'/><proceed xmlns='urn:xmpp:jingle-message:1' id='p1'/>"),
		with(chatWant, func(s *Stanza) { extra(s).CallID = "a1" }), false},
	{"jmi in another namespace", chat("<propose xmlns='urn:xmpp:jingle-message:2' id='c'/><reject xmlns='urn:example' id='d'/>"),
		chatWant, false},
	{"jmi propose without id, media on a deeper element",
		chat("<propose xmlns='urn:xmpp:jingle-message:0'><group><description media='audio'/></group></propose>"),
		with(chatWant, func(s *Stanza) { s.CallProposal = true }), true},
	{"message-retract is not a call end", chat("<retract xmlns='urn:xmpp:message-retract:1' id='m0'/>"),
		with(chatWant, func(s *Stanza) { s.Retraction = true }), false},
	{"stanza-id", chat("<body>Hi</body><stanza-id xmlns='urn:xmpp:sid:0' id='5f1a' by='juliet@example.org'/>"),
		with(chatWant, func(s *Stanza) { s.Body, s.HasBody, s.StanzaID = "Hi", true, true }), true},
	{"origin-id is no stanza-id", chat("<body>Hi</body><origin-id xmlns='urn:xmpp:sid:0' id='x'/><stanza-id xmlns='urn:example' id='y'/>"),
		with(chatWant, func(s *Stanza) { s.Body, s.HasBody = "Hi", true }), true},
	{"mentions",
		"<message type='groupchat' from='room@muc.example/romeo'><body>juliet, nurse: hi</body>" +
			"<reference xmlns='urn:xmpp:reference:0' begin='0' end='6' type='mention' uri='xmpp:juliet@capulet.example'/>" +
			"<reference xmlns='urn:xmpp:reference:0' uri='xmpp:nurse%40capulet.example/k%C3%BCche?message' type='mention'/>" +
			"<reference xmlns='urn:xmpp:reference:0' type='data' uri='xmpp:not@mention.example'/>" +
			"<reference xmlns='urn:xmpp:reference:0' type='mention' uri='https://example.org/juliet'/>" +
			"<reference xmlns='urn:xmpp:reference:0' type='mention' uri='xmpp://auth@example.org/x@y'/>" +
			"<reference xmlns='urn:xmpp:reference:0' type='mention' uri='xmpp:bad%4'/>" +
			"<reference xmlns='urn:xmpp:reference:0' type='mention' uri='xmpp:@nolocal'/>" +
			"<reference xmlns='urn:xmpp:reference:0' type='mention'/>" +
			"<reference type='mention' uri='xmpp:nons@example.org'/>" +
			"<reference xmlns='urn:xmpp:reference:0' type='mention' uri='xmpp:room@muc.example#frag'/></message>",
		Stanza{Kind: KindMessage, Type: "groupchat", From: "room@muc.example/romeo", Body: "juliet, nurse: hi", HasBody: true,
			Extra: &Extra{Mentions: "juliet@capulet.example\nnurse@capulet.example/küche\nroom@muc.example"}}, true},
	{"at most maxMentions mentions",
		chat(strings.Repeat("<reference xmlns='urn:xmpp:reference:0' type='mention' uri='xmpp:a@b'/>", maxMentions+2)),
		with(chatWant, func(s *Stanza) { extra(s).Mentions = strings.TrimSuffix(strings.Repeat("a@b\n", maxMentions), "\n") }), false},
	{"reply", chat("<reply xmlns='urn:xmpp:reply:0' to='romeo@montague.example/orchard' id='m0'/><body>Yes</body>"),
		with(chatWant, func(s *Stanza) { s.Body, s.HasBody, extra(s).ReplyTo = "Yes", true, romeo }), true},
	{"reply in another namespace", chat("<reply xmlns='urn:example' to='x'/>"), chatWant, false},
	{"the first of repeated attributes counts",
		chat("<reference xmlns='urn:xmpp:reference:0' type='' type='mention' uri='xmpp:a@b'/><reference xmlns='urn:xmpp:reference:0' type='mention' uri='' uri='xmpp:c@d'/>" +
			"<reply xmlns='urn:xmpp:reply:0' to='' to='x@y'/><retract xmlns='urn:xmpp:jingle-message:0' id='' id='c2'/>"),
		with(chatWant, func(s *Stanza) { s.CallEnd = true }), false},
	{"muc mention",
		"<message from='room@muc.example' to='juliet@capulet.example'><mentions xmlns='urn:xmpp:mmn:0'><forwarded xmlns='urn:xmpp:forward:0'>" +
			"<message xmlns='jabber:client' type='groupchat' from='room@muc.example/romeo' to='room@muc.example' id='g1'>" +
			"<body>juliet?</body><stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='room@muc.example'/>" +
			"<reference xmlns='urn:xmpp:reference:0' type='mention' uri='xmpp:room@muc.example/juliet'/></message></forwarded></mentions></message>",
		Stanza{Kind: KindMessage, Type: "groupchat", From: "room@muc.example/romeo", To: "room@muc.example", Body: "juliet?", HasBody: true,
			MUCMention: true, StanzaID: true, Extra: &Extra{Mentions: "room@muc.example/juliet"}}, true},
	{"muc mention of a correction",
		"<message from='room@muc.example'><mentions xmlns='urn:xmpp:mmn:0'><forwarded xmlns='urn:xmpp:forward:0'>" +
			"<message type='groupchat' from='room@muc.example/romeo'><body>juliet!</body><replace xmlns='urn:xmpp:message-correct:0' id='g1'/></message></forwarded></mentions></message>",
		Stanza{Kind: KindMessage, Type: "groupchat", From: "room@muc.example/romeo", Body: "juliet!", HasBody: true, MUCMention: true, Correction: true}, false},
	{"muc mention of a subject change",
		"<message from='room@muc.example'><mentions xmlns='urn:xmpp:mmn:0'><forwarded xmlns='urn:xmpp:forward:0'>" +
			"<message type='groupchat'><subject>juliet</subject><body>x</body></message></forwarded></mentions></message>",
		Stanza{Kind: KindMessage, Type: "groupchat", Body: "x", HasBody: true, HasSubject: true, MUCMention: true}, false},
	{"muc mention without body",
		"<message from='room@muc.example'><mentions xmlns='urn:xmpp:mmn:0'><forwarded xmlns='urn:xmpp:forward:0'>" +
			"<message type='groupchat'><reactions xmlns='urn:xmpp:reactions:0' id='g1'><reaction>x</reaction></reactions></message></forwarded></mentions></message>",
		Stanza{Kind: KindMessage, Type: "groupchat", MUCMention: true, Reaction: true}, false},
	{"mentions forwarding a chat message is no mention",
		"<message from='room@muc.example' type='normal'><mentions xmlns='urn:xmpp:mmn:0'><forwarded xmlns='urn:xmpp:forward:0'>" +
			"<message type='chat' from='x'><body>hi</body></message></forwarded></mentions></message>",
		Stanza{Kind: KindMessage, Type: "normal", From: "room@muc.example"}, false},
	{"mentions in another namespace",
		"<message from='room@muc.example'><mentions xmlns='urn:xmpp:mmn:1'><forwarded xmlns='urn:xmpp:forward:0'>" +
			"<message type='groupchat'><body>hi</body></message></forwarded></mentions></message>",
		Stanza{Kind: KindMessage, From: "room@muc.example"}, false},
	{"a carbon before a mention wins",
		"<message><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message type='chat' from='a'><body>1</body></message></forwarded></received>" +
			"<mentions xmlns='urn:xmpp:mmn:0'><forwarded xmlns='urn:xmpp:forward:0'><message type='groupchat' from='b'><body>2</body></message></forwarded></mentions></message>",
		Stanza{Kind: KindMessage, Type: "chat", From: "a", Body: "1", HasBody: true, Carbon: CarbonReceived}, true},
	{"headline with body",
		"<message from='news.example' to='" + juliet + "' type='headline'><body>News</body></message>",
		Stanza{Kind: KindMessage, Type: "headline", From: "news.example", To: juliet, Body: "News", HasBody: true}, false},
	{"error with body",
		"<message from='" + romeo + "' to='" + juliet + "' type='error' id='m1'><body>Hello</body><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
		Stanza{Kind: KindMessage, Type: "error", From: romeo, To: juliet, Body: "Hello", HasBody: true}, true},
	{"presence",
		"<presence from='" + romeo + "' to='" + juliet + "'><show>away</show></presence>",
		Stanza{Kind: KindPresence, From: romeo, To: juliet}, false},
	{"presence with a body child is not a message",
		"<presence type='unavailable'><body>bye</body></presence>",
		Stanza{Kind: KindPresence, Type: "unavailable"}, false},
	{"iq",
		"<iq from='" + romeo + "' to='" + juliet + "' type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>",
		Stanza{Kind: KindIQ, Type: "get", From: romeo, To: juliet}, false},
	{"other element", "<r xmlns='urn:xmpp:sm:3'/>", Stanza{}, false},
	{"received carbon",
		"<message from='juliet@example.org' to='" + juliet + "' type='chat'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='" + romeo + "' to='juliet@example.org/desktop' type='chat' id='m1'><body>Hello</body></message></forwarded></received></message>",
		Stanza{Kind: KindMessage, Type: "chat", From: romeo, To: "juliet@example.org/desktop", Body: "Hello", HasBody: true, Carbon: CarbonReceived}, true},
	{"sent carbon",
		"<message from='juliet@example.org' to='" + juliet + "' type='chat'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='juliet@example.org/desktop' to='" + romeo + "' type='chat' id='m2'><body>Hi there</body></message></forwarded></sent></message>",
		Stanza{Kind: KindMessage, Type: "chat", From: "juliet@example.org/desktop", To: romeo, Body: "Hi there", HasBody: true, Carbon: CarbonSent}, false},
	{"carbon of a message without explicit xmlns",
		"<message from='juliet@example.org' to='" + juliet + "'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2024-01-01T00:00:00Z'/><message from='" + romeo + "' to='juliet@example.org' type='normal'><body>Hello</body><encrypted xmlns='urn:xmpp:omemo:0'><payload>x</payload></encrypted></message></forwarded></received></message>",
		Stanza{Kind: KindMessage, Type: "normal", From: romeo, To: "juliet@example.org", Body: "Hello", HasBody: true, Carbon: CarbonReceived, Encrypted: true}, true},
	{"carbon with prefixes",
		"<message xmlns='jabber:client' xmlns:c='urn:xmpp:carbons:2' xmlns:f='urn:xmpp:forward:0' from='juliet@example.org' to='" + juliet + "'><c:received><f:forwarded><message from='" + romeo + "' type='chat'><body>Hi</body></message></f:forwarded></c:received></message>",
		Stanza{Kind: KindMessage, Type: "chat", From: romeo, Body: "Hi", HasBody: true, Carbon: CarbonReceived}, true},
	{"incomplete carbon classifies the wrapper",
		"<message from='juliet@example.org' to='" + juliet + "' type='chat'><received xmlns='urn:xmpp:carbons:2'><message xmlns='jabber:client' from='" + romeo + "'><body>Hello</body></message></received><body>outer</body></message>",
		Stanza{Kind: KindMessage, Type: "chat", From: "juliet@example.org", To: juliet, Body: "outer", HasBody: true}, true},
	{"carbon forwarding a foreign message is no carbon",
		"<message from='juliet@example.org' type='chat'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='urn:example' from='" + romeo + "'><body>Hi</body></message></forwarded></sent></message>",
		Stanza{Kind: KindMessage, Type: "chat", From: "juliet@example.org"}, false},
	{"carbon in another namespace is no carbon",
		"<message from='juliet@example.org' type='chat'><sent xmlns='urn:xmpp:carbons:1'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='" + romeo + "'><body>Hi</body></message></forwarded></sent></message>",
		Stanza{Kind: KindMessage, Type: "chat", From: "juliet@example.org"}, false},
	{"first complete carbon wins",
		"<message><sent xmlns='urn:xmpp:carbons:2'/><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='a'><body>1</body></message><message xmlns='jabber:client' from='b'><body>2</body></message></forwarded></received><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='c'><body>3</body></message></forwarded></sent></message>",
		Stanza{Kind: KindMessage, From: "a", Body: "1", HasBody: true, Carbon: CarbonReceived}, true},
	{"wrapper flags do not count for a carbon",
		"<message type='chat'><replace xmlns='urn:xmpp:message-correct:0' id='x'/><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' type='groupchat'><subject/></message></forwarded></received><body>outer</body></message>",
		Stanza{Kind: KindMessage, Type: "groupchat", HasSubject: true, Carbon: CarbonReceived}, false},
	{"groupchat with body",
		"<message from='coven@chat.shakespeare.example/firstwitch' to='" + juliet + "' type='groupchat' id='g1'><body>Thrice the brinded cat hath mew'd.</body></message>",
		Stanza{Kind: KindMessage, Type: "groupchat", From: "coven@chat.shakespeare.example/firstwitch", To: juliet, Body: "Thrice the brinded cat hath mew'd.", HasBody: true}, true},
	{"groupchat subject only",
		"<message from='coven@chat.shakespeare.example/firstwitch' to='" + juliet + "' type='groupchat' id='g2'><subject>Fire Burn</subject></message>",
		Stanza{Kind: KindMessage, Type: "groupchat", From: "coven@chat.shakespeare.example/firstwitch", To: juliet, HasSubject: true}, false},
	{"groupchat empty subject and body",
		"<message type='groupchat'><subject/><body>Bubble</body></message>",
		Stanza{Kind: KindMessage, Type: "groupchat", Body: "Bubble", HasBody: true, HasSubject: true}, false},
	{"groupchat subject and body",
		"<message from='coven@chat.shakespeare.example/firstwitch' to='" + juliet + "' type='groupchat' id='g3'><subject>Cauldron</subject><body>Bubble</body></message>",
		Stanza{Kind: KindMessage, Type: "groupchat", From: "coven@chat.shakespeare.example/firstwitch", To: juliet, Body: "Bubble", HasBody: true, HasSubject: true}, false},
	{"chat subject and body", chat("<subject>Re</subject><body>Hi</body>"),
		with(chatWant, func(s *Stanza) { s.Body, s.HasBody, s.HasSubject = "Hi", true, true }), true},
	{"correction with body",
		chat("<body>See you at noon</body><replace xmlns='urn:xmpp:message-correct:0' id='m0'/>"),
		with(chatWant, func(s *Stanza) { s.Body, s.HasBody, s.Correction = "See you at noon", true, true }), false},
	{"retraction :0 in apply-to with fallback body",
		chat("<apply-to xmlns='urn:xmpp:fasten:0' id='m0'><retract xmlns='urn:xmpp:message-retract:0'/></apply-to><fallback xmlns='urn:xmpp:fallback:0'/><body>This person attempted to retract a previous message, but it's unsupported by your client.</body>"),
		with(chatWant, func(s *Stanza) {
			s.Body = "This person attempted to retract a previous message, but it's unsupported by your client."
			s.HasBody, s.Retraction = true, true
		}), false},
	{"retraction :1 direct with fallback body",
		chat("<retract xmlns='urn:xmpp:message-retract:1' id='m0'/><fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:message-retract:1'/><body>/me retracted a previous message, but it's unsupported by your client.</body>"),
		with(chatWant, func(s *Stanza) {
			s.Body = "/me retracted a previous message, but it's unsupported by your client."
			s.HasBody, s.Retraction = true, true
		}), false},
	{"apply-to without retract", chat("<apply-to xmlns='urn:xmpp:fasten:0' id='m0'><external name='body'/></apply-to><body>x</body>"),
		with(chatWant, func(s *Stanza) { s.Body, s.HasBody = "x", true }), true},
	{"reaction with body",
		chat("<reactions xmlns='urn:xmpp:reactions:0' id='m0'><reaction>👍</reaction></reactions><body>👍</body>"),
		with(chatWant, func(s *Stanza) { s.Body, s.HasBody, s.Reaction = "👍", true, true }), false},

	// Corners of the parser.
	{"stanza in jabber:server",
		"<message xmlns='jabber:server' from='" + romeo + "' to='" + juliet + "' type='chat' id='m1'><body>Hello</body></message>",
		with(chatWant, func(s *Stanza) { s.Body, s.HasBody = "Hello", true }), true},
	{"stanza in jabber:component:accept",
		"<message xmlns='jabber:component:accept' type='chat'><body>Hello</body></message>",
		Stanza{Kind: KindMessage, Type: "chat", Body: "Hello", HasBody: true}, true},
	{"message in a foreign namespace has no body",
		"<message xmlns='urn:example' type='chat'><body>Hello</body><subject/></message>",
		Stanza{Kind: KindMessage, Type: "chat"}, false},
	{"body in a foreign namespace",
		chat("<body xmlns='urn:example'>Nope</body><body>Yes</body>"),
		with(chatWant, func(s *Stanza) { s.Body, s.HasBody = "Yes", true }), true},
	{"first body wins, xml:lang ignored",
		chat("<body xml:lang='de'>Hallo</body><body xml:lang='en'>Hello</body>"),
		with(chatWant, func(s *Stanza) { s.Body, s.HasBody = "Hallo", true }), true},
	{"nested body is not the body",
		chat("<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'>rich</body></html>"),
		chatWant, false},
	{"body text with entities, references, CDATA and comments",
		chat("<body>a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; &#65;&#x42;&#x1F44D; <![CDATA[<e> & ]]]><!-- no -->f</body>"),
		with(chatWant, func(s *Stanza) { s.Body, s.HasBody = `a <b> & "c" 'd' AB👍 <e> & ]f`, true }), true},
	{"body text inside child elements",
		chat("<body>a<em>b<i>c</i></em>d</body>"),
		with(chatWant, func(s *Stanza) { s.Body, s.HasBody = "abcd", true }), true},
	{"line ends normalised",
		chat("<body>a\r\nb\rc\r\r\nd&#13;\ne\r&#10;</body>"),
		with(chatWant, func(s *Stanza) { s.Body, s.HasBody = "a\nb\nc\n\nd\r\ne\n\n", true }), true},
	{"line ends normalised in CDATA",
		chat("<body><![CDATA[a\r\nb\rc]]></body>"),
		with(chatWant, func(s *Stanza) { s.Body, s.HasBody = "a\nb\nc", true }), true},
	{"attributes with entities, double quotes and spaces",
		"<message\n\tfrom = \"o&apos;brien@example.org/a&amp;b\"  to='x&#64;y'\ttype=\"chat\"><body>hi</body></message>",
		Stanza{Kind: KindMessage, Type: "chat", From: "o'brien@example.org/a&b", To: "x@y", Body: "hi", HasBody: true}, true},
	{"attributes without spaces between them",
		"<message from='a'to='b'type='chat'/>",
		Stanza{Kind: KindMessage, Type: "chat", From: "a", To: "b"}, false},
	{"unusual type", "<message type='Chat'><body>x</body></message>",
		Stanza{Kind: KindMessage, Type: "Chat", Body: "x", HasBody: true}, true},
	{"prefixed attributes do not count",
		"<message xmlns:p='urn:example' p:type='headline' p:from='evil' xml:lang='en'><body>x</body></message>",
		Stanza{Kind: KindMessage, Body: "x", HasBody: true}, true},
	{"prefixed stanza element",
		"<c:message xmlns:c='jabber:client' type='chat'><c:body>x</c:body></c:message>",
		Stanza{Kind: KindMessage, Type: "chat", Body: "x", HasBody: true}, true},
	{"default namespace undeclared", "<message xmlns='jabber:client'><x xmlns=''><body>x</body></x><body xmlns=''>y</body></message>",
		Stanza{Kind: KindMessage, Body: "y", HasBody: true}, true},
	{"namespace declarations end with their element",
		chat("<a xmlns:e='jabber:x:encrypted'/><e:x/>"),
		chatWant, false},
	{"prefix redeclared",
		"<message xmlns:e='urn:example'><e:x xmlns:e='jabber:x:encrypted'/></message>",
		Stanza{Kind: KindMessage, Encrypted: true}, true},
	{"undeclared prefix stands for itself (as in encoding/xml)",
		"<message><eu.siacs.conversations.axolotl:encrypted><eu.siacs.conversations.axolotl:payload/></eu.siacs.conversations.axolotl:encrypted></message>",
		Stanza{Kind: KindMessage, Encrypted: true}, true},
	{"xml prefix", "<message><xml:body>x</xml:body></message>", Stanza{Kind: KindMessage}, false},
	{"prolog and epilog",
		"\n <!-- before -->\t\r\n<message type='chat'><body>x</body></message>\n<!-- after -->\n",
		Stanza{Kind: KindMessage, Type: "chat", Body: "x", HasBody: true}, true},
	{"processing instructions",
		"<?xml version='1.0' encoding='UTF-8'?><message><?pi x?><body>x</body></message><?pi?>",
		Stanza{Kind: KindMessage, Body: "x", HasBody: true}, true},
	{"comment with dashes", "<message><!----><!-- - -><- --><body>x</body></message>",
		Stanza{Kind: KindMessage, Body: "x", HasBody: true}, true},
	{"non-ASCII text", "<message from='jülïet@exämple.org'><body>Grüße, 世界 \U0001F600 \uFFFD</body></message>",
		Stanza{Kind: KindMessage, From: "jülïet@exämple.org", Body: "Grüße, 世界 \U0001F600 \uFFFD", HasBody: true}, true},
	{"depth 32 is fine", "<message>" + strings.Repeat("<a>", maxDepth-2) + "<b/>" + strings.Repeat("</a>", maxDepth-2) + "<body>x</body></message>",
		Stanza{Kind: KindMessage, Body: "x", HasBody: true}, true},
}

// extra returns s.Extra, allocating it first when nil.
func extra(s *Stanza) *Extra {
	if s.Extra == nil {
		s.Extra = &Extra{}
	}
	return s.Extra
}

// sameStanza reports whether a and b hold the same facts, Extra compared
// by value; a parsed Stanza must have no Extra when it has none of them.
func sameStanza(a, b Stanza) bool {
	if a.Extra != nil && *a.Extra == (Extra{}) || b.Extra != nil && *b.Extra == (Extra{}) {
		return false
	}
	ax, bx := a.Extras(), b.Extras()
	a.Extra, b.Extra = nil, nil
	return a == b && ax == bx
}

package events

import (
	"encoding/xml"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pushrules/pushrules/internal/corpus"
)

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
		with(chatWant, func(s *Stanza) { s.CallProposal, s.CallID, s.CallMedia = true, "call1", "audio" }), true},
	{"jmi:0 retract", chat("<retract xmlns='urn:xmpp:jingle-message:0' id='call1'/>"),
		with(chatWant, func(s *Stanza) { s.CallEnd, s.CallID = true, "call1" }), false},
	{"jmi:1 propose",
		chat("<propose xmlns='urn:xmpp:jingle-message:1' id='call1'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'/></propose>"),
		with(chatWant, func(s *Stanza) { s.CallProposal, s.CallID, s.CallMedia = true, "call1", "video" }), true},
	{"jmi:1 propose with audio, video and odd media",
		chat("<propose xmlns='urn:xmpp:jingle-message:1' id='c&amp;2'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>" +
			"<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'/><description media='screen'/><x media='no'/><description/>" +
			"<description media='a b'/><description media=''/><description media='6'/><description media='7'/></propose>"),
		with(chatWant, func(s *Stanza) {
			s.CallProposal, s.CallID, s.CallMedia = true, "c&2", "audio video screen 6"
		}), true},
	{"jmi:1 reject", chat("<reject xmlns='urn:xmpp:jingle-message:1' id='call1'/>"),
		with(chatWant, func(s *Stanza) { s.CallEnd, s.CallID = true, "call1" }), false},
	{"jmi:1 accept and proceed are no end", chat("<accept xmlns='urn:xmpp:jingle-message:1' id='a1'/><proceed xmlns='urn:xmpp:jingle-message:1' id='p1'/>"),
		with(chatWant, func(s *Stanza) { s.CallID = "a1" }), false},
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
			Mentions: "juliet@capulet.example\nnurse@capulet.example/küche\nroom@muc.example"}, true},
	{"at most MaxMentions mentions",
		chat(strings.Repeat("<reference xmlns='urn:xmpp:reference:0' type='mention' uri='xmpp:a@b'/>", MaxMentions+2)),
		with(chatWant, func(s *Stanza) { s.Mentions = strings.TrimSuffix(strings.Repeat("a@b\n", MaxMentions), "\n") }), false},
	{"reply", chat("<reply xmlns='urn:xmpp:reply:0' to='romeo@montague.example/orchard' id='m0'/><body>Yes</body>"),
		with(chatWant, func(s *Stanza) { s.Body, s.HasBody, s.ReplyTo = "Yes", true, romeo }), true},
	{"reply in another namespace", chat("<reply xmlns='urn:example' to='x'/>"), chatWant, false},
	{"muc mention",
		"<message from='room@muc.example' to='juliet@capulet.example'><mentions xmlns='urn:xmpp:mmn:0'><forwarded xmlns='urn:xmpp:forward:0'>" +
			"<message xmlns='jabber:client' type='groupchat' from='room@muc.example/romeo' to='room@muc.example' id='g1'>" +
			"<body>juliet?</body><stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='room@muc.example'/>" +
			"<reference xmlns='urn:xmpp:reference:0' type='mention' uri='xmpp:room@muc.example/juliet'/></message></forwarded></mentions></message>",
		Stanza{Kind: KindMessage, Type: "groupchat", From: "room@muc.example/romeo", To: "room@muc.example", Body: "juliet?", HasBody: true,
			MUCMention: true, StanzaID: true, Mentions: "room@muc.example/juliet"}, true},
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
	{"depth 32 is fine", "<message>" + strings.Repeat("<a>", MaxDepth-2) + "<b/>" + strings.Repeat("</a>", MaxDepth-2) + "<body>x</body></message>",
		Stanza{Kind: KindMessage, Body: "x", HasBody: true}, true},
}

// parseAll parses data every way there is and checks that they agree
// with each other and with the oracle.
func parseAll(t *testing.T, data string) (Stanza, error) {
	t.Helper()
	s, err := ParseStanza([]byte(data))
	want, wantErr := parseOracle([]byte(data))
	if (err == nil) != (wantErr == nil) || s != want {
		t.Errorf("ParseStanza = %+v, %v; oracle = %+v, %v", s, err, want, wantErr)
	}
	if err == nil {
		checkInvariants(t, s)
		ds, derr := DecodeStanza(xml.NewDecoder(strings.NewReader(data)))
		if derr != nil || ds != s {
			t.Errorf("DecodeStanza = %+v, %v; ParseStanza = %+v", ds, derr, s)
		}
	}
	return s, err
}

func TestParseStanzaClassification(t *testing.T) {
	for _, tc := range classificationCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAll(t, tc.xml)
			if err != nil {
				t.Fatalf("ParseStanza: %v", err)
			}
			if got != tc.want {
				t.Errorf("ParseStanza =\n%+v, want\n%+v", got, tc.want)
			}
			if imp := got.Important(); imp != tc.important {
				t.Errorf("Important() = %v, want %v", imp, tc.important)
			}
			// Inside a stream, the stanza inherits jabber:client.
			s, err := decodeInStream(tc.xml)
			if err != nil || s != tc.want {
				t.Errorf("DecodeStanza in a stream = %+v, %v; want %+v", s, err, tc.want)
			}
		})
	}
}

const streamStart = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>"

// decodeInStream decodes stanza from a stream with the default namespace
// jabber:client, after its start.
func decodeInStream(stanza string) (Stanza, error) {
	d := xml.NewDecoder(strings.NewReader(streamStart + stanza + "</stream:stream>"))
	for {
		tok, err := d.Token()
		if err != nil {
			return Stanza{}, err
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "stream" {
			break
		}
	}
	return DecodeStanza(d)
}

func TestDecodeStanzaStream(t *testing.T) {
	in := streamStart + "\n<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>" +
		"<!-- c -->\n" + chat("<body>one</body>") + "\n\t" +
		"<message from='a' type='chat'><body>two</body></message>" +
		"<iq type='result' id='x'/><presence/>" +
		"<message><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message from='b'><body>three</body></message></forwarded></received></message>" +
		"</stream:stream>"
	d := xml.NewDecoder(strings.NewReader(in))
	start, err := d.Token()
	for err == nil {
		if se, ok := start.(xml.StartElement); ok && se.Name.Local == "stream" {
			break
		}
		start, err = d.Token()
	}
	if err != nil {
		t.Fatal(err)
	}
	want := []Stanza{
		{},
		with(chatWant, func(s *Stanza) { s.Body, s.HasBody = "one", true }),
		{Kind: KindMessage, Type: "chat", From: "a", Body: "two", HasBody: true},
		{Kind: KindIQ, Type: "result"},
		{Kind: KindPresence},
		{Kind: KindMessage, From: "b", Body: "three", HasBody: true, Carbon: CarbonReceived},
	}
	for i, w := range want {
		s, err := DecodeStanza(d)
		if err != nil || s != w {
			t.Errorf("stanza %d = %+v, %v; want %+v", i, s, err, w)
		}
	}
	// The stream's end is the end of the stanzas.
	if _, err := DecodeStanza(d); !errors.Is(err, io.EOF) {
		t.Errorf("at the stream's end: %v, want an error wrapping io.EOF", err)
	}
}

// tokens is a token reader that is not an *xml.Decoder: DecodeStanza must
// resolve its names itself.
type tokens []xml.Token

func (ts *tokens) Token() (xml.Token, error) {
	if len(*ts) == 0 {
		return nil, io.EOF
	}
	t := (*ts)[0]
	*ts = (*ts)[1:]
	return t, nil
}

func TestDecodeStanzaRawTokens(t *testing.T) {
	name := func(space, local string) xml.Name { return xml.Name{Space: space, Local: local} }
	ts := tokens{
		xml.CharData("\n "),
		xml.StartElement{Name: name("", "message"), Attr: []xml.Attr{
			{Name: name("", "xmlns"), Value: "jabber:client"},
			{Name: name("xmlns", "c"), Value: "urn:xmpp:carbons:2"},
			{Name: name("", "type"), Value: "chat"},
		}},
		xml.StartElement{Name: name("c", "sent")},
		xml.StartElement{Name: name("", "forwarded"), Attr: []xml.Attr{{Name: name("", "xmlns"), Value: "urn:xmpp:forward:0"}}},
		xml.StartElement{Name: name("", "message"), Attr: []xml.Attr{{Name: name("", "to"), Value: "romeo@example"}}},
		xml.StartElement{Name: name("", "body")},
		xml.CharData("Hi"),
		xml.EndElement{Name: name("", "body")},
		xml.EndElement{Name: name("", "message")},
		xml.EndElement{Name: name("", "forwarded")},
		xml.EndElement{Name: name("c", "sent")},
		xml.EndElement{Name: name("", "message")},
		xml.StartElement{Name: name("", "unread")},
	}
	s, err := DecodeStanza(&ts)
	want := Stanza{Kind: KindMessage, To: "romeo@example", Body: "Hi", HasBody: true, Carbon: CarbonSent}
	if err != nil || s != want {
		t.Errorf("DecodeStanza = %+v, %v; want %+v", s, err, want)
	}
	if len(ts) != 1 {
		t.Errorf("DecodeStanza left %d tokens, want 1", len(ts))
	}

	// Mismatched end elements are caught.
	bad := tokens{xml.StartElement{Name: name("", "message")}, xml.EndElement{Name: name("", "iq")}}
	if _, err := DecodeStanza(&bad); err == nil {
		t.Error("DecodeStanza accepted <message></iq>")
	}
}

func TestParseStanzaErrors(t *testing.T) {
	var syntax *xml.SyntaxError
	isSyntax := func(err error) bool { return errors.As(err, &syntax) }
	isEOF := func(err error) bool { return errors.Is(err, io.EOF) }
	isTooDeep := func(err error) bool { return errors.Is(err, ErrTooDeep) }
	for _, tc := range []struct {
		name string
		xml  string
		is   func(error) bool
	}{
		{"empty", "", isEOF},
		{"whitespace only", " \n\t", isEOF},
		{"comment only", "<!-- nothing -->", isEOF},
		{"text", "hello", isSyntax},
		{"text before", "x<message/>", isSyntax},
		{"text after", "<message/>x", isSyntax},
		{"two elements", "<message/><message/>", isSyntax},
		{"unclosed", "<message><body>Hi</body>", isSyntax},
		{"unclosed start tag", "<message type='chat'", isSyntax},
		{"mismatched", "<message><body>Hi</bodx></message>", isSyntax},
		{"mismatched prefix", "<a:message xmlns:a='x' xmlns:b='x'></b:message>", isSyntax},
		{"end tag only", "</message>", isSyntax},
		{"unknown entity", chat("<body>&nbsp;</body>"), isSyntax},
		{"entity without semicolon", chat("<body>&amp</body>"), isSyntax},
		{"bad character reference", chat("<body>&#0;</body>"), isSyntax},
		{"huge character reference", chat("<body>&#x110000;</body>"), isSyntax},
		{"control character", chat("<body>\x01</body>"), isSyntax},
		{"invalid UTF-8", chat("<body>\xff</body>"), isSyntax},
		{"U+FFFE", chat("<body>\uFFFE</body>"), isSyntax},
		{"]]> in text", chat("<body>]]></body>"), isSyntax},
		{"< in attribute", "<message to='a<b'/>", isSyntax},
		{"unquoted attribute", "<message to=a/>", isSyntax},
		{"attribute without value", "<message to/>", isSyntax},
		{"name with two colons", "<a:b:c/>", isSyntax},
		{"bad name", "<1message/>", isSyntax},
		{"-- in comment", "<message><!-- a -- b --></message>", isSyntax},
		{"unterminated CDATA", chat("<body><![CDATA[x</body>"), isSyntax},
		{"doctype", "<!DOCTYPE message><message/>", isSyntax},
		{"directive inside", "<message><!ENTITY x 'y'></message>", isSyntax},
		{"duplicate from", "<message from='a' from='b'/>", isSyntax},
		// What XML allows but the parser refuses (see xmlscan).
		{"non-ASCII name", "<message><bödy>x</bödy><body>y</body></message>", isSyntax},
		{"name with a leading colon", "<message><:body/></message>", isSyntax},
		{"namespace with a reference", "<message xmlns='jabber&#58;client'/>", isSyntax},
		{"prefix declared empty", "<message xmlns:p=''/>", isSyntax},
		{"33 attributes", "<message" + strings.Repeat(" a='1'", 33) + "/>", isSyntax},
		{"XML version 1.1", "<?xml version='1.1'?><message/>", isSyntax},
		{"encoding latin1", "<?xml version='1.0' encoding='latin1'?><message/>", isSyntax},
		{"duplicate type in forwarded message",
			"<message><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message type='chat' type='error'/></forwarded></sent></message>", isSyntax},
		{"too deep", "<message>" + strings.Repeat("<a>", MaxDepth) + strings.Repeat("</a>", MaxDepth) + "</message>", isTooDeep},
		{"too deep and unclosed", strings.Repeat("<a>", 10000), isTooDeep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseAll(t, tc.xml)
			if err == nil {
				t.Fatalf("ParseStanza = %+v, want an error", s)
			}
			if !tc.is(err) {
				t.Errorf("ParseStanza error %q (%T) is not of the expected kind", err, err)
			}
			if s != (Stanza{}) {
				t.Errorf("ParseStanza returned %+v with its error", s)
			}
			if !isTooDeep(err) && !isEOF(err) && !strings.HasPrefix(err.Error(), "events: parse stanza: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
	// Duplicate attributes of elements the classifier does not read are
	// not checked (encoding/xml does not either).
	if _, err := parseAll(t, chat("<body xml:lang='en' xml:lang='de'>x</body>")); err != nil {
		t.Errorf("duplicate xml:lang: %v", err)
	}
}

func TestParseStanzaTooLarge(t *testing.T) {
	body := strings.Repeat("x", MaxStanzaSize)
	big := chat("<body>" + body + "</body>")
	if _, err := ParseStanza([]byte(big)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ParseStanza: %v, want ErrTooLarge", err)
	}
	// DecodeStanza counts what it reads: a stream of many small elements.
	many := "<message>" + strings.Repeat("<a x='1'/>", MaxStanzaSize/5) + "</message>"
	if _, err := DecodeStanza(xml.NewDecoder(strings.NewReader(many))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("DecodeStanza of many elements: %v, want ErrTooLarge", err)
	}
	if _, err := DecodeStanza(xml.NewDecoder(strings.NewReader(big))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("DecodeStanza of a long body: %v, want ErrTooLarge", err)
	}

	// Exactly MaxStanzaSize bytes are fine, on every path.
	fill := MaxStanzaSize - len(chat("<body></body>"))
	exact := chat("<body>" + strings.Repeat("y", fill) + "</body>")
	for name, f := range map[string]func() (Stanza, error){
		"ParseStanza":  func() (Stanza, error) { return ParseStanza([]byte(exact)) },
		"DecodeStanza": func() (Stanza, error) { return DecodeStanza(xml.NewDecoder(strings.NewReader(exact))) },
		"oracle":       func() (Stanza, error) { return parseOracle([]byte(exact)) },
	} {
		s, err := f()
		if err != nil || len(s.Body) != fill {
			t.Errorf("%s of %d bytes: body of %d bytes, %v", name, len(exact), len(s.Body), err)
		}
	}
	// So is the same size in many small elements (the count is from below).
	small := "<message>" + strings.Repeat("<a/>", (MaxStanzaSize-len("<message></message>"))/4) + "</message>"
	if _, err := DecodeStanza(xml.NewDecoder(strings.NewReader(small))); err != nil || len(small) > MaxStanzaSize {
		t.Errorf("DecodeStanza of %d bytes of elements: %v", len(small), err)
	}
}

// TestParseStanzaCopies checks that the result does not point into the
// caller's buffer.
func TestParseStanzaCopies(t *testing.T) {
	for _, data := range []string{
		chat("<body>Hello</body>"),
		chat("<body>a&amp;b<![CDATA[c]]></body>"),
		"<message from='a&amp;b' to='c' type='weird'><body>x</body></message>",
	} {
		buf := []byte(data)
		s, err := ParseStanza(buf)
		if err != nil {
			t.Fatal(err)
		}
		want := s
		want.From, want.To, want.Type, want.Body = strings.Clone(s.From), strings.Clone(s.To), strings.Clone(s.Type), strings.Clone(s.Body)
		for i := range buf {
			buf[i] = '#'
		}
		if s != want {
			t.Errorf("after overwriting the input: %+v, want %+v", s, want)
		}
	}
}

// scenarioStanzas returns the XML of every stanza of the conformance
// scenarios: the repository's copy, and the live suite beside the project
// when it is there.
func scenarioStanzas(t testing.TB) []string {
	out := corpus.XML(t, "../testdata/conformance/*.json", "../../shared/conformance/scenarios/*.json")
	if len(out) == 0 {
		t.Skip("no conformance scenarios")
	}
	return out
}

func TestParseStanzaScenarios(t *testing.T) {
	stanzas := scenarioStanzas(t)
	for _, x := range stanzas {
		s, err := parseAll(t, x)
		if err != nil {
			t.Errorf("%s: %v", x, err)
			continue
		}
		if ds, err := decodeInStream(x); err != nil || ds != s {
			t.Errorf("%s: in a stream %+v, %v; alone %+v", x, ds, err, s)
		}
	}
}

// trickyInputs are inputs at the edges of the XML the parser takes, for the
// differential test and as fuzz seeds.
var trickyInputs = []string{
	"<message/>", "<message />", "<message/ >", "<message></message >", "<message></ message>",
	"<message>", "<message><", "<message></", "<message></message", "<message a='1' a='2'/>",
	"<:message/>", "<message:/>", "<a:message/>", "<xmlns:message/>", "<_x/>", "<x.y-z:a1/>",
	"<message xmlns:='x'/>", "<message xmlns:p=''><p:body>x</p:body></message>",
	"<message xmlns:xml='x'/>", "<message xmlns:xmlns='x'/>", "<message xmlns='jabber&#58;client'><body>x</body></message>",
	"<message xmlns='urn:example'><body xmlns='jabber:client'>x</body></message>",
	"<message><body>&#xD800;</body></message>", "<message><body>&#xFFFE;</body></message>",
	"<message><body>&#x10FFFF;</body></message>", "<message><body>&#00000065;</body></message>",
	"<message><body>&#X41;</body></message>", "<message><body>&#;</body></message>", "<message><body>&#x;</body></message>",
	"<message><body>&lt</body></message>", "<message><body>&lt;&LT;</body></message>", "<message><body>&lt.x;</body></message>",
	"<message><body>]]]></body></message>", "<message><body>]] ></body></message>", "<message><body>]]&gt;</body></message>",
	"<message><body><![CDATA[]]></body></message>", "<message><body><![CDATA[]]]]></body></message>", "<message><body><![CDATA[x]]>]></body></message>",
	"<message><body><![CDATA[\x00]]></body></message>", "<message><body><![cdata[x]]></body></message>",
	"<message><!--\xff\x00--></message>", "<message><!---></message>", "<message><!-- --->--></message>", "<message><!-></message>",
	"<message to='a\r\nb\rc' from=\"&#13;&#10;\"/>", "<message to='\t\n'/>", "<message to='&quot;\"'/>", "<message to=\"'\"/>",
	"<message to='x' to='y'/>", "<message type='a' type='a'/>", "<message><x type='1' type='2'/></message>",
	"<message to='\x7f'/>", "<message to='\xc3\x28'/>", "<message to='\xef\xbf\xbd'/>",
	"\xef\xbb\xbf<message/>", "<?xml version='1.0'?><message/>", "<?xml version='1.1'?><message/>",
	"<?xml version='1.0' encoding='latin1'?><message/>", "<message/><?x?>", "<message/>\x00", "<message/>\n\r\t ",
	"<message>" + strings.Repeat("<a>", 31) + strings.Repeat("</a>", 31) + "</message>",
	"<message>" + strings.Repeat("<a>", 32) + strings.Repeat("</a>", 32) + "</message>",
	"<message>" + strings.Repeat("<a xmlns:p='x'>", 31) + strings.Repeat("</a>", 31) + "</message>",
	"<message" + strings.Repeat(" xmlns:p='x'", 100) + "><p:body>x</p:body></message>",
	"<message><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:server'><body>x</body></message></forwarded></received></message>",
	"<message><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message from='deep'/></forwarded></received></message></forwarded></received></message>",
	"<iq><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message><body>x</body></message></forwarded></received></iq>",
	// A prefix bound to no namespace makes its attributes unprefixed ones
	// for encoding/xml.
	"<message xmlns:p='' p:type='chat'/>", "<message xmlns:p='' p:from='a' from='b'/>", "<message xmlns:p='x' p:type='chat' type='normal'/>",
	"<message xml:type='chat'/>", "<message xmlns:type='x' type='chat'/>",
	// Processing instructions.
	"<?pi?><message/>", "<?pi x?>\n<message><?pi <body>?><body>a<?pi?>b</body></message><?pi?>", "<?xml-stylesheet x?><message/>",
	"<?XML?><message/>", "<?pi", "<message><?pi", "<message/><?pi",
	// CDATA and references outside the stanza.
	"<![CDATA[ ]]><message/>", "<![CDATA[x]]><message/>", "&#32;<message/>", "<message/>&#32;", "<message/>\r\n",
}

func TestParseStanzaTricky(t *testing.T) {
	for _, x := range trickyInputs {
		parseAll(t, x)
	}
}

// TestParseStanzaOracle mutates realistic stanzas and checks that
// ParseStanza agrees with its encoding/xml oracle: the same Stanza, or
// both refuse. FuzzParseStanza does the same with coverage guidance.
func TestParseStanzaOracle(t *testing.T) {
	inputs := append(scenarioStanzas(t), trickyInputs...)
	for _, tc := range classificationCases {
		inputs = append(inputs, tc.xml)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := corpus.Pieces
	n := 3000
	if testing.Short() {
		n = 300
	}
	for range n {
		b := corpus.Mutate(rng, inputs[rng.IntN(len(inputs))], pieces)
		checkDifferential(t, b)
	}
}

func TestLookupsDoNotAllocate(t *testing.T) {
	b := []byte("urn:xmpp:carbons:2 received chat unknown")
	allocs := testing.AllocsPerRun(100, func() {
		_ = lookupNS(b[:18])
		_ = lookupName(b[19:27])
		_, _ = intern(b[28:32])
		_ = lookupNS(b[33:])
	})
	if allocs != 0 {
		t.Errorf("lookups allocate %v times", allocs)
	}
}

// benchStanza is a typical chat message from a modern client: addresses
// and id, a body of about 150 characters, an origin-id, a chat marker request, a
// chat state, a storage hint and the archive's stanza-id.
var benchStanza = []byte(`<message xmlns='jabber:client' from='romeo@montague.lit/orchard' to='juliet@capulet.lit/balcony' type='chat' id='a7c3e8d2'>` +
	`<body>But soft, what light through yonder window breaks? It is the east, and Juliet is the sun. Arise, fair sun, and kill the envious moon, who is sick.</body>` +
	`<origin-id xmlns='urn:xmpp:sid:0' id='a7c3e8d2'/><markable xmlns='urn:xmpp:chat-markers:0'/>` +
	`<active xmlns='http://jabber.org/protocol/chatstates'/><store xmlns='urn:xmpp:hints'/>` +
	`<stanza-id xmlns='urn:xmpp:sid:0' id='5f1a7c3e' by='juliet@capulet.lit'/></message>`)

func BenchmarkParseStanza(b *testing.B) {
	s, err := ParseStanza(benchStanza)
	if err != nil || !s.Important() || len(s.Body) < 140 || len(s.Body) > 160 {
		b.Fatalf("ParseStanza = %+v (body %d), %v", s, len(s.Body), err)
	}
	b.SetBytes(int64(len(benchStanza)))
	b.ReportAllocs()
	for b.Loop() {
		s, _ := ParseStanza(benchStanza)
		if !s.Important() {
			b.Fatal("not important")
		}
	}
}

// BenchmarkParseStanzaEncodingXML is the same stanza through the
// encoding/xml oracle of the tests, for comparison.
func BenchmarkParseStanzaEncodingXML(b *testing.B) {
	b.SetBytes(int64(len(benchStanza)))
	b.ReportAllocs()
	for b.Loop() {
		s, _ := parseOracle(benchStanza)
		if !s.Important() {
			b.Fatal("not important")
		}
	}
}

package events_test

import (
	"fmt"

	"github.com/pushrules/pushrules/events"
)

func ExampleParseStanza() {
	// A carbon copy of a message Romeo sent to Juliet's other device.
	data := []byte(`<message xmlns='jabber:client' from='juliet@capulet.lit' to='juliet@capulet.lit/phone' type='chat'>
  <received xmlns='urn:xmpp:carbons:2'>
    <forwarded xmlns='urn:xmpp:forward:0'>
      <message xmlns='jabber:client' from='romeo@montague.lit/orchard' to='juliet@capulet.lit/desktop' type='chat' id='m1'>
        <body>Wherefore art thou?</body>
        <active xmlns='http://jabber.org/protocol/chatstates'/>
      </message>
    </forwarded>
  </received>
</message>`)
	s, err := events.ParseStanza(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Kind, s.Type, s.Carbon == events.CarbonReceived)
	fmt.Println(s.From, "->", s.To)
	fmt.Printf("%q important=%v\n", s.Body, s.Important())

	// A correction is not important, even with a body.
	s, _ = events.ParseStanza([]byte(`<message type='chat'><body>noon, not nine</body><replace xmlns='urn:xmpp:message-correct:0' id='m1'/></message>`))
	fmt.Println(s.Correction, s.Important())

	// Output:
	// message chat true
	// romeo@montague.lit/orchard -> juliet@capulet.lit/desktop
	// "Wherefore art thou?" important=true
	// true false
}

func ExampleStanza_Mentioned() {
	// A room tells an absent member that it was mentioned (urn:xmpp:mmn:0):
	// the facts are those of the groupchat message it forwards.
	s, err := events.ParseStanza([]byte(`<message from='coven@chat.shakespeare.lit' to='juliet@capulet.lit'>
  <mentions xmlns='urn:xmpp:mmn:0'>
    <forwarded xmlns='urn:xmpp:forward:0'>
      <message xmlns='jabber:client' type='groupchat' from='coven@chat.shakespeare.lit/romeo' id='g7'>
        <body>Juliet, art thou there?</body>
        <reference xmlns='urn:xmpp:reference:0' type='mention' begin='0' end='6' uri='xmpp:coven@chat.shakespeare.lit/juliet'/>
        <stanza-id xmlns='urn:xmpp:sid:0' id='s-9' by='coven@chat.shakespeare.lit'/>
      </message>
    </forwarded>
  </mentions>
</message>`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.MUCMention, s.Type, s.From, s.StanzaID, s.Important())
	fmt.Println(s.Mentioned("coven@chat.shakespeare.lit/juliet"), s.Mentioned("coven@chat.shakespeare.lit/nurse"))

	// A call that stops ringing, and the proposal it ends.
	s, _ = events.ParseStanza([]byte(`<message type='chat'><propose xmlns='urn:xmpp:jingle-message:0' id='c1'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'/></propose></message>`))
	fmt.Printf("%s %q %v\n", s.Extras().CallID, s.Extras().CallMedia, s.Important())
	s, _ = events.ParseStanza([]byte(`<message type='chat'><retract xmlns='urn:xmpp:jingle-message:0' id='c1'/></message>`))
	fmt.Println(s.Extras().CallID, s.CallEnd, s.Important())

	// Output:
	// true groupchat coven@chat.shakespeare.lit/romeo true true
	// true false
	// c1 "audio video" true
	// c1 true false
}

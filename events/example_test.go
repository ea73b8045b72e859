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

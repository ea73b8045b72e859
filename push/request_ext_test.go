package push

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pushrules/pushrules/registry"
)

func ExampleParseRequest_extensions() {
	req, err := readRequest([]byte(`<iq type='set' id='e2'>
  <enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='n1'>
    <muted xmlns='tigase:push:filter:muted:0'><item jid='Tybalt@Capulet.Example'/></muted>
    <groupchat xmlns='tigase:push:filter:groupchat:0'><room jid='coven@chat.example' allow='mentioned' nick='juliet'/></groupchat>
    <encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm'>c2VjcmV0LWtleS0xMjM0NQ==</encrypt>
    <jingle xmlns='tigase:push:jingle:0'/>
  </enable>
</iq>`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(req.Extensions) // the key stays out
	fmt.Println(req.Extensions.Muted("tybalt@capulet.example/sword"))

	_, err = readRequest([]byte(`<enable xmlns='urn:xmpp:push:0' jid='push.example.net'><encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm'>c2hvcnQ=</encrypt></enable>`))
	fmt.Println(err)
	// Output:
	// muted=tybalt@capulet.example groupchat=coven@chat.example:mentioned:juliet encrypt=aes-128-gcm max-size=0 key=<redacted> jingle
	// true
	// modify/bad-request: Invalid encryption key
}

// TestAppendXMLExtensions: what AppendXML writes for the extensions, and
// that a disable leaves them out.
func TestAppendXMLExtensions(t *testing.T) {
	ext, err := registry.NewExtensions(registry.ExtensionSettings{
		Muted: []string{"tybalt@capulet.example"}, IgnoreUnknown: true,
		Rooms:    []registry.Room{{JID: "r@m", Allow: registry.AllowNever, Nick: "<n>"}, {JID: "s@m"}},
		Priority: true, Jingle: true,
		Encrypt: &registry.Encryption{Alg: registry.AlgAES128GCM, Key: [16]byte{'s', 'e', 'c', 'r', 'e', 't', '-', 'k', 'e', 'y', '-', '1', '2', '3', '4', '5'}, MaxSize: 512},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := pushRequest{JID: "p.example", Extensions: ext}
	got := string(r.AppendXML(nil))
	want := "<enable xmlns='urn:xmpp:push:0' jid='p.example'>" +
		"<muted xmlns='tigase:push:filter:muted:0'><item jid='tybalt@capulet.example'/></muted>" +
		"<ignore-unknown xmlns='tigase:push:filter:ignore-unknown:0'/>" +
		"<groupchat xmlns='tigase:push:filter:groupchat:0'><room jid='r@m' allow='never' nick='&lt;n&gt;'/><room jid='s@m' allow='always'/></groupchat>" +
		"<priority xmlns='tigase:push:priority:0'/>" +
		"<encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm' max-size='512'>c2VjcmV0LWtleS0xMjM0NQ==</encrypt>" +
		"<jingle xmlns='tigase:push:jingle:0'/></enable>"
	if got != want {
		t.Errorf("AppendXML =\n%s\nwant\n%s", got, want)
	}
	back, err := readRequest([]byte(got))
	if err != nil || back != r {
		t.Errorf("parsed back: %+v, %v", back, err)
	}
	r.Disable = true
	if got := string(r.AppendXML(nil)); strings.Contains(got, "tigase") || got != "<disable xmlns='urn:xmpp:push:0' jid='p.example'/>" {
		t.Errorf("a disable writes %s", got)
	}
}

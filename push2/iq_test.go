package push2

import (
	"reflect"
	"testing"
)

// TestParseRequestIQ: an <iq/> around the request is read through to its
// first child element; anything else around it is not a request.
func TestParseRequestIQ(t *testing.T) {
	const enable = "<enable xmlns='urn:xmpp:push2:0'><service>push.example.net</service><client>c</client>" +
		"<match profile='urn:xmpp:push2:match:all'><send xmlns='urn:xmpp:push2:send:notify-only:0'/></match></enable>"
	want, err := ParseRequest([]byte(enable))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, data string
		ok         bool
	}{
		{"iq in no namespace", "<iq type='set' id='x'>" + enable + "</iq>", true},
		{"iq in jabber:client", "<iq xmlns='jabber:client' type='set' id='x'>" + enable + "</iq>", true},
		{"disable in an iq", "<iq type='set'><disable xmlns='urn:xmpp:push2:0'/></iq>", true},
		{"empty iq", "<iq type='set'/>", false},
		{"iq of another namespace", "<iq xmlns='urn:example'>" + enable + "</iq>", false},
		{"message around it", "<message>" + enable + "</message>", false},
		{"request second in the iq", "<iq><x/>" + enable + "</iq>", false},
	} {
		got, err := ParseRequest([]byte(c.data))
		if (err == nil) != c.ok {
			t.Errorf("%s: error %v", c.name, err)
			continue
		}
		if c.ok && !got.Disable && !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, want %+v", c.name, got, want)
		}
	}
}

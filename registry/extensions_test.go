package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

var testKey = [KeySize]byte{0x73, 0x65, 0x63, 0x72, 0x65, 0x74, 0x2d, 0x6b, 0x65, 0x79, 0x2d, 0x31, 0x32, 0x33, 0x34, 0x35}

func TestNewExtensions(t *testing.T) {
	rooms := func(n int) []Room {
		out := make([]Room, n)
		for i := range out {
			out[i] = Room{JID: fmt.Sprintf("r%d@muc.example", i)}
		}
		return out
	}
	muted := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("m%d@example.org", i)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		in   ExtensionSettings
		want ExtensionSettings // when no error
		err  extErrorKind
	}{
		{name: "nothing", in: ExtensionSettings{}, want: ExtensionSettings{}},
		{name: "everything",
			in: ExtensionSettings{
				Muted:         []string{"Tybalt@Capulet.Example/sword", "nurse@capulet.example", "tybalt@capulet.example"},
				IgnoreUnknown: true,
				Rooms: []Room{{JID: "Coven@Chat.Example/juliet", Allow: AllowMentioned, Nick: "Júliet"}, {JID: "hall@chat.example", Allow: AllowNever},
					{JID: "coven@chat.example", Allow: AllowAlways}},
				Priority: true, Jingle: true,
				Encrypt: &Encryption{Alg: AlgAES128GCM, Key: testKey, MaxSize: 3000},
			},
			want: ExtensionSettings{
				Muted:         []string{"tybalt@capulet.example", "nurse@capulet.example"},
				IgnoreUnknown: true, Groupchat: true,
				Rooms:    []Room{{JID: "coven@chat.example", Allow: AllowMentioned, Nick: "Júliet"}, {JID: "hall@chat.example", Allow: AllowNever}},
				Priority: true, Jingle: true,
				Encrypt: &Encryption{Alg: AlgAES128GCM, Key: testKey, MaxSize: 3000},
			}},
		{name: "groupchat filter without rooms", in: ExtensionSettings{Groupchat: true}, want: ExtensionSettings{Groupchat: true}},
		{name: "rooms imply the groupchat filter", in: ExtensionSettings{Rooms: rooms(1)}, want: ExtensionSettings{Groupchat: true, Rooms: rooms(1)}},
		{name: "encryption without max-size", in: ExtensionSettings{Encrypt: &Encryption{Alg: AlgAES128GCM}},
			want: ExtensionSettings{Encrypt: &Encryption{Alg: AlgAES128GCM}}},
		{name: "the most muted JIDs and rooms", in: ExtensionSettings{Muted: muted(MaxMuted), Rooms: rooms(MaxRooms)},
			want: ExtensionSettings{Muted: muted(MaxMuted), Groupchat: true, Rooms: rooms(MaxRooms)}},
		{name: "too many muted", in: ExtensionSettings{Muted: muted(MaxMuted + 1)}, err: extTooMany},
		{name: "too many rooms", in: ExtensionSettings{Rooms: rooms(MaxRooms + 1)}, err: extTooMany},
		{name: "bad muted JID", in: ExtensionSettings{Muted: []string{"a@"}}, err: extBadJID},
		{name: "bad room JID", in: ExtensionSettings{Rooms: []Room{{JID: ""}}}, err: extBadJID},
		{name: "bad allow", in: ExtensionSettings{Rooms: []Room{{JID: "r@m", Allow: AllowNever + 1}}}, err: extBadValue},
		{name: "long nick", in: ExtensionSettings{Rooms: []Room{{JID: "r@m", Nick: strings.Repeat("n", MaxNickLen+1)}}}, err: extBadValue},
		{name: "nick not UTF-8", in: ExtensionSettings{Rooms: []Room{{JID: "r@m", Nick: "\xff"}}}, err: extBadValue},
		{name: "bad algorithm", in: ExtensionSettings{Encrypt: &Encryption{Alg: "aes-256-gcm", Key: testKey}}, err: extBadAlg},
		{name: "negative max-size", in: ExtensionSettings{Encrypt: &Encryption{Alg: AlgAES128GCM, MaxSize: -1}}, err: extBadValue},
		{name: "huge max-size", in: ExtensionSettings{Encrypt: &Encryption{Alg: AlgAES128GCM, MaxSize: MaxEncryptMax + 1}}, err: extBadValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := NewExtensions(tc.in)
			if tc.err != 0 {
				var ee *ExtensionsError
				if !errors.As(err, &ee) || ee.kind != tc.err || e != (Extensions{}) {
					t.Fatalf("NewExtensions = %v, %v; want an error of kind %d", e, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Settings(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Settings() = %+v, want %+v", got, tc.want)
			}
			if e.IsZero() != reflect.DeepEqual(tc.want, ExtensionSettings{}) {
				t.Errorf("IsZero() = %v", e.IsZero())
			}
			again, err := NewExtensions(e.Settings())
			if err != nil || again != e {
				t.Errorf("NewExtensions(Settings()) = %v, %v; want %v", again, err, e)
			}
		})
	}
}

// TestExtensionsLongEntries: entries whose lengths take both bytes of the
// encoding's length fields, among short ones, and the largest max-size,
// read back whole, and each is found by its lookup.
func TestExtensionsLongEntries(t *testing.T) {
	domain := strings.Repeat("d", 60) + "." + strings.Repeat("e", 60) + "." + strings.Repeat("f", 60) + ".example"
	long := strings.Repeat("l", 1023) + "@" + domain // 1,214 bytes
	nick := strings.Repeat("é", MaxNickLen/2)        // 1,022 bytes
	in := ExtensionSettings{
		Muted:   []string{"a@b", long, "c@d"},
		Rooms:   []Room{{JID: "r@m", Nick: "x"}, {JID: long, Allow: AllowMentioned, Nick: nick}, {JID: "s@m", Allow: AllowNever, Nick: nick}},
		Encrypt: &Encryption{Alg: AlgAES128GCM, Key: testKey, MaxSize: MaxEncryptMax},
	}
	e, err := NewExtensions(in)
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.Groupchat = true
	if got := e.Settings(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Settings() = %+v, want %+v", got, want)
	}
	for _, m := range in.Muted {
		if !e.Muted(m + "/res") {
			t.Errorf("Muted(%.20q...) = false", m)
		}
	}
	if e.Muted(long[1:]) {
		t.Error("a JID that is the end of a muted one is muted")
	}
	for _, r := range in.Rooms {
		if got, ok := e.Room(strings.ToUpper(r.JID) + "/n"); !ok || got != r {
			t.Errorf("Room(%.20q...) = %.40v, %v", r.JID, got, ok)
		}
	}
	if enc, ok := e.Encryption(); !ok || enc != *in.Encrypt {
		t.Errorf("Encryption() = %v, %v", enc, ok)
	}
}

func TestExtensionsAccessors(t *testing.T) {
	e, err := NewExtensions(ExtensionSettings{
		Muted: []string{"tybalt@capulet.example"},
		Rooms: []Room{{JID: "coven@chat.example", Allow: AllowMentioned, Nick: "juliet"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{"tybalt@capulet.example": true, "Tybalt@Capulet.Example/sword": true, "tybalt@capulet.example.org": false, "capulet.example": false} {
		if got := e.Muted(addr); got != want {
			t.Errorf("Muted(%q) = %v", addr, got)
		}
	}
	if r, ok := e.Room("COVEN@chat.example/firstwitch"); !ok || r.Allow != AllowMentioned || r.Nick != "juliet" {
		t.Errorf("Room = %+v, %v", r, ok)
	}
	if _, ok := e.Room("hall@chat.example"); ok {
		t.Error("an unlisted room is found")
	}
	if e.IgnoreUnknown() || e.Priority() || e.Jingle() || !e.Groupchat() {
		t.Errorf("flags of %v", e)
	}
	if _, ok := e.Encryption(); ok {
		t.Error("encryption without asking")
	}
	if allocs := testing.AllocsPerRun(100, func() { e.Muted("nurse@capulet.example/balcony") }); allocs != 0 {
		t.Errorf("Muted allocates %v times", allocs)
	}
	var zero Extensions
	if zero.Muted("a@b") || zero.Groupchat() || zero.String() != "<no extensions>" {
		t.Error("the zero Extensions asks for something")
	}
	if a, ok := ParseAllow("sometimes"); ok || Allow(7).String() != "Allow(7)" || a != AllowAlways {
		t.Error("unknown allow")
	}
}

// TestExtensionsKeyStaysSecret: the key is in no String, GoString, %v or
// error text.
func TestExtensionsKeyStaysSecret(t *testing.T) {
	enc := Encryption{Alg: AlgAES128GCM, Key: testKey, MaxSize: 100}
	e, err := NewExtensions(ExtensionSettings{Encrypt: &enc})
	if err != nil {
		t.Fatal(err)
	}
	got, ok := e.Encryption()
	if !ok || got != enc {
		t.Fatalf("Encryption() = %v, %v", got, ok)
	}
	secret := []string{string(testKey[:]), "c2VjcmV0LWtleS0xMjM0NQ", fmt.Sprint(testKey[:]), fmt.Sprintf("%x", testKey[:])}
	_, badErr := NewExtensions(ExtensionSettings{Encrypt: &Encryption{Alg: "rot13", Key: testKey}})
	var back Extensions
	jsonErr := back.UnmarshalJSON([]byte(`{"encrypt":{"alg":"aes-128-gcm","key":"c2VjcmV0LWtleS0xMjM0NQ==x"}}`))
	for _, text := range []string{e.String(), fmt.Sprint(e), fmt.Sprintf("%+v", enc), fmt.Sprintf("%#v", enc), fmt.Sprint(e.Settings()), badErr.Error(), jsonErr.Error()} {
		for _, s := range secret {
			if strings.Contains(text, s) {
				t.Errorf("%q shows the key", text)
			}
		}
	}
}

func TestExtensionsJSON(t *testing.T) {
	full, err := NewExtensions(ExtensionSettings{
		Muted: []string{"tybalt@capulet.example"}, IgnoreUnknown: true,
		Rooms:    []Room{{JID: "coven@chat.example", Allow: AllowMentioned, Nick: "<juliet>"}, {JID: "hall@chat.example"}},
		Priority: true, Jingle: true, Encrypt: &Encryption{Alg: AlgAES128GCM, Key: testKey, MaxSize: 3000},
	})
	if err != nil {
		t.Fatal(err)
	}
	groupOnly, _ := NewExtensions(ExtensionSettings{Groupchat: true})
	for _, e := range []Extensions{{}, full, groupOnly} {
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var back Extensions
		if err := json.Unmarshal(data, &back); err != nil || back != e {
			t.Errorf("round trip of %v: %s gave %v (%v)", e, data, back, err)
		}
	}
	data, _ := json.Marshal(full)
	want := `{"muted":["tybalt@capulet.example"],"ignore_unknown":true,"groupchat":{"rooms":[{"jid":"coven@chat.example","allow":"mentioned","nick":"\u003cjuliet\u003e"},{"jid":"hall@chat.example","allow":"always"}]},"priority":true,"encrypt":{"alg":"aes-128-gcm","key":"c2VjcmV0LWtleS0xMjM0NQ==","max_size":3000},"jingle":true}`
	if string(data) != want {
		t.Errorf("MarshalJSON =\n%s, want\n%s", data, want)
	}
	for in, kind := range map[string]extErrorKind{
		`{"muted":"a@b"}`: extBadJSON, `[]`: extBadJSON, `{"muted":["a@"]}`: extBadJID,
		`{"groupchat":{"rooms":[{"jid":"r@m","allow":"sometimes"}]}}`: extBadValue,
		`{"encrypt":{"alg":"aes-128-gcm","key":"c2hvcnQ="}}`:          extBadKey,
		`{"encrypt":{"alg":"aes-128-gcm","key":"!!"}}`:                extBadKey,
		`{"encrypt":{"alg":"des","key":"c2VjcmV0LWtleS0xMjM0NQ=="}}`:  extBadAlg,
	} {
		back := full
		var ee *ExtensionsError
		if err := json.Unmarshal([]byte(in), &back); !errors.As(err, &ee) || ee.kind != kind || back != full {
			t.Errorf("Unmarshal(%s) = %v (kind %v), value changed %v; want kind %d", in, err, ee, back != full, kind)
		}
	}
}

// FuzzExtensionsJSON: decoding arbitrary JSON never panics, and what
// decodes encodes and decodes to itself.
func FuzzExtensionsJSON(f *testing.F) {
	f.Add([]byte(`{"muted":["Tybalt@Capulet.Example/x"],"ignore_unknown":true,"groupchat":{"rooms":[{"jid":"r@m","allow":"never","nick":"n"}]},"priority":true,"encrypt":{"alg":"aes-128-gcm","key":"c2VjcmV0LWtleS0xMjM0NQ==","max_size":9},"jingle":true}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"groupchat":{"rooms":[]}}`))
	f.Add([]byte(`{"muted":["a@b","A@B"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var e Extensions
		if err := json.Unmarshal(data, &e); err != nil {
			// Syntax errors are json.Unmarshal's own, before UnmarshalJSON.
			var ee *ExtensionsError
			var se *json.SyntaxError
			if !errors.As(err, &ee) && !errors.As(err, &se) {
				t.Fatalf("error %v (%T) is neither an ExtensionsError nor a json.SyntaxError", err, err)
			}
			return
		}
		again, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var back Extensions
		if err := json.Unmarshal(again, &back); err != nil || back != e {
			t.Fatalf("%s does not round-trip: %s (%v)", data, again, err)
		}
		if s, err := NewExtensions(e.Settings()); err != nil || s != e {
			t.Fatalf("NewExtensions(Settings()) = %v, %v; want %v", s, err, e)
		}
		_ = e.String()
	})
}

func ExampleNewExtensions() {
	e, err := NewExtensions(ExtensionSettings{
		Muted: []string{"Tybalt@Capulet.Example"},
		Rooms: []Room{{JID: "coven@chat.shakespeare.example", Allow: AllowMentioned, Nick: "juliet"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e)
	fmt.Println(e.Muted("tybalt@capulet.example/sword"))
	r, _ := e.Room("coven@chat.shakespeare.example/firstwitch")
	fmt.Println(r.Allow, r.Nick)

	_, err = NewExtensions(ExtensionSettings{Encrypt: &Encryption{Alg: "aes-256-gcm"}})
	fmt.Println(err)
	// Output:
	// muted=tybalt@capulet.example groupchat=coven@chat.shakespeare.example:mentioned:juliet
	// true
	// mentioned juliet
	// registry: extensions: encrypt: unknown algorithm
}

func ExampleFeatures() {
	fmt.Println(strings.Join(Features(), "\n"))
	// Output:
	// tigase:push:filter:muted:0
	// tigase:push:filter:ignore-unknown:0
	// tigase:push:filter:groupchat:0
	// tigase:push:priority:0
	// tigase:push:encrypt:0
	// tigase:push:encrypt:aes-128-gcm
	// tigase:push:jingle:0
}

package registrytest

import (
	"testing"

	"github.com/pushrules/pushrules/registry"
)

// extensionCases are the Extensions the suite saves: none, each extension
// alone, and all of them at once with awkward text.
func extensionCases(t *testing.T) []registry.Extensions {
	t.Helper()
	key := [registry.KeySize]byte{0, 1, 2, 0xfe, 0xff, '<', '&', '\'', 0, 9, 10, 11, 12, 13, 14, 15}
	settings := []registry.ExtensionSettings{
		{},
		{Muted: []string{"romeo@example.net", "room@muc.example.net"}},
		{IgnoreUnknown: true},
		{Groupchat: true},
		{Rooms: []registry.Room{{JID: "a@muc.example.net", Allow: registry.AllowMentioned, Nick: "Ålice <&'\"> 🚀"},
			{JID: "b@muc.example.net", Allow: registry.AllowNever}, {JID: "c@muc.example.net"}}},
		{Priority: true},
		{Jingle: true},
		{Encrypt: &registry.Encryption{Alg: registry.AlgAES128GCM, Key: key}},
		{Muted: []string{"x@example.net"}, IgnoreUnknown: true, Rooms: []registry.Room{{JID: "r@muc.example.net", Nick: "n"}},
			Priority: true, Jingle: true, Encrypt: &registry.Encryption{Alg: registry.AlgAES128GCM, Key: key, MaxSize: registry.MaxEncryptMax}},
	}
	out := make([]registry.Extensions, len(settings))
	for i, s := range settings {
		ext, err := registry.NewExtensions(s)
		if err != nil {
			t.Fatalf("fixture %d: %v", i, err)
		}
		out[i] = ext
	}
	return out
}

func testExtensionsLossless(t *testing.T, s registry.Store) {
	cases := extensionCases(t)
	var want []registry.Registration
	for i, ext := range cases {
		r := newReg(alice, id("ext"+string(rune('a'+i))), uint64(i+1), at(i), registry.Form{})
		r.Extensions = ext
		saved, _ := mustSave(t, s, r, 0)
		if saved.Extensions != ext {
			t.Errorf("case %d: Save returned extensions %s, want %s", i, saved.Extensions, ext)
		}
		want = append(want, r)
	}
	checkRegs(t, "Load of registrations with every kind of extensions", mustLoad(t, s, alice), want)

	// Saving the same identifier again replaces the extensions, including
	// back to none; an eviction returns them as stored.
	last := cases[len(cases)-1]
	r := newReg(alice, id("exta"), 99, at(50), registry.Form{})
	r.Extensions = last
	if saved, _ := mustSave(t, s, r, 0); saved.Extensions != last {
		t.Errorf("replacing: Save returned extensions %s, want %s", saved.Extensions, last)
	}
	r = newReg(alice, id("extb"), 99, at(51), registry.Form{})
	if saved, _ := mustSave(t, s, r, 0); !saved.Extensions.IsZero() {
		t.Errorf("replacing with none: Save returned extensions %s", saved.Extensions)
	}
	_, evicted := mustSave(t, s, newReg(alice, id("last"), 100, at(52), registry.Form{}), 1)
	found := false
	for _, e := range evicted {
		if e.ID == id("exta") {
			found = true
			if e.Extensions != last {
				t.Errorf("evicted extensions %s, want %s", e.Extensions, last)
			}
		}
	}
	if !found || len(evicted) != len(cases) {
		t.Errorf("evicted %d registrations (exta among them: %v), want %d", len(evicted), found, len(cases))
	}
}

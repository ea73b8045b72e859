package core

import (
	"strings"
	"testing"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

func TestPasses(t *testing.T) {
	const user, room = "juliet@example.org", "capulets@muc.example.org"
	ext, err := registry.NewExtensions(registry.ExtensionSettings{
		Muted: []string{"Tybalt@Capulet.Example"}, IgnoreUnknown: true,
		Rooms: []registry.Room{{JID: room, Allow: registry.AllowMentioned, Nick: "Juliet"},
			{JID: "never@muc.example.org", Allow: registry.AllowNever}, {JID: "nonick@muc.example.org", Allow: registry.AllowMentioned}},
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := &registry.Registration{User: user, ID: "push.example.net<A", Extensions: ext}
	chat := func(from string) events.Stanza {
		return events.Stanza{Kind: events.KindMessage, Type: "chat", From: from, Body: "hi"}
	}
	gc := func(from, body string) events.Stanza {
		return events.Stanza{Kind: events.KindMessage, Type: "groupchat", From: from, Body: body}
	}
	with := func(st events.Stanza, f func(*events.Stanza)) events.Stanza { f(&st); return st }
	cases := []struct {
		name  string
		st    events.Stanza
		nick  bool
		wants bool
	}{
		{"contact", chat("romeo@montague.example/x"), true, true},
		{"muted, any case", chat("tybalt@CAPULET.example/sword"), true, false},
		{"muted call", with(chat("tybalt@capulet.example/s"), func(s *events.Stanza) { s.CallProposal, extra(s).CallID = true, "c" }), true, false},
		{"stranger", with(chat("paris@verona.example/x"), func(s *events.Stanza) { s.SenderUnknown = true }), true, false},
		{"stranger's call", with(chat("paris@verona.example/x"), func(s *events.Stanza) { s.SenderUnknown, s.CallProposal = true, true }), true, true},
		{"stranger's call end", with(chat("paris@verona.example/x"), func(s *events.Stanza) { s.SenderUnknown, s.CallEnd = true, true }), true, true},
		{"room, no mention", gc(room+"/Nurse", "supper"), true, false},
		{"room, nick as a word", gc(room+"/Nurse", "Supper, JULIET!"), true, true},
		{"room, nick as a word, fallback off", gc(room+"/Nurse", "Supper, Juliet!"), false, false},
		{"room, nick inside a word", gc(room+"/Nurse", "Julietta and _Juliet and Juliet2"), true, false},
		{"room, nick after a letter", gc(room+"/Nurse", "éJuliet"), true, false},
		{"room, nick at the end", gc(room+"/Nurse", "where is juliet"), true, true},
		{"room, occupant mention", with(gc(room+"/Nurse", "x"), func(s *events.Stanza) { extra(s).Mentions = "a@b\n" + room + "/Juliet" }), false, true},
		{"room, other occupant", with(gc(room+"/Nurse", "x"), func(s *events.Stanza) { extra(s).Mentions = room + "/Julie" }), true, false},
		{"room, bare JID mention", with(gc(room+"/Nurse", "x"), func(s *events.Stanza) { extra(s).Mentions = "Juliet@Example.org" }), false, true},
		{"room, full JID of the user", with(gc(room+"/Nurse", "x"), func(s *events.Stanza) { extra(s).Mentions = user + "/phone" }), false, false},
		{"room, reply to the user", with(gc(room+"/Nurse", "x"), func(s *events.Stanza) { extra(s).ReplyTo = room + "/Juliet" }), false, true},
		{"room, reply to another", with(gc(room+"/Nurse", "x"), func(s *events.Stanza) { extra(s).ReplyTo = room + "/Romeo" }), false, false},
		{"room, MUC mention", with(gc(room+"/Nurse", "x"), func(s *events.Stanza) { s.MUCMention = true }), false, true},
		{"room, call", with(gc(room+"/Nurse", "x"), func(s *events.Stanza) { s.CallProposal = true }), false, true},
		{"never room, mentioned", with(gc("never@muc.example.org/Nurse", "x"), func(s *events.Stanza) { s.MUCMention = true }), true, false},
		{"never room, private message", chat("never@muc.example.org/Nurse"), true, true},
		{"room without nick, nick-like body", gc("nonick@muc.example.org/Nurse", "juliet"), true, false},
		{"room without nick, bare JID mention", with(gc("nonick@muc.example.org/Nurse", "x"), func(s *events.Stanza) { extra(s).Mentions = user }), true, true},
		{"room not listed", gc("market@muc.example.org/Seller", "fish"), true, true},
		{"room not listed, stranger mark ignored", with(gc("market@muc.example.org/Seller", "fish"), func(s *events.Stanza) { s.SenderUnknown = true }), true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Rules{NickMentions: tc.nick}
			if got := r.Passes(reg, &tc.st); got != tc.wants {
				t.Errorf("Passes = %v, want %v", got, tc.wants)
			}
		})
	}
	plain := &registry.Registration{User: user, ID: "push.example.net<B"}
	for _, tc := range cases {
		if r := (Rules{}); !r.Passes(plain, &tc.st) {
			t.Errorf("%s: a registration without filters filtered it", tc.name)
		}
	}
}

func TestWholeWord(t *testing.T) {
	cases := []struct {
		text, word string
		want       bool
	}{
		{"Juliet", "Juliet", true},
		{"@juliet:", "Juliet", true},
		{"JulietJuliet juliet", "Juliet", true},
		{"JulietJuliet", "Juliet", false},
		{"", "Juliet", false},
		{"Jul", "Juliet", false},
		{"Ромео!", "ромео", true},
		{"Ромеос", "ромео", false},
	}
	for _, tc := range cases {
		if got := wholeWord(tc.text, tc.word); got != tc.want {
			t.Errorf("wholeWord(%q, %q) = %v, want %v", tc.text, tc.word, got, tc.want)
		}
	}
}

// TestIndexFold compares indexFold with strings.EqualFold tried at every
// place, on texts whose matches differ by case, by Unicode folding (the
// Kelvin sign folds to 'k', the long s to 's': "\u212Ak" matches
// "k\u212A", a match that starts with a byte past ASCII) or not at all.
func TestIndexFold(t *testing.T) {
	texts := []string{"", "Juliet", "hi JULIET!", "kate \u212Aate", "\u017Fam and Sam", "Ромео и РОМЕО", "@juliet:", "x\u212Ak", "a\xffb"}
	subs := []string{"", "Juliet", "kate", "Kate", "sam", "ромео", "k", "k\u212A", "\u212A", "\xff", "b"}
	for _, s := range texts {
		for _, sub := range subs {
			if got, want := indexFold(s, sub), naiveIndexFold(s, sub); got != want {
				t.Errorf("indexFold(%q, %q) = %d, want %d", s, sub, got, want)
			}
		}
	}
}

func FuzzIndexFold(f *testing.F) {
	f.Add("hi JULIET!", "juliet")
	f.Add("x\u212Ak", "k\u212A")
	f.Fuzz(func(t *testing.T, s, sub string) {
		if got, want := indexFold(s, sub), naiveIndexFold(s, sub); got != want {
			t.Fatalf("indexFold(%q, %q) = %d, want %d", s, sub, got, want)
		}
	})
}

func naiveIndexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// extra returns s.Extra, allocating it first when nil.
func extra(s *events.Stanza) *events.Extra {
	if s.Extra == nil {
		s.Extra = &events.Extra{}
	}
	return s.Extra
}

// BenchmarkWholeWordLongBody measures the nick-mention test on a
// 1,000-byte group-chat message that names the nick at its end.
func BenchmarkWholeWordLongBody(b *testing.B) {
	body := strings.Repeat("what light through yonder window breaks ", 25) + "Juliet?"
	b.ReportAllocs()
	for b.Loop() {
		if !wholeWord(body, "juliet") {
			b.Fatal("no mention found")
		}
	}
}

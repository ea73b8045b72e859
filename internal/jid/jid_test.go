package jid

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want JID
		bad  bool
	}{
		{in: "push.example.net", want: JID{Domain: "push.example.net"}},
		{in: "juliet@example.org", want: JID{Local: "juliet", Domain: "example.org"}},
		{in: "juliet@example.org/phone/with/slashes", want: JID{Local: "juliet", Domain: "example.org", Resource: "phone/with/slashes"}},
		{in: "example.org.", want: JID{Domain: "example.org"}},
		{in: "[::1]", want: JID{Domain: "[::1]"}},
		{in: "@push.example.net", bad: true},
		{in: "push.example.net/", bad: true},
		{in: "a@", bad: true},
		{in: "", bad: true},
		{in: "a b@example.org", bad: true},
		{in: "a@exa<mple.org", bad: true},
		{in: "a@b@c", bad: true},
		{in: "..", bad: true},
		{in: "a@.example.org", bad: true},
		{in: "a@example..org", bad: true},
		{in: "a@example.org/\x01", bad: true},
		{in: "\xff@example.org", bad: true},
		{in: strings.Repeat("a", MaxPartLen+1) + "@example.org", bad: true},
	} {
		got, err := Parse(tc.in)
		if tc.bad {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("Parse(%q) = %+v, %v; want ErrMalformed", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestCompare(t *testing.T) {
	if !Equal("Juliet@Example.ORG/phone", "juliet@example.org/phone") || Equal("juliet@example.org/Phone", "juliet@example.org/phone") {
		t.Error("Equal folds the local part and the domain only")
	}
	if Equal("bad@", "bad@") != true || Equal("a@b", "bad@") {
		t.Error("Equal of identical strings, and of a malformed one")
	}
	if Bare("a@b/c") != "a@b" || Domain("a@b/c") != "b" || Domain("b") != "b" {
		t.Error("Bare/Domain")
	}
}

// FuzzParse: Parse never panics, and what it accepts rebuilds to an address
// that parses to the same parts.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"juliet@example.org/phone", "push.example.net", "@x", "x/", "a@b@c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		j, err := Parse(s)
		if err != nil {
			return
		}
		text := j.Bare()
		if j.Resource != "" {
			text += "/" + j.Resource
		}
		again, err := Parse(text)
		if err != nil || again != j {
			t.Fatalf("%q parsed to %+v, rebuilt %q parsed to %+v (%v)", s, j, text, again, err)
		}
	})
}

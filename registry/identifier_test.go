package registry_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pushrules/pushrules/registry"
)

func TestIdentifierText(t *testing.T) {
	for _, tc := range []struct {
		jid, node string
		text      registry.Identifier
	}{
		// Ordinary identifiers are written exactly jid<node.
		{"push.example.net", "A", "push.example.net<A"},
		{"push.example.net", "", "push.example.net<"},
		{"push.example.net", "n<&'\"> é\\", "push.example.net<n<&'\"> é\\"},
		{"user@push.example.net/res", "n", "user@push.example.net/res<n"},
		// The issue: a '<' in the resource used to move the split.
		{"push.example.net/a<b", "c", `push.example.net/a\<b<c`},
		{"push.example.net/a", "b<c", `push.example.net/a<b<c`},
		{"push.example.net/a\\", "c", `push.example.net/a\\<c`},
		{"push.example.net/a\\<b", "", `push.example.net/a\\\<b<`},
	} {
		id := registry.NewIdentifier(tc.jid, tc.node)
		if id != tc.text {
			t.Errorf("NewIdentifier(%q, %q) = %q, want %q", tc.jid, tc.node, id, tc.text)
		}
		jid, node, ok := id.Split()
		if jid != tc.jid || node != tc.node || !ok || id.JID() != tc.jid || id.Node() != tc.node {
			t.Errorf("%q: Split %q, %q, %v; JID %q; Node %q; want %q, %q", id, jid, node, ok, id.JID(), id.Node(), tc.jid, tc.node)
		}
	}
	// The pairs of the issue stay apart.
	if registry.NewIdentifier("push.example.net/a<b", "c") == registry.NewIdentifier("push.example.net/a", "b<c") {
		t.Error("two pairs collide")
	}
}

func TestIdentifierSplitNotCanonical(t *testing.T) {
	for _, tc := range []struct {
		text      registry.Identifier
		jid, node string
	}{
		{"push.example.net", "push.example.net", ""},
		{"<node", "", "node"},
		{`push\.example.net<n`, "push.example.net", "n"},
		{`push.example.net\`, "push.example.net", ""},
		{`push.example.net\<n`, "push.example.net<n", ""},
		{"", "", ""},
	} {
		jid, node, ok := tc.text.Split()
		if ok || jid != tc.jid || node != tc.node || tc.text.JID() != tc.jid || tc.text.Node() != tc.node {
			t.Errorf("%q.Split() = %q, %q, %v; want %q, %q, false", tc.text, jid, node, ok, tc.jid, tc.node)
		}
	}
}

// TestIdentifierNoCollision: random pairs, rich in the characters that
// matter, round-trip and never share an Identifier.
func TestIdentifierNoCollision(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 357))
	alphabet := []string{"<", "<", "\\", "\\", "/", "@", "a", ".", "é", "用", "<\\", "\\<"}
	random := func(max int) string {
		var b strings.Builder
		for range rng.IntN(max + 1) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	type pair struct{ jid, node string }
	seen := make(map[registry.Identifier]pair)
	for range 200_000 {
		p := pair{"push.example.net/" + random(4), random(4)}
		if rng.IntN(4) == 0 {
			p.jid = random(3) + "@push.example.net"
		}
		id := registry.NewIdentifier(p.jid, p.node)
		if jid, node, ok := id.Split(); jid != p.jid || node != p.node || !ok {
			t.Fatalf("NewIdentifier(%q, %q) = %q splits to %q, %q, %v", p.jid, p.node, id, jid, node, ok)
		}
		if q, dup := seen[id]; dup && q != p {
			t.Fatalf("%+v and %+v share the identifier %q", p, q, id)
		}
		seen[id] = p
	}
	if len(seen) < 10_000 {
		t.Fatalf("only %d distinct pairs drawn", len(seen))
	}
}

// TestPush2Identifier: a Push 2.0 registration's identifier names its
// service and client, is told from every XEP-0357 one a client can enable,
// and logs as its pair.
func TestPush2Identifier(t *testing.T) {
	for _, tc := range []struct{ service, client string }{
		{"push.example.net", "phone"},
		{"push.example.net/a<b", "c<d"},
		{"push.example.net", ""},
	} {
		id := registry.Push2Identifier(tc.service, tc.client)
		if c, ok := id.Push2Client(); !ok || c != tc.client || id.JID() != tc.service {
			t.Errorf("Push2Identifier(%q, %q) = %q: client %q, %v; JID %q", tc.service, tc.client, id, c, ok, id.JID())
		}
		if _, _, ok := id.Split(); !ok {
			t.Errorf("%q does not split", id)
		}
		if id == registry.NewIdentifier(tc.service, tc.client) {
			t.Errorf("%q is also a XEP-0357 identifier", id)
		}
	}
	for _, id := range []registry.Identifier{registry.NewIdentifier("push.example.net", "phone"), "push.example.net\x01<x", "\x01"} {
		if c, ok := id.Push2Client(); ok {
			t.Errorf("%q.Push2Client() = %q, true", id, c)
		}
	}
	var b bytes.Buffer
	slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})).Info("enabled", "id", registry.Push2Identifier("push.example.net", "phone"))
	if want := "level=INFO msg=enabled id.jid=push.example.net id.client=phone\n"; b.String() != want {
		t.Errorf("logged %q, want %q", b.String(), want)
	}
}

func TestIdentifierLogValue(t *testing.T) {
	var b bytes.Buffer
	slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})).Info("enabled", "id", registry.NewIdentifier("push.example.net/a<b", "c"))
	if want := `level=INFO msg=enabled id.jid=push.example.net/a<b id.node=c` + "\n"; b.String() != want {
		t.Errorf("logged %q, want %q", b.String(), want)
	}
}

func ExampleNewIdentifier() {
	for _, id := range []registry.Identifier{
		registry.NewIdentifier("push.example.net", "A"),
		registry.NewIdentifier("push.example.net/a<b", "c"),
		registry.NewIdentifier("push.example.net/a", "b<c"),
	} {
		fmt.Printf("%s jid=%s node=%s\n", id, id.JID(), id.Node())
	}
	// Output:
	// push.example.net<A jid=push.example.net node=A
	// push.example.net/a\<b<c jid=push.example.net/a<b node=c
	// push.example.net/a<b<c jid=push.example.net/a node=b<c
}

// FuzzIdentifier: every pair round-trips through NewIdentifier, and every
// text Split accepts is the one NewIdentifier writes for its pair; neither
// panics on any input. A Push 2.0 identifier keeps its service and client
// and is a XEP-0357 one only for a node starting with U+0001, which no
// <enable/> can carry.
func FuzzIdentifier(f *testing.F) {
	f.Add("push.example.net", "A")
	f.Add("push.example.net/a<b", "c")
	f.Add(`push.example.net/a\`, `<\<`)
	f.Add(`a\<b<c`, "")
	f.Fuzz(func(t *testing.T, a, b string) {
		id := registry.NewIdentifier(a, b)
		if jid, node, ok := id.Split(); jid != a || node != b || ok != (a != "") {
			t.Fatalf("NewIdentifier(%q, %q) = %q splits to %q, %q, %v", a, b, id, jid, node, ok)
		}
		if c, ok := id.Push2Client(); ok != strings.HasPrefix(b, "\x01") || ok && c != b[1:] {
			t.Fatalf("NewIdentifier(%q, %q).Push2Client() = %q, %v", a, b, c, ok)
		}
		if p := registry.Push2Identifier(a, b); p.JID() != a || p == id {
			t.Fatalf("Push2Identifier(%q, %q) = %q: JID %q, or equal to NewIdentifier's", a, b, p, p.JID())
		} else if c, ok := p.Push2Client(); !ok || c != b {
			t.Fatalf("Push2Identifier(%q, %q).Push2Client() = %q, %v", a, b, c, ok)
		}
		text := registry.Identifier(a)
		if jid, node, ok := text.Split(); ok && registry.NewIdentifier(jid, node) != text {
			t.Fatalf("%q splits to %q, %q but NewIdentifier writes %q", text, jid, node, registry.NewIdentifier(jid, node))
		}
	})
}

func BenchmarkIdentifierJID(b *testing.B) {
	for _, tc := range []struct{ name, jid string }{{"ordinary", "push.example.net"}, {"escaped", "push.example.net/a<b"}} {
		id := registry.NewIdentifier(tc.jid, "yxs32uqsflafdk3iuqo")
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if id.JID() != tc.jid {
					b.Fatal(id.JID())
				}
			}
		})
	}
}

package pgnotify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func TestNoticePayload(t *testing.T) {
	long := strings.Repeat("x", 8000)
	cases := []struct {
		name    string
		payload string
		want    notice
	}{
		{"user", encodeUser("n1", "juliet@example.org"), notice{node: "n1", user: "juliet@example.org"}},
		{"user with bars", encodeUser("n1", "a|u|b"), notice{node: "n1", user: "a|u|b"}},
		{"empty user", encodeUser("n1", ""), notice{node: "n1", user: ""}},
		{"all", encodeAll("n2"), notice{node: "n2", all: true}},
		{"user too long", encodeUser("n1", long), notice{node: "n1", all: true}},
		{"user longest", encodeUser("n1", long[:maxPayload-len("n1|u|")]), notice{node: "n1", user: long[:maxPayload-len("n1|u|")]}},
		{"user not UTF-8", encodeUser("n1", "a\xffb"), notice{node: "n1", all: true}},
	}
	for _, c := range cases {
		if len(c.payload) > maxPayload {
			t.Errorf("%s: payload of %d bytes", c.name, len(c.payload))
		}
		got, err := parseNotice(c.payload)
		if err != nil || got != c.want {
			t.Errorf("%s: parseNotice(%.40q) = %+v, %v; want %+v", c.name, c.payload, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "n1", "|u|x", "n1|", "n1|u", "n1|x|y", "n1|a|x", "n1|all|"} {
		if got, err := parseNotice(bad); !errors.Is(err, errPayload) {
			t.Errorf("parseNotice(%q) = %+v, %v; want errPayload", bad, got, err)
		}
	}
}

func FuzzParseNotice(f *testing.F) {
	for _, s := range []string{"n1|u|juliet@example.org", "n1|a|", "", "|", "n|u|", "n|a|x", "a|b|c|d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		n, err := parseNotice(p)
		if err != nil {
			return
		}
		// What parses is what encoding it again gives.
		again := encodeAll(n.node)
		if !n.all {
			again = n.node + "|u|" + n.user
		}
		if again != p {
			t.Fatalf("parseNotice(%q) = %+v, which encodes as %q", p, n, again)
		}
		if checkNode(n.node) == nil && utf8.ValidString(p) && len(p) <= maxPayload && !n.all && encodeUser(n.node, n.user) != p {
			t.Fatalf("encodeUser(%q, %q) != %q", n.node, n.user, p)
		}
	})
}

// recorder is a Target that records calls.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) add(s string)           { r.mu.Lock(); r.calls = append(r.calls, s); r.mu.Unlock() }
func (r *recorder) Invalidate(user string) { r.add("invalidate " + user) }
func (r *recorder) InvalidateAll()         { r.add("all") }
func (r *recorder) Suspend()               { r.add("suspend") }
func (r *recorder) Resume()                { r.add("resume") }
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

func TestDeliver(t *testing.T) {
	var r recorder
	l := &Listener{target: &r, opts: Options{Node: "me", Channel: defaultChannel}}
	cases := []struct {
		payload string
		want    string
	}{
		{encodeUser("other", "juliet@example.org"), "invalidate juliet@example.org"},
		{encodeUser("me", "juliet@example.org"), ""},
		{encodeAll("other"), "all"},
		{encodeAll("me"), ""},
		{"something else", "all"},
	}
	for _, c := range cases {
		l.deliver(c.payload)
		got := strings.Join(r.take(), ",")
		if got != c.want {
			t.Errorf("deliver(%q): %q, want %q", c.payload, got, c.want)
		}
	}
}

func TestOptions(t *testing.T) {
	cases := []struct {
		name  string
		opts  Options
		field string
	}{
		{"no node", Options{}, "Node"},
		{"bar in node", Options{Node: "a|b"}, "Node"},
		{"long node", Options{Node: strings.Repeat("n", 65)}, "Node"},
		{"long channel", Options{Node: "n", Channel: strings.Repeat("c", 64)}, "Channel"},
		{"negative timeout", Options{Node: "n", Timeout: -1}, "Timeout"},
		{"backoffs", Options{Node: "n", MinBackoff: 2e9, MaxBackoff: 1e9}, "MaxBackoff"},
	}
	for _, c := range cases {
		want := "Options." + c.field + ": "
		_, err := NewNotifier(fakeExecer{}, c.opts)
		if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: NewNotifier: %v; want ErrInvalidOptions naming %s", c.name, err, c.field)
		}
		if _, err := Listen(t.Context(), "postgres://127.0.0.1:1/x", &recorder{}, c.opts); !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Listen: %v; want ErrInvalidOptions naming %s", c.name, err, c.field)
		}
	}
	if o, err := (Options{Node: "node-1"}).withDefaults(); err != nil || o.Channel != defaultChannel || o.Timeout <= 0 {
		t.Errorf("defaults: %+v, %v", o, err)
	}
}

// fakeExecer records the statements it is given.
type fakeExecer struct{ got *[]string }

func (f fakeExecer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if f.got != nil {
		*f.got = append(*f.got, fmt.Sprint(query, args))
	}
	return nil, ctx.Err()
}

func TestNotifierSends(t *testing.T) {
	var got []string
	n, err := NewNotifier(fakeExecer{&got}, Options{Node: "n1", Channel: "chan"})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(t.Context(), "juliet@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := n.NotifyAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := []string{"SELECT pg_notify($1, $2)[chan n1|u|juliet@example.org]", "SELECT pg_notify($1, $2)[chan n1|a|]"}
	if !slices.Equal(got, want) {
		t.Errorf("sent %q, want %q", got, want)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := n.Notify(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("Notify with a cancelled context: %v", err)
	}
}

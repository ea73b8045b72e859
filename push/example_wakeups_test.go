package push_test

import (
	"context"
	"fmt"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
)

// unread is a push.Counter over the host's own count of unread messages.
type unread map[string]int

func (u unread) Count(_ context.Context, user string) (messages, subscriptions int, err error) {
	return u[user], -1, nil // the host does not count subscriptions
}

// The phone's pushes carry the host's unread count; when Juliet reads on
// her desktop, the phone gets a push with a count of 0 and no body, and
// clears its badge.
func ExampleCounter() {
	ctx := context.Background()
	counts := unread{"juliet@example.org": 2}
	engine := enabled(push.Config{Counter: counts, ClearOnRead: true})
	engine.Handle(ctx, events.SessionClosed{Now: sec(1), Session: "juliet@example.org/phone"})
	engine.Handle(ctx, events.SessionOpened{Now: sec(1), Session: "juliet@example.org/desktop"})

	d, _ := engine.OfflineMessage(ctx, events.OfflineMessage{Now: sec(2), User: "juliet@example.org", Stanza: message(1, "Hi")})
	messages, _ := d.Publishes[0].Counts()
	fmt.Printf("message to node %s: count %d, body %q\n", d.Publishes[0].Node(), messages, d.Publishes[0].Body)

	counts["juliet@example.org"] = 0
	d, _ = engine.Handle(ctx, events.MessagesRead{Now: sec(3), Session: "juliet@example.org/desktop"})
	messages, _ = d.Publishes[0].Counts()
	fmt.Printf("read on the desktop, to node %s: count %d, body %q\n", d.Publishes[0].Node(), messages, d.Publishes[0].Body)
	// Output:
	// message to node A: count 2, body "New Message!"
	// read on the desktop, to node A: count 0, body ""
}

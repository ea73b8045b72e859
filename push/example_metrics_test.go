package push_test

import (
	"context"
	"fmt"
	"os"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
)

// An operator reads why a phone was or was not woken: a hibernation queue
// of three messages gives one push, the other two are covered by it.
func ExampleEngine_Metrics() {
	engine := enabled(push.Config{})
	phone := "juliet@example.org/phone"
	engine.HibernationStart(context.Background(), events.HibernationStarted{Now: sec(5), Session: phone,
		Queue: []events.Stanza{message(1, "a"), message(2, "b"), message(3, "c")}})

	m := engine.Metrics()
	fmt.Println("pushed:", m.Counts[push.PublishedImportant], "covered by another push:", m.Counts[push.SuppressedBatch])
	_ = m.WriteTable(os.Stdout)
	// Output:
	// pushed: 1 covered by another push: 2
	// reason                                      count
	// published_important                             1
	// suppressed_batch                                2
	// registration enabled                            1
	// stanza_to_push: 1, mean 0s
	//   <= 1µs                   1
}

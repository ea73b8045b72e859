package pushtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/pushrules/pushrules/push"
)

// This file holds the scenario keys of the wake-ups and the counts: the
// "wake_before_timeout", "clear_on_read", "repeat_after" and
// "max_repeats" config keys, the "read",
// "restarted" and "counts" steps, and the "subscriptions" key of a push
// entry.

// The actions of this file.
const (
	actRead      = "read"
	actRestarted = "restarted"
	actCounts    = "counts"
)

// wakeupConfigKeys are the configuration keys of this file.
var wakeupConfigKeys = []string{"wake_before_timeout", "clear_on_read", "repeat_after", "max_repeats"}

// wakeupFields are the keys of this file's actions.
var wakeupFields = map[string]struct{ required, optional []string }{
	actRead:      {required: []string{"session"}},
	actRestarted: {required: []string{"user"}, optional: []string{"nodes"}},
	actCounts:    {required: []string{"user"}, optional: []string{"messages", "subscriptions", "fails"}},
}

// parseWakeupConfig reads one of wakeupConfigKeys into sc's config.
func (sc *Scenario) parseWakeupConfig(k string, v json.RawMessage, what string) (err error) {
	switch k {
	case "wake_before_timeout":
		sc.config.WakeBeforeTimeout, err = asPeriod(v, what)
	case "clear_on_read":
		sc.config.ClearOnRead, err = asBool(v, what)
	case "repeat_after":
		sc.config.RepeatAfter, err = asPeriod(v, what)
	case "max_repeats":
		sc.config.MaxRepeats, err = asCount(v, what)
	}
	return err
}

// parseCounts reads a counts step's "messages" and "subscriptions" (-1
// when left out) and checks them against "fails".
func parseCounts(st *step, o *object) (err error) {
	st.messages, st.subscriptions = -1, -1
	for k, dst := range map[string]*int{"messages": &st.messages, "subscriptions": &st.subscriptions} {
		if v, ok := o.vals[k]; ok {
			if *dst, err = asWhole(v, `"counts.`+k+`"`); err != nil {
				return err
			}
		}
	}
	if given := st.messages >= 0 || st.subscriptions >= 0; given == st.fails {
		return errors.New(`"counts" needs "messages", "subscriptions" or both, or else "fails": true`)
	}
	return nil
}

// asWhole reads a whole number from 0 up.
func asWhole(raw json.RawMessage, what string) (int, error) {
	f, err := asNumber(raw, what)
	if err != nil {
		return 0, err
	}
	if f < 0 || f > maxSeconds || f != math.Trunc(f) {
		return 0, fmt.Errorf("%s must be a whole number from 0 up, not %v", what, f)
	}
	return int(f), nil
}

// counter is the host's push.Counter in a run: it answers with what the
// latest counts step said for the user (both counts unknown before one).
type counter struct {
	mu    sync.Mutex
	users map[string]countsAnswer
}

type countsAnswer struct {
	messages, subscriptions int
	fails                   bool
}

var _ push.Counter = (*counter)(nil)

// Count implements push.Counter.
func (c *counter) Count(_ context.Context, user string) (messages, subscriptions int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.users[user]
	switch {
	case !ok:
		return -1, -1, nil
	case a.fails:
		return 0, 0, errors.New("pushtest: the counter fails (a counts step said so)")
	}
	return a.messages, a.subscriptions, nil
}

func (c *counter) set(user string, a countsAnswer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.users == nil {
		c.users = map[string]countsAnswer{}
	}
	c.users[user] = a
}

// usesCounter reports whether any step sets counts: only then does the
// run give the engine a Counter, so that every other scenario runs the
// engine exactly as a host without one.
func (sc *Scenario) usesCounter() bool {
	return slices.ContainsFunc(sc.steps, func(st step) bool { return st.action == actCounts })
}

// subscriptionsOf is the "subscriptions" key of p's push entry: "" when
// the publish has no pending-subscription-count.
func subscriptionsOf(p *push.Publish) string {
	if _, n := p.Counts(); n >= 0 {
		return fmt.Sprint(n)
	}
	return ""
}

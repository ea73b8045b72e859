package pushtest

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/pushrules/pushrules/push"
)

// deliveryConfigKeys are the configuration keys of the delivery policy.
var deliveryConfigKeys = []string{"debounce_window", "max_pushes_per_minute", "max_user_pushes_per_minute", "grace_period",
	"push_policy", "push_policy_field"}

// parseDeliveryConfig reads one of deliveryConfigKeys into sc's config.
func (sc *Scenario) parseDeliveryConfig(k string, v json.RawMessage, what string) (err error) {
	c := &sc.config
	switch k {
	case "debounce_window":
		c.DebounceWindow, err = asPeriod(v, what)
	case "max_pushes_per_minute":
		c.MaxPushesPerMinute, err = asCount(v, what)
	case "max_user_pushes_per_minute":
		c.MaxUserPushesPerMinute, err = asCount(v, what)
	case "grace_period":
		c.GracePeriod, err = asPeriod(v, what)
	case "push_policy":
		var name string
		if name, err = asString(v, what); err == nil {
			policies := []push.PushPolicy{push.PushAll, push.PushImportant, push.PushMessages}
			i := slices.IndexFunc(policies, func(p push.PushPolicy) bool { return p.String() == name })
			if i < 0 {
				return fmt.Errorf(`%s must be "all", "important" or "messages"`, what)
			}
			c.PushPolicy = policies[i]
		}
	case "push_policy_field":
		c.PushPolicyField, err = asString(v, what)
	}
	return err
}

// parseCheckMetrics reads a check step's "metrics": an object mapping
// reason names (push.Reason's String) to whole numbers.
func parseCheckMetrics(raw json.RawMessage) (map[push.Reason]uint64, error) {
	o, err := parseObject(raw, `"check.metrics"`)
	if err != nil {
		return nil, err
	}
	names := make([]string, push.NumReasons)
	for r := range push.NumReasons {
		names[r] = r.String()
	}
	out := make(map[push.Reason]uint64, len(o.keys))
	for _, k := range o.keys {
		r := slices.Index(names, k)
		if r < 0 {
			return nil, fmt.Errorf(`"check.metrics": unknown reason %q`, k)
		}
		var n float64
		if err := json.Unmarshal(o.vals[k], &n); err != nil || n < 0 || n != float64(uint64(n)) {
			return nil, fmt.Errorf(`"check.metrics" of %q must be a whole number ≥ 0`, k)
		}
		out[push.Reason(r)] = uint64(n)
	}
	return out, nil
}

// checkMetrics compares the engine's counts with a check step's: the
// reasons named must have exactly their counts, every other reason zero.
func (r *run) checkMetrics(want map[push.Reason]uint64, fail func(format string, args ...any)) {
	if want == nil {
		return
	}
	got := r.eng.Metrics().Counts
	for reason := range push.NumReasons {
		if got[reason] != want[reason] {
			fail("metrics %s: got %d, want %d", reason, got[reason], want[reason])
		}
	}
}

// isDeliveryKey reports whether k is one of deliveryConfigKeys.
func isDeliveryKey(k string) bool { return slices.Contains(deliveryConfigKeys, k) }

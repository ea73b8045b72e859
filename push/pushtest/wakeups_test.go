package pushtest

import (
	"strings"
	"testing"
)

// TestParseWakeupKeys checks the errors of the wake-up and count keys:
// the strict reader refuses what it cannot run as written.
func TestParseWakeupKeys(t *testing.T) {
	scenario := func(config, step string) string {
		return `{"format": 1, "name": "x", "config": {` + config + `}, "steps": [` + step + `], "expect": []}`
	}
	const open = `{"at": 0, "open": {"session": "u@h/r"}}`
	for _, tc := range []struct{ data, want string }{
		{scenario(`"wake_before_timeout": 0`, open), `"config.wake_before_timeout" must be more than 0 seconds`},
		{scenario(`"wake_before_timeout": 600`, open), `WakeBeforeTimeout 10m0s is not below HibernationTimeout`},
		{scenario(`"repeat_after": -1`, open), `"config.repeat_after" must be between 0 and`},
		{scenario(`"max_repeats": 0`, open), `"config.max_repeats" must be a whole number from 1 up`},
		{scenario(`"clear_on_read": 1`, open), `"config.clear_on_read" must be true or false`},
		{scenario(``, `{"at": 0, "read": {}}`), `step 0: missing key "session" in "read"`},
		{scenario(``, `{"at": 0, "read": {"session": "u@h/r", "user": "u@h"}}`), `step 0: unknown key "user" in "read"`},
		{scenario(``, `{"at": 0, "restarted": {"user": "u@h", "nodes": []}}`), `step 0: "restarted.nodes" must not be empty`},
		{scenario(``, `{"at": 0, "counts": {"user": "u@h"}}`), `step 0: "counts" needs "messages", "subscriptions" or both, or else "fails": true`},
		{scenario(``, `{"at": 0, "counts": {"user": "u@h", "messages": 1, "fails": true}}`), `step 0: "counts" needs`},
		{scenario(``, `{"at": 0, "counts": {"user": "u@h", "messages": 1.5}}`), `step 0: "counts.messages" must be a whole number from 0 up`},
		{scenario(``, `{"at": 0, "counts": {"user": "u@h", "subscriptions": -1}}`), `step 0: "counts.subscriptions" must be a whole number from 0 up`},
	} {
		_, err := parseScenario("x.json", []byte(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\nerror %v, want one containing %q", tc.data, err, tc.want)
		}
	}
	// What parses: a counts step with one count, and the trace key.
	good := scenario(`"clear_on_read": true, "wake_before_timeout": 1, "repeat_after": 2, "max_repeats": 1`,
		`{"at": 0, "counts": {"user": "u@h", "subscriptions": 0}}, {"at": 0, "read": {"session": "u@h/r"}}, {"at": 0, "restarted": {"user": "u@h", "nodes": ["A"]}}`)
	sc, err := parseScenario("x.json", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if !sc.usesCounter() || sc.steps[0].messages != -1 || sc.steps[0].subscriptions != 0 {
		t.Errorf("counts step read as %+v", sc.steps[0])
	}
	c := sc.config
	if !c.ClearOnRead || c.WakeBeforeTimeout.Seconds() != 1 || c.RepeatAfter.Seconds() != 2 || c.MaxRepeats != 1 {
		t.Errorf("config read as %+v", c)
	}
}

package pushtest

import (
	"context"
	"strings"
	"testing"
)

// TestDeliveryKeys checks the delivery policy's configuration keys and the
// metrics check: bad values are refused when the file is read, and a check
// with wrong counts fails the run.
func TestDeliveryKeys(t *testing.T) {
	scenario := func(config, check string) string {
		return `{"format": 1, "name": "x", "config": {` + config + `}, "steps": [
			{"at": 0, "open": {"session": "u@h/r"}},
			{"at": 1, "check": {"metrics": {` + check + `}}}], "expect": []}`
	}
	for _, tc := range []struct{ config, check, want string }{
		{`"debounce_window": -1`, ``, `"config.debounce_window"`},
		{`"max_pushes_per_minute": 1.5`, ``, `"config.max_pushes_per_minute"`},
		{`"max_user_pushes_per_minute": "2"`, ``, `"config.max_user_pushes_per_minute"`},
		{``, `"published_everything": 1`, `unknown reason "published_everything"`},
		{``, `"published_ping": -1`, `"check.metrics" of "published_ping" must be a whole number`},
	} {
		_, err := parseScenario("x.json", []byte(scenario(tc.config, tc.check)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config {%s} check {%s}: error %v, want one containing %q", tc.config, tc.check, err, tc.want)
		}
	}
	for _, tc := range []struct {
		check string
		fails bool
	}{
		{``, false},
		{`"published_ping": 0`, false},
		{`"published_ping": 1`, true},
	} {
		sc, err := parseScenario("x.json", []byte(scenario(`"debounce_window": 20, "max_pushes_per_minute": 2, "max_user_pushes_per_minute": 3`, tc.check)))
		if err != nil {
			t.Fatal(err)
		}
		res, err := sc.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if failed := len(res.failures) > 0; failed != tc.fails {
			t.Errorf("check {%s}: failures %v, want failing %v", tc.check, res.failures, tc.fails)
		}
	}
}

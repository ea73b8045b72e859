package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSmallRun runs a small simulation and checks that the report has
// every line and that its figures hold together.
func TestSmallRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, config{users: 1000, events: 20_000, seed: 7}); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	report := out.String()
	t.Log("\n" + report)

	number := func(pattern string) int {
		t.Helper()
		m := regexp.MustCompile(`(?m)` + pattern).FindStringSubmatch(report)
		if m == nil {
			t.Fatalf("no line matching %q", pattern)
		}
		n, err := strconv.Atoi(m[1])
		if err != nil {
			t.Fatalf("%q: %v", pattern, err)
		}
		return n
	}
	if n := number(`^run: (\d+) events in \S+ wall`); n < 20_000 {
		t.Errorf("ran %d events, want at least 20000", n)
	}
	number(`^events/s: (\d+)$`)
	publishes := number(`^publishes: (\d+) \(\d+ publishes/s; \d+ important\)$`)
	if publishes == 0 {
		t.Error("no publishes")
	}
	if n := number(`^publish errors: (\d+) \(wait \d+, dead tokens \d+\); answers lost: \d+$`); n == 0 || n > publishes/10 {
		t.Errorf("%d publish errors for %d publishes, want a few percent", n, publishes)
	}
	number(`^registrations removed: (\d+) \(live \d+\)$`)
	number(`^publishes retried: (\d+)$`)
	if n := number(`^handler errors: (\d+)$`); n != 0 {
		t.Errorf("%d handler errors", n)
	}
	if n := number(`^reply errors: (\d+)$`); n != 0 {
		t.Errorf("%d enable requests refused", n)
	}
	number(`^heap in use: (\d+)\.\d MiB`)
	number(`^engine: (\d+) users`)

	// One latency line per handler, with ordered percentiles.
	row := regexp.MustCompile(`^(\w+) +(\d+) +(\S+) +(\S+) +(\S+) +(\S+)$`)
	seen := map[string]bool{}
	for line := range strings.Lines(report) {
		m := row.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil || m[1] == "handler" {
			continue
		}
		seen[m[1]] = true
		var prev time.Duration
		for _, s := range m[3:] {
			d, err := time.ParseDuration(s)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			if d < prev {
				t.Errorf("percentiles out of order: %s", line)
			}
			prev = d
		}
	}
	for _, h := range []string{"StanzaQueued", "OfflineMessage", "MessageArchived", "HibernationStarted",
		"HibernationEnded", "AckDelayed", "SessionOpened", "SessionClosed", "IQ", "PublishResult", "Wake"} {
		if !seen[h] {
			t.Errorf("no latency line for %s", h)
		}
	}
}

// TestWaitBursts runs the simulation with push services that answer
// nothing but wait errors for a minute in every five, with retries whose
// exhausted budgets count as failures, and checks that no registration of
// a working token is removed, as none is without the bursts.
func TestWaitBursts(t *testing.T) {
	for _, burst := range []time.Duration{0, time.Minute} {
		var out bytes.Buffer
		if err := run(&out, config{users: 500, events: 60_000, seed: 3, burst: burst}); err != nil {
			t.Fatalf("run: %v\n%s", err, out.String())
		}
		report := out.String()
		m := regexp.MustCompile(`(?m)^registrations removed: (\d+) \(live (\d+)\)$`).FindStringSubmatch(report)
		r := regexp.MustCompile(`(?m)^publishes retried: (\d+)$`).FindStringSubmatch(report)
		w := regexp.MustCompile(`(?m)^publish errors: \d+ \(wait (\d+),`).FindStringSubmatch(report)
		if m == nil || r == nil || w == nil {
			t.Fatalf("burst %v: report without the removal, retry or error lines:\n%s", burst, report)
		}
		t.Logf("burst %v: removed %s (live %s), wait answers %s, retried %s", burst, m[1], m[2], w[1], r[1])
		if m[2] != "0" {
			t.Errorf("burst %v: %s registrations of working tokens removed", burst, m[2])
		}
		if burst > 0 && r[1] == "0" {
			t.Errorf("burst %v: no publish retried", burst)
		}
	}
}

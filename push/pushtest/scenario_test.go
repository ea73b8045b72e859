package pushtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// base is a valid scenario; the tests below break it one way at a time.
const base = `{
  "format": 1,
  "name": "foo",
  "summary": "An offline message wakes the registration.",
  "rules": ["R13"],
  "prosody": "same",
  "config": {"with_body": true, "batch_window": 0.25},
  "steps": [
    {"at": 0, "open": {"session": "juliet@example.org/phone"}},
    {"at": 0, "iq": {"session": "juliet@example.org/phone", "xml": "<iq type='set' id='e1'><enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='A'/></iq>"}},
    {"at": 1, "close": {"session": "juliet@example.org/phone"}},
    {"at": 2.5, "offline": {"user": "juliet@example.org", "stanza": {"ref": "m1", "xml": "<message from='romeo@montague.example/orchard' to='juliet@example.org' type='chat'><body>Hi</body></message>"}}},
    {"at": 3, "offline": {"user": "juliet@example.org", "stanza": {"ref": "m1"}}},
    {"at": 4, "check": {"registrations": {"juliet@example.org": ["push.example.net<A"]}, "bound": {"juliet@example.org/phone": null}}}
  ],
  "end": 5,
  "expect": [
    {"at": 0, "step": 1, "reply": {"session": "juliet@example.org/phone", "id": "e1", "type": "result"}},
    {"at": 2.5, "step": 3, "push": {"to": "push.example.net", "node": "A", "count": "1", "sender": "", "body": "Hi", "important": true, "options": null}}
  ]
}`

func parse(t *testing.T, name, data string) (*Scenario, error) {
	t.Helper()
	return parseScenario(name, []byte(data))
}

func TestParseValid(t *testing.T) {
	sc, err := parse(t, "scenarios/foo.json", base)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "foo" || len(sc.expect) != 2 {
		t.Errorf("parsed %+v", sc)
	}
	if got := sc.expect[1].At; got != 2500*time.Millisecond {
		t.Errorf("expect[1].At = %v, want 2.5s", got)
	}
	res, err := sc.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := res.Diff(); d != "" {
		t.Errorf("Diff:\n%s", d)
	}
}

func TestParseErrors(t *testing.T) {
	replace := func(old, new string) string {
		if !strings.Contains(base, old) {
			t.Fatalf("base has no %q", old)
		}
		return strings.Replace(base, old, new, 1)
	}
	for _, tc := range []struct {
		name, data, want string
	}{
		{"unknown top-level key", replace(`"summary"`, `"sumary"`), `scenarios/foo.json: unknown key "sumary"`},
		{"unknown key in a step's object", replace(`"open": {"session"`, `"open": {"sesion"`), `scenarios/foo.json: step 0: unknown key "sesion" in "open"`},
		{"unknown key in a step", replace(`{"at": 1, "close"`, `{"at": 1, "when": 2, "close"`), `step 2: unknown key "when"`},
		{"unknown action", replace(`"close": {`, `"shut": {`), `step 2: unknown key "shut"`},
		{"unknown config key", replace(`"with_body"`, `"with_bodies"`), `unknown key "with_bodies" in "config"`},
		{"unknown key in a stanza object", replace(`{"ref": "m1"}`, `{"ref": "m1", "id": "x"}`), `step 4: unknown key "id" in "offline.stanza"`},
		{"unknown key in a check", replace(`"bound": {"juliet`, `"bond": {"juliet`), `step 5: unknown key "bond" in "check"`},
		{"unknown key in an expected entry", replace(`"step": 1, "reply"`, `"step": 1, "replay"`), `expect 0: unknown key "replay"`},
		{"unknown key in an expected push", replace(`"sender": ""`, `"sender": "", "from": ""`), `expect 1: unknown key "from" in "push"`},
		{"missing key in an expected push", replace(`"options": null`, `"optons": null`), `expect 1: unknown key "optons" in "push"`},
		{"repeated key", replace(`"format": 1,`, `"format": 1, "format": 1,`), `key "format" repeated`},
		{"first ref without xml", strings.Replace(replace(`{"ref": "m1", "xml": "<message from='romeo@montague.example/orchard' to='juliet@example.org' type='chat'><body>Hi</body></message>"}`, `{"ref": "m1"}`), `"body": "Hi"`, `"body": "Hi"`, 1), `step 3: "offline.stanza": the first occurrence of ref "m1" must carry "xml"`},
		{"ref with other xml", replace(`{"ref": "m1"}`, `{"ref": "m1", "xml": "<message><body>Other</body></message>"}`), `step 4: "offline.stanza": ref "m1" has xml different from its first occurrence (step 3)`},
		{"stanza object without ref", replace(`{"ref": "m1"}`, `{"xml": "<message/>"}`), `step 4: "offline.stanza": missing key "ref"`},
		{"time going backwards", replace(`{"at": 3,`, `{"at": 2,`), `step 4: at 2 is before the previous step's at 2.5`},
		{"negative at", replace(`{"at": 0, "open"`, `{"at": -1, "open"`), `step 0: "at" must be between 0 and`},
		{"at as a string", replace(`{"at": 1,`, `{"at": "1",`), `step 2: "at" must be a number`},
		{"missing at", replace(`{"at": 1, "close"`, `{"close"`), `step 2: missing key "at"`},
		{"no action", replace(`{"at": 1, "close": {"session": "juliet@example.org/phone"}}`, `{"at": 1}`), `step 2: no action`},
		{"two actions", replace(`"close": {"session": "juliet@example.org/phone"}`, `"close": {"session": "juliet@example.org/phone"}, "resume": {"session": "juliet@example.org/phone"}`), `step 2: two actions, "close" and "resume"`},
		{"unparseable stanza XML", replace(`{"ref": "m1"}`, `"<message><body>Hi</message>"`), `step 4: "offline.stanza": unparseable stanza XML`},
		{"stanza of the wrong type", replace(`{"ref": "m1"}`, `42`), `step 4: "offline.stanza" must be a string of XML or an object`},
		{"end before the last step", replace(`"end": 5`, `"end": 3.5`), `"end" 3.5 is before the last step's at 4`},
		{"format 2", replace(`"format": 1`, `"format": 2`), `"format" must be 1`},
		{"format as a string", replace(`"format": 1`, `"format": "1"`), `"format" must be a number`},
		{"name not the file name", base, `scenarios/bar.json: name "foo" does not match the file name (want "bar")`},
		{"config of the wrong type", replace(`"with_body": true`, `"with_body": "yes"`), `"config.with_body" must be true or false`},
		{"config count not whole", replace(`"with_body": true`, `"max_errors": 1.5`), `"config.max_errors" must be a whole number`},
		{"config zero window", replace(`"batch_window": 0.25`, `"batch_window": 0`), `"config.batch_window" must be more than 0 seconds`},
		{"config contradictory", replace(`"batch_window": 0.25`, `"hibernation_timeout": 100, "max_hibernation_timeout": 50`), `config: push: invalid config`},
		{"session of the wrong type", replace(`"close": {"session": "juliet@example.org/phone"}`, `"close": {"session": null}`), `step 2: "close.session" must be a string`},
		{"missing session", replace(`"close": {"session": "juliet@example.org/phone"}`, `"close": {}`), `step 2: missing key "session" in "close"`},
		{"check with a bad identifier", replace(`["push.example.net<A"]`, `["push.example.net"]`), `step 5: "check.registrations" of "juliet@example.org": "push.example.net" is not a push identifier`},
		{"check bound of the wrong type", replace(`{"juliet@example.org/phone": null}`, `{"juliet@example.org/phone": false}`), `step 5: "check.bound" of "juliet@example.org/phone" (an identifier or null) must be a string`},
		{"expected step out of range", replace(`"step": 1, "reply"`, `"step": 9, "reply"`), `expect 0: step 9 does not exist`},
		{"expected at not the step's", replace(`{"at": 2.5, "step": 3`, `{"at": 3, "step": 3`), `expect 1: at 3, but step 3 is at 2.5`},
		{"expected step word", replace(`"step": 1, "reply"`, `"step": "timers", "reply"`), `expect 0: "step" must be a step index or "timer"`},
		{"expected reply type", replace(`"type": "result"}`, `"type": "ok"}`), `expect 0: "reply.type" must be "result" or "error"`},
		{"expected push count as a number", replace(`"count": "1"`, `"count": 1`), `expect 1: "push.count" must be a string`},
		{"missing expect", replace(`"end": 5,`+"\n"+`  "expect": [`, `"end": 5,`+"\n"+`  "expectations": [`), `unknown key "expectations"`},
		{"not JSON", `{"format": 1,`, `scenarios/foo.json: invalid JSON`},
		{"data after the object", base + `{}`, `data after the scenario object`},
		{"not an object", `[]`, `the scenario must be an object`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "scenarios/foo.json"
			if strings.HasPrefix(tc.want, "scenarios/bar.json") {
				name = "scenarios/bar.json"
			}
			_, err := parse(t, name, tc.data)
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), name+": ") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestParseRespondAndFaults(t *testing.T) {
	step := func(s string) string {
		return `{"format": 1, "name": "x", "steps": [` + s + `], "expect": []}`
	}
	for _, tc := range []struct{ step, want string }{
		{`{"at": 0, "respond": {"to": "p", "type": "error", "condition": "x"}}`, `"respond" of type "error" needs "error_type" and "condition"`},
		{`{"at": 0, "respond": {"to": "p", "type": "result", "condition": "x"}}`, `"respond" of type "result" takes no`},
		{`{"at": 0, "respond": {"to": "p", "type": "error", "error_type": "later", "condition": "x"}}`, `"respond.error_type" "later" is not`},
		{`{"at": 0, "respond": {"to": "p", "type": "fine"}}`, `"respond.type" must be "result" or "error"`},
		{`{"at": 0, "store-fault": {}}`, `"store-fault" needs "reads", "writes" or both`},
		{`{"at": 0, "store-fault": {"reads": 1}}`, `"store-fault.reads" must be true or false`},
		{`{"at": 0, "ping": {"user": "u@h", "nodes": []}}`, `"ping.nodes" must not be empty`},
		{`{"at": 0, "ping": {"user": "u@h", "nodes": [1]}}`, `"ping.nodes[0]" must be a string`},
		{`{"at": 0, "check": {}}`, `"check" needs "registrations", "bound", "metrics" or several`},
		{`{"at": 0, "hibernate": {"session": "u@h/r", "queue": "<message/>"}}`, `"hibernate.queue" must be an array`},
		{`{"at": 0, "hibernate": {"session": "u@h/r", "queue": ["<message>"]}}`, `"hibernate.queue[0]": unparseable stanza XML`},
	} {
		_, err := parseScenario("x.json", []byte(step(tc.step)))
		if err == nil || !strings.Contains(err.Error(), "x.json: step 0: "+tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.step, err, "x.json: step 0: "+tc.want)
		}
	}
}

func TestLoadScenario(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "foo.json")
	if err := os.WriteFile(path, []byte(base), 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadScenario(path); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.json")
	if err := os.WriteFile(other, []byte(base), 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadScenario(other); err == nil || !strings.Contains(err.Error(), other+`: name "foo" does not match`) {
		t.Errorf("LoadScenario(%s) = %v, want a name mismatch naming the file", other, err)
	}
	if _, err := LoadScenario(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("LoadScenario of a missing file succeeded")
	}
	// parseScenario with a name that is not a file name checks no name.
	if _, err := parseScenario("inline", []byte(base)); err != nil {
		t.Error(err)
	}
}

func TestDiff(t *testing.T) {
	wrong := strings.Replace(base, `"body": "Hi", "important": true`, `"body": "Hello", "important": true`, 1)
	wrong = strings.Replace(wrong, `"reply": {"session": "juliet@example.org/phone", "id": "e1", "type": "result"}},`,
		`"reply": {"session": "juliet@example.org/phone", "id": "e1", "type": "result"}},
    {"at": 1, "step": 2, "timeout": {"session": "juliet@example.org/phone", "seconds": 600}},`, 1)
	wrong = strings.Replace(wrong, `"bound": {"juliet@example.org/phone": null}`, `"bound": {"juliet@example.org/phone": "push.example.net<A"}`, 1)
	sc, err := parse(t, "foo.json", wrong)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sc.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d := res.Diff()
	for _, want := range []string{
		"at 1, step 2: 1 missing, 0 unexpected\n",
		`  missing:    {"at": 1, "step": 2, "timeout": {"session": "juliet@example.org/phone", "seconds": 600}}` + "\n",
		"at 2.5, step 3: 1 missing, 1 unexpected\n",
		`  missing:    {"at": 2.5, "step": 3, "push": {"to": "push.example.net", "node": "A", "count": "1", "sender": "", "body": "Hello", "important": true, "options": null}}` + "\n",
		`  unexpected: {"at": 2.5, "step": 3, "push": {"to": "push.example.net", "node": "A", "count": "1", "sender": "", "body": "Hi", "important": true, "options": null}}` + "\n",
		"check failed: step 5 (at 4): juliet@example.org/phone is unbound, want bound to push.example.net<A\n",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("Diff lacks %q; it is:\n%s", want, d)
		}
	}
	if strings.Contains(d, "step 1") {
		t.Errorf("Diff mentions the matching step 1:\n%s", d)
	}
}

func TestDiffOrder(t *testing.T) {
	// Entries of one (at, step) may come in any order; groups may not.
	const doc = `{"format": 1, "name": "order", "config": {"max_devices": 3},
  "steps": [
    {"at": 0, "open": {"session": "j@example.org/a"}},
    {"at": 0, "iq": {"session": "j@example.org/a", "xml": "<iq type='set' id='e1'><enable xmlns='urn:xmpp:push:0' jid='p.example.net' node='A'/></iq>"}},
    {"at": 0, "iq": {"session": "j@example.org/a", "xml": "<iq type='set' id='e2'><enable xmlns='urn:xmpp:push:0' jid='p.example.net' node='B'/></iq>"}},
    {"at": 1, "close": {"session": "j@example.org/a"}},
    {"at": 2, "ping": {"user": "j@example.org"}}
  ],
  "expect": [%s]}`
	const (
		e1 = `{"at": 0, "step": 1, "reply": {"session": "j@example.org/a", "id": "e1", "type": "result"}}`
		e2 = `{"at": 0, "step": 2, "reply": {"session": "j@example.org/a", "id": "e2", "type": "result"}}`
		pA = `{"at": 2, "step": 4, "push": {"to": "p.example.net", "node": "A", "count": "1", "sender": "", "body": "", "important": false, "options": null}}`
		pB = `{"at": 2, "step": 4, "push": {"to": "p.example.net", "node": "B", "count": "1", "sender": "", "body": "", "important": false, "options": null}}`
	)
	run := func(expect ...string) string {
		t.Helper()
		sc, err := parse(t, "", strings.Replace(doc, "%s", strings.Join(expect, ",\n"), 1))
		if err != nil {
			t.Fatal(err)
		}
		res, err := sc.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return res.Diff()
	}
	if d := run(e1, e2, pA, pB); d != "" {
		t.Errorf("pushes of one step in another order: Diff:\n%s", d)
	}
	if d := run(e1, e2, pB, pA); d != "" {
		t.Errorf("pushes of one step in the engine's order: Diff:\n%s", d)
	}
	d := run(e2, e1, pB, pA)
	if !strings.Contains(d, "the entries match, but not their order") || !strings.Contains(d, "(at 0, step 2), (at 0, step 1)") {
		t.Errorf("steps out of order: Diff:\n%s", d)
	}
	if d := run(e1, e2, pB); !strings.Contains(d, "at 2, step 4: 0 missing, 1 unexpected\n  unexpected: "+pA) {
		t.Errorf("one push not expected: Diff:\n%s", d)
	}
}

func TestRunErrors(t *testing.T) {
	const doc = `{"format": 1, "name": "x", "steps": [
    {"at": 0, "open": {"session": "j@example.org/a"}},
    {"at": 3, "respond": {"to": "p.example.net", "node": "A", "type": "result"}}
  ], "expect": []}`
	sc, err := parse(t, "x.json", doc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sc.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `x.json: step 1 (respond at 3): no unanswered publish to "p.example.net", node "A" to respond to`) {
		t.Errorf("Run = %v", err)
	}
	// An engine error names the step.
	sc, err = parse(t, "x.json", `{"format": 1, "name": "x", "steps": [{"at": 0, "open": {"session": "/nobody"}}], "expect": []}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "x.json: step 0 (open at 0): push: invalid event") {
		t.Errorf("Run = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sc.Run(ctx); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("Run with a cancelled context = %v", err)
	}
}

func TestTraceJSON(t *testing.T) {
	sc, err := parse(t, "foo.json", base)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sc.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := `[
  {"at": 0, "step": 1, "reply": {"session": "juliet@example.org/phone", "id": "e1", "type": "result"}},
  {"at": 2.5, "step": 3, "push": {"to": "push.example.net", "node": "A", "count": "1", "sender": "", "body": "Hi", "important": true, "options": null}}
]
`
	if got := string(res.TraceJSON()); got != want {
		t.Errorf("TraceJSON:\n%s\nwant:\n%s", got, want)
	}
	// The trace, pasted as expect, parses and matches.
	again := base[:strings.Index(base, `"expect"`)] + `"expect": ` + string(res.TraceJSON()) + "}"
	sc2, err := parse(t, "foo.json", again)
	if err != nil {
		t.Fatal(err)
	}
	res2, err := sc2.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := res2.Diff(); d != "" {
		t.Errorf("Diff:\n%s", d)
	}
}

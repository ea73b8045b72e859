package pushtest

import (
	"context"
	"strings"
	"testing"
)

// push2Doc is a scenario with one encrypted Push 2.0 device; %DEVICES%,
// %ENTRY% and %RESPOND% are replaced by the cases below.
const push2Doc = `{"format": 1, "name": "p", %DEVICES% "steps": [
    {"at": 0, "open": {"session": "juliet@example.org/phone"}},
    {"at": 0, "iq": {"session": "juliet@example.org/phone", "xml": "<enable xmlns='urn:xmpp:push2:0'><service>push2.example.net</service><client>c1</client><match profile='urn:xmpp:push2:match:all'><send xmlns='urn:xmpp:push2:send:sce+rfc8291+rfc8292:0'><ua-public>BAIX5hfwtkQ5KCePlpmeaaI6TywVK99tbN9m5bgCgtTtGUp968uXcS0t2jyoWqh2Wlb0X8dYWZZS8ol8ZTBuV5Q=</ua-public><auth-secret>EhISEhISEhISEhISEhISEg==</auth-secret></send></match></enable>"}},
    {"at": 1, "close": {"session": "juliet@example.org/phone"}},
    {"at": 2, "offline": {"user": "juliet@example.org", "stanza": "<message from='romeo@montague.example' to='juliet@example.org' type='chat'><body>Hi</body></message>"}}
    %RESPOND%
  ], "expect": [
    {"at": 0, "step": 1, "reply": {"session": "juliet@example.org/phone", "id": "", "type": "result"}},
    {"at": 2, "step": 3, "notification": %ENTRY%}
  ]}`

const (
	device    = `"devices": ["ERERERERERERERERERERERERERERERERERERERERERE"],`
	goodEntry = `{"to": "push2.example.net", "client": "c1", "priority": "normal", "voip": false, "stanza": "<message xmlns='jabber:client' from='romeo@montague.example' to='juliet@example.org' type='chat'><body>Hi</body></message>"}`
)

func push2Scenario(devices, entry, respond string) string {
	return strings.NewReplacer("%DEVICES%", devices, "%ENTRY%", entry, "%RESPOND%", respond).Replace(push2Doc)
}

// TestPush2Scenario: the runner decrypts a notification with the
// scenario's device key; the new keys are checked as strictly as the
// others.
func TestPush2Scenario(t *testing.T) {
	for _, c := range []struct {
		name, data string
		parseErr   string // "" when the file must parse
		runErr     string // "" when the run must succeed
		diff       bool   // the trace must differ from expect
	}{
		{"decrypted", push2Scenario(device, goodEntry, ""), "", "", false},
		{"other stanza", push2Scenario(device, strings.Replace(goodEntry, "<body>Hi", "<body>Ho", 1), ""), "", "", true},
		{"notify-only expected", push2Scenario(device, strings.Replace(goodEntry, `"stanza": "<message`, `"stanza": null, "x": "<message`, 1), ""),
			`unknown key "x"`, "", false},
		{"bad priority", push2Scenario(device, strings.Replace(goodEntry, `"normal"`, `"urgent"`, 1), ""), `"notification.priority"`, "", false},
		{"bad device key", push2Scenario(`"devices": ["abc"],`, goodEntry, ""), `"devices" item 0`, "", false},
		{"no device key", push2Scenario("", goodEntry, ""), "", `no key in "devices"`, false},
		{"answer without notification", push2Scenario(device, goodEntry,
			`, {"at": 3, "respond": {"to": "push2.example.net", "client": "c2", "type": "error", "error_type": "cancel", "condition": "gone"}}`),
			"", `no unanswered notification to "push2.example.net", client "c2"`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			sc, err := parse(t, "p.json", c.data)
			if c.parseErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.parseErr) {
					t.Fatalf("parse error %v, want %q", err, c.parseErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res, err := sc.Run(context.Background())
			if c.runErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.runErr) {
					t.Fatalf("run error %v, want %q", err, c.runErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := res.Diff(); (d != "") != c.diff {
				t.Errorf("Diff:\n%s", d)
			}
		})
	}
}

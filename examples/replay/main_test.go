package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const good = `{"format": 1, "name": "good", "summary": "An enable is answered.",
  "steps": [
    {"at": 0, "open": {"session": "juliet@example.org/phone"}},
    {"at": 0, "iq": {"session": "juliet@example.org/phone", "xml": "<iq type='set' id='e1'><enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='A'/></iq>"}},
    {"at": 1, "close": {"session": "juliet@example.org/phone"}},
    {"at": 2, "ping": {"user": "juliet@example.org"}}
  ],
  "expect": [
    {"at": 0, "step": 1, "reply": {"session": "juliet@example.org/phone", "id": "e1", "type": "result"}},
    {"at": 2, "step": 3, "push": {"to": "push.example.net", "node": "A", "count": "1", "sender": "", "body": "", "important": false, "options": null}}
  ]}`

func write(t *testing.T, dir, name, data string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(data), 0o666); err != nil {
		t.Fatal(err)
	}
	return path
}

func replay(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestReplay(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "good.json", good)
	bad := strings.Replace(good, `"good"`, `"bad"`, 1)
	bad = strings.Replace(bad, `"node": "A", "count"`, `"node": "B", "count"`, 1)
	write(t, dir, "bad.json", bad)
	write(t, dir, "broken.json", `{"format": 1, "name": "broken", "steps": [{"at": 0, "opn": {}}], "expect": []}`)
	write(t, dir, "notes.txt", "not a scenario")

	code, out, _ := replay(dir)
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	want := []string{
		"FAIL bad\n",
		"    at 2, step 3: 1 missing, 1 unexpected\n",
		`    missing:    {"at": 2, "step": 3, "push": {"to": "push.example.net", "node": "B",`,
		`    unexpected: {"at": 2, "step": 3, "push": {"to": "push.example.net", "node": "A",`,
		"FAIL broken\n    " + filepath.Join(dir, "broken.json") + `: step 0: unknown key "opn"` + "\n",
		"PASS good\n",
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if !strings.HasSuffix(out, "\n1 passed, 2 failed\n") {
		t.Errorf("output does not end with the summary:\n%s", out)
	}
	// Scenarios of a directory run in name order.
	if i, j, k := strings.Index(out, "FAIL bad"), strings.Index(out, "FAIL broken"), strings.Index(out, "PASS good"); !(i < j && j < k) {
		t.Errorf("not in name order:\n%s", out)
	}
}

func TestReplayPass(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "good.json", good)
	code, out, _ := replay(file)
	if code != 0 || out != "PASS good\n1 passed, 0 failed\n" {
		t.Errorf("exit code %d, output:\n%s", code, out)
	}
	code, out, _ = replay("-trace", file)
	if code != 0 || !strings.Contains(out, "PASS good\n[\n  {\"at\": 0, \"step\": 1, \"reply\"") || !strings.HasSuffix(out, "]\n1 passed, 0 failed\n") {
		t.Errorf("-trace: exit code %d, output:\n%s", code, out)
	}
}

func TestReplayMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nothing.json")
	code, out, _ := replay(missing)
	if code != 1 || !strings.HasPrefix(out, "FAIL "+missing+"\n    ") || !strings.HasSuffix(out, "0 passed, 1 failed\n") {
		t.Errorf("exit code %d, output:\n%s", code, out)
	}
	code, out, _ = replay(t.TempDir())
	if code != 1 || !strings.Contains(out, "no *.json scenario files") {
		t.Errorf("empty directory: exit code %d, output:\n%s", code, out)
	}
}

func TestReplayUsage(t *testing.T) {
	if code, _, errOut := replay(); code != 2 || !strings.Contains(errOut, "usage: replay") {
		t.Errorf("no arguments: exit code %d, stderr %q", code, errOut)
	}
	if code, _, _ := replay("-bogus", "x"); code != 2 {
		t.Errorf("unknown flag: exit code %d", code)
	}
}

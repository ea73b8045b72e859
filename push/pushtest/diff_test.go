package pushtest

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDiffTraces(t *testing.T) {
	push := func(at time.Duration, step int, node, body string) entry {
		return entry{At: at * time.Second, Step: step, Push: &tracePush{To: "push.example.net", Node: node, Count: "1", Body: body, Important: true}}
	}
	reply := entry{At: 0, Step: 1, Reply: &traceReply{Session: "j@example.org/a", ID: "e1", Type: "result"}}
	timeout := entry{At: 0, Step: 1, Timeout: &traceTimeout{Session: "j@example.org/a", Duration: time.Hour}}
	for _, tc := range []struct {
		name      string
		want, got []entry
		// lines must each match a line of the difference (after go-cmp's
		// non-breaking spaces are made plain spaces); absent must not
		// occur in it. No lines: the traces match.
		lines  []string
		absent []string
	}{
		{name: "equal", want: []entry{reply, push(2, 3, "A", "Hi")}, got: []entry{reply, push(2, 3, "A", "Hi")}},
		{
			name: "one group in another order",
			want: []entry{push(2, 3, "A", "Hi"), push(2, 3, "B", "Hi")},
			got:  []entry{push(2, 3, "B", "Hi"), push(2, 3, "A", "Hi")},
		},
		{
			name: "a field differs",
			want: []entry{reply, push(2, 3, "A", "Hello")},
			got:  []entry{reply, push(2, 3, "A", "Hi")},
			lines: []string{
				`^at 2, step 3: 1 missing, 1 unexpected$`,
				`^  missing:    \{"at": 2, "step": 3, "push": .*"body": "Hello"`,
				`^  unexpected: \{"at": 2, "step": 3, "push": .*"body": "Hi"`,
				`^  field by field \(-missing \+unexpected\):$`,
				`^  \s+"push to push.example.net, node A": &pushtest.tracePush\{$`,
				`^  -\s+Body:\s+"Hello",$`,
				`^  \+\s+Body:\s+"Hi",$`,
			},
			absent: []string{"step 1", `-  Count`, `Node: "A"`},
		},
		{
			name: "only missing: no field-by-field difference",
			want: []entry{reply, push(2, 3, "A", "Hi")},
			got:  []entry{reply},
			lines: []string{
				`^at 2, step 3: 1 missing, 0 unexpected$`,
				`^  missing:    \{"at": 2, "step": 3, "push"`,
			},
			absent: []string{"field by field", "unexpected:"},
		},
		{
			name: "two pushes to one registration in a group",
			want: []entry{push(2, 3, "A", "one"), push(2, 3, "A", "two")},
			got:  []entry{push(2, 3, "A", "one"), push(2, 3, "A", "2")},
			lines: []string{
				`^at 2, step 3: 1 missing, 1 unexpected$`,
				`^  -\s+Body:\s+"two",$`,
				`^  \+\s+Body:\s+"2",$`,
			},
		},
		{
			name: "duplicates are told apart",
			want: []entry{push(2, 3, "A", "x"), push(2, 3, "A", "x")},
			got:  []entry{push(2, 3, "A", "y"), push(2, 3, "A", "y")},
			lines: []string{
				`^at 2, step 3: 2 missing, 2 unexpected$`,
				`"push to push.example.net, node A": &pushtest.tracePush\{$`,
				`"push to push.example.net, node A \(2\)": &pushtest.tracePush\{$`,
			},
		},
		{
			name: "another kind of decision",
			want: []entry{reply},
			got:  []entry{timeout},
			lines: []string{
				`^at 0, step 1: 1 missing, 1 unexpected$`,
				`^  -\s+"reply to j@example.org/a, id e1": &pushtest.traceReply\{`,
				`^  \+\s+"timeout of j@example.org/a":\s+&pushtest.traceTimeout\{`,
			},
		},
		{
			name: "groups in another order",
			want: []entry{reply, push(2, 3, "A", "Hi")},
			got:  []entry{push(2, 3, "A", "Hi"), reply},
			lines: []string{
				`^the entries match, but not their order: entry 0 is \(at 2, step 3\), expected \(at 0, step 1\)$`,
				`^  expected order: \(at 0, step 1\), \(at 2, step 3\)$`,
				`^  got order:      \(at 2, step 3\), \(at 0, step 1\)$`,
			},
			absent: []string{"field by field"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := strings.ReplaceAll(diffTraces(tc.want, tc.got), "\u00a0", " ")
			if len(tc.lines) == 0 {
				if d != "" {
					t.Errorf("traces differ:\n%s", d)
				}
				return
			}
			for _, l := range tc.lines {
				if !regexp.MustCompile(`(?m)` + l).MatchString(d) {
					t.Errorf("no line matches %s in:\n%s", l, d)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(d, a) {
					t.Errorf("%q in:\n%s", a, d)
				}
			}
		})
	}
}

package pushtest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
)

// groupKey names the group of entries that may come in any order: those
// with the same At and Step.
type groupKey struct {
	at   time.Duration
	step int
}

func (k groupKey) String() string {
	if k.step == timerStep {
		return fmt.Sprintf("at %s, timer", seconds(k.at))
	}
	return fmt.Sprintf("at %s, step %d", seconds(k.at), k.step)
}

func keyOf(e *entry) groupKey { return groupKey{e.At, e.Step} }

// diffTraces compares a trace with the expected one: they match when they
// have the same entries and the same sequence of (At, Step), so that only
// entries of one group may come in another order. It returns "" when they
// match, else a readable account, group by group, of the entries missing
// (expected, not produced) and unexpected (produced, not expected), one
// JSON line each; where a group has both, a field-by-field difference of
// its missing decisions (-) and its unexpected ones (+) follows.
func diffTraces(want, got []entry) string {
	type group struct{ missing, unexpected []entry }
	groups := make(map[groupKey]*group)
	var keys []groupKey
	count := func(trace []entry) map[groupKey]map[string]int {
		m := make(map[groupKey]map[string]int)
		for i := range trace {
			k := keyOf(&trace[i])
			if m[k] == nil {
				m[k] = make(map[string]int)
				if groups[k] == nil {
					groups[k] = &group{}
					keys = append(keys, k)
				}
			}
			m[k][trace[i].String()]++
		}
		return m
	}
	wantCount, gotCount := count(want), count(got)
	for i := range want {
		k, s := keyOf(&want[i]), want[i].String()
		if gotCount[k][s] > 0 {
			gotCount[k][s]--
		} else {
			groups[k].missing = append(groups[k].missing, want[i])
		}
	}
	for i := range got {
		k, s := keyOf(&got[i]), got[i].String()
		if wantCount[k][s] > 0 {
			wantCount[k][s]--
		} else {
			groups[k].unexpected = append(groups[k].unexpected, got[i])
		}
	}
	slices.SortFunc(keys, func(a, b groupKey) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.step, b.step)
	})
	var sb strings.Builder
	for _, k := range keys {
		g := groups[k]
		if len(g.missing) == 0 && len(g.unexpected) == 0 {
			continue
		}
		fmt.Fprintf(&sb, "%s: %d missing, %d unexpected\n", k, len(g.missing), len(g.unexpected))
		for _, e := range g.missing {
			fmt.Fprintf(&sb, "  missing:    %s\n", e)
		}
		for _, e := range g.unexpected {
			fmt.Fprintf(&sb, "  unexpected: %s\n", e)
		}
		if len(g.missing) > 0 && len(g.unexpected) > 0 {
			sb.WriteString("  field by field (-missing +unexpected):\n")
			d := gocmp.Diff(decisions(g.missing), decisions(g.unexpected))
			sb.WriteString("  " + strings.ReplaceAll(strings.TrimRight(d, "\n"), "\n", "\n  ") + "\n")
		}
	}
	if sb.Len() > 0 {
		return sb.String()
	}
	// Same entries in every group: the groups must also come in the same
	// order.
	for i := range want {
		if keyOf(&want[i]) != keyOf(&got[i]) {
			fmt.Fprintf(&sb, "the entries match, but not their order: entry %d is (%s), expected (%s)\n",
				i, keyOf(&got[i]), keyOf(&want[i]))
			fmt.Fprintf(&sb, "  expected order: %s\n", groupOrder(want))
			fmt.Fprintf(&sb, "  got order:      %s\n", groupOrder(got))
			break
		}
	}
	return sb.String()
}

// decisions maps the decisions of entries of one group (their At and Step
// are equal, so only the decisions can differ) by what they are for: the
// registration a push goes to, the request a reply answers, the session a
// timeout is for. cmp.Diff then sets each missing decision against the
// unexpected one for the same thing, field by field.
func decisions(entries []entry) map[string]any {
	m := make(map[string]any, len(entries))
	for _, e := range entries {
		var key string
		var d any
		switch {
		case e.Reply != nil:
			key, d = fmt.Sprintf("reply to %s, id %s", e.Reply.Session, e.Reply.ID), e.Reply
		case e.Timeout != nil:
			key, d = "timeout of "+e.Timeout.Session, e.Timeout
		case e.Notification != nil:
			key, d = fmt.Sprintf("notification to %s, client %s", e.Notification.To, e.Notification.Client), e.Notification
		default:
			key, d = fmt.Sprintf("push to %s, node %s", e.Push.To, e.Push.Node), e.Push
		}
		for n, k := 2, key; m[key] != nil; n++ {
			key = fmt.Sprintf("%s (%d)", k, n)
		}
		m[key] = d
	}
	return m
}

// groupOrder lists the groups of a trace in the order they come.
func groupOrder(trace []entry) string {
	var parts []string
	for i := range trace {
		if i == 0 || keyOf(&trace[i]) != keyOf(&trace[i-1]) {
			parts = append(parts, "("+keyOf(&trace[i]).String()+")")
		}
	}
	return strings.Join(parts, ", ")
}

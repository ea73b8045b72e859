package core

import (
	"strings"
	"testing"
)

// TestReasons runs scripts in the data-driven language (see TestDataDriven)
// and checks the reasons counted: every stanza considered for a
// registration counts exactly one reason, and nothing else is counted.
func TestReasons(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string // commands separated by ";"
		want   map[Reason]uint32
	}{
		{"hibernation queue: one push per class, the rest batched",
			"open p; enable p A; hibernate p chat:a chat:b state:s1 state:s2",
			map[Reason]uint32{PublishedImportant: 1, PublishedUnimportant: 1, SuppressedBatch: 2}},
		{"a stanza pushed before is deduplicated",
			"open p; enable p A; hibernate p chat:a; resume p; hibernate p chat:a chat:b",
			map[Reason]uint32{PublishedImportant: 2, SuppressedDedup: 1}},
		{"batch flushed at its due time",
			"open p; enable p A; hibernate p; at 1; queue p chat:a; queue p chat:b; at 2; flush p 2",
			map[Reason]uint32{PublishedImportant: 1, SuppressedBatch: 1}},
		{"batch withdrawn by a resumption",
			"open p; enable p A; hibernate p; at 1; queue p chat:a state:s; resume p",
			map[Reason]uint32{SuppressedWithdrawn: 2}},
		{"batch withdrawn by a close",
			"open p; enable p A; hibernate p; at 1; queue p chat:a; close p",
			map[Reason]uint32{SuppressedWithdrawn: 1}},
		{"batch withdrawn by a removal",
			"open p; enable p A; hibernate p; at 1; queue p chat:a; remove A",
			map[Reason]uint32{SuppressedWithdrawn: 1}},
		{"unbound session",
			"open p; hibernate p chat:a; queue p chat:b state:c",
			map[Reason]uint32{SuppressedUnbound: 3}},
		{"fan-out: bound registration skipped, the other pushed",
			"open p; enable p A; enable q B; close q; fanout skipbound chat:a A B",
			map[Reason]uint32{PublishedImportant: 1, SuppressedBound: 1}},
		{"fan-out after the queue pushed it",
			"open p; enable p A; hibernate p chat:a; fanout chat:a A B",
			map[Reason]uint32{PublishedImportant: 2, SuppressedDedup: 1}},
		{"ping",
			"open p; enable p A; enable q B; ping A B",
			map[Reason]uint32{PublishedPing: 2}},
		{"wake-up before the hibernation timeout",
			"config wakebefore=60; open p; enable p A; hibernate p; at 259140; wake 259140",
			map[Reason]uint32{PublishedWake: 1}},
		{"wake-ups after a restart",
			"open p; enable p A; enable q B; restart A B",
			map[Reason]uint32{PublishedWake: 2}},
		{"repeated push for stanzas never acknowledged",
			"config repeat=30 max=1; open p; enable p A; hibernate p chat:a; resume p; hibernate p chat:a; at 30; wake 30",
			map[Reason]uint32{PublishedImportant: 1, SuppressedDedup: 1, PublishedRepeat: 1}},
		{"clearing push after a read on another device",
			"config clear; open p; open q; enable p A; enable q B; fanout chat:a A B; read p A B",
			map[Reason]uint32{PublishedImportant: 2, PublishedCleared: 1}},
		{"missed wake: overdue batch processed by the next stanza",
			"open p; enable p A; hibernate p; at 1; queue p chat:a; at 5; queue p chat:b",
			map[Reason]uint32{PublishedImportant: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScript()
			for _, cmd := range strings.Split(tc.script, ";") {
				for _, line := range s.apply(strings.TrimSpace(cmd)) {
					if strings.HasPrefix(line, "error") {
						t.Fatalf("%s: %s", cmd, line)
					}
				}
			}
			for r := range NumReasons {
				if s.counts[r] != tc.want[r] {
					t.Errorf("reason %d counted %d, want %d (all: %v)", r, s.counts[r], tc.want[r], s.counts)
				}
			}
		})
	}
}

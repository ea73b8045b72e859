package push

import (
	"strings"
	"testing"
	"time"
)

// Publish ids are cut from shared chunks. An id handed out must keep its
// text while later events fill the chunk and start new ones, and every
// id must still be matched by its answer.
func TestIDsKeptAcrossChunks(t *testing.T) {
	h := newHarness(t, Config{MaxErrors: 1, PublishTimeout: time.Hour, IDPrefix: "p-"})
	h.open(at(0), phone)
	h.enable(at(0), phone, "A")
	h.close(at(0), phone)
	const events = 3 * idChunk / len("p-.0") // well past one chunk's worth of ids
	var pubs []Publish
	var texts []string
	seen := make(map[string]bool)
	for i := range events {
		d := h.offline(at(float64(1+i)), h.chat("x"))
		if len(d.Publishes) != 1 {
			t.Fatalf("event %d: %d publishes, want 1", i, len(d.Publishes))
		}
		p := d.Publishes[0]
		if seen[p.ID] {
			t.Fatalf("event %d: id %q handed out twice", i, p.ID)
		}
		seen[p.ID] = true
		pubs = append(pubs, p)
		texts = append(texts, strings.Clone(p.ID))
	}
	for i, p := range pubs {
		if p.ID != texts[i] {
			t.Fatalf("id %d changed after it was handed out: %q, was %q", i, p.ID, texts[i])
		}
	}
	for _, p := range pubs {
		h.respond(at(float64(events+1)), p, "", "")
	}
	if s := h.e.Stats(); s.AnswersUnknown != 0 || s.PendingPublishes != 0 {
		t.Fatalf("after answering every id: AnswersUnknown %d, PendingPublishes %d, want 0 and 0", s.AnswersUnknown, s.PendingPublishes)
	}
}

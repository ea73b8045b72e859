package pushtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pushrules/pushrules/push"
)

func TestRecorder(t *testing.T) {
	var r recorder
	var s push.Sender = &r
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if err := s.Send(context.Background(), push.Publish{ID: string(rune('a' + i))}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	pubs := r.Publishes()
	if len(pubs) != 10 {
		t.Fatalf("%d publishes recorded, want 10", len(pubs))
	}
	pubs[0].ID = "changed"
	if r.Publishes()[0].ID == "changed" {
		t.Error("Publishes does not return a copy")
	}
}

func TestClock(t *testing.T) {
	var c clock
	if got := c.Now(); !got.Equal(epoch) {
		t.Errorf("zero clock reads %v, want %v", got, epoch)
	}
	at := epoch.Add(time.Hour)
	c.Set(at)
	if got := c.Now(); !got.Equal(at) {
		t.Errorf("after Set, Now = %v, want %v", got, at)
	}
}

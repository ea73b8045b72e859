package pushtest_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pushrules/pushrules/push"
	"github.com/pushrules/pushrules/push/pushtest"
)

func TestRecorder(t *testing.T) {
	var r pushtest.Recorder
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
	if got := r.Len(); got != 10 {
		t.Errorf("Len = %d, want 10", got)
	}
	pubs := r.Publishes()
	pubs[0].ID = "changed"
	if r.Publishes()[0].ID == "changed" {
		t.Error("Publishes does not return a copy")
	}
	r.Reset()
	if got := len(r.Publishes()); got != 0 {
		t.Errorf("after Reset, %d publishes", got)
	}
}

func TestClock(t *testing.T) {
	var c pushtest.Clock
	if got := c.Now(); !got.Equal(pushtest.Epoch) {
		t.Errorf("zero Clock reads %v, want %v", got, pushtest.Epoch)
	}
	if got := c.Advance(250 * time.Millisecond); !got.Equal(pushtest.Epoch.Add(250 * time.Millisecond)) {
		t.Errorf("Advance gives %v", got)
	}
	at := pushtest.Epoch.Add(time.Hour)
	c.Set(at)
	if got := c.Now(); !got.Equal(at) {
		t.Errorf("after Set, Now = %v, want %v", got, at)
	}
}

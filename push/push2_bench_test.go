package push

import (
	"context"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push2"
)

// BenchmarkOfflinePush2 is an offline message for a user with one
// encrypted Push 2.0 device: the decision (deduplication, match, id) and,
// in the render case, the host's rendering of the notification (envelope,
// RFC 8291 encryption: an ECDH key pair per push dominates).
func BenchmarkOfflinePush2(b *testing.B) {
	for _, render := range []bool{false, true} {
		name := "decide"
		if render {
			name = "decide+render"
		}
		b.Run(name, func(b *testing.B) {
			e, err := New(Config{PublishTimeout: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			dev := newDevice(b, 9)
			ctx := context.Background()
			for _, ev := range []events.Event{
				events.SessionOpened{Now: at(0), Session: phone},
				events.IQ{Now: at(0), Session: phone, ID: "e", Payload: enable2(b, &dev, push2.Match{Profile: push2.MatchImportant})},
				events.SessionClosed{Now: at(0), Session: phone},
			} {
				if _, err := e.Handle(ctx, ev); err != nil {
					b.Fatal(err)
				}
			}
			st := chat("Wherefore art thou Romeo?", 0)
			now := at(1)
			var d Decisions
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(10 * time.Microsecond)
				st.Key++
				d.Reset()
				if err := e.HandleInto(ctx, events.OfflineMessage{Now: now, User: juliet, Stanza: st}, &d); err != nil || len(d.Notifications) != 1 {
					b.Fatalf("%d notifications, %v", len(d.Notifications), err)
				}
				if render {
					if buf, err = d.Notifications[0].AppendXML(buf[:0], nil); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

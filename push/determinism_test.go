package push

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push2"
	"github.com/pushrules/pushrules/registry"
)

// randomEvents builds a random sequence of events of every kind for a
// few users, in time order. Answers to publishes are drawn later, from
// the publishes the first engine made (answerSlot marks where).
type eventGen struct {
	rng  *rand.Rand
	now  time.Time
	key  events.Key
	subj []string // user names
	p2   [][]byte // Push 2.0 enables to choose from
	// hib is the stanza each session last hibernated with: a session may
	// hibernate with it again, unacknowledged.
	hib map[string]events.Stanza
}

func (g *eventGen) user() string { return g.subj[g.rng.IntN(len(g.subj))] }

func (g *eventGen) session() string {
	return g.user() + "/" + []string{"phone", "tablet", "desktop"}[g.rng.IntN(3)]
}

func (g *eventGen) stanza(user string) events.Stanza {
	g.key++
	st := events.Stanza{Key: g.key, Kind: events.KindMessage, Type: "chat", From: "romeo@montague.example/orchard", To: user}
	switch g.rng.IntN(9) {
	case 0:
		st.Kind, st.Type = events.KindPresence, ""
	case 1: // a chat state: unimportant
	case 2:
		st.CallProposal, extra(&st).CallID, extra(&st).CallMedia = true, fmt.Sprint("call", g.rng.IntN(3)), "audio"
	case 3:
		st.Encrypted = true
	case 4: // the end of a call, perhaps one pushed
		st.CallEnd, extra(&st).CallID = true, fmt.Sprint("call", g.rng.IntN(3))
	case 5: // from a stranger
		st.From, st.Body, st.HasBody = "paris@verona.example/x", "hello", true
	case 6: // a groupchat message, perhaps mentioning the user
		st.Type, st.From, st.Body, st.HasBody = "groupchat", "room@muc.example/Nurse", "Juliet, supper", true
		extra(&st).Mentions = []string{"", user, "room@muc.example/Juliet"}[g.rng.IntN(3)]
	default:
		st.Body, st.HasBody = fmt.Sprintf("message %d", g.key), true
	}
	st.StanzaID = g.rng.IntN(2) == 0
	if st.Kind == events.KindMessage && g.rng.IntN(4) != 0 {
		extra(&st).Raw = fmt.Sprintf("<message to='%s' id='m%d'><body>%s</body></message>", user, g.key, st.Body)
	}
	if g.rng.IntN(5) == 0 {
		g.key-- // the same stanza again, by another path
		st.Key = g.key
		g.key++
	}
	return st
}

// genExtensions are the extension children an enable may carry: none,
// each extension alone, and several at once.
var genExtensions = []string{"", "", extPriority, extJingle, extEncrypt + extPriority,
	"<muted xmlns='tigase:push:filter:muted:0'><item jid='romeo@montague.example'/></muted>",
	"<ignore-unknown xmlns='tigase:push:filter:ignore-unknown:0'/>" + extJingle,
	"<groupchat xmlns='tigase:push:filter:groupchat:0'><room jid='room@muc.example' allow='mentioned' nick='Juliet'/></groupchat>" + extEncrypt,
	"<groupchat xmlns='tigase:push:filter:groupchat:0'><room jid='room@muc.example' allow='never'/></groupchat>",
}

// next returns the next event; nil means "answer a publish" or "wake".
func (g *eventGen) next() (ev events.Event, answer, wake bool) {
	g.now = g.now.Add(time.Duration(g.rng.IntN(1500)) * time.Millisecond)
	now := g.now
	switch g.rng.IntN(20) {
	case 0:
		ev := events.SessionOpened{Now: now, Session: g.session()}
		if g.rng.IntN(2) == 0 {
			ev.Client = []string{"ios", "android"}[g.rng.IntN(2)]
		}
		return ev, false, false
	case 1:
		return events.SessionClosed{Now: now, Session: g.session()}, false, false
	case 2, 3:
		node := string(rune('A' + g.rng.IntN(4)))
		ext := genExtensions[g.rng.IntN(len(genExtensions))]
		return events.IQ{Now: now, Session: g.session(), ID: "e",
			Payload: []byte("<enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='" + node + "'>" + ext + "</enable>")}, false, false
	case 4:
		return events.IQ{Now: now, Session: g.session(), ID: "d",
			Payload: []byte("<disable xmlns='urn:xmpp:push:0' jid='push.example.net' node='" + string(rune('A'+g.rng.IntN(4))) + "'/>")}, false, false
	case 5:
		s := g.session()
		return events.AckDelayed{Now: now, Session: s, Queue: []events.Stanza{g.stanza(s), g.stanza(s)}}, false, false
	case 6:
		s := g.session()
		st, ok := g.hib[s]
		if !ok || g.rng.IntN(2) == 0 {
			st = g.stanza(s)
		}
		if g.hib == nil {
			g.hib = map[string]events.Stanza{}
		}
		g.hib[s] = st
		return events.HibernationStarted{Now: now, Session: s, Queue: []events.Stanza{st}}, false, false
	case 7, 8:
		s := g.session()
		return events.StanzaQueued{Now: now, Session: s, Stanza: g.stanza(s)}, false, false
	case 9:
		return events.HibernationEnded{Now: now, Session: g.session()}, false, false
	case 10:
		u := g.user()
		return events.MessageArchived{Now: now, User: u, Stanza: g.stanza(u)}, false, false
	case 11:
		u := g.user()
		return events.OfflineMessage{Now: now, User: u, Stanza: g.stanza(u)}, false, false
	case 12:
		u := g.user()
		return events.GroupchatToBare{Now: now, User: u, Stanza: g.stanza(u)}, false, false
	case 13:
		return events.Ping{Now: now, User: g.user()}, false, false
	case 14:
		switch g.rng.IntN(6) {
		case 0:
			return events.UserDeleted{Now: now, User: g.user()}, false, false
		case 1:
			from := []string{"push.example.net", "evil.example"}[g.rng.IntN(2)]
			return events.RemoteDisabled{Now: now, User: g.user(), From: from, Node: string(rune('A' + g.rng.IntN(4)))}, false, false
		}
		return events.RegistrationsChanged{Now: now, User: g.user()}, false, false
	case 15:
		return nil, true, false
	case 16:
		return events.IQ{Now: now, Session: g.session(), ID: "e2", Payload: g.p2[g.rng.IntN(len(g.p2))]}, false, false
	case 17:
		return events.IQ{Now: now, Session: g.session(), ID: "d2", Payload: []byte("<disable xmlns='urn:xmpp:push2:0'/>")}, false, false
	case 18:
		switch g.rng.IntN(4) {
		case 0:
			return events.MessagesRead{Now: now, Session: g.session()}, false, false
		case 1:
			return events.Restarted{Now: now, User: g.user(), Nodes: []string{"A", "B", "C"}[:g.rng.IntN(3)]}, false, false
		}
		return events.SessionActive{Now: now, Session: g.session()}, false, false
	}
	return nil, false, true
}

// render writes decisions as bytes: everything the host sees, in order.
func render(b *strings.Builder, d Decisions, err error) {
	fmt.Fprintf(b, "err=%v wake=%v\n", err, d.Wake.UnixNano())
	for _, r := range d.Replies {
		b.Write(r.AppendXML(nil))
		b.WriteByte('\n')
	}
	for _, t := range d.Timeouts {
		fmt.Fprintf(b, "timeout %s %v %v\n", t.Session, t.Duration, t.At.UnixNano())
	}
	for _, p := range d.Publishes {
		fmt.Fprintf(b, "important=%v ", p.Important)
		if p.Extensions.Encrypted() { // its bytes hold a random IV: render what they say
			fmt.Fprintf(b, "encrypted voip=%v payload=%+v %s ", p.VoIP, p.Payload, p.Extensions)
			p.Extensions = registry.Extensions{}
		}
		b.Write(p.AppendXML(nil))
		b.WriteByte('\n')
	}
	for _, n := range d.Notifications {
		x, err := n.AppendXML(nil, rand.NewChaCha8([32]byte{1}))
		fmt.Fprintf(b, "notification %s %s %d err=%v ", n.User, n.Client, n.Match, err)
		b.Write(x)
		b.WriteByte('\n')
	}
	for _, c := range d.Changes {
		fmt.Fprintf(b, "change %+v\n", c)
	}
}

// push2Enables are the Push 2.0 enables of the generator: every match
// profile, with and without filters, grace and encryption.
func push2Enables(t *testing.T) [][]byte {
	dev := newDevice(t, 5)
	var out [][]byte
	for p := push2.MatchAll; p.String() != ""; p++ {
		out = append(out, enable2(t, &dev, push2.Match{Profile: p}), enable2(t, nil, push2.Match{Profile: p, Grace: 20 * time.Second,
			Filters: []push2.Filter{{JID: "romeo@montague.example", Mention: true}}}))
	}
	return out
}

// TestDeterminism feeds the same random event sequences, of every kind and
// for many users, to two engines, one event at a time, and requires
// byte-identical decisions, their order and publish ids included.
func TestDeterminism(t *testing.T) {
	sequences := 1000
	if testing.Short() {
		sequences = 100
	}
	ctx := context.Background()
	enables := push2Enables(t)
	notes := 0                // Push 2.0 notifications decided: the generator must make some
	seen := map[string]bool{} // extension features and wake-up reasons the sequences exercised
	for seq := range sequences {
		var engines [2]*Engine
		for i := range engines {
			cfg := Config{IDPrefix: "p-", IDSecret: "s", MaxDevices: 3, MaxErrors: 2, Store: registry.NewMemory(),
				PublishTimeout: 20 * time.Second, Expiry: time.Minute,
				Errors: ErrorPolicy{MaxTimeouts: 2, FailureSpan: 30 * time.Second, Retry: RetryPolicy{Attempts: 2, Base: time.Second}},
				Roster: rosterFunc(func(_, contact string) (bool, error) { return contact != "paris@verona.example", nil })}
			if seq%2 == 1 { // every other sequence under a delivery policy
				cfg.DebounceWindow, cfg.MaxPushesPerMinute, cfg.MaxUserPushesPerMinute = 5*time.Second, 3, 5
				cfg.GracePeriod = 4 * time.Second
			}
			if seq%3 == 2 { // every third under the wake-ups, repeats and clearing pushes
				cfg.HibernationTimeout, cfg.MaxHibernationTimeout, cfg.WakeBeforeTimeout = 20*time.Second, 30*time.Second, 5*time.Second
				cfg.RepeatAfter, cfg.ClearOnRead = 2*time.Second, true
			}
			e, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			engines[i] = e
		}
		g := &eventGen{rng: rand.New(rand.NewPCG(uint64(seq), 7)), now: epoch, p2: enables}
		for u := range 20 {
			g.subj = append(g.subj, fmt.Sprintf("u%d@example.org", u))
		}
		var outs [2]strings.Builder
		type sentPush struct{ id, to string }
		var sent []sentPush // the first engine's publishes and notifications, answered at random
		for range 60 {
			ev, answer, wake := g.next()
			var answered sentPush
			if answer {
				if len(sent) == 0 {
					continue
				}
				answered = sent[g.rng.IntN(len(sent))]
			}
			for i, e := range engines {
				var d Decisions
				var err error
				switch {
				case wake:
					d = e.Wake(ctx, g.now)
					if g.now.Second()%10 == 0 {
						x, xerr := e.Expire(ctx, g.now)
						d.Changes, err = append(d.Changes, x.Changes...), xerr
					}
				case answer:
					var se *events.StanzaError
					switch answered.id[len(answered.id)-1] % 3 {
					case 0:
						se = &events.StanzaError{Type: "cancel", Condition: "item-not-found"}
					case 1:
						se = &events.StanzaError{Type: "wait", Condition: "resource-constraint"}
					}
					d, err = e.Handle(ctx, events.PublishResult{Now: g.now, ID: answered.id, From: answered.to, Error: se})
				default:
					d, err = e.Handle(ctx, ev)
				}
				if err != nil && !errors.Is(err, ErrInvalidEvent) && !errors.Is(err, ErrLimit) {
					t.Fatalf("sequence %d: %v", seq, err)
				}
				render(&outs[i], d, err)
				if i == 0 {
					for _, p := range d.Publishes {
						sent = append(sent, sentPush{p.ID, p.To()})
					}
					for _, n := range d.Notifications {
						sent = append(sent, sentPush{n.ID, n.To()})
					}
				}
			}
		}
		for i, e := range engines {
			fmt.Fprintf(&outs[i], "metrics %v\n", e.Metrics().Counts)
		}
		for _, r := range []Reason{PublishedWake, PublishedRepeat, PublishedCleared} {
			seen[r.String()] = seen[r.String()] || engines[0].Metrics().Counts[r] > 0
		}
		notes += strings.Count(outs[0].String(), "notification ")
		if a, b := outs[0].String(), outs[1].String(); a != b {
			t.Fatalf("sequence %d: the engines decided differently:\n%s", seq, firstDifference(a, b))
		}
		for _, f := range []string{"voip=true", "action='retract'", ">high</priority>", ">low</priority>", "<jingle ", "Nickname:Nurse"} {
			seen[f] = seen[f] || strings.Contains(outs[0].String(), f)
		}
	}
	for f, ok := range seen {
		if !ok && !testing.Short() { // 100 sequences may miss the rarest
			t.Errorf("no sequence produced %q: the generator misses an extension", f)
		}
	}
	if notes == 0 {
		t.Error("no sequence gave a Push 2.0 notification")
	}
}

func firstDifference(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n  %s\n  %s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(la), len(lb))
}

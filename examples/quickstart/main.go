// Command quickstart is a simulated XMPP server that shows the whole life of
// a push registration, printing every decision of the push rules and the
// publish IQs as the server would send them. Time is simulated, so the
// transcript is the same on every run:
//
//	go run ./examples/quickstart
//
// The story: Juliet's phone enables push with a secret; its connection
// drops and the session hibernates; messages arrive (one push, then a batch);
// the phone resumes, then goes away for good; an offline message wakes it;
// her desktop is online while an archived message arrives; the push service
// starts failing until the registration is dropped; finally her tablet asks
// for encrypted, prioritised pushes, and the transcript shows one as the
// tablet decrypts it.
package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
)

const (
	phone   = "juliet@example.org/phone"
	tablet  = "juliet@example.org/tablet"
	desktop = "juliet@example.org/desktop"
	user    = "juliet@example.org"
	romeo   = "romeo@montague.example/orchard"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// server is the simulated host: a clock, the engine, and what it prints.
type server struct {
	out    io.Writer
	engine *push.Engine
	start  time.Time
	now    time.Time
	key    events.Key
	sent   []push.Publish // publishes not yet answered
	err    error
}

func run(out io.Writer) error {
	engine, err := push.New(push.Config{MaxErrors: 3, IDPrefix: "push-", IDSecret: "example"})
	if err != nil {
		return err
	}
	start := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	s := &server{out: out, engine: engine, start: start, now: start}
	ctx := context.Background()

	s.say("Juliet's phone connects and enables push with a secret.")
	s.handle(ctx, events.SessionOpened{Session: phone})
	s.handle(ctx, events.IQ{Session: phone, ID: "e1", Payload: []byte(
		`<enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='yxs32uqsflafdk3iuqo'>` +
			`<x xmlns='jabber:x:data' type='submit'>` +
			`<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>` +
			`<field var='secret'><value>eruio234vzxc2kla-91</value></field></x></enable>`)})

	s.at(5, "The phone's connection dies: the session hibernates.")
	s.handle(ctx, events.HibernationStarted{Session: phone})

	s.at(10, "Romeo writes; the stanza is queued for the hibernating phone.")
	s.handle(ctx, events.StanzaQueued{Session: phone, Stanza: s.stanza(`<message from='` + romeo + `' to='` + phone + `' type='chat' id='m1'><body>Are you up?</body></message>`)})
	s.at(11, "The batch window is over.")
	s.wake()
	s.answer(ctx, "")

	s.at(20, "Two more messages and a chat state within a second: one batch.")
	s.handle(ctx, events.StanzaQueued{Session: phone, Stanza: s.stanza(`<message from='` + romeo + `' to='` + phone + `' type='chat' id='m2'><body>Juliet?</body></message>`)})
	s.at(20.3, "") // the second message and the chat state, 0.3 s later
	s.handle(ctx, events.StanzaQueued{Session: phone, Stanza: s.stanza(`<message from='` + romeo + `' to='` + phone + `' type='chat' id='m3'><body>Hello?</body></message>`)})
	s.handle(ctx, events.StanzaQueued{Session: phone, Stanza: s.stanza(`<message from='` + romeo + `' to='` + phone + `' type='chat' id='m4'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`)})
	s.at(21, "The batch window is over.")
	s.wake()
	s.answer(ctx, "")
	s.answer(ctx, "")

	s.at(30, "The phone resumes its session.")
	s.handle(ctx, events.HibernationEnded{Session: phone})

	s.at(40, "The phone goes away for good.")
	s.handle(ctx, events.SessionClosed{Session: phone})
	s.at(50, "A message is stored offline.")
	s.handle(ctx, events.OfflineMessage{User: user, Stanza: s.stanza(`<message from='` + romeo + `' to='` + user + `' type='chat' id='m5'><body>Call me</body></message>`)})
	s.answer(ctx, "")

	s.at(60, "Juliet's desktop is online (without push) when a message is archived.")
	s.handle(ctx, events.SessionOpened{Session: desktop})
	s.handle(ctx, events.MessageArchived{User: user, Stanza: s.stanza(`<message from='` + romeo + `' to='` + user + `' type='chat' id='m6'><body>Desktop or phone?</body></message>`)})
	s.answer(ctx, "")

	s.at(70, "The desktop leaves; the push service starts failing.")
	s.handle(ctx, events.SessionClosed{Session: desktop})
	for i, sec := range []float64{80, 90, 100} {
		s.at(sec, fmt.Sprintf("Offline message %d of 3 while the push service fails (MaxErrors is 3).", i+1))
		s.handle(ctx, events.OfflineMessage{User: user, Stanza: s.stanza(fmt.Sprintf(`<message from='%s' to='%s' type='chat' id='f%d'><body>Failing %d</body></message>`, romeo, user, i, i))})
		s.answer(ctx, "item-not-found")
	}
	s.at(110, "Another offline message: the registration is gone, nothing is pushed.")
	s.handle(ctx, events.OfflineMessage{User: user, Stanza: s.stanza(`<message from='` + romeo + `' to='` + user + `' type='chat' id='m7'><body>Anyone?</body></message>`)})
	regs, err := engine.Config().Store.Load(ctx, user)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "  stored   %d registrations for %s\n", len(regs), user)

	s.at(120, "Juliet's tablet enables encrypted pushes (AES-128-GCM, its own key) with a priority, then leaves.")
	s.handle(ctx, events.SessionOpened{Session: tablet})
	s.handle(ctx, events.IQ{Session: tablet, ID: "e2", Payload: []byte(
		`<enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='tablet-node'>` +
			`<encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm'>` + tabletKey + `</encrypt>` +
			`<priority xmlns='tigase:push:priority:0'/></enable>`)})
	s.handle(ctx, events.SessionClosed{Session: tablet})
	s.at(130, "An offline message: the push service sees only ciphertext; the tablet decrypts it.")
	s.handle(ctx, events.OfflineMessage{User: user, Stanza: s.stanza(`<message from='` + romeo + `' to='` + user + `' type='chat' id='m8'><body>Meet me at the balcony</body></message>`)})
	s.answer(ctx, "")
	return s.err
}

// tabletKey is the key the tablet sends in its <encrypt/>: base64 of 16
// random bytes (fixed here so that the transcript is the same every run).
const tabletKey = "q83vEjRWeJCrze8SNFZ4kA=="

// encryptedRe finds the random parts of an <encrypted/>: its IV and its
// ciphertext.
var encryptedRe = regexp.MustCompile(`(<encrypted [^>]*iv=')([^']*)('[^>]*>)([^<]*)(</encrypted>)`)

// showEncrypted returns the publish XML with its IV and ciphertext (random
// on every run) elided, and the payload as the device decrypts it with its
// key, using only the standard library.
func showEncrypted(x []byte) (shown string, payload []byte, err error) {
	m := encryptedRe.FindSubmatch(x)
	if m == nil {
		return string(x), nil, nil
	}
	key, err := base64.StdEncoding.DecodeString(tabletKey)
	if err != nil {
		return "", nil, err
	}
	iv, err := base64.StdEncoding.DecodeString(string(m[2]))
	if err != nil {
		return "", nil, err
	}
	sealed, err := base64.StdEncoding.DecodeString(string(m[4]))
	if err != nil {
		return "", nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return "", nil, err
	}
	if payload, err = gcm.Open(nil, iv, sealed, nil); err != nil {
		return "", nil, err
	}
	shown = encryptedRe.ReplaceAllString(string(x), "${1}…12 random bytes…${3}…ciphertext and tag…${5}")
	return shown, payload, nil
}

func (s *server) say(text string) {
	if text != "" {
		fmt.Fprintf(s.out, "\n[%5.1fs] %s\n", s.now.Sub(s.start).Seconds(), text)
	}
}

func (s *server) at(sec float64, text string) {
	s.now = s.start.Add(time.Duration(sec * float64(time.Second)))
	s.say(text)
}

// stanza parses a stanza and gives it a fresh identity, as a host stamps
// each message when it first routes it.
func (s *server) stanza(xml string) events.Stanza {
	st, err := events.ParseStanza([]byte(xml))
	if err != nil && s.err == nil {
		s.err = err
	}
	s.key++
	st.Key = s.key
	return st
}

func (s *server) handle(ctx context.Context, ev events.Event) {
	ev = events.WithTime(ev, s.now)
	d, err := s.engine.Handle(ctx, ev)
	if err != nil && s.err == nil {
		s.err = err
	}
	s.execute(d)
}

func (s *server) wake() { s.execute(s.engine.Wake(context.Background(), s.now)) }

// execute prints the decisions in the order a host carries them out.
func (s *server) execute(d push.Decisions) {
	for _, r := range d.Replies {
		fmt.Fprintf(s.out, "  reply    %s\n", r.AppendXML(nil))
	}
	for _, t := range d.Timeouts {
		fmt.Fprintf(s.out, "  timeout  %s hibernates for at most %v from now\n", t.Session, t.Duration)
	}
	for _, p := range d.Publishes {
		kind := "silent"
		if p.Important {
			kind = "alerting"
		}
		x, payload, err := showEncrypted(p.AppendXML(nil))
		if err != nil && s.err == nil {
			s.err = err
		}
		fmt.Fprintf(s.out, "  publish  %s push to %s (node %s)\n           %s\n", kind, p.To(), p.Node(), x)
		if payload != nil {
			fmt.Fprintf(s.out, "  decrypt  the tablet reads %s\n", payload)
		}
		s.sent = append(s.sent, p)
	}
	if !d.Wake.IsZero() {
		fmt.Fprintf(s.out, "  wake     call Engine.Wake at %.1fs\n", d.Wake.Sub(s.start).Seconds())
	}
}

// answer makes the push service answer the oldest unanswered publish: a
// result when condition is "", else a cancel error with that condition.
func (s *server) answer(ctx context.Context, condition string) {
	if len(s.sent) == 0 {
		return
	}
	p := s.sent[0]
	s.sent = s.sent[1:]
	res := events.PublishResult{Now: s.now, ID: p.ID, From: p.To()}
	if condition == "" {
		fmt.Fprintf(s.out, "  answer   %s: result\n", p.ID)
	} else {
		res.Error = &events.StanzaError{Type: "cancel", Condition: condition}
		fmt.Fprintf(s.out, "  answer   %s: error cancel/%s\n", p.ID, condition)
	}
	d, err := s.engine.Handle(ctx, res)
	if err != nil && s.err == nil {
		s.err = err
	}
	s.execute(d)
}

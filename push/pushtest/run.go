package pushtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/registrytest"
)

// Result is what a run of a Scenario produced: read it with Diff and
// TraceJSON.
type Result struct {
	scenario *Scenario
	// trace is every decision the engine made, in the order made: for
	// each Decisions, its Replies, Timeouts and Publishes in that order.
	trace []entry
	// failures describes every "check" step that failed, in step order.
	failures []string
}

// Diff compares the trace with the scenario's expectation and returns ""
// when they match. Otherwise it returns a readable account of the
// differences: for each group of entries with the same at and step, the
// entries missing (expected, not produced) and unexpected (produced, not
// expected), one compact JSON line each; then every failed check. Entries
// of one group may come in any order; groups must come in the expected
// order.
func (r *Result) Diff() string {
	d := diffTraces(r.scenario.expect, r.trace)
	if len(r.failures) == 0 {
		return d
	}
	var sb strings.Builder
	sb.WriteString(d)
	for _, f := range r.failures {
		sb.WriteString("check failed: ")
		sb.WriteString(f)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// TraceJSON renders the trace as a JSON array in the shape of the
// scenario's "expect", one entry per line, ready to paste into a scenario
// file.
func (r *Result) TraceJSON() []byte { return marshalTrace(r.trace) }

// Run runs the scenario on a fresh push.Engine, configured from the
// scenario's config, with a fresh registry.Memory wrapped in a
// registrytest.Faulty store, under a virtual clock that starts at
// 2026-01-01T00:00:00Z (scenario time 0).
//
// Before each step, every batch timer due at or before the step's time
// fires (Engine.Wake), in time order; after the last step the clock runs on
// to the scenario's end the same way. Publishes are recorded; a
// "respond" step answers the oldest unanswered publish sent to its (to,
// node), and of its user when it names one.
//
// Run returns an error, naming the step, when the engine returns one, when
// a "respond" step finds no publish to answer, or when ctx is done; the
// Result then holds the trace up to that point. A failed check is not an
// error: Diff reports it.
func (s *Scenario) Run(ctx context.Context) (*Result, error) {
	return s.run(ctx, false)
}

// RunInto is Run feeding every event through Engine.HandleInto, with one
// Decisions that is Reset before each event, the way a host on the
// allocation-free path does. It must give the same result as Run.
func (s *Scenario) RunInto(ctx context.Context) (*Result, error) {
	return s.run(ctx, true)
}

func (s *Scenario) run(ctx context.Context, into bool) (*Result, error) {
	mem := registry.NewMemory()
	store := registrytest.NewFaulty(mem)
	cfg := s.config
	cfg.Store = store
	cfg.IDSecret = "pushtest" // reproducible retry delays
	rost := &roster{}
	cfg.Roster = rost
	count := &counter{}
	if s.usesCounter() {
		cfg.Counter = count
	}
	eng, err := push.New(cfg)
	if err != nil {
		return nil, s.errorf("config: %w", err)
	}
	r := &run{
		sc:     s,
		eng:    eng,
		store:  store,
		stored: mem,
		roster: rost,
		count:  count,
		into:   into,
		result: &Result{scenario: s},
	}
	for i := range s.steps {
		st := &s.steps[i]
		if err := ctx.Err(); err != nil {
			return r.result, s.errorf("step %d: %w", i, err)
		}
		if err := r.fire(ctx, st.at); err != nil {
			return r.result, s.errorf("before step %d: %w", i, err)
		}
		r.clock.Set(epoch.Add(st.at))
		if err := r.step(ctx, i, st); err != nil {
			return r.result, s.errorf("step %d (%s at %s): %w", i, st.action, seconds(st.at), err)
		}
	}
	if err := r.fire(ctx, s.end); err != nil {
		return r.result, s.errorf("after the last step: %w", err)
	}
	r.clock.Set(epoch.Add(s.end))
	return r.result, nil
}

func (s *Scenario) errorf(format string, args ...any) error {
	if s.source != "" {
		return fmt.Errorf("%s: "+format, append([]any{s.source}, args...)...)
	}
	return fmt.Errorf("%s: "+format, append([]any{s.Name}, args...)...)
}

// run is the state of one run of a scenario.
type run struct {
	sc            *Scenario
	eng           *push.Engine
	store         *registrytest.Faulty
	stored        *registry.Memory // what store wraps: read past its faults
	roster        *roster
	count         *counter
	clock         clock
	sent          recorder
	answered      []bool              // parallel to sent.Publishes()
	notes         []push.Notification // Push 2.0 notifications sent
	notesAnswered []bool              // parallel to notes
	result        *Result
	into          bool           // feed events through HandleInto and reuse
	reused        push.Decisions // the Decisions it reuses
}

// fire wakes the engine for every timer due at or before until, in time
// order.
func (r *run) fire(ctx context.Context, until time.Duration) error {
	limit := epoch.Add(until)
	var last time.Time
	for {
		w := r.eng.NextWake()
		if w.IsZero() || w.After(limit) {
			return nil
		}
		if !last.IsZero() && !w.After(last) {
			return fmt.Errorf("engine bug: NextWake gives %s again after Wake(%s)", seconds(w.Sub(epoch)), seconds(last.Sub(epoch)))
		}
		if now := r.clock.Now(); w.Before(now) {
			return fmt.Errorf("engine bug: NextWake gives %s, before the clock (%s)", seconds(w.Sub(epoch)), seconds(now.Sub(epoch)))
		}
		last = w
		r.clock.Set(w)
		if err := r.record(ctx, timerStep, r.eng.Wake(ctx, w)); err != nil {
			return err
		}
	}
}

// record appends the decisions to the trace and sends the publishes.
func (r *run) record(ctx context.Context, step int, d push.Decisions) error {
	at := r.clock.Now().Sub(epoch)
	tr := &r.result.trace
	for _, rep := range d.Replies {
		e := &traceReply{Session: rep.Session, ID: rep.ID, Type: "result"}
		if rep.Error != nil {
			e.Type, e.ErrorType, e.Condition, e.Text = "error", rep.Error.Type, rep.Error.Condition, rep.Error.Text
		}
		*tr = append(*tr, entry{At: at, Step: step, Reply: e})
	}
	for _, t := range d.Timeouts {
		*tr = append(*tr, entry{At: at, Step: step, Timeout: &traceTimeout{Session: t.Session, Duration: t.Duration}})
	}
	for i := range d.Publishes {
		p := &d.Publishes[i]
		tp, err := pushEntry(p)
		if err != nil {
			return err
		}
		*tr = append(*tr, entry{At: at, Step: step, Push: tp})
		if err := r.sent.Send(ctx, *p); err != nil {
			return err
		}
		r.answered = append(r.answered, false)
	}
	if err := r.recordNotifications(ctx, at, step, d.Notifications); err != nil {
		return err
	}
	if r.sc.audit {
		for _, c := range d.Changes {
			*tr = append(*tr, entry{At: at, Step: step, Change: changeEntry(c)})
		}
	}
	return nil
}

// step applies step i.
func (r *run) step(ctx context.Context, i int, st *step) error {
	now := r.clock.Now()
	var ev events.Event
	switch st.action {
	case actOpen:
		ev = events.SessionOpened{Now: now, Session: st.session, Client: st.client}
	case actClose:
		ev = events.SessionClosed{Now: now, Session: st.session}
	case actIQ:
		ev = events.IQ{Now: now, Session: st.session, Payload: slices.Clone(st.payload)}
	case actAckDelayed:
		ev = events.AckDelayed{Now: now, Session: st.session, Queue: slices.Clone(st.queue)}
	case actHibernate:
		ev = events.HibernationStarted{Now: now, Session: st.session, Queue: slices.Clone(st.queue)}
	case actQueued:
		ev = events.StanzaQueued{Now: now, Session: st.session, Stanza: st.stanza}
	case actResume:
		ev = events.HibernationEnded{Now: now, Session: st.session}
	case actActive:
		ev = events.SessionActive{Now: now, Session: st.session}
	case actRead:
		ev = events.MessagesRead{Now: now, Session: st.session}
	case actRestarted:
		ev = events.Restarted{Now: now, User: st.user, Nodes: slices.Clone(st.nodes)}
	case actCounts:
		r.count.set(st.user, countsAnswer{messages: st.messages, subscriptions: st.subscriptions, fails: st.fails})
		return nil
	case actArchived:
		ev = events.MessageArchived{Now: now, User: st.user, Stanza: st.stanza}
	case actOffline:
		ev = events.OfflineMessage{Now: now, User: st.user, Stanza: st.stanza}
	case actGroupchat:
		ev = events.GroupchatToBare{Now: now, User: st.user, Stanza: st.stanza}
	case actPing:
		ev = events.Ping{Now: now, User: st.user, Nodes: slices.Clone(st.nodes)}
	case actDeleteUser:
		ev = events.UserDeleted{Now: now, User: st.user}
	case actRespond:
		res, err := r.answer(now, st)
		if err != nil {
			return err
		}
		ev = res
	case actStoreFault:
		if st.reads != nil {
			r.store.FailReads(*st.reads)
		}
		if st.writes != nil {
			r.store.FailWrites(*st.writes)
		}
		return nil
	case actCheck:
		return r.check(ctx, i, st)
	case actRoster:
		r.roster.set(st.user, rosterAnswer{contacts: st.contacts, fails: st.fails})
		return nil
	default:
		var d push.Decisions
		var handled bool
		var err error
		if ev, d, handled, err = r.lifecycleEvent(ctx, st); handled {
			if !storeFault(err) {
				return err
			}
			return r.record(ctx, i, d)
		}
		if err != nil {
			return err
		}
	}
	if !r.into {
		d, err := r.eng.Handle(ctx, ev)
		if !storeFault(err) {
			return err
		}
		return r.record(ctx, i, d)
	}
	r.reused.Reset()
	if err := r.eng.HandleInto(ctx, ev, &r.reused); !storeFault(err) {
		return err
	}
	return r.record(ctx, i, r.reused)
}

// storeFault reports whether err is nil or a Store failure, whose
// decisions are still to be carried out (a scenario's store-fault steps
// cause them on purpose).
func storeFault(err error) bool {
	var se *push.StoreError
	return err == nil || errors.As(err, &se)
}

// answer finds the oldest unanswered publish a respond step answers, marks
// it answered and returns the answer.
func (r *run) answer(now time.Time, st *step) (events.PublishResult, error) {
	if st.client != "" {
		return r.answerNotification(now, st)
	}
	for j, p := range r.sent.Publishes() {
		if r.answered[j] || p.To() != st.to || p.Node() != st.node || st.user != "" && p.User != st.user {
			continue
		}
		r.answered[j] = true
		from := st.from
		if from == "" {
			from = st.to
		}
		return events.PublishResult{Now: now, ID: p.ID, From: from, Error: st.err}, nil
	}
	what := fmt.Sprintf("to %q, node %q", st.to, st.node)
	if st.user != "" {
		what += fmt.Sprintf(", for user %q", st.user)
	}
	return events.PublishResult{}, fmt.Errorf("no unanswered publish %s to respond to", what)
}

// check compares the state with a check step, recording what differs.
func (r *run) check(ctx context.Context, i int, st *step) error {
	fail := func(format string, args ...any) {
		r.result.failures = append(r.result.failures,
			fmt.Sprintf("step %d (at %s): ", i, seconds(st.at))+fmt.Sprintf(format, args...))
	}
	for _, c := range st.regs {
		regs, err := r.stored.Load(ctx, c.user)
		if err != nil {
			return fmt.Errorf("reading the registrations of %s: %w", c.user, err)
		}
		got := make([]registry.Identifier, len(regs))
		for j := range regs {
			got[j] = scenarioID(regs[j].ID)
		}
		want := slices.Clone(c.ids)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			fail("registrations of %s: got %s, want %s", c.user, idList(got), idList(want))
		}
	}
	if st.features != nil {
		if got, ok := checkFeatures(r.eng, st.features); !ok {
			fail("features: got %q, want %q (in any order)", got, st.features)
		}
	}
	for _, c := range st.bound {
		id, ok := r.eng.Binding(c.session)
		id = scenarioID(id)
		switch {
		case c.id == "" && ok:
			fail("%s is bound to %s, want unbound", c.session, id)
		case c.id != "" && !ok:
			fail("%s is unbound, want bound to %s", c.session, c.id)
		case c.id != id:
			fail("%s is bound to %s, want %s", c.session, id, c.id)
		}
	}
	r.checkMetrics(st.metrics, fail)
	return nil
}

// scenarioID writes an identifier as scenarios do: the service JID, "<"
// and the node, unescaped (registry.Identifier escapes a '<' or '\' in the
// JID; a scenario naming such a JID compares as written).
func scenarioID(id registry.Identifier) registry.Identifier {
	if id == "" {
		return id
	}
	return registry.Identifier(id.JID() + "<" + id.Node())
}

func idList(ids []registry.Identifier) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

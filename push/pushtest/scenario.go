package pushtest

import (
	"crypto/ecdh"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
	"github.com/pushrules/pushrules/registry"
)

// Scenario is a parsed conformance scenario: an engine configuration, the
// steps a host feeds to the engine, and the trace of decisions expected.
// Create it with LoadScenario; run it with Run. A Scenario
// is not modified by running it and may be run any number of times, also
// concurrently.
type Scenario struct {
	// Name is the scenario's name (the file name without .json).
	Name string
	// Summary is the one sentence saying what the scenario proves.
	Summary string
	// expect is the whole trace the scenario expects, in order. The
	// informational keys (rules, prosody, config.host) are checked and
	// not kept: they do not affect a run.
	expect []entry

	source  string             // the file name, for messages
	config  push.Config        // without Store
	steps   []step             // the input
	end     time.Duration      // when the clock stops, since epoch
	audit   bool               // record registration changes in the trace
	devices []*ecdh.PrivateKey // Push 2.0 devices' keys, to decrypt notifications
}

// The actions a step can take, by their key in the file.
const (
	actOpen       = "open"
	actClose      = "close"
	actIQ         = "iq"
	actAckDelayed = "ack-delayed"
	actHibernate  = "hibernate"
	actQueued     = "queued"
	actResume     = "resume"
	actArchived   = "archived"
	actOffline    = "offline"
	actGroupchat  = "groupchat-bare"
	actRespond    = "respond"
	actPing       = "ping"
	actDeleteUser = "delete-user"
	actStoreFault = "store-fault"
	actCheck      = "check"
	actActive     = "active"
	actRoster     = "roster"
)

var actions = []string{
	actOpen, actClose, actIQ, actAckDelayed, actHibernate, actQueued, actResume,
	actArchived, actOffline, actGroupchat, actRespond, actPing, actDeleteUser,
	actStoreFault, actCheck, actRemoteDisable, actExpire, actRemove, actRoster, actActive,
	actRead, actRestarted, actCounts,
}

// step is one parsed step. Which fields are used depends on action.
type step struct {
	at      time.Duration
	action  string
	session string          // open, close, iq, ack-delayed, hibernate, queued, resume
	user    string          // archived, offline, groupchat-bare, ping, delete-user; respond's optional user
	payload []byte          // iq
	queue   []events.Stanza // ack-delayed, hibernate
	stanza  events.Stanza   // queued, archived, offline, groupchat-bare
	nodes   []string        // ping
	to      string          // respond
	node    string          // respond
	from    string          // respond, "" for to
	err     *events.StanzaError
	reads   *bool // store-fault
	writes  *bool // store-fault
	regs    []checkRegs
	bound   []checkBound
	client  string                // open; respond to a notification ("" for a publish)
	by      string                // remove
	ids     []registry.Identifier // remove

	// The extensions' keys.
	features []string               // check; nil when not checked
	contacts []string               // roster
	fails    bool                   // roster
	metrics  map[push.Reason]uint64 // check: nil when not checked
	// counts: the Counter's answers (-1: unknown); fails is shared with roster.
	messages, subscriptions int
}

type checkRegs struct {
	user string
	ids  []registry.Identifier
}

type checkBound struct {
	session string
	id      registry.Identifier // "" for unbound
}

// maxSeconds bounds every time in a scenario (about 31 years), so that it
// converts to a time.Duration exactly and without overflow.
const maxSeconds = 1e9

// LoadScenario reads and parses the scenario file at path. The scenario's
// name must equal the file name without .json.
//
// Parsing is strict: an unknown or repeated key anywhere, a value of the
// wrong type, a step with no action or with two, a time that is negative
// or goes backwards, an end before the last step, a stanza whose XML does
// not parse, a ref whose first occurrence has no xml or whose later xml
// differs, and an expected entry that names a step it cannot come from are
// all errors. Errors name the file and say where: "foo.json: step 3:
// unknown key ..." (steps and expected entries are counted from 0, as in
// the trace).
func LoadScenario(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseScenario(path, data)
}

// parseScenario parses a scenario from data, as LoadScenario describes.
// Name labels the source in error messages, like a file name; when it ends
// in ".json", the scenario's name must equal its base name without
// ".json".
func parseScenario(name string, data []byte) (*Scenario, error) {
	p := &parser{refs: make(map[string]refStanza)}
	sc, err := p.scenario(name, data)
	if err != nil {
		if name != "" {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return nil, err
	}
	return sc, nil
}

// parser holds the state of parsing one scenario: the stanzas named so far
// and the next stanza key.
type parser struct {
	refs    map[string]refStanza
	lastKey events.Key
}

type refStanza struct {
	xml  string
	step int
	st   events.Stanza
}

func (p *parser) scenario(name string, data []byte) (*Scenario, error) {
	raw, err := document(data)
	if err != nil {
		return nil, err
	}
	top, err := parseObject(raw, "the scenario")
	if err != nil {
		return nil, err
	}
	if err := top.allow("", "format", "name", "summary", "rules", "prosody", "config", "devices", "steps", "end", "expect"); err != nil {
		return nil, err
	}
	for _, k := range []string{"format", "name", "steps", "expect"} {
		if _, ok := top.vals[k]; !ok {
			return nil, fmt.Errorf("missing key %q", k)
		}
	}
	format, err := asNumber(top.vals["format"], `"format"`)
	if err != nil {
		return nil, err
	}
	if format != 1 {
		return nil, fmt.Errorf(`"format" must be 1, not %v`, format)
	}
	sc := &Scenario{source: name}
	if sc.Name, err = asString(top.vals["name"], `"name"`); err != nil {
		return nil, err
	}
	if sc.Name == "" {
		return nil, errors.New(`"name" must not be empty`)
	}
	if base, ok := strings.CutSuffix(filepath.Base(name), ".json"); ok && base != sc.Name {
		return nil, fmt.Errorf("name %q does not match the file name (want %q)", sc.Name, base)
	}
	if v, ok := top.vals["summary"]; ok {
		if sc.Summary, err = asString(v, `"summary"`); err != nil {
			return nil, err
		}
	}
	if v, ok := top.vals["rules"]; ok {
		if _, err = asStrings(v, `"rules"`); err != nil {
			return nil, err
		}
	}
	if v, ok := top.vals["prosody"]; ok {
		prosody, err := asString(v, `"prosody"`)
		if err != nil {
			return nil, err
		}
		if prosody != "same" && !strings.HasPrefix(prosody, "differs: ") {
			return nil, errors.New(`"prosody" must be "same" or start with "differs: "`)
		}
	}
	if v, ok := top.vals["config"]; ok {
		if err := sc.parseConfig(v); err != nil {
			return nil, err
		}
	}
	if v, ok := top.vals["devices"]; ok {
		if sc.devices, err = parseDevices(v); err != nil {
			return nil, err
		}
	}
	// Reject a configuration the engine would refuse now rather than at Run.
	if _, err := push.New(sc.config); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	rawSteps, err := asArray(top.vals["steps"], `"steps"`)
	if err != nil {
		return nil, err
	}
	if len(rawSteps) == 0 {
		return nil, errors.New(`"steps" must not be empty`)
	}
	for i, rs := range rawSteps {
		st, err := p.step(i, rs)
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", i, err)
		}
		if i > 0 && st.at < sc.steps[i-1].at {
			return nil, fmt.Errorf("step %d: at %s is before the previous step's at %s", i, seconds(st.at), seconds(sc.steps[i-1].at))
		}
		sc.steps = append(sc.steps, st)
	}
	sc.end = sc.steps[len(sc.steps)-1].at
	if v, ok := top.vals["end"]; ok {
		end, err := asTime(v, `"end"`)
		if err != nil {
			return nil, err
		}
		if end < sc.end {
			return nil, fmt.Errorf(`"end" %s is before the last step's at %s`, seconds(end), seconds(sc.end))
		}
		sc.end = end
	}
	rawExpect, err := asArray(top.vals["expect"], `"expect"`)
	if err != nil {
		return nil, err
	}
	sc.expect = make([]entry, 0, len(rawExpect))
	for i, re := range rawExpect {
		e, err := parseEntry(re)
		if err != nil {
			return nil, fmt.Errorf("expect %d: %w", i, err)
		}
		if err := sc.checkEntry(e, i); err != nil {
			return nil, fmt.Errorf("expect %d: %w", i, err)
		}
		sc.expect = append(sc.expect, e)
	}
	return sc, nil
}

// checkEntry reports an expected entry that no run could produce.
func (sc *Scenario) checkEntry(e entry, i int) error {
	if i > 0 && e.At < sc.expect[i-1].At {
		return fmt.Errorf("at %s is before the previous entry's at %s", seconds(e.At), seconds(sc.expect[i-1].At))
	}
	if e.Change != nil && !sc.audit {
		return errNoAudit
	}
	if e.Step == timerStep {
		if e.At > sc.end {
			return fmt.Errorf("a timer at %s is after the end (%s)", seconds(e.At), seconds(sc.end))
		}
		return nil
	}
	if e.Step < 0 || e.Step >= len(sc.steps) {
		return fmt.Errorf("step %d does not exist (the scenario has %d steps)", e.Step, len(sc.steps))
	}
	if at := sc.steps[e.Step].at; at != e.At {
		return fmt.Errorf("at %s, but step %d is at %s", seconds(e.At), e.Step, seconds(at))
	}
	return nil
}

func (sc *Scenario) parseConfig(raw json.RawMessage) error {
	o, err := parseObject(raw, `"config"`)
	if err != nil {
		return err
	}
	if err := o.allow("config", append([]string{"host", "with_body", "with_sender", "important_body", "max_errors",
		"max_devices", "hibernation_timeout", "max_hibernation_timeout", "batch_window", "mention_nick_fallback"}, append(lifecycleConfigKeys, append(deliveryConfigKeys, wakeupConfigKeys...)...)...)...); err != nil {
		return err
	}
	c := &sc.config
	for _, k := range o.keys {
		v, what := o.vals[k], `"config.`+k+`"`
		switch k {
		case "host":
			var host string
			if host, err = asString(v, what); err == nil && host == "" {
				err = fmt.Errorf("%s must not be empty", what)
			}
		case "with_body":
			c.WithBody, err = asBool(v, what)
		case "with_sender":
			c.WithSender, err = asBool(v, what)
		case "important_body":
			c.ImportantBody, err = asString(v, what)
			c.EmptyImportantBody = err == nil && c.ImportantBody == ""
		case "max_errors":
			c.MaxErrors, err = asCount(v, what)
		case "max_devices":
			c.MaxDevices, err = asCount(v, what)
		case "hibernation_timeout":
			c.HibernationTimeout, err = asPeriod(v, what)
		case "max_hibernation_timeout":
			c.MaxHibernationTimeout, err = asPeriod(v, what)
		case "batch_window":
			c.BatchWindow, err = asPeriod(v, what)
		case "mention_nick_fallback":
			var on bool
			on, err = asBool(v, what)
			c.NoNickMentions = !on
		default:
			switch {
			case isDeliveryKey(k):
				err = sc.parseDeliveryConfig(k, v, what)
			case slices.Contains(wakeupConfigKeys, k):
				err = sc.parseWakeupConfig(k, v, what)
			default:
				err = sc.lifecycleConfig(k, v, what)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

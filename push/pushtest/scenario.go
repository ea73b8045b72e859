package pushtest

import (
	"bytes"
	"crypto/ecdh"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
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

// fields lists, per action, the keys of its object and which of them are
// required.
var fields = map[string]struct{ required, optional []string }{
	actOpen:       {required: []string{"session"}, optional: []string{"client"}},
	actClose:      {required: []string{"session"}},
	actResume:     {required: []string{"session"}},
	actIQ:         {required: []string{"session", "xml"}},
	actAckDelayed: {required: []string{"session", "queue"}},
	actHibernate:  {required: []string{"session", "queue"}},
	actQueued:     {required: []string{"session", "stanza"}},
	actArchived:   {required: []string{"user", "stanza"}},
	actOffline:    {required: []string{"user", "stanza"}},
	actGroupchat:  {required: []string{"user", "stanza"}},
	actRespond:    {required: []string{"to", "type"}, optional: []string{"node", "client", "error_type", "condition", "from", "user"}},
	actPing:       {required: []string{"user"}, optional: []string{"nodes"}},
	actDeleteUser: {required: []string{"user"}},
	actStoreFault: {optional: []string{"reads", "writes"}},
	actCheck:      {optional: []string{"registrations", "bound", "features", "metrics"}},
	actRoster:     {required: []string{"user"}, optional: []string{"contacts", "fails"}},
	actActive:     {required: []string{"session"}},
}

func (p *parser) step(i int, raw json.RawMessage) (step, error) {
	var st step
	o, err := parseObject(raw, "a step")
	if err != nil {
		return st, err
	}
	if err := o.allow("", append([]string{"at"}, actions...)...); err != nil {
		return st, err
	}
	v, ok := o.vals["at"]
	if !ok {
		return st, errors.New(`missing key "at"`)
	}
	if st.at, err = asTime(v, `"at"`); err != nil {
		return st, err
	}
	for _, k := range o.keys {
		if k == "at" {
			continue
		}
		if st.action != "" {
			return st, fmt.Errorf("two actions, %q and %q: a step takes exactly one", st.action, k)
		}
		st.action = k
	}
	if st.action == "" {
		return st, fmt.Errorf("no action: a step needs exactly one of %s", strings.Join(actions, ", "))
	}
	a := st.action
	f, ok := fields[a]
	if !ok {
		f, ok = wakeupFields[a]
	}
	if !ok {
		f = lifecycleFields[a]
	}
	args, err := parseObject(o.vals[a], fmt.Sprintf("%q", a))
	if err != nil {
		return st, err
	}
	if err := args.allow(a, append(f.required, f.optional...)...); err != nil {
		return st, err
	}
	for _, k := range f.required {
		if _, ok := args.vals[k]; !ok {
			return st, fmt.Errorf("missing key %q in %q", k, a)
		}
	}
	for _, k := range args.keys {
		v, what := args.vals[k], fmt.Sprintf(`"%s.%s"`, a, k)
		switch k {
		case "session":
			st.session, err = asName(v, what)
		case "user":
			st.user, err = asName(v, what)
		case "xml":
			var x string
			x, err = asString(v, what)
			st.payload = []byte(x)
		case "queue":
			var items []json.RawMessage
			if items, err = asArray(v, what); err != nil {
				break
			}
			st.queue = make([]events.Stanza, len(items))
			for j := range items {
				if st.queue[j], err = p.stanza(i, items[j], indexed(what, j)); err != nil {
					break
				}
			}
		case "stanza":
			st.stanza, err = p.stanza(i, v, what)
		case "nodes":
			if st.nodes, err = asStrings(v, what); err == nil && len(st.nodes) == 0 {
				err = fmt.Errorf("%s must not be empty (leave it out to wake every registration)", what)
			}
		case "to":
			st.to, err = asName(v, what)
		case "node":
			st.node, err = asString(v, what)
		case "from":
			st.from, err = asName(v, what)
		case "type", "error_type", "condition":
			// Read together below.
		case "reads", "writes":
			var b bool
			if b, err = asBool(v, what); err == nil {
				if k == "reads" {
					st.reads = &b
				} else {
					st.writes = &b
				}
			}
		case "registrations":
			st.regs, err = parseCheckRegs(v)
		case "bound":
			st.bound, err = parseCheckBound(v)
		case "metrics":
			st.metrics, err = parseCheckMetrics(v)
		case "features":
			if st.features, err = asStrings(v, what); err == nil && st.features == nil {
				st.features = []string{}
			}
		case "contacts":
			st.contacts, err = asStrings(v, what)
		case "fails":
			st.fails, err = asBool(v, what)
		case "by", "ids", "client":
			err = lifecycleStep(&st, k, v, what)
		case "messages", "subscriptions":
			// Read together below.
		}
		if err != nil {
			return st, err
		}
	}
	switch a {
	case actRespond:
		st.err, err = parseAnswer(args)
	case actStoreFault:
		if st.reads == nil && st.writes == nil {
			err = errors.New(`"store-fault" needs "reads", "writes" or both`)
		}
	case actCheck:
		if len(args.keys) == 0 {
			err = errors.New(`"check" needs "registrations", "bound", "metrics" or several (or "features")`)
		}
	case actRoster:
		_, hasContacts := args.vals["contacts"]
		if hasContacts == st.fails {
			err = errors.New(`"roster" needs either "contacts" or "fails": true`)
		}
	case actCounts:
		err = parseCounts(&st, args)
	}
	return st, err
}

// parseAnswer reads a respond step's type, error_type and condition: nil
// for a result, else the error.
func parseAnswer(o *object) (*events.StanzaError, error) {
	typ, err := asString(o.vals["type"], `"respond.type"`)
	if err != nil {
		return nil, err
	}
	_, hasType := o.vals["error_type"]
	_, hasCond := o.vals["condition"]
	switch typ {
	case "result":
		if hasType || hasCond {
			return nil, errors.New(`"respond" of type "result" takes no "error_type" or "condition"`)
		}
		return nil, nil
	case "error":
		if !hasType || !hasCond {
			return nil, errors.New(`"respond" of type "error" needs "error_type" and "condition"`)
		}
		se := &events.StanzaError{}
		if se.Type, err = asString(o.vals["error_type"], `"respond.error_type"`); err != nil {
			return nil, err
		}
		switch se.Type {
		case "auth", "cancel", "continue", "modify", "wait":
		default:
			return nil, fmt.Errorf(`"respond.error_type" %q is not auth, cancel, continue, modify or wait`, se.Type)
		}
		if se.Condition, err = asName(o.vals["condition"], `"respond.condition"`); err != nil {
			return nil, err
		}
		return se, nil
	}
	return nil, fmt.Errorf(`"respond.type" must be "result" or "error", not %q`, typ)
}

func parseCheckRegs(raw json.RawMessage) ([]checkRegs, error) {
	o, err := parseObject(raw, `"check.registrations"`)
	if err != nil {
		return nil, err
	}
	out := make([]checkRegs, 0, len(o.keys))
	for _, user := range o.keys {
		what := fmt.Sprintf(`"check.registrations" of %q`, user)
		list, err := asStrings(o.vals[user], what)
		if err != nil {
			return nil, err
		}
		c := checkRegs{user: user, ids: make([]registry.Identifier, len(list))}
		for i, s := range list {
			if c.ids[i], err = asIdentifier(s, what); err != nil {
				return nil, err
			}
		}
		out = append(out, c)
	}
	return out, nil
}

func parseCheckBound(raw json.RawMessage) ([]checkBound, error) {
	o, err := parseObject(raw, `"check.bound"`)
	if err != nil {
		return nil, err
	}
	out := make([]checkBound, 0, len(o.keys))
	for _, session := range o.keys {
		what := fmt.Sprintf(`"check.bound" of %q`, session)
		c := checkBound{session: session}
		if v := o.vals[session]; !isNull(v) {
			s, err := asString(v, what+" (an identifier or null)")
			if err != nil {
				return nil, err
			}
			if c.id, err = asIdentifier(s, what); err != nil {
				return nil, err
			}
		}
		out = append(out, c)
	}
	return out, nil
}

func asIdentifier(s, what string) (registry.Identifier, error) {
	if !strings.Contains(s, "<") || strings.HasPrefix(s, "<") {
		return "", fmt.Errorf(`%s: %q is not a push identifier (JID + "<" + node)`, what, s)
	}
	return registry.Identifier(s), nil
}

// stanza parses a stanza of step i: an XML string (a new stanza) or an
// object {"ref", "xml"} naming one.
func (p *parser) stanza(i int, raw json.RawMessage, what string) (events.Stanza, error) {
	if isString(raw) {
		x, err := asString(raw, what)
		if err != nil {
			return events.Stanza{}, err
		}
		return p.parseXML(x, what)
	}
	if !isObject(raw) {
		return events.Stanza{}, fmt.Errorf(`%s must be a string of XML or an object {"ref", "xml"}`, what)
	}
	o, err := parseObject(raw, what)
	if err != nil {
		return events.Stanza{}, err
	}
	if err := o.allow(strings.Trim(what, `"`), "ref", "xml"); err != nil {
		return events.Stanza{}, err
	}
	v, ok := o.vals["ref"]
	if !ok {
		return events.Stanza{}, fmt.Errorf(`%s: missing key "ref" (a stanza without one is written as a plain string)`, what)
	}
	ref, err := asName(v, what+".ref")
	if err != nil {
		return events.Stanza{}, err
	}
	x, hasXML := "", false
	if v, ok := o.vals["xml"]; ok {
		if x, err = asString(v, what+".xml"); err != nil {
			return events.Stanza{}, err
		}
		hasXML = true
	}
	if prev, ok := p.refs[ref]; ok {
		if hasXML && x != prev.xml {
			return events.Stanza{}, fmt.Errorf("%s: ref %q has xml different from its first occurrence (step %d)", what, ref, prev.step)
		}
		return prev.st, nil
	}
	if !hasXML {
		return events.Stanza{}, fmt.Errorf(`%s: the first occurrence of ref %q must carry "xml"`, what, ref)
	}
	st, err := p.parseXML(x, what)
	if err != nil {
		return events.Stanza{}, err
	}
	p.refs[ref] = refStanza{xml: x, step: i, st: st}
	return st, nil
}

// parseXML parses one stanza's XML and gives it a new key.
func (p *parser) parseXML(x, what string) (events.Stanza, error) {
	st, err := events.ParseStanza([]byte(x))
	if err != nil {
		return events.Stanza{}, fmt.Errorf("%s: unparseable stanza XML: %v", what, err)
	}
	p.lastKey++
	st.Key = p.lastKey
	extra := st.Extras()
	extra.Raw = x // for Push 2.0 notifications
	st.Extra = &extra
	return st, nil
}

// document checks that data holds exactly one JSON value and returns it.
func document(data []byte) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		if err == io.EOF {
			return nil, errors.New("empty file")
		}
		return nil, jsonError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("line %d: data after the scenario object", lineAt(data, dec.InputOffset()))
	}
	return raw, nil
}

// jsonError adds the line to a syntax error.
func jsonError(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("line %d: invalid JSON: %v", lineAt(data, se.Offset), err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("invalid JSON: unexpected end of file")
	}
	return fmt.Errorf("invalid JSON: %v", err)
}

func lineAt(data []byte, offset int64) int {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	if offset < 0 {
		offset = 0
	}
	return 1 + bytes.Count(data[:offset], []byte("\n"))
}

// object is a JSON object with its keys in document order.
type object struct {
	keys []string
	vals map[string]json.RawMessage
}

// parseObject reads raw as an object; a repeated key is an error.
func parseObject(raw json.RawMessage, what string) (*object, error) {
	if !isObject(raw) {
		return nil, fmt.Errorf("%s must be an object", what)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	o := &object{vals: make(map[string]json.RawMessage)}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %v", what, err)
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: %v", what, err)
		}
		if _, dup := o.vals[k]; dup {
			return nil, fmt.Errorf("key %q repeated in %s", k, what)
		}
		o.keys = append(o.keys, k)
		o.vals[k] = v
	}
	return o, nil
}

// allow reports the first key of o that is not one of keys. In names the
// object in the message ("" for none).
func (o *object) allow(in string, keys ...string) error {
	for _, k := range o.keys {
		ok := false
		for _, a := range keys {
			if k == a {
				ok = true
				break
			}
		}
		if !ok {
			if in == "" {
				return fmt.Errorf("unknown key %q", k)
			}
			return fmt.Errorf("unknown key %q in %q", k, in)
		}
	}
	return nil
}

func first(raw json.RawMessage) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

func isObject(raw json.RawMessage) bool { return first(raw) == '{' }
func isString(raw json.RawMessage) bool { return first(raw) == '"' }
func isNull(raw json.RawMessage) bool   { return first(raw) == 'n' }

func asString(raw json.RawMessage, what string) (string, error) {
	var s string
	if !isString(raw) || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("%s must be a string", what)
	}
	return s, nil
}

// asName is asString for values that must not be empty (JIDs, refs).
func asName(raw json.RawMessage, what string) (string, error) {
	s, err := asString(raw, what)
	if err == nil && s == "" {
		err = fmt.Errorf("%s must not be empty", what)
	}
	return s, err
}

func asBool(raw json.RawMessage, what string) (bool, error) {
	var b bool
	if c := first(raw); c != 't' && c != 'f' || json.Unmarshal(raw, &b) != nil {
		return false, fmt.Errorf("%s must be true or false", what)
	}
	return b, nil
}

func asNumber(raw json.RawMessage, what string) (float64, error) {
	var f float64
	if c := first(raw); c != '-' && (c < '0' || c > '9') || json.Unmarshal(raw, &f) != nil {
		return 0, fmt.Errorf("%s must be a number", what)
	}
	return f, nil
}

// asTime reads a time in seconds since the start: a number from 0 to
// maxSeconds, possibly fractional (exact to the nanosecond).
func asTime(raw json.RawMessage, what string) (time.Duration, error) {
	f, err := asNumber(raw, what)
	if err != nil {
		return 0, err
	}
	if f < 0 || f > maxSeconds {
		return 0, fmt.Errorf("%s must be between 0 and %g seconds, not %v", what, float64(maxSeconds), f)
	}
	return secondsToDuration(f), nil
}

// asPeriod reads a positive number of seconds.
func asPeriod(raw json.RawMessage, what string) (time.Duration, error) {
	d, err := asTime(raw, what)
	if err == nil && d <= 0 {
		err = fmt.Errorf("%s must be more than 0 seconds", what)
	}
	return d, err
}

// asCount reads a whole number from 1 up.
func asCount(raw json.RawMessage, what string) (int, error) {
	f, err := asNumber(raw, what)
	if err != nil {
		return 0, err
	}
	if f < 1 || f > maxSeconds || f != math.Trunc(f) {
		return 0, fmt.Errorf("%s must be a whole number from 1 up, not %v", what, f)
	}
	return int(f), nil
}

func asArray(raw json.RawMessage, what string) ([]json.RawMessage, error) {
	var items []json.RawMessage
	if first(raw) != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, fmt.Errorf("%s must be an array", what)
	}
	return items, nil
}

func asStrings(raw json.RawMessage, what string) ([]string, error) {
	items, err := asArray(raw, what)
	if err != nil {
		return nil, fmt.Errorf("%s must be an array of strings", what)
	}
	out := make([]string, len(items))
	for i := range items {
		if out[i], err = asString(items[i], indexed(what, i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// indexed names item i of the array what: "x[2]" for "x", `"x[2]"` for
// `"x"`.
func indexed(what string, i int) string {
	if s, ok := strings.CutSuffix(what, `"`); ok {
		return fmt.Sprintf(`%s[%d]"`, s, i)
	}
	return fmt.Sprintf("%s[%d]", what, i)
}

// secondsToDuration converts seconds to a Duration, rounding to the
// nanosecond so that decimal fractions such as 0.2 come out exact.
func secondsToDuration(s float64) time.Duration {
	return time.Duration(math.Round(s * 1e9))
}

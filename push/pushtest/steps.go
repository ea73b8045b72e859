package pushtest

// This file parses one step of a scenario: the keys each action takes,
// and their values.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/pushrules/pushrules/events"
)

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

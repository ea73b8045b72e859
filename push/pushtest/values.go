package pushtest

// This file reads the values of a scenario's steps: answers, checks,
// identifiers and stanzas.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

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

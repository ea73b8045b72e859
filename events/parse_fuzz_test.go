package events

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/pushrules/pushrules/internal/corpus"
	"github.com/pushrules/pushrules/internal/jid"
)

// FuzzParseStanza checks that parsing never panics, that a successful parse
// is stable and agrees with DecodeStanza, and that ParseStanza agrees with
// the encoding/xml oracle: the same Stanza, or both refuse. Seeds: the
// stanzas of the conformance scenarios, the classification table and the
// parser's corner cases.
func FuzzParseStanza(f *testing.F) {
	for _, x := range scenarioStanzas(f) {
		f.Add([]byte(x))
	}
	for _, tc := range classificationCases {
		f.Add([]byte(tc.xml))
	}
	for _, x := range trickyInputs {
		f.Add([]byte(x))
	}
	f.Add(benchStanza)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseStanza(data)
		checkDifferential(t, data)
		if err != nil {
			if s != (Stanza{}) {
				t.Fatalf("ParseStanza returned %+v with error %v", s, err)
			}
			return
		}
		if again, err := ParseStanza(data); err != nil || !sameStanza(again, s) {
			t.Fatalf("parsing again: %+v, %v; first %+v", again, err, s)
		}
		if ds, err := DecodeStanza(xml.NewDecoder(bytes.NewReader(data))); err != nil || !sameStanza(ds, s) {
			t.Fatalf("DecodeStanza = %+v, %v; ParseStanza = %+v", ds, err, s)
		}
		checkInvariants(t, s)
	})
}

// checkDifferential checks ParseStanza against the oracle on data: the
// same result, or both refuse.
func checkDifferential(t testing.TB, data []byte) {
	t.Helper()
	want, wantErr := parseOracle(data)
	got, err := ParseStanza(data)
	if (err == nil) != (wantErr == nil) || !sameStanza(got, want) {
		t.Fatalf("%q:\nParseStanza %+v, %v\noracle      %+v, %v", data, got, err, want, wantErr)
	}
}

// The oracle: ParseStanza's semantics on encoding/xml, the parser the
// library had before it read XML with xmlscan alone, with the classifier
// of parse.go, reading through corpus.Strict (which refuses, on top of what
// encoding/xml refuses, what xmlscan refuses although XML allows it).

// parseOracle is ParseStanza on encoding/xml.
func parseOracle(data []byte) (Stanza, error) {
	if len(data) > MaxStanzaSize {
		return Stanza{}, ErrTooLarge
	}
	o := &oracle{d: corpus.NewStrict(data)}
	s, err := o.stanza()
	if err != nil {
		return Stanza{}, err
	}
	// Only what XML calls Misc may follow the element.
	for {
		tok, err := o.token()
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return Stanza{}, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if !isSpace(t) {
				return Stanza{}, o.syntaxError("text after the stanza")
			}
		case xml.Comment, xml.ProcInst:
		default:
			return Stanza{}, o.syntaxError("markup after the stanza")
		}
	}
}

type oracle struct {
	d *corpus.Strict
	c classifier
}

func (o *oracle) token() (xml.Token, error) { return o.d.Token() }

func (o *oracle) syntaxError(msg string) error {
	line, _ := o.d.InputPos()
	return fmt.Errorf("events: parse stanza: %w", &xml.SyntaxError{Msg: msg, Line: line})
}

// stanza reads the element and classifies it.
func (o *oracle) stanza() (Stanza, error) {
	for {
		tok, err := o.token()
		if err != nil {
			if err == io.EOF {
				return Stanza{}, fmt.Errorf("events: parse stanza: no element: %w", io.EOF)
			}
			return Stanza{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := o.start(t); err != nil {
				return Stanza{}, err
			}
			return o.content()
		case xml.CharData:
			if !isSpace(t) {
				return Stanza{}, o.syntaxError("text before the stanza")
			}
		}
	}
}

// content reads the rest of the element whose start o.c has just seen.
func (o *oracle) content() (Stanza, error) {
	c := &o.c
	for c.depth > 0 {
		tok, err := o.token()
		if err != nil {
			return Stanza{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := o.start(t); err != nil {
				return Stanza{}, err
			}
		case xml.EndElement:
			c.end()
		case xml.CharData:
			if c.inBody {
				c.spill()
				c.buf = append(c.buf, t...)
				c.sync()
			}
		}
	}
	return c.result(), nil
}

// start hands a start element read by encoding/xml to the classifier.
func (o *oracle) start(t xml.StartElement) error {
	c := &o.c
	if c.depth >= maxDepth {
		return ErrTooDeep
	}
	local := lookupName(t.Name.Local)
	ns := nsOther
	if local != nameOther {
		ns = lookupNS(t.Name.Space)
	}
	if !c.start(local, ns) {
		return nil
	}
	for _, a := range t.Attr {
		if a.Name.Space != "" {
			continue
		}
		which := lookupAttr(a.Name.Local)
		if which == attrOther {
			continue
		}
		start := len(c.buf)
		c.buf = append(c.buf, a.Value...)
		if !c.attr(which, c.buf[start:len(c.buf):len(c.buf)]) {
			return o.syntaxError("attribute " + a.Name.Local + " given twice")
		}
	}
	c.attrsDone()
	return nil
}

// checkInvariants checks what holds for every Stanza ParseStanza returns.
func checkInvariants(t testing.TB, s Stanza) {
	t.Helper()
	if s.Kind != KindMessage && (s.HasBody || s.HasSubject || s.Carbon != NotCarbon || s.Encrypted ||
		s.CallProposal || s.Correction || s.Retraction || s.Reaction || s.Important() ||
		s.MUCMention || s.StanzaID || s.Extras().Mentions != "" || s.Extras().ReplyTo != "" || s.CallEnd || s.Extras().CallID != "" || s.Extras().CallMedia != "") {
		t.Fatalf("%v with message facts: %+v", s.Kind, s)
	}
	if s.MUCMention && (s.Type != "groupchat" || s.Carbon != NotCarbon) {
		t.Fatalf("a MUC mention of a %q message, carbon %v", s.Type, s.Carbon)
	}
	if media := strings.Fields(s.Extras().CallMedia); len(media) > maxCallMedia || strings.Join(media, " ") != s.Extras().CallMedia || len(media) > 0 && !s.CallProposal {
		t.Fatalf("call media %q (proposal %v)", s.Extras().CallMedia, s.CallProposal)
	}
	if s.Extras().Mentions != "" {
		mentions := strings.Split(s.Extras().Mentions, "\n")
		if len(mentions) > maxMentions {
			t.Fatalf("%d mentions", len(mentions))
		}
		for _, m := range mentions {
			if _, err := jid.Prepare(m); err != nil || !s.Mentioned(m) {
				t.Fatalf("mention %q: %v (mentions %q)", m, err, s.Extras().Mentions)
			}
		}
	}
}

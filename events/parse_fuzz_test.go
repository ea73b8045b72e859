package events

import (
	"bytes"
	"encoding/xml"
	"testing"
)

// FuzzParseStanza checks that parsing never panics, that ParseStanza and
// ReadStanza agree, that a successful parse is stable and agrees with
// DecodeStanza, and that the fast path of ParseStanza accepts only what
// encoding/xml accepts, with the same result. Seeds: the stanzas of the
// conformance scenarios, the classification table and the fast path's
// corner cases.
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
		rs, rerr := ReadStanza(bytes.NewReader(data))
		if s != rs || (err == nil) != (rerr == nil) || err != nil && err.Error() != rerr.Error() {
			t.Fatalf("ParseStanza = %+v, %v; ReadStanza = %+v, %v", s, err, rs, rerr)
		}
		checkDifferential(t, data)
		if err != nil {
			if s != (Stanza{}) {
				t.Fatalf("ParseStanza returned %+v with error %v", s, err)
			}
			return
		}
		if again, err := ParseStanza(data); err != nil || again != s {
			t.Fatalf("parsing again: %+v, %v; first %+v", again, err, s)
		}
		if ds, err := DecodeStanza(xml.NewDecoder(bytes.NewReader(data))); err != nil || ds != s {
			t.Fatalf("DecodeStanza = %+v, %v; ParseStanza = %+v", ds, err, s)
		}
		if s.Kind != KindMessage && (s.HasBody || s.HasSubject || s.Carbon != NotCarbon || s.Encrypted ||
			s.CallProposal || s.Correction || s.Retraction || s.Reaction || s.Important()) {
			t.Fatalf("%v with message facts: %+v", s.Kind, s)
		}
		if !s.HasBody && s.Body != "" {
			t.Fatalf("body without HasBody: %+v", s)
		}
	})
}

package registry

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestForm(t *testing.T) {
	fields := []Field{
		{Var: "FORM_TYPE", Type: "hidden", Values: []string{"http://jabber.org/protocol/pubsub#publish-options"}},
		{Var: "secret", Values: []string{"s3cr3t"}},
		{Var: "multi", Type: "list-multi", Values: []string{"a", "", "b"}},
		{Var: "none"},
		{Var: strings.Repeat("v", 300), Values: []string{strings.Repeat("x", 5000), "<&'\">"}},
	}
	f := NewForm("submit", fields...)
	if f.IsZero() || f.Type() != "submit" {
		t.Fatalf("type %q", f.Type())
	}
	if got := f.Fields(); !reflect.DeepEqual(got, fields) {
		t.Fatalf("Fields() = %+v", got)
	}
	if v, ok := f.Value("secret"); !ok || v != "s3cr3t" {
		t.Errorf("Value(secret) = %q, %v", v, ok)
	}
	if v, ok := f.Value("none"); !ok || v != "" {
		t.Errorf("Value(none) = %q, %v", v, ok)
	}
	if _, ok := f.Value("missing"); ok {
		t.Error("Value(missing) found")
	}
	if f != NewForm("submit", fields...) || f == NewForm("submit", fields[:2]...) {
		t.Error("forms compare by content")
	}
	var zero Form
	if !zero.IsZero() || zero.Type() != "" || zero.Fields() != nil || NewForm("").IsZero() {
		t.Error("zero form")
	}
	// Next skips the values not read.
	var names []string
	for it := f.Iter(); it.Next(); {
		names = append(names, it.Var())
	}
	if len(names) != len(fields) || names[2] != "multi" {
		t.Errorf("Iter visited %v", names)
	}
	if allocs := testing.AllocsPerRun(100, func() { f.Value("multi") }); allocs != 0 {
		t.Errorf("Value allocates %v times", allocs)
	}
}

func TestFormJSON(t *testing.T) {
	for _, f := range []Form{{}, NewForm(""), NewForm("submit", Field{Var: "secret", Values: []string{"x", ""}}, Field{Var: "e"})} {
		data, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		var back Form
		if err := json.Unmarshal(data, &back); err != nil || back != f {
			t.Errorf("round trip of %s: %s gave %s (%v)", f, data, back, err)
		}
	}
	var f Form
	if err := json.Unmarshal([]byte(`{"type":1}`), &f); !errors.Is(err, ErrFormJSON) {
		t.Errorf("bad JSON: %v", err)
	}
	// <, > and & are kept as they are.
	html := NewForm("submit", Field{Var: "a<b", Values: []string{"x&y>z"}})
	if data, err := html.MarshalJSON(); err != nil || !strings.Contains(string(data), `"a<b"`) || !strings.Contains(string(data), `"x&y>z"`) {
		t.Errorf("MarshalJSON(%s) = %s, %v; want <, > and & unescaped", html, data, err)
	}
	// A string JSON cannot carry is refused, wherever it is.
	for _, bad := range []Form{
		NewForm("\xff"),
		NewForm("", Field{Var: "\xc3("}),
		NewForm("", Field{Var: "v", Type: "\xff"}),
		NewForm("", Field{Var: "v", Values: []string{"ok", "\xc3("}}),
	} {
		if data, err := json.Marshal(bad); !errors.Is(err, ErrFormJSON) {
			t.Errorf("Marshal(%q) = %s, %v; want ErrFormJSON", bad.String(), data, err)
		}
	}
}

// FuzzFormJSON: decoding arbitrary JSON never panics, and a decoded form
// encodes and decodes to itself.
func FuzzFormJSON(f *testing.F) {
	f.Add([]byte(`{"type":"submit","fields":[{"var":"FORM_TYPE","type":"hidden","values":["http://jabber.org/protocol/pubsub#publish-options"]},{"var":"secret","type":"","values":["x"]}]}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"fields":[{"values":[]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var form Form
		if err := json.Unmarshal(data, &form); err != nil {
			return
		}
		again, err := json.Marshal(form)
		if err != nil {
			t.Fatal(err)
		}
		var back Form
		if err := json.Unmarshal(again, &back); err != nil || back != form {
			t.Fatalf("%s does not round-trip: %s (%v)", data, again, err)
		}
		_ = form.String()
	})
}

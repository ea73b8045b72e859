package registry

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Form is a XEP-0004 data form (jabber:x:data), such as the publish-options
// a client sends with <enable/>, kept field by field so that it can be
// echoed as it was received. A Form is an immutable value, compact in memory
// (one string), comparable with ==; the zero Form stands for "no form".
// Build one with NewForm; read it with Type, Fields, Value or Iter.
type Form struct {
	enc string // "" for no form; else formVersion, then the encoded parts
}

// Field is one field of a form, for building and inspecting Forms.
type Field struct {
	Var    string
	Type   string // "" when the field had no type attribute
	Values []string
}

const formVersion = 1

// formDict holds the strings publish-options forms repeat, encoded as a
// one-byte reference instead of the text.
var formDict = [...]string{
	"", "FORM_TYPE", "http://jabber.org/protocol/pubsub#publish-options", "submit", "hidden",
	"text-single", "secret", "endpoint", "boolean", "list-single", "jid-single", "form", "text-private",
}

// NewForm returns the form of the given type and fields (copied).
func NewForm(typ string, fields ...Field) Form {
	b := []byte{formVersion}
	b = appendFormString(b, typ)
	b = binary.AppendUvarint(b, uint64(len(fields)))
	for _, f := range fields {
		b = appendFormString(b, f.Var)
		b = appendFormString(b, f.Type)
		b = binary.AppendUvarint(b, uint64(len(f.Values)))
		for _, v := range f.Values {
			b = appendFormString(b, v)
		}
	}
	return Form{enc: string(b)}
}

// appendFormString appends s as a uvarint n then, for even n, n/2 bytes of
// text, or, for odd n, nothing more: s is formDict[n/2].
func appendFormString(b []byte, s string) []byte {
	for i, d := range formDict {
		if s == d {
			return binary.AppendUvarint(b, uint64(2*i+1))
		}
	}
	b = binary.AppendUvarint(b, uint64(2*len(s)))
	return append(b, s...)
}

// formReader reads the encoding; a malformed one reads as ended.
type formReader struct {
	rest string
	bad  bool
}

func (r *formReader) uvarint() uint64 {
	var v uint64
	for i := 0; i < len(r.rest) && i < binary.MaxVarintLen64; i++ {
		c := r.rest[i]
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			r.rest = r.rest[i+1:]
			return v
		}
	}
	r.bad, r.rest = true, ""
	return 0
}

func (r *formReader) string() string {
	var n uint64
	if rest := r.rest; rest != "" && rest[0] < 0x80 { // the usual one-byte length, without a call
		n, r.rest = uint64(rest[0]), rest[1:]
	} else {
		n = r.uvarint()
	}
	if n&1 == 1 {
		if n/2 >= uint64(len(formDict)) {
			r.bad, r.rest = true, ""
			return ""
		}
		return formDict[n/2]
	}
	if n/2 > uint64(len(r.rest)) {
		r.bad, r.rest = true, ""
		return ""
	}
	s := r.rest[:n/2]
	r.rest = r.rest[n/2:]
	return s
}

// IsZero reports whether f is the zero Form: no form at all.
func (f Form) IsZero() bool { return f.enc == "" }

// Type returns the form's type attribute ("submit" for publish-options).
func (f Form) Type() string {
	if f.enc == "" {
		return ""
	}
	r := formReader{rest: f.enc[1:]}
	return r.string()
}

// FormIter walks a form's fields and values without allocating: the
// strings it returns are shared with the form.
//
//	for it := f.Iter(); it.Next(); {
//		name, typ := it.Var(), it.Type()
//		for v, ok := it.Value(); ok; v, ok = it.Value() { ... }
//	}
type FormIter struct {
	r         formReader
	fields    uint64 // fields not started yet
	values    uint64 // values of the current field not read yet
	name, typ string
}

// Iter returns an iterator over f's fields, positioned before the first.
func (f Form) Iter() FormIter {
	if f.enc == "" {
		return FormIter{}
	}
	it := FormIter{r: formReader{rest: f.enc[1:]}}
	it.r.string() // the form's type
	it.fields = it.r.uvarint()
	return it
}

// Next moves to the next field, skipping the values of the current one
// not read yet; it returns false after the last field.
func (it *FormIter) Next() bool {
	for it.values > 0 {
		it.Value()
	}
	if it.fields == 0 || it.r.bad {
		return false
	}
	it.fields--
	it.name, it.typ = it.r.string(), it.r.string()
	it.values = it.r.uvarint()
	return !it.r.bad
}

// Var returns the current field's var.
func (it *FormIter) Var() string { return it.name }

// Type returns the current field's type ("" for none).
func (it *FormIter) Type() string { return it.typ }

// Value returns the current field's next value, and false when there is
// none left.
func (it *FormIter) Value() (string, bool) {
	if it.values == 0 || it.r.bad {
		return "", false
	}
	it.values--
	return it.r.string(), true
}

// Fields returns a copy of the form's fields.
func (f Form) Fields() []Field {
	var out []Field
	for it := f.Iter(); it.Next(); {
		fd := Field{Var: it.Var(), Type: it.Type()}
		for v, ok := it.Value(); ok; v, ok = it.Value() {
			fd.Values = append(fd.Values, v)
		}
		out = append(out, fd)
	}
	return out
}

// Value returns the first value of the field named name, and whether the
// form has such a field.
func (f Form) Value(name string) (value string, found bool) {
	for it := f.Iter(); it.Next(); {
		if it.Var() == name {
			value, _ = it.Value()
			return value, true
		}
	}
	return "", false
}

// String returns a readable rendering of the form, for debugging.
// Publish-options carry secrets: do not log it.
func (f Form) String() string {
	if f.IsZero() {
		return "<no form>"
	}
	var b strings.Builder
	b.WriteString(f.Type())
	for it := f.Iter(); it.Next(); {
		b.WriteString(" " + it.Var() + "=")
		for i := 0; ; i++ {
			v, ok := it.Value()
			if !ok {
				break
			}
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(v)
		}
	}
	return b.String()
}

// formJSON is the JSON shape of a form.
type formJSON struct {
	Type   string      `json:"type"`
	Fields []fieldJSON `json:"fields"`
}

type fieldJSON struct {
	Var    string   `json:"var"`
	Type   string   `json:"type"`
	Values []string `json:"values"`
}

// MarshalJSON encodes the form as {"type":..., "fields":[{"var", "type",
// "values"}, ...]}, or null for the zero Form. It does not escape <, > and
// &. A form with a string that is not valid UTF-8 gives an error wrapping
// ErrFormJSON: JSON would replace the bad bytes, and the form would not
// come back as it was.
func (f Form) MarshalJSON() ([]byte, error) {
	if f.IsZero() {
		return []byte("null"), nil
	}
	valid := utf8.ValidString(f.Type())
	j := formJSON{Type: f.Type(), Fields: []fieldJSON{}}
	for _, fd := range f.Fields() {
		valid = valid && utf8.ValidString(fd.Var) && utf8.ValidString(fd.Type)
		for _, v := range fd.Values {
			valid = valid && utf8.ValidString(v)
		}
		if fd.Values == nil {
			fd.Values = []string{}
		}
		j.Fields = append(j.Fields, fieldJSON(fd))
	}
	if !valid {
		return nil, fmt.Errorf("%w: a string is not valid UTF-8", ErrFormJSON)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(j); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// ErrFormJSON is wrapped by UnmarshalJSON's error for JSON that is not a
// form in MarshalJSON's shape, and by MarshalJSON's for a form JSON cannot
// carry.
const ErrFormJSON Error = "registry: not a form"

// UnmarshalJSON decodes what MarshalJSON encodes; null gives the zero Form.
func (f *Form) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*f = Form{}
		return nil
	}
	var j formJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return errors.Join(ErrFormJSON, err)
	}
	fields := make([]Field, len(j.Fields))
	for i, fd := range j.Fields {
		fields[i] = Field(fd)
	}
	*f = NewForm(j.Type, fields...)
	return nil
}

package pushtest

// This file holds the strict JSON reading the scenario parser is built on:
// one document, objects whose keys are all known, and typed values.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

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

package core

import (
	"reflect"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

// publish fills a reused slot: whatever an earlier publish left in any
// field must be overwritten, so that the result is the same as on a zero
// Publish. Every field is set to a non-zero value first, found by
// reflection, so a field added later is covered too.
func TestPublishOverwritesEveryField(t *testing.T) {
	r := Rules{WithBody: true, WithSender: true, ImportantBody: "New message"}
	reg := &registry.Registration{User: "juliet@example.org", ID: registry.NewIdentifier("push.example.org", "n1"), Generation: 7}
	now := time.Unix(1_700_000_000, 0)
	for _, c := range []struct {
		name string
		st   *events.Stanza
	}{
		{"ping", nil},
		{"chat", &events.Stanza{Kind: events.KindMessage, Type: "chat", From: "romeo@example.net/a", Body: "hi", HasBody: true}},
		{"encrypted", &events.Stanza{Kind: events.KindMessage, Type: "chat", From: "romeo@example.net/a", Encrypted: true, HasBody: true}},
	} {
		var want Publish
		r.publish(&want, reg, c.st, c.st != nil, false, now.UnixNano())
		var got Publish
		v := reflect.ValueOf(&got).Elem()
		for i := range v.NumField() {
			f := v.Field(i)
			switch f.Kind() {
			case reflect.String:
				f.SetString("stale")
			case reflect.Bool:
				f.SetBool(true)
			case reflect.Int, reflect.Int64:
				f.SetInt(99)
			case reflect.Uint64:
				f.SetUint(99)
			case reflect.Pointer:
				f.Set(reflect.New(f.Type().Elem()))
			case reflect.Struct: // registry.Form, registry.Extensions: opaque encodings
				f.Set(reflect.ValueOf(filled(f.Type())))
			default:
				t.Fatalf("field %s of kind %v: teach this test to fill it", v.Type().Field(i).Name, f.Kind())
			}
		}
		r.publish(&got, reg, c.st, c.st != nil, false, now.UnixNano())
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: publish over a used slot = %+v, want %+v", c.name, got, want)
		}
	}
}

// filled returns a non-zero value of one of the opaque registry types a
// Publish carries.
func filled(t reflect.Type) any {
	switch t {
	case reflect.TypeFor[registry.Form]():
		return registry.NewForm("submit", registry.Field{Var: "secret", Values: []string{"s"}})
	case reflect.TypeFor[registry.Extensions]():
		x, err := registry.NewExtensions(registry.ExtensionSettings{Muted: []string{"nurse@example.org"}})
		if err != nil {
			panic(err)
		}
		return x
	}
	panic("no filled value for " + t.String())
}

package registry

import (
	"reflect"
	"testing"
)

// TestFillSetsEveryRegistrationField guards memoryEntry.fill, which sets a
// Registration field by field over whatever the caller's slice held: a
// field added to Registration must be set there too.
func TestFillSetsEveryRegistrationField(t *testing.T) {
	const fields = 12 // User, ID, Options, Enabled, Generation, Errors, LastSuccess, FailingSince, LastError, Client, Extensions, Push2
	if n := reflect.TypeFor[Registration]().NumField(); n != fields {
		t.Fatalf("Registration has %d fields, fill sets %d: set the new one in fill and update this test", n, fields)
	}
}

// TestLoadAppendOverwritesStale: LoadAppend fills dst's spare capacity in
// place, so nothing of what was there before may remain.
func TestLoadAppendOverwritesStale(t *testing.T) {
	m := NewMemory()
	reg := Registration{User: "juliet@example.org", ID: NewIdentifier("push.example.net", "n"), Generation: 1}
	if _, _, err := m.Save(t.Context(), reg, 0); err != nil {
		t.Fatal(err)
	}
	want, err := m.Load(t.Context(), reg.User)
	if err != nil {
		t.Fatal(err)
	}
	stale := []Registration{{User: "x", LastError: "stale", Errors: 9, Client: "c", Push2: nil}}
	got, err := m.LoadAppend(t.Context(), reg.User, stale[:0])
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("LoadAppend over stale entries = %+v, %v; want %+v", got, err, want)
	}
}

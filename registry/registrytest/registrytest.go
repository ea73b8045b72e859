// Package registrytest helps test code that implements or uses a
// registry.Store.
//
// Run is a conformance suite: every Store implementation should call it from
// its own tests, giving it a constructor of fresh, empty stores:
//
//	func TestConformance(t *testing.T) {
//		registrytest.Run(t, func(t *testing.T) registry.Store {
//			return registry.NewMemory()
//		})
//	}
//
// Faulty wraps any Store and makes chosen calls fail, to test how a caller
// (the push engine, a host) behaves when its store fails.
//
// The suite pins down these readings of the registry.Store contract, which
// every implementation must share:
//
//   - Load of a user with no registrations returns no error and a slice of
//     length 0; both nil and an empty non-nil slice are accepted.
//   - maxDevices <= 0 given to Save means no limit: nothing is evicted.
//   - Order is the order of Save calls ("enabled" means saved), never the
//     order of the Enabled times, which are only stored and given back.
//   - Evicted registrations are returned least recently enabled first;
//     Delete and DeleteUser may return what they removed in any order.
//   - Users are told apart exactly as given (the caller normalises JIDs): a
//     store must not fold case or otherwise merge users or identifiers.
//   - Enabled is given back equal (time.Time.Equal) to what was saved, to
//     the nanosecond, including the zero time; its location may change.
//   - Options come back equal (==) to what was saved, and
//     nil when nil was saved; a form with no fields stays a non-nil form.
//   - Extensions come back equal (==) to what was saved, and are replaced
//     (not merged) by a Save of the same identifier.
//   - A Push 2.0 registration (Registration.Push2 set, its ID a
//     registry.Push2Identifier) is kept by the same methods as a XEP-0357
//     one: its request comes back equal (reflect.DeepEqual) and its Client
//     as saved, it shares the user's order and device limit, and the
//     optional capabilities serve it too.
//   - A method called with a context that is already done returns an error
//     for which errors.Is(err, ctx.Err()) holds, and changes nothing.
//
// The suite saves only registrations with a non-zero Generation, a
// non-negative Errors and an Identifier with a non-empty service JID, and
// Enabled times between the years 1678 and 2262 or the zero time.
package registrytest

import (
	"testing"

	"github.com/pushrules/pushrules/registry"
)

// Run runs the conformance suite against the stores newStore makes, each
// case as a subtest of t. newStore is called once per subtest and must
// return a new, empty store that no other subtest uses; it may register
// clean-up with t.Cleanup and may call t.Fatal or t.Skip. Subtests run one
// after another (Run does not call t.Parallel), but some subtests call the
// store from many goroutines at once. Run with -race to make the
// concurrency case meaningful.
func Run(t *testing.T, newStore func(t *testing.T) registry.Store) {
	t.Helper()
	cases := []struct {
		name string
		f    func(t *testing.T, s registry.Store)
	}{
		{"SaveThenLoad", testSaveThenLoad},
		{"LoadUnknownUser", testLoadUnknownUser},
		{"LoadResultOwnedByCaller", testLoadResultOwnedByCaller},
		{"UpsertReplacesOptionsKeepsGenerationAndErrors", testUpsert},
		{"LoadOrderIsEnableOrder", testLoadOrder},
		{"EvictionAtMaxDevices", testEviction},
		{"MaxDevicesNotPositiveMeansNoLimit", testNoLimit},
		{"DeleteOne", testDeleteOne},
		{"DeleteSeveral", testDeleteSeveral},
		{"DeleteUnknownIgnored", testDeleteUnknown},
		{"DeleteByService", testDeleteByService},
		{"DeleteUser", testDeleteUser},
		{"UsersAreIsolated", testUsersIsolated},
		{"ErrorCounts", testErrorCounts},
		{"ErrorCountsNotFound", testErrorCountsNotFound},
		{"OptionsStoredLosslessly", testFormsLossless},
		{"ExtensionsStoredLosslessly", testExtensionsLossless},
		{"LoadAppendMatchesLoad", testLoadAppend},
		{"IdentifierWithoutNode", testIdentifierWithoutNode},
		{"IdentifiersAroundLessThan", testIdentifiersAroundLessThan},
		{"EnabledTimeKept", testEnabledTime},
		{"Concurrent", testConcurrent},
		{"CancelledContext", testCancelledContext},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			c.f(t, s)
		})
	}
	runLifecycle(t, newStore)
	runPush2(t, newStore)
}

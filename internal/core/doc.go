// Package core is the pure push-rules core: one user's push state (its
// sessions, their bindings to registrations, pending batches, hibernation
// timeouts and the stanzas already pushed to each registration) and the
// decisions each event gives.
//
// Everything here is plain code over plain data: no locks, no I/O, no clock,
// no randomness. Time comes in as an argument; registrations read from a
// Store come in as arguments; decisions go out in an Out the caller owns.
// The same calls in the same order give the same Out, byte for byte.
//
// The push package is the shell around it: it orders each user's events,
// does the Store I/O outside its locks, keeps the batch timers and assigns
// publish ids. A User is not safe for concurrent use; the shell guards each
// one with its own lock.
package core

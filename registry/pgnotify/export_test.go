package pgnotify

// ListenerPID returns the PostgreSQL backend process id of l's listening
// connection, 0 when not connected, for the tests that terminate it.
func ListenerPID(l *Listener) uint32 { return l.pid.Load() }

// ListenerDone returns the channel closed when l has stopped, for the
// tests that stop it by ending its context.
func ListenerDone(l *Listener) <-chan struct{} { return l.done }

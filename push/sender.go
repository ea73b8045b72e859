package push

import "context"

// Sender sends publishes to push services. The host implements it, usually
// by writing Publish.AppendXML to its server-to-server or component stream
// and, when the answer arrives, handing it to Engine.Handle (or
// Driver.Handle) as an events.PublishResult. Send must not block for long:
// it is called from the goroutine that handled the event. An error means
// the publish could not be sent at all: the Driver then reports it to
// DriverConfig.SendError (or logs it at warning level) and calls
// Engine.ForgetPublish, counted in Stats.PublishesForgotten. A host that
// executes decisions itself should do the same; a publish it neither
// sends nor forgets expires after Config.PublishTimeout, counted in
// Stats.PublishesExpired. A failed send never counts as a publish error
// of the registration.
type Sender interface {
	Send(ctx context.Context, p Publish) error
}

// SenderFunc adapts a function to the Sender interface.
type SenderFunc func(ctx context.Context, p Publish) error

// Send calls f(ctx, p).
func (f SenderFunc) Send(ctx context.Context, p Publish) error { return f(ctx, p) }

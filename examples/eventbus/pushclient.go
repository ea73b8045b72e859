package main

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
)

// Defaults of PushClientConfig.
const (
	DefaultAnswerTimeout = 30 * time.Second
	DefaultQueueSize     = 256
)

// Errors of PushClient.Send.
var (
	// ErrClosed is returned once the client (or the adapter) is closed.
	ErrClosed = errors.New("eventbus: closed")
	// ErrCongested is returned when DefaultQueueSize (or
	// PushClientConfig.QueueSize) publishes already wait to be written.
	ErrCongested = errors.New("eventbus: push stream congested")
)

// PushClientConfig configures a PushClient.
type PushClientConfig struct {
	// Timeout is how long a sent publish waits for its answer; after that
	// its id is forgotten (and handed to OnExpire) and a late answer is
	// dropped as unmatched. 0 means DefaultAnswerTimeout. (The engine has
	// its own, longer, push.Config.PublishTimeout, after which it ignores an
	// answer anyway; OnExpire lets it forget the publish sooner.)
	Timeout time.Duration
	// QueueSize bounds the publishes waiting to be written; 0 means
	// DefaultQueueSize.
	QueueSize int
	// OnAnswer receives the answer to every publish still waiting for one,
	// on the client's reading goroutine (which reads nothing else until it
	// returns). Its Now is zero: a push.Driver stamps it. nil drops answers.
	OnAnswer func(events.PublishResult)
	// OnExpire receives the id of every publish whose answer did not come
	// within Timeout, on a timer goroutine, without any lock of the client
	// held; an Adapter passes push.Engine.ForgetPublish. nil ignores them.
	OnExpire func(id string)
	// Logger receives the client's log records; nil means silent.
	Logger *slog.Logger
}

// PushClientStats counts what a PushClient did.
type PushClientStats struct {
	// Pending is the number of publishes waiting for their answer now.
	Pending int
	// Sent, Answered, Unmatched and Expired count the publishes accepted by
	// Send, the answers handed to OnAnswer (counted once it returned), the
	// answers matching no waiting publish, and the publishes whose answer
	// did not come in time.
	Sent, Answered, Unmatched, Expired int
}

// PushClient is the host's side of the connection to push services (a
// server-to-server or component stream): it implements push.Sender by
// writing each publish IQ onto the connection, and matches the answers it
// reads from the connection to the publishes by IQ id.
//
// Send never blocks on the network: publishes are queued and written by
// the client's writing goroutine. A reading goroutine decodes the answers
// (bare <iq/> elements, or the children of a <stream:stream>) with
// push.DecodeResult: an element that is not an iq result or error is
// skipped, malformed XML, or an element longer than about
// push.MaxResultSize bytes, ends the stream.
//
// A PushClient is safe for concurrent use. Close stops both goroutines and
// every answer timer.
type PushClient struct {
	conn  io.ReadWriteCloser
	cfg   PushClientConfig
	queue chan []byte
	done  chan struct{}
	wg    sync.WaitGroup // the two goroutines and every armed answer timer

	closeOnce sync.Once
	closeErr  error

	mu      sync.Mutex
	closed  bool
	err     error // why the stream failed, nil while it works
	pending map[string]*pendingIQ
	stats   PushClientStats
}

type pendingIQ struct {
	timer *time.Timer
}

// NewPushClient returns a client reading and writing conn, and starts its
// goroutines. The client owns conn: Close closes it.
func NewPushClient(conn io.ReadWriteCloser, cfg PushClientConfig) *PushClient {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultAnswerTimeout
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &PushClient{
		conn:    conn,
		cfg:     cfg,
		queue:   make(chan []byte, cfg.QueueSize),
		done:    make(chan struct{}),
		pending: make(map[string]*pendingIQ),
	}
	c.wg.Add(2)
	go c.writeLoop()
	go c.readLoop()
	return c
}

// Send implements push.Sender: it queues the publish IQ for writing and
// waits for its answer for the configured Timeout. It fails when ctx is
// done, the client is closed (ErrClosed), the stream failed, or the queue
// is full (ErrCongested); a push.Driver then has the engine forget the
// publish.
func (c *PushClient) Send(ctx context.Context, p push.Publish) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data := p.AppendXML(nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return ErrClosed
	case c.err != nil:
		return c.err
	}
	if _, dup := c.pending[p.ID]; dup {
		return fmt.Errorf("eventbus: publish id %q is already waiting for an answer", p.ID)
	}
	select {
	case c.queue <- data:
	default:
		return ErrCongested
	}
	// Registered under the same lock as the queueing: the answer cannot be
	// read before the id is known.
	pi := &pendingIQ{}
	c.wg.Add(1) // done by expire, or by whoever stops the timer
	pi.timer = time.AfterFunc(c.cfg.Timeout, func() { c.expire(p.ID, pi) })
	c.pending[p.ID] = pi
	c.stats.Sent++
	return nil
}

// expire forgets a publish whose answer did not come in time, and tells
// OnExpire.
func (c *PushClient) expire(id string, pi *pendingIQ) {
	defer c.wg.Done()
	c.mu.Lock()
	if c.pending[id] != pi {
		c.mu.Unlock()
		return // answered, or the client closed, meanwhile
	}
	delete(c.pending, id)
	c.stats.Expired++
	c.mu.Unlock()
	c.cfg.Logger.Debug("eventbus: publish unanswered, forgotten", "id", id)
	if c.cfg.OnExpire != nil {
		c.cfg.OnExpire(id)
	}
}

// Stats returns the client's counters.
func (c *PushClient) Stats() PushClientStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Pending = len(c.pending)
	return s
}

// Err returns why the stream failed (a write error, a read error, malformed
// XML, the peer closing it), or nil while it works or after Close.
func (c *PushClient) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection, stops the goroutines and the answer timers,
// and waits for them all, including an OnAnswer or OnExpire call in
// progress. It
// returns the connection's Close error. Calling it again does nothing.
func (c *PushClient) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		for id, pi := range c.pending {
			if pi.timer.Stop() {
				c.wg.Done() // expire will not run
			}
			delete(c.pending, id)
		}
		c.mu.Unlock()
		close(c.done)
		c.closeErr = c.conn.Close() // unblocks a Read or Write in progress
		c.wg.Wait()
	})
	return c.closeErr
}

// fail records why the stream stopped working, unless it was closed.
func (c *PushClient) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.err != nil {
		return
	}
	c.err = err
	c.cfg.Logger.Warn("eventbus: push stream failed", "error", err)
}

func (c *PushClient) writeLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.done:
			return
		case data := <-c.queue:
			if _, err := c.conn.Write(data); err != nil {
				c.fail(fmt.Errorf("eventbus: writing to the push stream: %w", err))
				return
			}
		}
	}
}

func (c *PushClient) readLoop() {
	defer c.wg.Done()
	br := &budgetReader{r: c.conn}
	d := xml.NewDecoder(br)
	for {
		br.left = push.MaxResultSize
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // the service closed the stream
			}
			c.fail(fmt.Errorf("eventbus: reading the push stream: %w", err))
			return
		}
		start, ok := tok.(xml.StartElement)
		if !ok || start.Name.Local == "stream" {
			continue // between answers, or entering <stream:stream>
		}
		el := &element{d: d, start: &start}
		res, err := push.DecodeResult(el)
		if serr := el.finish(); serr != nil {
			c.fail(fmt.Errorf("eventbus: reading the push stream: %w", serr))
			return
		}
		if err != nil {
			c.cfg.Logger.Debug("eventbus: skipped a stanza on the push stream", "element", start.Name.Local, "error", err)
			continue
		}
		c.deliver(res)
	}
}

// element is the xml.TokenReader the reading loop hands push.DecodeResult:
// the tokens of one element of the stream, from its start tag (which the
// loop has already read) to its end tag, then io.EOF. It keeps the errors
// of the stream apart from DecodeResult's: an element that is no answer is
// skipped, but malformed XML ends the stream.
type element struct {
	d     *xml.Decoder
	start *xml.StartElement // until handed out
	depth int               // of the next token within the element
	err   error             // the stream's error
}

func (e *element) Token() (xml.Token, error) {
	if e.start != nil {
		t := *e.start
		e.start, e.depth = nil, 1
		return t, nil
	}
	if e.err != nil {
		return nil, e.err
	}
	if e.depth == 0 {
		return nil, io.EOF
	}
	t, err := e.d.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // within the element
		}
		e.err = err
		return nil, err
	}
	switch t.(type) {
	case xml.StartElement:
		e.depth++
	case xml.EndElement:
		e.depth--
	}
	return t, nil
}

// finish reads what DecodeResult left of the element (all of it when it
// gave up early) and returns the stream's error, if any.
func (e *element) finish() error {
	for e.err == nil && (e.start != nil || e.depth > 0) {
		e.Token()
	}
	return e.err
}

// deliver hands an answer to OnAnswer when its publish is still waiting.
func (c *PushClient) deliver(res events.PublishResult) {
	c.mu.Lock()
	pi, ok := c.pending[res.ID]
	if ok {
		delete(c.pending, res.ID)
		if pi.timer.Stop() {
			c.wg.Done() // expire will not run
		}
	} else {
		c.stats.Unmatched++
	}
	c.mu.Unlock()
	if !ok {
		c.cfg.Logger.Debug("eventbus: answer to an unknown or expired publish dropped", "id", res.ID)
		return
	}
	if c.cfg.OnAnswer != nil {
		c.cfg.OnAnswer(res)
	}
	c.mu.Lock()
	c.stats.Answered++
	c.mu.Unlock()
}

// budgetReader reads from r until left bytes have been read, then fails:
// the reading loop refills it (with push.MaxResultSize) before each
// element, so one element (with the decoder's read-ahead) cannot make it
// read without bound.
type budgetReader struct {
	r    io.Reader
	left int
}

var errAnswerTooLarge = fmt.Errorf("an element is larger than %d bytes", push.MaxResultSize)

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errAnswerTooLarge
	}
	if len(p) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= n
	return n, err
}

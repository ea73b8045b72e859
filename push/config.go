package push

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/pushrules/pushrules/internal/core"
	"github.com/pushrules/pushrules/registry"
)

// Defaults, the same as Prosody's mod_cloud_notify and mod_smacks.
const (
	defaultImportantBody         = "New Message!"
	defaultMaxErrors             = 16
	defaultMaxDevices            = 5
	defaultHibernationTimeout    = 10 * time.Minute
	defaultMaxHibernationTimeout = 72 * time.Hour
	defaultBatchWindow           = time.Second
	defaultPublishTimeout        = 5 * time.Minute
	defaultMarksPerUser          = 256
	defaultMaxSessionsPerUser    = 1024
	defaultMaxRepeats            = 3 // with Config.RepeatAfter set
)

// Config configures an Engine. Its zero value gives Prosody's defaults and
// an in-memory store; New checks it and fills in what is zero.
type Config struct {
	// WithBody puts the real message body into last-message-body
	// (push_notification_with_body). Encrypted messages carry the
	// important body instead of their fallback text.
	WithBody bool
	// WithSender puts the stanza's from into last-message-sender
	// (push_notification_with_sender).
	WithSender bool
	// ImportantBody is the last-message-body of important pushes without a
	// real body (push_notification_important_body); "" means
	// "New Message!" unless EmptyImportantBody is set.
	ImportantBody string
	// EmptyImportantBody sends important pushes with an empty
	// last-message-body (<value/>); they are still flagged Important.
	EmptyImportantBody bool
	// MaxErrors is how many publish errors in a row remove a registration
	// (push_max_errors); 0 means 16.
	MaxErrors int
	// Errors says how publish errors count toward removing a
	// registration, and how transient ones are retried; see ErrorPolicy.
	Errors ErrorPolicy
	// Expiry removes registrations neither enabled again nor successfully
	// pushed to for this long, when the host calls Engine.Expire (a
	// Driver calls it by itself); 0 means never (Prosody's behaviour).
	// It needs a Store that is a registry.Expirer (Memory is; so is the
	// SQL store); New refuses another.
	Expiry time.Duration
	// MaxDevices is how many registrations a user keeps, least recently
	// enabled evicted first (push_max_devices); 0 means 5.
	MaxDevices int
	// HibernationTimeout is the host's normal stream-management hibernation
	// time (smacks_hibernation_time); 0 means 10 minutes.
	HibernationTimeout time.Duration
	// MaxHibernationTimeout is the hibernation time of a push-enabled session
	// until its first important push (push_max_hibernation_timeout); 0 means
	// 72 hours. Must not be below HibernationTimeout.
	MaxHibernationTimeout time.Duration
	// BatchWindow is how long stanzas queued to one session are collected
	// before they are pushed; 0 means one second.
	BatchWindow time.Duration
	// PublishTimeout is how long the engine waits for a push service's
	// answer to a publish; a later answer is ignored. 0 means
	// 5 minutes.
	PublishTimeout time.Duration
	// DedupWindow is how long the engine remembers that a stanza was pushed
	// to a registration; 0 means MaxHibernationTimeout + HibernationTimeout,
	// long enough for a stanza pushed at hibernation start to be recognised
	// when it is stored offline after the hibernation ran out.
	DedupWindow time.Duration
	// MarksPerUser bounds the stanzas remembered as pushed, per user (each
	// with the registrations it was pushed to; the oldest is forgotten
	// first); 0 means 256, at most core.MaxMarks.
	MarksPerUser int
	// MaxSessionsPerUser bounds one user's sessions the engine keeps;
	// SessionOpened (and HibernationStarted) for one more are refused with
	// a *LimitError and counted in Stats.SessionsRefused. 0 means
	// 1024.
	MaxSessionsPerUser int
	// IDPrefix starts every publish IQ id; "" means a random prefix per
	// engine. Engines sharing push services must not share a prefix.
	IDPrefix string
	// IDSecret keys the rest of each publish id, which seals a sequence
	// number: without the secret nobody can make an id the engine accepts
	// or tell one user's ids from another's. "" means a random key per
	// engine (the right choice in production). Set IDPrefix and IDSecret
	// only for reproducible output (tests, transcripts).
	IDSecret string
	// NoNickMentions stops a room nick standing as a whole word in a
	// groupchat body from counting as a mention for the groupchat filter's
	// allow='mentioned' (XEP-0372 references, XEP-0461 replies and MUC
	// mention notifications always count).
	NoNickMentions bool
	// Roster answers the ignore-unknown filter's question, whether a sender
	// is in the user's roster; nil means everyone is (the filter drops
	// nothing). It is asked only for users with a registration that asked
	// for the filter, with no engine lock held but in the user's turn (the
	// same rule as for Store applies).
	Roster Roster
	// Store keeps the registrations; nil means a new registry.Memory. The
	// engine calls it with no lock held, but while the user's turn is
	// taken: a Store must not, from inside a call, hand the engine an
	// event of the same user and wait for it (it would wait for itself).
	Store registry.Store
	// Logger receives the engine's log records; nil means silent. Message
	// bodies and publish-options are never logged. At debug level every
	// decision of the rules is logged with its reason (see Reason).
	Logger *slog.Logger
	// DebounceWindow, when set, holds pushes to a registration within
	// that window after its last push and sends them as one at the
	// window's end: the first push of a burst goes out at once, the last
	// stanza of the burst is always covered, an important stanza upgrades
	// a held unimportant push (never the reverse), and calls (XEP-0353
	// proposals) are never held. At 20 s or more it keeps within app
	// servers' own limits (fpush drops a second push within 20 s while
	// answering success). 0 (the default, Prosody's behaviour) holds
	// nothing.
	DebounceWindow time.Duration
	// MaxPushesPerMinute caps the pushes to one registration, and
	// MaxUserPushesPerMinute those to all of a user's registrations, in
	// any 60 seconds; a push past a cap is held until the cap allows it,
	// coalesced as within DebounceWindow. Calls are never held (they
	// count towards the caps). 0 (the default) is no cap.
	MaxPushesPerMinute, MaxUserPushesPerMinute int
	// GracePeriod, when set, holds pushes of ordinary stanzas to a
	// registration while another session of the user (one not bound to
	// it) was active within that period (events.SessionActive): the user
	// is at another device. The push goes out when the grace ends, unless
	// the device's session came back meanwhile. Calls are never held. 0
	// (the default) holds nothing.
	GracePeriod time.Duration
	// PushPolicy is what a registration wants pushed when it names
	// nothing else: PushAll (the default, Prosody's behaviour),
	// PushImportant, or PushMessages (ejabberd's notify_on: messages).
	PushPolicy PushPolicy
	// PushPolicyField, when set, is the publish-options field of <enable/>
	// in which a client names its own policy ("all", "important" or
	// "messages"; any other value gives PushPolicy).
	PushPolicyField string
	// Metrics, when set, receives every count and duration as it happens,
	// besides the engine's own counts (Engine.Metrics).
	Metrics Metrics
	// WakeBeforeTimeout, when set, sends a hibernating session bound to a
	// registration one push without stanza data (counted PublishedWake)
	// that long before the hibernation timeout the engine last gave it
	// runs out, so that its client reconnects before the session is
	// destroyed (ejabberd's wake_on_timeout). It must be below
	// HibernationTimeout. 0 (the default, Prosody's behaviour) sends none.
	WakeBeforeTimeout time.Duration
	// ClearOnRead, when set, answers events.MessagesRead (the user read
	// on one device) with a push of message-count 0 and no body (counted
	// PublishedCleared) to each of the user's other registrations that got
	// a push for a stanza since the user last read (at most the 32 latest,
	// for DedupWindow), so that those devices clear their badges and
	// notifications; pushes the delivery policy holds are then dropped.
	// false (the default, Prosody's behaviour) ignores MessagesRead.
	ClearOnRead bool
	// RepeatAfter, when set, repeats a push for stanzas a device was woken
	// for but never acknowledged: a session that resumes, acknowledges
	// nothing and hibernates again with only stanzas it was pushed for
	// gets the push of the first important one (else the first) again
	// after RepeatAfter, counted PublishedRepeat, unless it resumes first.
	// The back-off doubles with each repeat, up to MaxRepeats per episode
	// (the episode ends when the session hibernates with a new stanza or
	// with nothing queued). iOS gives an app about 30 s per push, which a
	// slow resumption can use up. 0 (the default, Prosody's behaviour)
	// repeats nothing.
	RepeatAfter time.Duration
	// MaxRepeats caps the repeats per episode; 0 means 3.
	MaxRepeats int
	// Counter, when set, gives the message-count and
	// pending-subscription-count of each push's summary (see Counter); nil
	// (the default) sends message-count 1 and no pending-subscription-count,
	// as Prosody does.
	Counter Counter
	// MeasureLatency times each Handle (and typed handler) call with the
	// monotonic clock into the HandlerLatency histogram: two clock reads
	// per event, the only clock the engine reads (decisions never depend
	// on it).
	MeasureLatency bool
}

func (c Config) withDefaults() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"HibernationTimeout", c.HibernationTimeout},
		{"MaxHibernationTimeout", c.MaxHibernationTimeout},
		{"BatchWindow", c.BatchWindow},
		{"PublishTimeout", c.PublishTimeout},
		{"DedupWindow", c.DedupWindow},
		{"DebounceWindow", c.DebounceWindow},
		{"GracePeriod", c.GracePeriod},
		{"WakeBeforeTimeout", c.WakeBeforeTimeout},
		{"RepeatAfter", c.RepeatAfter},
		{"Expiry", c.Expiry},
	} {
		if d.v < 0 {
			return bad("%s is negative (%v)", d.name, d.v)
		}
	}
	if c.MaxErrors < 0 || c.MaxDevices < 0 || c.MarksPerUser < 0 || c.MaxSessionsPerUser < 0 || c.MaxRepeats < 0 {
		return bad("MaxErrors, MaxDevices, MarksPerUser, MaxSessionsPerUser and MaxRepeats must not be negative")
	}
	if c.MaxRepeats == 0 {
		c.MaxRepeats = defaultMaxRepeats
	}
	if c.PushPolicy > PushMessages {
		return bad("PushPolicy %d is not PushAll, PushImportant or PushMessages", c.PushPolicy)
	}
	if c.MaxPushesPerMinute < 0 || c.MaxUserPushesPerMinute < 0 {
		return bad("MaxPushesPerMinute and MaxUserPushesPerMinute must not be negative")
	}
	if c.MarksPerUser > core.MaxMarks {
		return bad("MarksPerUser %d is above %d", c.MarksPerUser, core.MaxMarks)
	}
	if c.ImportantBody != "" && c.EmptyImportantBody {
		return bad("ImportantBody %q contradicts EmptyImportantBody", c.ImportantBody)
	}
	if c.ImportantBody == "" && !c.EmptyImportantBody {
		c.ImportantBody = defaultImportantBody
	}
	if c.MaxErrors == 0 {
		c.MaxErrors = defaultMaxErrors
	}
	errs, err := c.Errors.withDefaults(c.MaxErrors)
	if err != nil {
		return Config{}, err
	}
	c.Errors = errs
	if c.MaxDevices == 0 {
		c.MaxDevices = defaultMaxDevices
	}
	if c.HibernationTimeout == 0 {
		c.HibernationTimeout = defaultHibernationTimeout
	}
	if c.MaxHibernationTimeout == 0 {
		c.MaxHibernationTimeout = defaultMaxHibernationTimeout
	}
	if c.MaxHibernationTimeout < c.HibernationTimeout {
		return bad("MaxHibernationTimeout %v is below HibernationTimeout %v", c.MaxHibernationTimeout, c.HibernationTimeout)
	}
	if c.WakeBeforeTimeout >= c.HibernationTimeout {
		return bad("WakeBeforeTimeout %v is not below HibernationTimeout %v", c.WakeBeforeTimeout, c.HibernationTimeout)
	}
	if c.BatchWindow == 0 {
		c.BatchWindow = defaultBatchWindow
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = defaultPublishTimeout
	}
	if c.DedupWindow == 0 {
		c.DedupWindow = c.MaxHibernationTimeout + c.HibernationTimeout
	}
	if c.MarksPerUser == 0 {
		c.MarksPerUser = defaultMarksPerUser
	}
	if c.MaxSessionsPerUser == 0 {
		c.MaxSessionsPerUser = defaultMaxSessionsPerUser
	}
	if c.Store == nil {
		c.Store = registry.NewMemory()
	}
	if _, ok := c.Store.(registry.Expirer); c.Expiry > 0 && !ok {
		return bad("Expiry needs a Store that is a registry.Expirer; %T is not", c.Store)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

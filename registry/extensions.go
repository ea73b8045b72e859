package registry

import (
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pushrules/pushrules/internal/jid"
)

// The namespaces of the <enable/> extensions (the Tigase family), which
// are also disco#info features; see Features.
const (
	NSFilterMuted         = "tigase:push:filter:muted:0"
	NSFilterIgnoreUnknown = "tigase:push:filter:ignore-unknown:0"
	NSFilterGroupchat     = "tigase:push:filter:groupchat:0"
	NSPriority            = "tigase:push:priority:0"
	NSEncrypt             = "tigase:push:encrypt:0"
	NSJingle              = "tigase:push:jingle:0"
	// featureEncryptAES128GCM is the feature of the one algorithm of
	// NSEncrypt, AlgAES128GCM.
	featureEncryptAES128GCM = "tigase:push:encrypt:aes-128-gcm"
	// AlgAES128GCM is the one encryption algorithm: AES-128 in GCM.
	AlgAES128GCM = "aes-128-gcm"
)

// Bounds of Extensions: NewExtensions refuses settings beyond them with an
// *ExtensionsError.
const (
	MaxMuted      = 64      // muted JIDs
	MaxRooms      = 64      // groupchat rooms
	MaxNickLen    = 1023    // bytes of a room's nick
	MaxEncryptMax = 1 << 16 // largest max-size of an encryption, in bytes
	// KeySize is the size of an encryption key: AES-128.
	KeySize = 16
)

// Features returns the disco#info features an account lists for the
// extensions of <enable/> that Extensions carries, in a fixed order; a
// new slice each time.
func Features() []string {
	return []string{NSFilterMuted, NSFilterIgnoreUnknown, NSFilterGroupchat, NSPriority,
		NSEncrypt, featureEncryptAES128GCM, NSJingle}
}

// Allow is a groupchat room's rule: when its messages may be pushed.
type Allow uint8

// The rules of a room. A room given without an allow attribute pushes
// always (a listed room with no rule is not muted).
const (
	AllowAlways    Allow = iota // every message
	AllowMentioned              // only messages mentioning the user
	AllowNever                  // none
)

var allowNames = [...]string{"always", "mentioned", "never"}

// String returns the rule's name as written in the allow attribute.
func (a Allow) String() string {
	if int(a) < len(allowNames) {
		return allowNames[a]
	}
	return "Allow(" + strconv.Itoa(int(a)) + ")"
}

// ParseAllow returns the rule named s ("always", "mentioned", "never"),
// and false for any other name.
func ParseAllow(s string) (Allow, bool) {
	for i, n := range allowNames {
		if s == n {
			return Allow(i), true
		}
	}
	return 0, false
}

// Room is the groupchat filter's rule for one room.
type Room struct {
	JID   string // the room's bare JID, lower-cased
	Allow Allow
	Nick  string // the user's nick in the room, "" when not given
}

// Encryption is what a client asked for with <encrypt/>: its publishes are
// encrypted with Key. Its String and GoString leave the key out; keep it
// out of logs yourself when you take it out of the value.
type Encryption struct {
	Alg     string // AlgAES128GCM
	Key     [KeySize]byte
	MaxSize int // the client's max-size in bytes; 0 when it gave none (Tigase's default is 3000)
}

// String describes e without its key.
func (e Encryption) String() string {
	return e.Alg + " max-size=" + strconv.Itoa(e.MaxSize) + " key=<redacted>"
}

// GoString is String, so that %#v leaves the key out too.
func (e Encryption) GoString() string { return e.String() }

// ExtensionSettings are the contents of an Extensions, for building one
// with NewExtensions and reading one with Settings.
type ExtensionSettings struct {
	Muted         []string // JIDs whose messages are not pushed (stored bare, lower-cased)
	IgnoreUnknown bool     // no push from senders not in the roster
	Groupchat     bool     // the groupchat filter was given (Rooms may be empty)
	Rooms         []Room   // its rooms
	Priority      bool     // publishes carry a <priority/>
	Encrypt       *Encryption
	Jingle        bool // call proposals are pushed with a <jingle/>
}

// Extensions is what a registration asked for with the extension children
// of its <enable/> (the Tigase family: filters, priority, encryption,
// Jingle). Like Form it is an immutable value, compact in memory (one
// string) and comparable with ==; the zero Extensions asks for none. Build
// one with NewExtensions; read it with its methods. It holds the
// encryption key: its String leaves the key out, its MarshalJSON does not
// (it is for stores).
type Extensions struct {
	enc string // "" for none; else the layout below
}

// The layout of Extensions.enc, made only by NewExtensions (so that its
// readers trust it) and never stored (stores keep the JSON): extVersion; the
// flags; the number of rooms, then each room (its Allow, the lengths of
// its JID and nick in two bytes each, little-endian, then both); the
// number of muted JIDs, then each (its length in two bytes, then it); with
// extEncrypt, the key and the max-size in three bytes. The rooms come
// first and their heads have a fixed size, so that the groupchat filter,
// looked up for every groupchat message, reads the fewest bytes.
const (
	extVersion  = 2
	extRoomHead = 5 // allow, JID length, nick length
)

// Flags of the encoding.
const (
	extIgnoreUnknown = 1 << iota
	extGroupchat
	extPriority
	extJingle
	extEncrypt
	extMuted
)

// extErrorKind says what is wrong with extension settings.
type extErrorKind uint8

// What an ExtensionsError says is wrong.
const (
	extBadJID   extErrorKind = iota + 1 // a muted or room JID that is not a valid JID
	extTooMany                          // more than MaxMuted JIDs or MaxRooms rooms
	extBadValue                         // a bad allow, nick or max-size
	extBadAlg                           // an encryption algorithm other than AlgAES128GCM
	extBadKey                           // a key that is not base64 of KeySize bytes (JSON only; Encryption's key has its size)
	extBadJSON                          // JSON that is not in MarshalJSON's shape
)

// ExtensionsError is the error of NewExtensions and UnmarshalJSON (find it
// with errors.As). Part names the part at fault; the text also says what
// is wrong with it (an invalid JID, too many entries, an invalid value, an
// unknown algorithm, an invalid key, malformed JSON) and never holds a
// key.
type ExtensionsError struct {
	kind extErrorKind
	Part string // "muted", "room", "encrypt" or "json"
}

func (e *ExtensionsError) Error() string {
	what := [...]string{"", "invalid JID", "too many entries", "invalid value", "unknown algorithm", "invalid key", "malformed JSON"}
	w := "invalid"
	if int(e.kind) < len(what) {
		w = what[e.kind]
	}
	return "registry: extensions: " + e.Part + ": " + w
}

// NewExtensions checks the settings and returns them as an Extensions. It
// stores JIDs bare and lower-cased, drops a muted JID or a room given
// twice (the first counts), and refuses, with an *ExtensionsError, a JID
// that is not valid, more entries than MaxMuted or MaxRooms, a nick longer
// than MaxNickLen or not UTF-8, an Allow beyond AllowNever, a MaxSize
// below 0 or above MaxEncryptMax, and an algorithm other than
// AlgAES128GCM. Settings with nothing in them give the zero Extensions.
func NewExtensions(s ExtensionSettings) (Extensions, error) {
	if len(s.Muted) > MaxMuted {
		return Extensions{}, &ExtensionsError{extTooMany, "muted"}
	}
	if len(s.Rooms) > MaxRooms {
		return Extensions{}, &ExtensionsError{extTooMany, "room"}
	}
	var muted []string
	for _, m := range s.Muted {
		bare, err := bareJID(m, "muted")
		if err != nil {
			return Extensions{}, err
		}
		if !slices.Contains(muted, bare) {
			muted = append(muted, bare)
		}
	}
	var rooms []Room
	for _, r := range s.Rooms {
		if r.Allow > AllowNever || len(r.Nick) > MaxNickLen || !utf8.ValidString(r.Nick) {
			return Extensions{}, &ExtensionsError{extBadValue, "room"}
		}
		bare, err := bareJID(r.JID, "room")
		if err != nil {
			return Extensions{}, err
		}
		if !slices.ContainsFunc(rooms, func(o Room) bool { return o.JID == bare }) {
			rooms = append(rooms, Room{JID: bare, Allow: r.Allow, Nick: r.Nick})
		}
	}
	if e := s.Encrypt; e != nil {
		if e.Alg != AlgAES128GCM {
			return Extensions{}, &ExtensionsError{extBadAlg, "encrypt"}
		}
		if e.MaxSize < 0 || e.MaxSize > MaxEncryptMax {
			return Extensions{}, &ExtensionsError{extBadValue, "encrypt"}
		}
	}
	flags := flag(s.IgnoreUnknown, extIgnoreUnknown) | flag(s.Groupchat || len(rooms) > 0, extGroupchat) |
		flag(s.Priority, extPriority) | flag(s.Jingle, extJingle) | flag(s.Encrypt != nil, extEncrypt) |
		flag(len(muted) > 0, extMuted)
	if flags == 0 {
		return Extensions{}, nil
	}
	// The counts fit a byte (MaxRooms, MaxMuted), the lengths two: a bare
	// JID takes at most 2,047 bytes, a nick MaxNickLen.
	b := []byte{extVersion, flags, byte(len(rooms))}
	for _, r := range rooms {
		b = append(b, byte(r.Allow))
		b = binary.LittleEndian.AppendUint16(b, uint16(len(r.JID)))
		b = binary.LittleEndian.AppendUint16(b, uint16(len(r.Nick)))
		b = append(b, r.JID...)
		b = append(b, r.Nick...)
	}
	b = append(b, byte(len(muted)))
	for _, m := range muted {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(m)))
		b = append(b, m...)
	}
	if e := s.Encrypt; e != nil {
		b = append(b, e.Key[:]...)
		b = append(b, byte(e.MaxSize), byte(e.MaxSize>>8), byte(e.MaxSize>>16))
	}
	return Extensions{enc: string(b)}, nil
}

func flag(on bool, f byte) byte {
	if on {
		return f
	}
	return 0
}

// bareJID returns the bare JID of s as RFC 7622 prepares it (so
// case-folded), or an error naming part.
func bareJID(s, part string) (string, error) {
	j, err := jid.Prepare(s)
	if err != nil {
		return "", &ExtensionsError{extBadJID, part}
	}
	return j.Bare(), nil
}

// IsZero reports whether e asks for no extension at all.
func (e Extensions) IsZero() bool { return e.enc == "" }

func (e Extensions) has(flag byte) bool { return e.enc != "" && e.enc[1]&flag != 0 }

// IgnoreUnknown reports whether the registration asked for no push from
// senders not in the user's roster.
func (e Extensions) IgnoreUnknown() bool { return e.has(extIgnoreUnknown) }

// Groupchat reports whether the registration gave the groupchat filter.
func (e Extensions) Groupchat() bool { return e.has(extGroupchat) }

// Priority reports whether the registration asked for <priority/>.
func (e Extensions) Priority() bool { return e.has(extPriority) }

// Jingle reports whether the registration asked for call pushes.
func (e Extensions) Jingle() bool { return e.has(extJingle) }

// Encrypted reports whether the registration asked for encryption (see
// Encryption for its settings).
func (e Extensions) Encrypted() bool { return e.has(extEncrypt) }

// Encryption returns the encryption the registration asked for, and false
// when it asked for none.
func (e Extensions) Encryption() (Encryption, bool) {
	if !e.has(extEncrypt) {
		return Encryption{}, false
	}
	rest := e.walk(nil, nil)
	enc := Encryption{Alg: AlgAES128GCM, MaxSize: int(rest[KeySize]) | int(rest[KeySize+1])<<8 | int(rest[KeySize+2])<<16}
	copy(enc.Key[:], rest)
	return enc, true
}

// walk hands the rooms and the muted JIDs to the functions (nil ones are
// skipped) and returns the encoding after them.
func (e Extensions) walk(muted func(string), room func(Room)) string {
	if e.enc == "" {
		return ""
	}
	rest := e.enc[3:]
	for n := e.enc[2]; n > 0; n-- {
		jidEnd, end := roomEnds(rest)
		if room != nil {
			room(roomOf(rest, jidEnd, end))
		}
		rest = rest[end:]
	}
	n := rest[0]
	for rest = rest[1:]; n > 0; n-- {
		var m string
		m, rest = nextMuted(rest)
		if muted != nil {
			muted(m)
		}
	}
	return rest
}

// roomEnds returns where the JID, and the whole, of the room at the start
// of rest end.
func roomEnds(rest string) (jidEnd, end int) {
	_ = rest[extRoomHead-1] // one bounds check for the head
	jidEnd = extRoomHead + u16(rest, 1)
	return jidEnd, jidEnd + u16(rest, 3)
}

// roomOf returns the room at the start of rest, which ends as roomEnds
// says.
func roomOf(rest string, jidEnd, end int) Room {
	return Room{JID: rest[extRoomHead:jidEnd], Allow: Allow(rest[0]), Nick: rest[jidEnd:end]}
}

// nextMuted reads the muted JID at the start of rest and returns it and
// what follows it.
func nextMuted(rest string) (string, string) {
	end := 2 + u16(rest, 0)
	return rest[2:end], rest[end:]
}

// u16 reads the length at s[i:]: two bytes, little-endian.
func u16(s string, i int) int { return int(s[i]) | int(s[i+1])<<8 }

// Settings returns a copy of the contents of e.
func (e Extensions) Settings() ExtensionSettings {
	s := ExtensionSettings{IgnoreUnknown: e.IgnoreUnknown(), Groupchat: e.Groupchat(), Priority: e.Priority(), Jingle: e.Jingle()}
	e.walk(func(m string) { s.Muted = append(s.Muted, m) }, func(r Room) { s.Rooms = append(s.Rooms, r) })
	if enc, ok := e.Encryption(); ok {
		s.Encrypt = &enc
	}
	return s
}

// String returns a readable rendering of e, without the encryption key.
func (e Extensions) String() string {
	if e.IsZero() {
		return "<no extensions>"
	}
	s := e.Settings()
	var parts []string
	if len(s.Muted) > 0 {
		parts = append(parts, "muted="+strings.Join(s.Muted, ","))
	}
	if s.IgnoreUnknown {
		parts = append(parts, "ignore-unknown")
	}
	if s.Groupchat {
		rooms := make([]string, len(s.Rooms))
		for i, r := range s.Rooms {
			rooms[i] = r.JID + ":" + r.Allow.String()
			if r.Nick != "" {
				rooms[i] += ":" + r.Nick
			}
		}
		parts = append(parts, "groupchat="+strings.Join(rooms, ","))
	}
	if s.Priority {
		parts = append(parts, "priority")
	}
	if s.Encrypt != nil {
		parts = append(parts, "encrypt="+s.Encrypt.String())
	}
	if s.Jingle {
		parts = append(parts, "jingle")
	}
	return strings.Join(parts, " ")
}

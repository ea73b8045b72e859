package events

import (
	"bytes"
	"strings"

	"github.com/pushrules/pushrules/internal/jid"
)

// The classifier turns the elements of a stanza, as the parser (and the
// tests' encoding/xml oracle) sees them, into a Stanza.

// role is what an open element is to the classifier.
type role uint8

const (
	roleNone        role = iota // nothing: its descendants do not count
	roleRoot                    // a stanza other than a message: its attributes count
	roleMsg                     // a message whose children count (ctx)
	roleWrapper                 // a carbon's <received/> or <sent/>, or a MUC mention's <mentions/>
	roleForwarded               // <forwarded/> inside a roleWrapper
	roleBody                    // the first <body/> of a message
	roleEncrypted               // an OMEMO <encrypted/> (ns) of a message
	roleApplyTo                 // a XEP-0422 <apply-to/> of a message
	roleCall                    // a XEP-0353 element of a message
	roleDescription             // a <description/> of a XEP-0353 <propose/>
	roleReference               // a XEP-0372 <reference/> of a message
	roleReply                   // a XEP-0461 <reply/> of a message
)

// wrapKind is what takes the classifier to the forwarded message: a
// carbon of either direction or a MUC mention.
type wrapKind uint8

const (
	wrapNone wrapKind = iota
	wrapReceived
	wrapSent
	wrapMention
)

type frame struct {
	role    role
	ctx     uint8    // which message: 0 the stanza, 1 the forwarded one
	ns      nsID     // roleEncrypted: its namespace
	wrap    wrapKind // roleWrapper, roleForwarded: which wrapper
	propose bool     // roleCall: a <propose/>
}

// facts are what is known about one message. Byte slices point into the
// parsed data or into classifier.buf and are never written to.
type facts struct {
	ns                    nsID
	typ, from, to, body   []byte
	hasType, hasFrom      bool
	hasTo, hasBody        bool
	hasSubject, encrypted bool
	call, correction      bool
	retraction, reaction  bool
	stanzaID, callEnd     bool
	hasCallID, hasReplyTo bool
	callID, replyTo       []byte
	media                 [maxCallMedia][]byte
	nmedia                int
	mentions              [maxMentions][]byte
	nmentions             int
	bodyInBuf             bool // body sits at buf[bodyStart:]
	bodyStart             int
}

type classifier struct {
	depth   int
	stack   [maxDepth]frame
	kind    Kind
	wrap    wrapKind // the wrapper whose message is facts[1]
	facts   [2]facts // 0: the stanza; 1: a wrapper's forwarded message
	inBody  bool     // inside facts[ctx]'s body element
	ctx     uint8    // the message whose body is being read
	refType []byte   // the type of the <reference/> being started
	refURI  []byte   // and its uri
	refHas  uint8    // which of them it has: 1 type, 2 uri
	// buf holds decoded text; slices handed out of it are never written
	// again (later appends only write beyond them).
	buf []byte
}

// start records the start of an element with the given local name and
// namespace (ns is only looked at when local is not nameOther). The caller
// has checked c.depth < maxDepth. It reports whether the element's
// attributes are wanted: then the caller hands over each unprefixed one
// that lookupAttr knows with attr, and calls attrsDone, before any other
// call.
func (c *classifier) start(local nameID, ns nsID) bool {
	var fr frame
	want := false
	if c.depth == 0 {
		want = true
		fr.role = roleRoot
		switch local {
		case nameMessage:
			c.kind = KindMessage
			fr.role = roleMsg
			c.facts[0].ns = ns
		case namePresence:
			c.kind = KindPresence
		case nameIQ:
			c.kind = KindIQ
		}
	} else {
		parent := c.stack[c.depth-1]
		fr.ctx = parent.ctx
		switch parent.role {
		case roleMsg:
			fr.role, want = c.child(parent.ctx, local, ns)
		case roleWrapper:
			if local == nameForwarded && ns == nsForward {
				fr.role = roleForwarded
				fr.wrap = parent.wrap
			}
		case roleForwarded:
			if local == nameMessage && isStanzaNS(ns) && c.wrap == wrapNone {
				c.wrap = parent.wrap
				fr.role = roleMsg
				fr.ctx = 1
				c.facts[1].ns = ns
				want = true
			}
		case roleEncrypted:
			if local == namePayload && ns == parent.ns {
				c.facts[parent.ctx].encrypted = true
			}
		case roleApplyTo:
			if local == nameRetract && (ns == nsRetract0 || ns == nsRetract1) {
				c.facts[parent.ctx].retraction = true
			}
		case roleCall:
			if local == nameDescription && parent.propose {
				fr.role = roleDescription
				want = true
			}
		}
		if fr.role == roleCall {
			fr.propose = local == namePropose
		} else if fr.role == roleEncrypted {
			fr.ns = ns
		} else if fr.role == roleWrapper {
			fr.wrap = wrapMention
			if local == nameReceived {
				fr.wrap = wrapReceived
			} else if local == nameSent {
				fr.wrap = wrapSent
			}
		}
	}
	c.stack[c.depth] = fr
	c.depth++
	return want
}

// child classifies a child of message ctx: it returns its role and
// whether its attributes are wanted.
func (c *classifier) child(ctx uint8, local nameID, ns nsID) (role, bool) {
	f := &c.facts[ctx]
	switch local {
	case nameBody:
		if !f.hasBody && isStanzaNS(ns) && isStanzaNS(f.ns) {
			f.hasBody = true
			c.inBody = true
			c.ctx = ctx
			return roleBody, false
		}
	case nameSubject:
		if isStanzaNS(ns) && isStanzaNS(f.ns) {
			f.hasSubject = true
		}
	case nameEncrypted:
		if ns == nsAxolotl || ns == nsOMEMO0 {
			return roleEncrypted, false
		}
	case nameX:
		if ns == nsXEncrypted {
			f.encrypted = true
		}
	case nameOpenPGP:
		if ns == nsOpenPGP {
			f.encrypted = true
		}
	case namePropose, nameReject, nameAccept, nameProceed, nameRetract:
		if ns == nsJMI0 || ns == nsJMI1 {
			f.call = f.call || local == namePropose
			f.callEnd = f.callEnd || local == nameRetract || local == nameReject
			return roleCall, true
		}
		if local == nameRetract && (ns == nsRetract0 || ns == nsRetract1) {
			f.retraction = true
		}
	case nameReplace:
		if ns == nsCorrect {
			f.correction = true
		}
	case nameApplyTo:
		if ns == nsFasten {
			return roleApplyTo, false
		}
	case nameReactions:
		if ns == nsReactions {
			f.reaction = true
		}
	case nameStanzaID:
		if ns == nsSID {
			f.stanzaID = true
		}
	case nameReference:
		if ns == nsReference {
			c.refType, c.refURI, c.refHas = nil, nil, 0
			return roleReference, true
		}
	case nameReply:
		if ns == nsReply {
			return roleReply, true
		}
	case nameReceived, nameSent:
		if ctx == 0 && ns == nsCarbons && c.wrap == wrapNone {
			return roleWrapper, false
		}
	case nameMentions:
		if ctx == 0 && ns == nsMMN && c.wrap == wrapNone {
			return roleWrapper, false
		}
	}
	return roleNone, false
}

// attr records an attribute of the element just started; v must stay
// unchanged. It reports false for a stanza's or message's type, from or
// to given twice; of the other attributes, the first counts.
func (c *classifier) attr(which attrID, v []byte) bool {
	fr := &c.stack[c.depth-1]
	f := &c.facts[fr.ctx]
	switch fr.role {
	case roleMsg, roleRoot:
		switch which {
		case attrType:
			if f.hasType {
				return false
			}
			f.hasType, f.typ = true, v
		case attrFrom:
			if f.hasFrom {
				return false
			}
			f.hasFrom, f.from = true, v
		case attrTo:
			if f.hasTo {
				return false
			}
			f.hasTo, f.to = true, v
		}
	case roleCall:
		if which == attrIdent && !f.hasCallID {
			f.hasCallID, f.callID = true, v
		}
	case roleDescription:
		if which == attrMedia && f.nmedia < maxCallMedia && len(v) > 0 && !bytes.ContainsAny(v, " \t\r\n") {
			f.media[f.nmedia] = v
			f.nmedia++
		}
	case roleReference:
		if which == attrType && c.refHas&1 == 0 {
			c.refType, c.refHas = v, c.refHas|1
		} else if which == attrURI && c.refHas&2 == 0 {
			c.refURI, c.refHas = v, c.refHas|2
		}
	case roleReply:
		if which == attrTo && !f.hasReplyTo {
			f.replyTo, f.hasReplyTo = v, true
		}
	}
	return true
}

// attrsDone ends the attributes of the element just started.
func (c *classifier) attrsDone() {
	fr := &c.stack[c.depth-1]
	f := &c.facts[fr.ctx]
	if fr.role != roleReference || string(c.refType) != "mention" || f.nmentions == maxMentions {
		return
	}
	// An xmpp: URI (XEP-0147) without authority: its path, up to a query
	// or fragment, percent-decoded, is the JID.
	u, ok := strings.CutPrefix(string(c.refURI), "xmpp:")
	if !ok || strings.HasPrefix(u, "//") {
		return
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	start := len(c.buf)
	for i := 0; i < len(u); i++ {
		b := u[i]
		if b == '%' {
			if i+2 >= len(u) || unhex(u[i+1]) < 0 || unhex(u[i+2]) < 0 {
				c.buf = c.buf[:start]
				return
			}
			b = byte(unhex(u[i+1])<<4 | unhex(u[i+2]))
			i += 2
		}
		c.buf = append(c.buf, b)
	}
	j := c.buf[start:len(c.buf):len(c.buf)]
	if _, err := jid.Prepare(string(j)); err != nil {
		c.buf = c.buf[:start]
		return
	}
	f.mentions[f.nmentions] = j
	f.nmentions++
}

func unhex(b byte) int {
	switch {
	case '0' <= b && b <= '9':
		return int(b - '0')
	case 'a' <= b && b <= 'f':
		return int(b-'a') + 10
	case 'A' <= b && b <= 'F':
		return int(b-'A') + 10
	}
	return -1
}

// end records the end of the innermost open element.
func (c *classifier) end() {
	c.depth--
	if c.stack[c.depth].role == roleBody {
		c.inBody = false
	}
}

// text adds a piece of body text that stays unchanged (a slice of the
// parsed data); call it only when c.inBody.
func (c *classifier) text(b []byte) {
	f := &c.facts[c.ctx]
	if !f.bodyInBuf && len(f.body) == 0 {
		f.body = b
		return
	}
	c.spill()
	c.buf = append(c.buf, b...)
	c.sync()
}

// spill moves the body read so far to the end of c.buf, so that more text
// can be appended to c.buf; sync must follow the appending.
func (c *classifier) spill() {
	f := &c.facts[c.ctx]
	if !f.bodyInBuf {
		f.bodyStart = len(c.buf)
		c.buf = append(c.buf, f.body...)
		f.bodyInBuf = true
	}
}

func (c *classifier) sync() {
	f := &c.facts[c.ctx]
	f.body = c.buf[f.bodyStart:len(c.buf):len(c.buf)]
}

// result builds the Stanza, copying its strings in one allocation (none
// for the interned ones).
func (c *classifier) result() Stanza {
	f := &c.facts[0]
	s := Stanza{Kind: c.kind}
	switch c.wrap {
	case wrapReceived:
		s.Carbon = CarbonReceived
	case wrapSent:
		s.Carbon = CarbonSent
	case wrapMention:
		// A mention forwards a groupchat message, or is no mention.
		s.MUCMention = string(c.facts[1].typ) == "groupchat"
	}
	if s.Carbon != NotCarbon || s.MUCMention {
		f = &c.facts[1]
	}
	s.HasBody, s.HasSubject, s.Encrypted = f.hasBody, f.hasSubject, f.encrypted
	s.CallProposal, s.CallEnd = f.call, f.callEnd
	s.Correction, s.Retraction, s.Reaction = f.correction, f.retraction, f.reaction
	s.StanzaID = f.stanzaID

	// The strings, in one allocation (the type, when it is a common one,
	// in none).
	typ, interned := intern(f.typ)
	n := len(f.from) + len(f.to) + len(f.body) + len(f.callID) + len(f.replyTo)
	for _, m := range f.mentions[:f.nmentions] {
		n += len(m) + 1
	}
	for _, m := range f.media[:f.nmedia] {
		n += len(m) + 1
	}
	if !interned {
		n += len(f.typ)
	}
	var sb strings.Builder
	sb.Grow(n)
	var ends [8]int // where each string ends in sb
	for i, b := range [...][]byte{f.from, f.to, f.body, f.callID, f.replyTo} {
		sb.Write(b)
		ends[i] = sb.Len()
	}
	for i, m := range f.mentions[:f.nmentions] {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.Write(m)
	}
	ends[5] = sb.Len()
	for i, m := range f.media[:f.nmedia] {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.Write(m)
	}
	ends[6] = sb.Len()
	if !interned {
		sb.Write(f.typ)
	}
	ends[7] = sb.Len()
	all := sb.String()
	var strs [8]string
	start := 0
	for i, end := range ends {
		strs[i], start = all[start:end], end
	}
	s.From, s.To, s.Body = strs[0], strs[1], strs[2]
	if x := (Extra{CallID: strs[3], ReplyTo: strs[4], Mentions: strs[5], CallMedia: strs[6]}); x != (Extra{}) {
		s.Extra = &x
	}
	s.Type = typ
	if !interned {
		s.Type = strs[7]
	}
	return s
}

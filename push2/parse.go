package push2

import (
	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/internal/xmlscan"
)

// Limits of a request, which a remote client controls. ParseRequest refuses
// a request beyond them with modify/not-acceptable.
const (
	maxRequestSize = 16 << 10 // bytes of XML
	maxMatches     = 8        // <match/> elements
	maxFilters     = 64       // <filter/> elements of one match
	maxClaims      = 8        // <jwt-claim/> elements of one send
	maxTextLen     = 2048     // bytes of the client and of each claim's name and value
	maxGraceSecs   = 86400    // largest <grace/>, in seconds (one day)
)

// elem is an element of a request as a small tree: what the rules read of
// XML, built by one scanner here and by an encoding/xml oracle in the tests.
type elem struct {
	space, local string
	attrs        []xattr
	text         string // the character data directly inside, concatenated
	kids         []*elem
	buf          []byte // text while scanning
}

type xattr struct{ space, local, value string }

// attr returns the value of the unprefixed attribute local and whether it
// is there.
func (e *elem) attr(local string) (string, bool) {
	for _, a := range e.attrs {
		if a.space == "" && a.local == local {
			return a.value, true
		}
	}
	return "", false
}

func stanzaError(typ, cond, text string) *events.StanzaError {
	return &events.StanzaError{Type: typ, Condition: cond, Text: text}
}

func badRequest(text string) *events.StanzaError {
	return stanzaError("modify", "bad-request", text)
}

func notAcceptable(text string) *events.StanzaError {
	return stanzaError("modify", "not-acceptable", text)
}

func notImplemented(text string) *events.StanzaError {
	return stanzaError("cancel", "feature-not-implemented", text)
}

// ParseRequest parses data, one <enable/> or <disable/> element of
// urn:xmpp:push2:0, or an <iq/> (in no namespace, jabber:client or
// jabber:server) around one, of which only the first child element is
// read (white space, comments and processing instructions may surround
// it), into a Request. Unknown elements and attributes are
// ignored; text values are trimmed of XML white space; base64 is standard,
// padded or not.
//
// Every error is an *events.StanzaError to send back as it is; its text
// names the problem and never holds a secret:
//
//   - modify/bad-request: malformed XML, or XML the library's scanner does
//     not take (a DOCTYPE, non-ASCII element names, nesting beyond 32);
//     not an enable or disable of urn:xmpp:push2:0; "Missing service",
//     "Missing client", "Missing match", a match without a profile or a
//     send, a duplicated element, a grace that is not a number, a
//     ua-public that is not a base64 P-256 point on the curve, an
//     auth-secret that is not 16 bytes of base64, a jwt-key that is not a
//     base64 PKCS#8 P-256 key, jwt-key or jwt-claim without jwt-alg (or
//     the reverse), a claim without a name, named twice, or named sub, iat
//     or exp (the server sets those);
//   - modify/jid-malformed: a service or filter JID that is not a valid JID;
//   - modify/not-acceptable: a limit above exceeded (maxRequestSize,
//     maxMatches, maxFilters, maxClaims, maxTextLen, maxGraceSecs);
//   - cancel/feature-not-implemented: an unknown match or send profile, a
//     jwt-alg other than ES256 (well-formed, but beyond this server).
//
// Whether the service is the requester's own JID is left to the caller.
func ParseRequest(data []byte) (Request, error) {
	if len(data) > maxRequestSize {
		return Request{}, notAcceptable("Request too large")
	}
	root, ok := scanTree(data)
	if !ok {
		return Request{}, badRequest("Malformed request")
	}
	if root.local == "iq" && stanzaNS(root.space) && len(root.kids) > 0 {
		root = root.kids[0]
	}
	req, err := interpret(root)
	if err != nil {
		return Request{}, err
	}
	return req, nil
}

// scanTree reads the single element of data into a tree; false for
// anything the scanner refuses or any content but the one element.
func scanTree(data []byte) (*elem, bool) {
	var s xmlscan.Scanner
	s.Reset(data)
	var root *elem
	var stack []*elem
	for {
		switch s.Next() {
		case xmlscan.StartElement:
			if len(stack) == 0 && root != nil {
				return nil, false // a second element
			}
			e := &elem{space: string(s.Space()), local: string(s.Local())}
			for i := range s.NumAttr() {
				p, local := s.AttrName(i)
				if string(p) == "xmlns" || len(p) == 0 && string(local) == "xmlns" {
					continue // a namespace declaration
				}
				e.attrs = append(e.attrs, xattr{string(s.AttrSpace(i)), string(local), string(s.AppendAttrValue(nil, i))})
			}
			if len(stack) == 0 {
				root = e
			} else {
				parent := stack[len(stack)-1]
				parent.kids = append(parent.kids, e)
			}
			stack = append(stack, e)
		case xmlscan.EndElement:
			e := stack[len(stack)-1]
			e.text, e.buf = string(e.buf), nil
			stack = stack[:len(stack)-1]
		case xmlscan.CharData:
			if len(stack) == 0 {
				if !isSpace(s.Text()) {
					return nil, false
				}
				continue
			}
			e := stack[len(stack)-1]
			e.buf = s.AppendText(e.buf)
		case xmlscan.Comment, xmlscan.ProcInst:
		case xmlscan.EOF:
			return root, root != nil
		default:
			return nil, false
		}
	}
}

func isSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

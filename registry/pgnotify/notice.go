package pgnotify

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// defaultChannel is the channel used when Options.Channel is empty.
const defaultChannel = "pushrules_registrations"

// maxPayload is the longest payload PostgreSQL accepts: it must be shorter
// than 8000 bytes.
const maxPayload = 7999

// A notice's payload is "<node>|u|<user>" for one user, "<node>|a|" for
// every user. The node never contains '|'; the user may hold anything
// (it is the rest of the payload).

func encodeUser(node, user string) string {
	p := node + "|u|" + user
	if len(p) > maxPayload || !utf8.ValidString(p) {
		// PostgreSQL refuses it (too long, or not text): tell every node
		// to drop everything instead.
		return encodeAll(node)
	}
	return p
}

func encodeAll(node string) string { return node + "|a|" }

// notice is a decoded payload.
type notice struct {
	node string
	user string // "" when all
	all  bool
}

// errPayload is wrapped by parseNotice's errors.
var errPayload = errors.New("pgnotify: malformed notice payload")

// parseNotice decodes a payload written by encodeUser or encodeAll.
func parseNotice(p string) (notice, error) {
	node, rest, ok := strings.Cut(p, "|")
	if !ok || node == "" {
		return notice{}, errPayload
	}
	kind, user, ok := strings.Cut(rest, "|")
	switch {
	case !ok:
		return notice{}, errPayload
	case kind == "u":
		return notice{node: node, user: user}, nil
	case kind == "a" && user == "":
		return notice{node: node, all: true}, nil
	}
	return notice{}, errPayload
}

// checkNode reports why s cannot be a node id, or nil.
func checkNode(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) > 64:
		return errors.New("longer than 64 bytes")
	case strings.ContainsRune(s, '|'):
		return errors.New("contains '|'")
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		return errors.New("not valid UTF-8 text")
	}
	return nil
}

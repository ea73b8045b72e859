package registry

// The JSON form of Extensions (MarshalJSON, UnmarshalJSON).

import (
	"encoding/base64"
	"encoding/json"
)

// extJSON is the JSON shape of Extensions.
type extJSON struct {
	Muted         []string     `json:"muted,omitempty"`
	IgnoreUnknown bool         `json:"ignore_unknown,omitempty"`
	Groupchat     *groupJSON   `json:"groupchat,omitempty"`
	Priority      bool         `json:"priority,omitempty"`
	Encrypt       *encryptJSON `json:"encrypt,omitempty"`
	Jingle        bool         `json:"jingle,omitempty"`
}

type groupJSON struct {
	Rooms []roomJSON `json:"rooms"`
}

type roomJSON struct {
	JID   string `json:"jid"`
	Allow string `json:"allow"`
	Nick  string `json:"nick,omitempty"`
}

type encryptJSON struct {
	Alg     string `json:"alg"`
	Key     string `json:"key"` // standard base64
	MaxSize int    `json:"max_size,omitempty"`
}

// MarshalJSON encodes e as an object with the optional keys "muted" (a
// list of JIDs), "ignore_unknown", "priority", "jingle" (true when given),
// "groupchat" ({"rooms": [{"jid", "allow", "nick"}]}) and "encrypt"
// ({"alg", "key" in standard base64, "max_size"}), or null for the zero
// Extensions. The result holds the encryption key: store it as a secret.
func (e Extensions) MarshalJSON() ([]byte, error) {
	if e.IsZero() {
		return []byte("null"), nil
	}
	s := e.Settings()
	j := extJSON{Muted: s.Muted, IgnoreUnknown: s.IgnoreUnknown, Priority: s.Priority, Jingle: s.Jingle}
	if s.Groupchat {
		j.Groupchat = &groupJSON{Rooms: []roomJSON{}}
		for _, r := range s.Rooms {
			j.Groupchat.Rooms = append(j.Groupchat.Rooms, roomJSON{JID: r.JID, Allow: r.Allow.String(), Nick: r.Nick})
		}
	}
	if s.Encrypt != nil {
		j.Encrypt = &encryptJSON{Alg: s.Encrypt.Alg, Key: base64.StdEncoding.EncodeToString(s.Encrypt.Key[:]), MaxSize: s.Encrypt.MaxSize}
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON encodes, checking it as
// NewExtensions does; null gives the zero Extensions. Its errors are
// *ExtensionsError values (kind extBadJSON for JSON of another shape, and
// extBadKey for a key that is not base64 of KeySize bytes); they never
// quote the input. On error, e is left as it was.
func (e *Extensions) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*e = Extensions{}
		return nil
	}
	var j extJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return &ExtensionsError{extBadJSON, "json"}
	}
	s := ExtensionSettings{Muted: j.Muted, IgnoreUnknown: j.IgnoreUnknown, Priority: j.Priority, Jingle: j.Jingle}
	if j.Groupchat != nil {
		s.Groupchat = true
		for _, r := range j.Groupchat.Rooms {
			allow, ok := ParseAllow(r.Allow)
			if !ok {
				return &ExtensionsError{extBadValue, "room"}
			}
			s.Rooms = append(s.Rooms, Room{JID: r.JID, Allow: allow, Nick: r.Nick})
		}
	}
	if j.Encrypt != nil {
		key, err := base64.StdEncoding.DecodeString(j.Encrypt.Key)
		if err != nil || len(key) != KeySize {
			return &ExtensionsError{extBadKey, "encrypt"}
		}
		s.Encrypt = &Encryption{Alg: j.Encrypt.Alg, MaxSize: j.Encrypt.MaxSize}
		copy(s.Encrypt.Key[:], key)
	}
	ext, err := NewExtensions(s)
	if err != nil {
		return err
	}
	*e = ext
	return nil
}

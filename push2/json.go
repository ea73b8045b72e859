package push2

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The JSON shape of a Request: profiles by URN, grace in seconds, keys as
// standard base64 ([]byte), the JWT key as its raw 32-byte scalar.
type requestJSON struct {
	Disable bool        `json:"disable,omitempty"`
	Service string      `json:"service,omitempty"`
	Client  string      `json:"client,omitempty"`
	Matches []matchJSON `json:"matches,omitempty"`
}

type matchJSON struct {
	Profile string       `json:"profile"`
	Grace   int64        `json:"grace,omitempty"`
	Filters []filterJSON `json:"filters,omitempty"`
	Send    sendJSON     `json:"send"`
}

type filterJSON struct {
	JID     string `json:"jid"`
	Mention bool   `json:"mention,omitempty"`
	Reply   bool   `json:"reply,omitempty"`
}

type sendJSON struct {
	Profile    string      `json:"profile"`
	UAPublic   []byte      `json:"ua_public,omitempty"`
	AuthSecret []byte      `json:"auth_secret,omitempty"`
	JWTKey     []byte      `json:"jwt_key,omitempty"`
	Claims     []claimJSON `json:"claims,omitempty"`
}

type claimJSON struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// MarshalJSON encodes r for a store, secrets included: keep the result as
// confidential as the device's keys. The encoding is stable: equal
// Requests give equal bytes. The error wraps ErrRequest for a Request that
// fails ParseRequest's checks.
func (r Request) MarshalJSON() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrRequest, err.Text)
	}
	j := requestJSON{Disable: r.Disable, Service: r.Service, Client: r.Client}
	for _, m := range r.Matches {
		mj := matchJSON{Profile: m.Profile.String(), Grace: int64(m.Grace / time.Second)}
		for _, f := range m.Filters {
			mj.Filters = append(mj.Filters, filterJSON(f))
		}
		s := &m.Send
		mj.Send.Profile = s.Profile.String()
		if s.Profile == SendEncrypted {
			mj.Send.UAPublic = s.UAPublic[:]
			mj.Send.AuthSecret = s.AuthSecret[:]
		}
		if s.VAPID {
			mj.Send.JWTKey = s.JWTKey[:]
			for _, c := range s.Claims {
				mj.Send.Claims = append(mj.Send.Claims, claimJSON(c))
			}
		}
		j.Matches = append(j.Matches, mj)
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON encodes. Data that is not in that
// shape, or that gives a Request failing ParseRequest's checks, gives an
// error wrapping ErrRequest (and the JSON error, if any) and leaves r as it
// was.
func (r *Request) UnmarshalJSON(data []byte) error {
	var j requestJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return errors.Join(ErrRequest, err)
	}
	out := Request{Disable: j.Disable, Service: j.Service, Client: j.Client}
	for _, mj := range j.Matches {
		m := Match{Profile: matchProfileOf(mj.Profile), Grace: time.Duration(mj.Grace) * time.Second}
		if mj.Grace < 0 || mj.Grace > maxGraceSecs {
			return fmt.Errorf("%w: %s", ErrRequest, textGraceRange)
		}
		for _, f := range mj.Filters {
			m.Filters = append(m.Filters, Filter(f))
		}
		s := &m.Send
		s.Profile = sendProfileOf(mj.Send.Profile)
		if !fill(s.UAPublic[:], mj.Send.UAPublic) || !fill(s.AuthSecret[:], mj.Send.AuthSecret) || !fill(s.JWTKey[:], mj.Send.JWTKey) {
			return fmt.Errorf("%w: a key has the wrong length", ErrRequest)
		}
		s.VAPID = mj.Send.JWTKey != nil
		for _, c := range mj.Send.Claims {
			s.Claims = append(s.Claims, Claim(c))
		}
		out.Matches = append(out.Matches, m)
	}
	if err := out.check(); err != nil {
		return fmt.Errorf("%w: %s", ErrRequest, err.Text)
	}
	*r = out
	return nil
}

// fill copies src into dst when src is absent (nil) or exactly dst's size.
func fill(dst, src []byte) bool {
	if src == nil {
		return true
	}
	return len(src) == len(dst) && copy(dst, src) == len(dst)
}

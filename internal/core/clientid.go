package core

import "github.com/pushrules/pushrules/registry"

// OpenAs records session full, opened by the client with id client
// (XEP-0388), as Open does, and binds it to reg when reg is not nil: the
// registration that client enabled before, so that a reconnecting device
// gets its pushes without a new <enable/>.
func (r *Rules) OpenAs(u *User, full, client string, reg *registry.Registration) error {
	if err := r.Open(u, full); err != nil {
		return err
	}
	s := u.Session(full)
	s.Client = client
	if reg != nil {
		s.Bind(*reg)
	}
	return nil
}

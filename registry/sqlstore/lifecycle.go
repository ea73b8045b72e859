package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pushrules/pushrules/registry"
)

var (
	_ registry.Tracker = (*Store)(nil)
	_ registry.Expirer = (*Store)(nil)
)

// decodeHistory fills reg's history and client from the last_success,
// failing_since, last_error and client columns; it returns why they do not
// decode, "" when they do.
func decodeHistory(reg *registry.Registration, success, failing, lastError, client any) string {
	s, ok := asInt(success)
	if !ok {
		return fmt.Sprintf("last_success %T %.40v", success, success)
	}
	f, ok := asInt(failing)
	if !ok {
		return fmt.Sprintf("failing_since %T %.40v", failing, failing)
	}
	e, ok := asString(lastError)
	if !ok {
		return fmt.Sprintf("last_error %T", lastError)
	}
	if success != nil {
		reg.LastSuccess = decodeTime(s)
	}
	if failing != nil {
		reg.FailingSince = decodeTime(f)
	}
	c, ok := asString(client)
	if !ok {
		return fmt.Sprintf("client %T", client)
	}
	reg.LastError, reg.Client = e, c
	return ""
}

// nullable gives a TEXT column's value: NULL for "".
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Fail implements registry.Tracker, in one atomic statement.
func (s *Store) Fail(ctx context.Context, user string, id registry.Identifier, generation uint64, at time.Time, condition string) (registry.Registration, error) {
	if err := ctx.Err(); err != nil {
		return registry.Registration{}, err
	}
	if generation == 0 {
		return registry.Registration{}, registry.ErrNotFound
	}
	t, err := encodeTime(at)
	if err != nil || !validText(condition) {
		return registry.Registration{}, fmt.Errorf("%w (user %q, identifier %q): failure at %v, condition %q", ErrInvalid, user, id, at, condition)
	}
	rows, err := queryRows(ctx, s.db, `UPDATE push_registrations
SET errors = errors + 1, failing_since = CASE WHEN errors = 0 THEN $4 ELSE failing_since END, last_error = $5
WHERE username = $1 AND identifier = $2 AND generation = $3 RETURNING `+columns,
		user, string(id), int64(generation), t, condition)
	if err != nil {
		return registry.Registration{}, fail(ctx, "Fail", err)
	}
	if len(rows) == 0 {
		return registry.Registration{}, registry.ErrNotFound
	}
	return rows[0].reg, nil
}

// Succeed implements registry.Tracker, in one atomic statement.
func (s *Store) Succeed(ctx context.Context, user string, id registry.Identifier, generation uint64, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if generation == 0 {
		return registry.ErrNotFound
	}
	t, err := encodeTime(at)
	if err != nil || t == nil {
		return fmt.Errorf("%w (user %q, identifier %q): success at %v", ErrInvalid, user, id, at)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE push_registrations
SET errors = 0, failing_since = NULL, last_success = $4,
	last_used = CASE WHEN enabled IS NULL OR enabled < $4 THEN $4 ELSE enabled END
WHERE username = $1 AND identifier = $2 AND generation = $3`,
		user, string(id), int64(generation), t)
	if err != nil {
		return fail(ctx, "Succeed", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fail(ctx, "Succeed", err)
	}
	if n == 0 {
		return registry.ErrNotFound
	}
	return nil
}

// Expire implements registry.Expirer with one DELETE statement over the
// last_used index. A registration with no enable time is never expired.
// The users' lock rows (push_users) are left in place; they hold nothing.
// A corrupt row among those expired is removed all the same and reported
// in an error wrapping ErrCorrupt, after the others.
func (s *Store) Expire(ctx context.Context, before time.Time) ([]registry.Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t, err := encodeTime(before)
	if err != nil || t == nil {
		return nil, fmt.Errorf("%w: expiry time %v", ErrInvalid, before)
	}
	rs, err := s.db.QueryContext(ctx, `DELETE FROM push_registrations WHERE last_used < $1 RETURNING `+columns, t)
	if err != nil {
		return nil, fail(ctx, "Expire", err)
	}
	defer rs.Close()
	var out []registry.Registration
	var corrupt error
	for rs.Next() {
		r, err := scanRow(rs)
		var ce *CorruptError
		switch {
		case errors.As(err, &ce):
			corrupt = err
		case err != nil:
			return nil, fail(ctx, "Expire", err)
		default:
			out = append(out, r.reg)
		}
	}
	if err := rs.Err(); err != nil {
		return nil, fail(ctx, "Expire", err)
	}
	return out, corrupt
}

package sqlstore

import (
	"context"
	"fmt"

	"github.com/pushrules/pushrules/registry"
)

var _ registry.Auditor = (*Store)(nil)

// Record implements registry.Auditor, in one transaction: every entry is
// recorded, or none. An entry whose texts are not valid UTF-8 (or hold
// NUL), or whose time is out of range, gives an error wrapping ErrInvalid.
func (s *Store) Record(ctx context.Context, keep int, entries ...registry.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, e := range entries {
		at, err := encodeTime(e.At)
		if err != nil || at == nil || !validText(e.User) || !validText(string(e.ID)) || !validText(e.Reason) ||
			!validText(e.By) || !validText(e.Condition) {
			return fmt.Errorf("%w: audit entry %+v", ErrInvalid, e)
		}
	}
	if err := s.record(ctx, keep, entries); err != nil {
		return fail(ctx, "Record", err)
	}
	return nil
}

func (s *Store) record(ctx context.Context, keep int, entries []registry.AuditEntry) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	users := map[string]bool{}
	for _, e := range entries {
		if !users[e.User] {
			users[e.User] = true
			if err := lockUser(ctx, tx, e.User); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO push_audit (username, seq, at_ns, identifier, reason, by_jid, errors, cond)
SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6, $7 FROM push_audit WHERE username = $1`,
			e.User, e.At.UnixNano(), string(e.ID), e.Reason, e.By, int64(e.Errors), e.Condition); err != nil {
			return err
		}
	}
	if keep > 0 {
		for user := range users {
			if _, err := tx.ExecContext(ctx, `DELETE FROM push_audit WHERE username = $1
AND seq <= (SELECT MAX(seq) FROM push_audit WHERE username = $1) - $2`, user, int64(keep)); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// History implements registry.Auditor.
func (s *Store) History(ctx context.Context, user string) ([]registry.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT at_ns, identifier, reason, by_jid, errors, cond FROM push_audit
WHERE username = $1 ORDER BY seq`, user)
	if err != nil {
		return nil, fail(ctx, "History", err)
	}
	defer rows.Close()
	var out []registry.AuditEntry
	for rows.Next() {
		e := registry.AuditEntry{User: user}
		var at, errs int64
		var id string
		if err := rows.Scan(&at, &id, &e.Reason, &e.By, &errs, &e.Condition); err != nil {
			return nil, fail(ctx, "History", err)
		}
		e.At, e.ID, e.Errors = decodeTime(at), registry.Identifier(id), int(errs)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, "History", err)
	}
	return out, nil
}

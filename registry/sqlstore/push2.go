package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pushrules/pushrules/push2"
	"github.com/pushrules/pushrules/registry"
)

// This file is the registry.Push2Store capability: Push 2.0 registrations
// in the push2_registrations table (schema version 5), one row per user
// and client, the request as the JSON of push2.Request (which holds the
// device's secrets: protect the database accordingly).

var _ registry.Push2Store = (*Store)(nil)

const push2Columns = `username, client, request, enabled, generation, errors, position, failing_since`

type push2Row struct {
	reg registry.Push2Registration
	pos int64
}

// LoadPush2 implements registry.Push2Store: the user's Push 2.0
// registrations, least recently enabled first. A corrupt row fails it with
// an error wrapping ErrCorrupt.
func (s *Store) LoadPush2(ctx context.Context, user string) ([]registry.Push2Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := queryPush2(ctx, s.db, `SELECT `+push2Columns+` FROM push2_registrations WHERE username = $1 ORDER BY position`, user)
	if err != nil {
		return nil, fail(ctx, "LoadPush2", err)
	}
	return push2Regs(rows), nil
}

// SavePush2 implements registry.Push2Store, in one transaction. A
// registration that could not be read back (text that is not valid UTF-8
// or holds NUL, a Request UnmarshalJSON refuses, Errors out of range, an
// Enabled time outside int64 nanoseconds) gives an error wrapping
// ErrInvalid and changes nothing.
func (s *Store) SavePush2(ctx context.Context, reg registry.Push2Registration, maxDevices int) (registry.Push2Registration, []registry.Push2Registration, error) {
	if err := ctx.Err(); err != nil {
		return registry.Push2Registration{}, nil, err
	}
	bad := func(reason string) error {
		return fmt.Errorf("%w: Push 2.0 registration of client %q: %s", ErrInvalid, reg.Client, reason)
	}
	if !validText(reg.User) || !validText(reg.Client) || reg.User == "" || reg.Client == "" {
		return registry.Push2Registration{}, nil, bad("user or client empty, not valid UTF-8, or holding NUL")
	}
	if reg.Errors < 0 || reg.Errors > math.MaxInt32 {
		return registry.Push2Registration{}, nil, bad("Errors out of range")
	}
	request, err := json.Marshal(reg.Request)
	if err == nil {
		var back push2.Request
		err = back.UnmarshalJSON(request)
	}
	if err != nil {
		return registry.Push2Registration{}, nil, bad("request does not round-trip")
	}
	enabled, err := encodeTime(reg.Enabled)
	if err != nil {
		return registry.Push2Registration{}, nil, bad(err.Error())
	}
	saved, evicted, err := s.savePush2(ctx, reg, string(request), enabled, maxDevices)
	if err != nil {
		return registry.Push2Registration{}, nil, fail(ctx, "SavePush2", err)
	}
	return saved, evicted, nil
}

func (s *Store) savePush2(ctx context.Context, reg registry.Push2Registration, request string, enabled any, maxDevices int) (registry.Push2Registration, []registry.Push2Registration, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return registry.Push2Registration{}, nil, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := lockUser(ctx, tx, reg.User); err != nil {
		return registry.Push2Registration{}, nil, err
	}
	stored, err := queryPush2(ctx, tx, `SELECT `+push2Columns+` FROM push2_registrations WHERE username = $1 ORDER BY position`, reg.User)
	if err != nil {
		return registry.Push2Registration{}, nil, err
	}
	pos := int64(1)
	if len(stored) > 0 {
		pos = stored[len(stored)-1].pos + 1
	}
	if i := slices.IndexFunc(stored, func(r push2Row) bool { return r.reg.Client == reg.Client }); i >= 0 {
		rows, err := queryPush2(ctx, tx, `UPDATE push2_registrations SET request = $3, enabled = $4, position = $5
WHERE username = $1 AND client = $2 RETURNING `+push2Columns, reg.User, reg.Client, request, enabled, pos)
		if err != nil {
			return registry.Push2Registration{}, nil, err
		}
		if len(rows) != 1 {
			return registry.Push2Registration{}, nil, fmt.Errorf("replacing client %q of %q: %d rows", reg.Client, reg.User, len(rows))
		}
		reg = rows[0].reg
		stored = slices.Delete(stored, i, i+1)
	} else {
		if reg.Generation == 0 {
			return registry.Push2Registration{}, nil, fmt.Errorf("%w: a new Push 2.0 registration needs a Generation other than 0", ErrInvalid)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO push2_registrations (`+push2Columns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)`,
			reg.User, reg.Client, request, enabled, int64(reg.Generation), int64(reg.Errors), pos); err != nil {
			return registry.Push2Registration{}, nil, err
		}
		reg.Enabled = decodeEnabled(enabled)
	}
	var evicted []registry.Push2Registration
	if n := len(stored) + 1 - maxDevices; maxDevices > 0 && n > 0 {
		clients := make([]string, n)
		for j := range n {
			clients[j] = stored[j].reg.Client
		}
		if evicted, err = deletePush2Clients(ctx, tx, reg.User, clients); err != nil {
			return registry.Push2Registration{}, nil, err
		}
	}
	return reg, evicted, tx.Commit()
}

// decodeEnabled is the time encodeTime encoded, zero for none.
func decodeEnabled(enabled any) time.Time {
	if ns, ok := enabled.(int64); ok {
		return decodeTime(ns)
	}
	return time.Time{}
}

// DeletePush2 implements registry.Push2Store, in one transaction; it
// returns the removed registrations least recently enabled first.
func (s *Store) DeletePush2(ctx context.Context, user string, clients ...string) ([]registry.Push2Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(clients) == 0 {
		return nil, nil
	}
	removed, err := s.inTx(ctx, user, func(tx *sql.Tx) ([]registry.Push2Registration, error) {
		return deletePush2Clients(ctx, tx, user, clients)
	})
	if err != nil {
		return nil, fail(ctx, "DeletePush2", err)
	}
	return removed, nil
}

// DeleteUserPush2 implements registry.Push2Store, in one transaction.
func (s *Store) DeleteUserPush2(ctx context.Context, user string) ([]registry.Push2Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	removed, err := s.inTx(ctx, user, func(tx *sql.Tx) ([]registry.Push2Registration, error) {
		rows, err := queryPush2(ctx, tx, `DELETE FROM push2_registrations WHERE username = $1 RETURNING `+push2Columns, user)
		return push2InOrder(rows), err
	})
	if err != nil {
		return nil, fail(ctx, "DeleteUserPush2", err)
	}
	return removed, nil
}

// inTx runs f in a transaction holding the user's lock row.
func (s *Store) inTx(ctx context.Context, user string, f func(tx *sql.Tx) ([]registry.Push2Registration, error)) ([]registry.Push2Registration, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := lockUser(ctx, tx, user); err != nil {
		return nil, err
	}
	out, err := f(tx)
	if err != nil {
		return nil, err
	}
	return out, tx.Commit()
}

func deletePush2Clients(ctx context.Context, tx *sql.Tx, user string, clients []string) ([]registry.Push2Registration, error) {
	clients = slices.Clone(clients)
	slices.Sort(clients)
	clients = slices.Compact(clients)
	var removed []push2Row
	for chunk := range slices.Chunk(clients, deleteBatch) {
		var q strings.Builder
		q.WriteString(`DELETE FROM push2_registrations WHERE username = $1 AND client IN (`)
		args := make([]any, 1, len(chunk)+1)
		args[0] = user
		for i, c := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("$" + strconv.Itoa(i+2))
			args = append(args, c)
		}
		q.WriteString(`) RETURNING ` + push2Columns)
		rows, err := queryPush2(ctx, tx, q.String(), args...)
		if err != nil {
			return nil, err
		}
		removed = append(removed, rows...)
	}
	return push2InOrder(removed), nil
}

// AddPush2Error implements registry.Push2Store, in one atomic statement.
func (s *Store) AddPush2Error(ctx context.Context, user, client string, generation uint64, at time.Time) (registry.Push2Registration, error) {
	if err := ctx.Err(); err != nil {
		return registry.Push2Registration{}, err
	}
	if generation == 0 {
		return registry.Push2Registration{}, registry.ErrNotFound
	}
	since, err := encodeTime(at)
	if err != nil || since == nil {
		return registry.Push2Registration{}, fmt.Errorf("%w: AddPush2Error at %v", ErrInvalid, at)
	}
	rows, err := queryPush2(ctx, s.db, `UPDATE push2_registrations SET errors = errors + 1,
failing_since = CASE WHEN errors = 0 THEN $4 ELSE failing_since END
WHERE username = $1 AND client = $2 AND generation = $3 RETURNING `+push2Columns, user, client, int64(generation), since)
	if err != nil {
		return registry.Push2Registration{}, fail(ctx, "AddPush2Error", err)
	}
	if len(rows) == 0 {
		return registry.Push2Registration{}, registry.ErrNotFound
	}
	return rows[0].reg, nil
}

// ResetPush2Errors implements registry.Push2Store, in one atomic statement.
func (s *Store) ResetPush2Errors(ctx context.Context, user, client string, generation uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if generation == 0 {
		return registry.ErrNotFound
	}
	res, err := s.db.ExecContext(ctx, `UPDATE push2_registrations SET errors = 0, failing_since = NULL
WHERE username = $1 AND client = $2 AND generation = $3`, user, client, int64(generation))
	if err != nil {
		return fail(ctx, "ResetPush2Errors", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fail(ctx, "ResetPush2Errors", err)
	} else if n == 0 {
		return registry.ErrNotFound
	}
	return nil
}

// queryPush2 runs a query returning push2Columns and decodes every row; a
// row that does not decode gives an error wrapping ErrCorrupt.
func queryPush2(ctx context.Context, q querier, query string, args ...any) ([]push2Row, error) {
	rs, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []push2Row
	for rs.Next() {
		var r push2Row
		var request string
		var enabled, since sql.NullInt64
		var gen, errs int64
		if err := rs.Scan(&r.reg.User, &r.reg.Client, &request, &enabled, &gen, &errs, &r.pos, &since); err != nil {
			return nil, fmt.Errorf("%w: push2_registrations row: %v", ErrCorrupt, err)
		}
		if err := r.reg.Request.UnmarshalJSON([]byte(request)); err != nil || gen == 0 || errs < 0 || errs > math.MaxInt32 {
			return nil, fmt.Errorf("%w: push2_registrations row of %q, client %q", ErrCorrupt, r.reg.User, r.reg.Client)
		}
		if enabled.Valid {
			r.reg.Enabled = decodeTime(enabled.Int64)
		}
		if since.Valid {
			r.reg.FailingSince = decodeTime(since.Int64)
		}
		r.reg.Generation, r.reg.Errors = uint64(gen), int(errs)
		out = append(out, r)
	}
	return out, rs.Err()
}

func push2InOrder(rows []push2Row) []registry.Push2Registration {
	slices.SortFunc(rows, func(a, b push2Row) int { return int(a.pos - b.pos) })
	return push2Regs(rows)
}

func push2Regs(rows []push2Row) []registry.Push2Registration {
	if len(rows) == 0 {
		return nil
	}
	regs := make([]registry.Push2Registration, len(rows))
	for i := range rows {
		regs[i] = rows[i].reg
	}
	return regs
}

package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pushrules/pushrules/registry"
)

// Store is a registry.Store kept in an SQL database. It is safe for
// concurrent use, also by several processes sharing the database (see the
// package documentation). It keeps no cache: every call goes to the
// database. Create it with New; the zero value is not usable. The Store
// does not own the *sql.DB: the caller closes it, after its last call.
type Store struct {
	db *sql.DB
}

var _ registry.Store = (*Store)(nil)

// New returns a Store over db, whose schema Migrate must already have
// brought to SchemaVersion: New reads the version and returns an error
// wrapping ErrSchemaVersion if it is another one. A context error is
// returned as is.
func New(ctx context.Context, db *sql.DB) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: New: nil *sql.DB")
	}
	v, err := readVersion(ctx, db)
	if err != nil {
		if ctxErr := ctxDone(ctx); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, fmt.Errorf("sqlstore: New (has Migrate run?): %w", err)
	}
	if v != SchemaVersion {
		return nil, fmt.Errorf("%w: the database has schema version %d, this package needs %d: run Migrate with the newest release",
			ErrSchemaVersion, v, SchemaVersion)
	}
	return &Store{db: db}, nil
}

const columns = `username, identifier, options, enabled, generation, errors, position, last_success, failing_since, last_error, last_used, client, extensions, push2`

// row is a decoded registration with its position.
type row struct {
	reg registry.Registration
	pos int64
}

// Load implements registry.Store: the user's registrations, least recently
// enabled first; an empty non-nil slice when there are none. A corrupt row
// fails the whole Load with an error wrapping ErrCorrupt.
func (s *Store) Load(ctx context.Context, user string) ([]registry.Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := queryRows(ctx, s.db, `SELECT `+columns+` FROM push_registrations WHERE username = $1 ORDER BY position`, user)
	if err != nil {
		return nil, fail(ctx, "Load", err)
	}
	regs := make([]registry.Registration, len(rows))
	for i := range rows {
		regs[i] = rows[i].reg
	}
	return regs, nil
}

// Save implements registry.Store, in one transaction. Besides the errors of
// registry.Store, it returns an error wrapping ErrInvalid for a registration
// that could not be read back (see ErrInvalid), and one wrapping ErrCorrupt
// when any stored row of the user is corrupt; both change nothing.
// maxDevices <= 0 means no limit. The returned registration has Enabled in
// UTC, as Load gives it.
func (s *Store) Save(ctx context.Context, reg registry.Registration, maxDevices int) (registry.Registration, []registry.Registration, error) {
	if err := ctx.Err(); err != nil {
		return registry.Registration{}, nil, err
	}
	if err := validID(reg.ID); err != nil {
		return registry.Registration{}, nil, invalid(reg, err.Error())
	}
	if !validText(reg.User) || !validText(string(reg.ID)) || !validText(reg.Client) {
		return registry.Registration{}, nil, invalid(reg, "user, identifier or client not valid UTF-8, or holding NUL")
	}
	if reg.Errors < 0 || reg.Errors > math.MaxInt32 {
		return registry.Registration{}, nil, invalid(reg, "Errors out of range")
	}
	enabled, err := encodeTime(reg.Enabled)
	if err != nil {
		return registry.Registration{}, nil, invalid(reg, err.Error())
	}
	options, err := encodeForm(reg.Options)
	if err != nil {
		return registry.Registration{}, nil, invalid(reg, err.Error())
	}
	extensions, err := encodeExtensions(reg.Extensions)
	if err != nil {
		return registry.Registration{}, nil, invalid(reg, err.Error())
	}
	push2, err := encodePush2(reg)
	if err != nil {
		return registry.Registration{}, nil, invalid(reg, err.Error())
	}
	saved, evicted, err := s.save(ctx, reg, enabled, options, extensions, push2, maxDevices)
	if err != nil {
		return registry.Registration{}, nil, fail(ctx, "Save", err)
	}
	return saved, evicted, nil
}

func (s *Store) save(ctx context.Context, reg registry.Registration, enabled, options, extensions, push2 any, maxDevices int) (registry.Registration, []registry.Registration, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return registry.Registration{}, nil, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	if err := lockUser(ctx, tx, reg.User); err != nil {
		return registry.Registration{}, nil, err
	}
	stored, err := queryRows(ctx, tx, `SELECT `+columns+` FROM push_registrations WHERE username = $1 ORDER BY position`, reg.User)
	if err != nil {
		return registry.Registration{}, nil, err
	}
	pos := int64(1)
	if len(stored) > 0 {
		pos = stored[len(stored)-1].pos + 1
	}
	i := slices.IndexFunc(stored, func(r row) bool { return r.reg.ID == reg.ID })
	if i >= 0 {
		// Replace: keep Generation, Errors and the history as they are now
		// (an AddError may have run since the SELECT, so read them back).
		rows, err := queryRows(ctx, tx, `UPDATE push_registrations SET options = $3, enabled = $4, position = $5, last_used = $4, client = $6, extensions = $7, push2 = $8
WHERE username = $1 AND identifier = $2 RETURNING `+columns,
			reg.User, string(reg.ID), options, enabled, pos, nullable(reg.Client), extensions, push2)
		if err != nil {
			return registry.Registration{}, nil, err
		}
		if len(rows) != 1 {
			return registry.Registration{}, nil, fmt.Errorf("replacing %q of %q: %d rows", reg.ID, reg.User, len(rows))
		}
		reg = rows[0].reg
		stored = slices.Delete(stored, i, i+1)
	} else {
		if reg.Generation == 0 {
			return registry.Registration{}, nil, invalid(reg, "a new registration needs a Generation other than 0")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO push_registrations (`+columns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, NULL, $4, $8, $9, $10)`,
			reg.User, string(reg.ID), options, enabled, int64(reg.Generation), int64(reg.Errors), pos, nullable(reg.Client), extensions, push2); err != nil {
			return registry.Registration{}, nil, err
		}
	}

	var evicted []registry.Registration
	if n := len(stored) + 1 - maxDevices; maxDevices > 0 && n > 0 {
		ids := make([]registry.Identifier, n)
		for j := range n {
			ids[j] = stored[j].reg.ID
		}
		if evicted, err = deleteIDs(ctx, tx, reg.User, ids); err != nil {
			return registry.Registration{}, nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return registry.Registration{}, nil, err
	}
	reg.Enabled = time.Time{}
	if ns, ok := enabled.(int64); ok {
		reg.Enabled = decodeTime(ns)
	}
	return reg, evicted, nil
}

// Delete implements registry.Store, in one transaction. It returns the
// removed registrations least recently enabled first. A corrupt row among
// those named fails it with an error wrapping ErrCorrupt, removing nothing.
func (s *Store) Delete(ctx context.Context, user string, ids ...registry.Identifier) ([]registry.Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	removed, err := s.delete(ctx, user, ids)
	if err != nil {
		return nil, fail(ctx, "Delete", err)
	}
	return removed, nil
}

func (s *Store) delete(ctx context.Context, user string, ids []registry.Identifier) ([]registry.Registration, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := lockUser(ctx, tx, user); err != nil {
		return nil, err
	}
	removed, err := deleteIDs(ctx, tx, user, ids)
	if err != nil {
		return nil, err
	}
	// Keep a lock row only for a user with registrations.
	if _, err := tx.ExecContext(ctx, `DELETE FROM push_users WHERE username = $1
AND NOT EXISTS (SELECT 1 FROM push_registrations WHERE username = $1)`, user); err != nil {
		return nil, err
	}
	return removed, tx.Commit()
}

// lockUser takes the user's lock row (creating it when missing) for the
// rest of the transaction tx: the writers of one user take it first, so
// that they run one after another. It is an upsert rather than an UPDATE
// because an UPDATE would not see, and so not wait for, a lock row that a
// concurrent transaction has inserted but not yet committed.
func lockUser(ctx context.Context, tx *sql.Tx, user string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO push_users (username, version) VALUES ($1, 1)
ON CONFLICT (username) DO UPDATE SET version = push_users.version + 1`, user)
	return err
}

// deleteBatch bounds the number of placeholders in one statement.
const deleteBatch = 500

// deleteIDs deletes the user's registrations named by ids and returns them,
// least recently enabled first.
func deleteIDs(ctx context.Context, tx *sql.Tx, user string, ids []registry.Identifier) ([]registry.Registration, error) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var removed []row
	for chunk := range slices.Chunk(ids, deleteBatch) {
		var q strings.Builder
		q.WriteString(`DELETE FROM push_registrations WHERE username = $1 AND identifier IN (`)
		args := make([]any, 1, len(chunk)+1)
		args[0] = user
		for i, id := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("$")
			q.WriteString(strconv.Itoa(i + 2))
			args = append(args, string(id))
		}
		q.WriteString(`) RETURNING ` + columns)
		rows, err := queryRows(ctx, tx, q.String(), args...)
		if err != nil {
			return nil, err
		}
		removed = append(removed, rows...)
	}
	return inEnableOrder(removed), nil
}

// DeleteUser implements registry.Store, in one transaction. It returns the
// removed registrations least recently enabled first. A corrupt row of the
// user fails it with an error wrapping ErrCorrupt, removing nothing.
func (s *Store) DeleteUser(ctx context.Context, user string) ([]registry.Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	removed, err := s.deleteUser(ctx, user)
	if err != nil {
		return nil, fail(ctx, "DeleteUser", err)
	}
	return removed, nil
}

func (s *Store) deleteUser(ctx context.Context, user string) ([]registry.Registration, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := lockUser(ctx, tx, user); err != nil {
		return nil, err
	}
	rows, err := queryRows(ctx, tx, `DELETE FROM push_registrations WHERE username = $1 RETURNING `+columns, user)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM push_users WHERE username = $1`, user); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return inEnableOrder(rows), nil
}

// inEnableOrder returns the rows' registrations least recently enabled
// first; nil for none.
func inEnableOrder(rows []row) []registry.Registration {
	if len(rows) == 0 {
		return nil
	}
	slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(a.pos, b.pos) })
	regs := make([]registry.Registration, len(rows))
	for i := range rows {
		regs[i] = rows[i].reg
	}
	return regs
}

// AddError implements registry.Store, in one atomic statement.
func (s *Store) AddError(ctx context.Context, user string, id registry.Identifier, generation uint64) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if generation == 0 {
		return 0, registry.ErrNotFound
	}
	var n int64
	err := s.db.QueryRowContext(ctx, `UPDATE push_registrations SET errors = errors + 1
WHERE username = $1 AND identifier = $2 AND generation = $3 RETURNING errors`,
		user, string(id), int64(generation)).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, registry.ErrNotFound
	}
	if err != nil {
		return 0, fail(ctx, "AddError", err)
	}
	return int(n), nil
}

// ResetErrors implements registry.Store, in one atomic statement.
func (s *Store) ResetErrors(ctx context.Context, user string, id registry.Identifier, generation uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if generation == 0 {
		return registry.ErrNotFound
	}
	res, err := s.db.ExecContext(ctx, `UPDATE push_registrations SET errors = 0, failing_since = NULL
WHERE username = $1 AND identifier = $2 AND generation = $3`,
		user, string(id), int64(generation))
	if err != nil {
		return fail(ctx, "ResetErrors", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fail(ctx, "ResetErrors", err)
	}
	if n == 0 {
		return registry.ErrNotFound
	}
	return nil
}

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
	"unicode/utf8"

	"github.com/pushrules/pushrules/registry"
)

// ErrCorrupt is wrapped by the error a Store method returns when a stored
// row cannot be decoded into a registration; errors.As with a *CorruptError
// tells which row. The method that met it changed nothing.
const ErrCorrupt Error = "sqlstore: corrupt registration row"

// ErrInvalid is wrapped by the error Save returns for a registration it
// refuses to store because it could not be read back as it was: an
// identifier that registry.Identifier.Split refuses (no '<' after the
// service JID, an empty service JID, a '\' in the JID part escaping neither
// '\' nor '<'), a new registration
// with Generation 0, a negative or huge Errors, an Enabled time outside the
// years 1678 to 2262 (the zero time is fine), a user or identifier that is
// not valid UTF-8 or holds NUL, a form string that is not valid UTF-8, a
// Push 2.0 request under a XEP-0357 identifier or the other way round
// (registry.Registration.Push2). Nothing is changed.
const ErrInvalid Error = "sqlstore: invalid registration"

// CorruptError describes a row that does not decode. It wraps ErrCorrupt.
type CorruptError struct {
	User   string // the username column
	ID     string // the identifier column
	Reason string // what is wrong with the row
}

// Error describes the row and what is wrong with it.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("sqlstore: corrupt registration row (user %q, identifier %q): %s", e.User, e.ID, e.Reason)
}

// Unwrap returns ErrCorrupt.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

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

// fail turns err from the database into the error a method returns: the
// context's error when the context is done (the interface asks for it as
// is), else err wrapped with the operation's name. Errors of this package
// (ErrCorrupt, ErrInvalid) pass unchanged.
func fail(ctx context.Context, op string, err error) error {
	if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrInvalid) || errors.Is(err, registry.ErrNotFound) {
		return err
	}
	if ctxErr := ctxDone(ctx); ctxErr != nil {
		return ctxErr
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// ctxDone returns the context's error, or DeadlineExceeded when its
// deadline has passed but it has not noticed yet: a driver's I/O timeout set
// from the deadline may fire first, and the interface asks for the context
// error.
func ctxDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
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

// Encoding and decoding.

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryRows runs a query returning columns and decodes every row. A row
// that does not decode gives an error wrapping ErrCorrupt.
func queryRows(ctx context.Context, q querier, query string, args ...any) ([]row, error) {
	rs, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		r, err := scanRow(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func scanRow(rs *sql.Rows) (row, error) {
	// Scanning into *any cannot fail on the data (no conversion): an error
	// here is the query's (a done context, a closed connection), not a
	// corrupt row. The values are converted below.
	var v [14]any
	if err := rs.Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11], &v[12], &v[13]); err != nil {
		return row{}, err
	}
	user, userOK := asString(v[0])
	id, idOK := asString(v[1])
	corruption := func(reason string) (row, error) {
		return row{}, &CorruptError{User: user, ID: id, Reason: reason}
	}
	options, optionsOK := asString(v[2])
	enabled, enabledOK := asInt(v[3])
	gen, genOK := asInt(v[4])
	errs, errsOK := asInt(v[5])
	pos, posOK := asInt(v[6])
	switch {
	case !userOK || v[0] == nil:
		return corruption(fmt.Sprintf("username %T", v[0]))
	case !idOK || v[1] == nil:
		return corruption(fmt.Sprintf("identifier %T", v[1]))
	case !optionsOK:
		return corruption(fmt.Sprintf("options %T", v[2]))
	case !enabledOK:
		return corruption(fmt.Sprintf("enabled %T %.40v", v[3], v[3]))
	case !genOK || v[4] == nil:
		return corruption(fmt.Sprintf("generation %T %.40v", v[4], v[4]))
	case !errsOK || v[5] == nil:
		return corruption(fmt.Sprintf("errors %T %.40v", v[5], v[5]))
	case !posOK || v[6] == nil:
		return corruption(fmt.Sprintf("position %T %.40v", v[6], v[6]))
	case validID(registry.Identifier(id)) != nil:
		return corruption(validID(registry.Identifier(id)).Error())
	case gen == 0:
		return corruption("generation 0")
	case errs < 0 || errs > math.MaxInt32:
		return corruption("error count " + strconv.FormatInt(errs, 10))
	}
	r := row{pos: pos, reg: registry.Registration{
		User:       user,
		ID:         registry.Identifier(id),
		Generation: uint64(gen),
		Errors:     int(errs),
	}}
	if v[3] != nil {
		r.reg.Enabled = decodeTime(enabled)
	}
	if reason := decodeHistory(&r.reg, v[7], v[8], v[9], v[11]); reason != "" {
		return corruption(reason)
	}
	if v[2] != nil {
		f, err := decodeForm(options)
		if err != nil {
			return corruption("options: " + err.Error())
		}
		r.reg.Options = f
	}
	ext, err := decodeExtensions(v[12])
	if err != nil {
		return corruption("extensions: " + err.Error())
	}
	r.reg.Extensions = ext
	req, reason := decodePush2(r.reg.ID, v[13])
	if reason != "" {
		return corruption(reason)
	}
	r.reg.Push2 = req
	return r, nil
}

// asString converts a driver value of a TEXT column; NULL gives "", true.
func asString(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}

// asInt converts a driver value of an integer column; NULL gives 0, true.
func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case nil:
		return 0, true
	case int64:
		return x, true
	case int32:
		return int64(x), true
	}
	return 0, false
}

// validID accepts the identifiers registry.NewIdentifier writes, and only
// those, so that every stored identifier names one (jid, node) pair.
func validID(id registry.Identifier) error {
	jid, _, ok := id.Split()
	switch {
	case ok:
		return nil
	case jid == "":
		return errors.New("identifier with an empty service JID")
	}
	return errors.New(`identifier not as registry.NewIdentifier writes it: no '<' after the service JID, or a '\' in it escaping neither '\' nor '<'`)
}

// validText reports whether s can be stored in a TEXT column of every
// supported database and read back the same: valid UTF-8 without NUL.
func validText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

func invalid(reg registry.Registration, reason string) error {
	return fmt.Errorf("%w (user %q, identifier %q): %s", ErrInvalid, reg.User, reg.ID, reason)
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// encodeTime gives the enabled column: nil for the zero time, else Unix
// nanoseconds.
func encodeTime(t time.Time) (any, error) {
	if t.IsZero() {
		return nil, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return nil, fmt.Errorf("enabled time %s out of range", t.Format(time.RFC3339Nano))
	}
	return t.UnixNano(), nil
}

func decodeTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// encodeForm gives the options column: nil for no form, else the form's
// JSON text (registry.Form.MarshalJSON).
func encodeForm(f registry.Form) (any, error) {
	if f.IsZero() {
		return nil, nil
	}
	b, err := f.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("options: %w", err)
	}
	return string(b), nil
}

// decodeForm reads a non-NULL options column; JSON null there is corrupt.
func decodeForm(s string) (registry.Form, error) {
	if strings.TrimSpace(s) == "null" {
		return registry.Form{}, errors.New("JSON null")
	}
	var f registry.Form
	err := f.UnmarshalJSON([]byte(s))
	return f, err
}

// Error is the type of the package's sentinel errors. They are constants:
// compare with errors.Is.
type Error string

// Error returns the message.
func (e Error) Error() string { return string(e) }

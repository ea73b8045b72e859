package sqlstore

// Encoding and decoding: how a registration becomes a row and a row becomes a
// registration, and the checks that make the round trip exact.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pushrules/pushrules/registry"
)

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

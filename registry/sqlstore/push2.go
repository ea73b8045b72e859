package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pushrules/pushrules/push2"
	"github.com/pushrules/pushrules/registry"
)

// A Push 2.0 registration is a row of push_registrations like any other:
// its identifier is registry.Push2Identifier(service, client) and its
// push2 column (schema version 6) the JSON of its push2.Request, NULL for
// a XEP-0357 registration. The request holds the device's secrets.

// encodePush2 gives the push2 column of reg, checking that reg is one
// kind or the other: a request exactly when the identifier is a Push 2.0
// one, and a request that reads back equal.
func encodePush2(reg registry.Registration) (any, error) {
	_, isPush2 := reg.ID.Push2Client()
	switch {
	case reg.Push2 == nil && !isPush2:
		return nil, nil
	case reg.Push2 == nil:
		return nil, errors.New("a Push 2.0 identifier without a Push 2.0 request")
	case !isPush2:
		return nil, errors.New("a Push 2.0 request under a XEP-0357 identifier")
	}
	b, err := json.Marshal(reg.Push2)
	if err == nil {
		var back push2.Request
		err = back.UnmarshalJSON(b)
	}
	if err != nil {
		return nil, errors.New("the Push 2.0 request does not round-trip through JSON")
	}
	return string(b), nil
}

// decodePush2 reads the push2 column of the row of identifier id; reason
// says why it does not decode ("" when it does).
func decodePush2(id registry.Identifier, v any) (req *push2.Request, reason string) {
	text, ok := asString(v)
	if !ok {
		return nil, fmt.Sprintf("push2 %T", v)
	}
	_, isPush2 := id.Push2Client()
	if v == nil || !isPush2 {
		if v != nil || isPush2 {
			return nil, "push2 column and identifier disagree on the registration's kind"
		}
		return nil, ""
	}
	req = new(push2.Request)
	if err := req.UnmarshalJSON([]byte(text)); err != nil {
		return nil, "push2: " + err.Error()
	}
	return req, ""
}

// movePush2 is the data step of schema version 6: every row of the
// push2_registrations table of version 5 becomes a row of
// push_registrations, after the user's XEP-0357 rows in enable order (a
// user may then hold more than maxDevices registrations: the next Save
// evicts the excess). A row whose request does not decode fails the
// migration (ErrCorrupt), which then changes nothing.
func movePush2(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT username, client, request, enabled, generation, errors, failing_since
FROM push2_registrations ORDER BY username, position`)
	if err != nil {
		return fmt.Errorf("reading push2_registrations: %w", err)
	}
	type old struct {
		user, client, request string
		enabled, since        sql.NullInt64
		gen, errs             int64
	}
	var olds []old
	for rows.Next() {
		var o old
		if err := rows.Scan(&o.user, &o.client, &o.request, &o.enabled, &o.gen, &o.errs, &o.since); err != nil {
			rows.Close()
			return fmt.Errorf("reading push2_registrations: %w", err)
		}
		olds = append(olds, o)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("reading push2_registrations: %w", err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading push2_registrations: %w", err)
	}
	var pos int64
	for i, o := range olds {
		var req push2.Request
		if err := req.UnmarshalJSON([]byte(o.request)); err != nil {
			return &CorruptError{User: o.user, ID: "push2_registrations client " + o.client, Reason: err.Error()}
		}
		if i == 0 || o.user != olds[i-1].user {
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), 0) FROM push_registrations WHERE username = $1`, o.user).Scan(&pos); err != nil {
				return fmt.Errorf("reading the positions of %q: %w", o.user, err)
			}
		}
		pos++
		id := registry.Push2Identifier(req.Service, o.client)
		if _, err := tx.ExecContext(ctx, `INSERT INTO push_registrations (`+columns+`)
VALUES ($1, $2, NULL, $3, $4, $5, $6, NULL, $7, NULL, $3, $8, NULL, $9)`,
			o.user, string(id), o.enabled, o.gen, o.errs, pos, o.since, o.client, o.request); err != nil {
			return fmt.Errorf("moving the Push 2.0 registration of %q, client %q: %w", o.user, o.client, err)
		}
	}
	return nil
}

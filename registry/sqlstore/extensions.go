package sqlstore

import (
	"errors"
	"fmt"

	"github.com/pushrules/pushrules/registry"
)

// encodeExtensions gives the extensions column: nil for none, else the
// JSON text of registry.Extensions.MarshalJSON (which holds the encryption
// key: the column is as secret as the key).
func encodeExtensions(e registry.Extensions) (any, error) {
	if e.IsZero() {
		return nil, nil
	}
	b, err := e.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("extensions: %w", err)
	}
	return string(b), nil
}

// decodeExtensions reads the driver value of the extensions column: NULL
// gives none; JSON null, or text that is not Extensions JSON, is corrupt.
// Its errors never quote the column (it holds a key).
func decodeExtensions(v any) (registry.Extensions, error) {
	s, ok := asString(v)
	switch {
	case !ok:
		return registry.Extensions{}, fmt.Errorf("column of type %T", v)
	case v == nil:
		return registry.Extensions{}, nil
	case s == "null":
		return registry.Extensions{}, errors.New("JSON null")
	}
	var e registry.Extensions
	err := e.UnmarshalJSON([]byte(s))
	return e, err
}

//go:build tools

// Package tools pins the versions of the development tools .ci/run uses;
// it is a separate module so the library's go.mod stays free of them.
package tools

import (
	_ "honnef.co/go/tools/cmd/staticcheck"
)

package cache

import "github.com/pushrules/pushrules/registry"

// FormSize lets the external tests check what a form is charged against
// Options.MaxFormBytes.
func FormSize(f registry.Form) int { return formSize(f) }

// Package corpus gives the project's tests the XML of the conformance
// scenarios (every string value that starts with "<"), for table tests,
// differential tests and fuzz seeds.
package corpus

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// XML returns the sorted, distinct XML strings of the scenario files that
// match the glob patterns. It fails tb when a file cannot be read or parsed.
func XML(tb testing.TB, patterns ...string) []string {
	tb.Helper()
	seen := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			if strings.HasPrefix(strings.TrimSpace(v), "<") {
				seen[v] = true
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	for _, pattern := range patterns {
		files, err := filepath.Glob(pattern)
		if err != nil {
			tb.Fatal(err)
		}
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				tb.Fatal(err)
			}
			var v any
			if err := json.Unmarshal(data, &v); err != nil {
				tb.Fatalf("%s: %v", name, err)
			}
			walk(v)
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

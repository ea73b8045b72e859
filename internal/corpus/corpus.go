// Package corpus gives the project's tests the XML of the conformance
// scenarios (every string value that starts with "<"), for table tests,
// differential tests and fuzz seeds.
package corpus

import (
	"encoding/json"
	"math/rand/v2"
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

// Pieces are fragments that XML parsers treat specially, for Mutate.
var Pieces = []string{"<", ">", "/", "&", ";", "'", "\"", "]]>", "]", "\r", "\n", " ", ":", "=", "\x00", "\xff",
	"&amp;", "&#", "&#x", "<!--", "-->", "--", "<![CDATA[", "<?", "?>", "xmlns", "xmlns:p", "p:", "é", "\uFFFE"}

// Mutate returns a copy of in with one to three random edits: a byte
// deleted, one of pieces inserted, a byte replaced, or a span duplicated.
func Mutate(rng *rand.Rand, in string, pieces []string) []byte {
	b := []byte(in)
	for range 1 + rng.IntN(3) {
		i := rng.IntN(len(b) + 1)
		switch rng.IntN(4) {
		case 0:
			if i < len(b) {
				b = slices.Delete(b, i, i+1)
			}
		case 1:
			b = slices.Insert(b, i, []byte(pieces[rng.IntN(len(pieces))])...)
		case 2:
			if i < len(b) {
				b[i] = byte(rng.IntN(256))
			}
		case 3:
			j := min(len(b), i+rng.IntN(20))
			b = slices.Insert(b, j, b[i:j]...)
		}
	}
	return b
}

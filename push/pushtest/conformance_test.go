package pushtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

const suite = "../../testdata/conformance"

func scenarioFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(suite, "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) == 0 {
		tb.Fatalf("no scenarios in %s", suite)
	}
	return files
}

// TestConformance runs every scenario of the suite copied into
// testdata/conformance, through the engine's handlers (Run) and through
// HandleInto with a reused Decisions (RunInto): both must pass, with the
// same trace.
func TestConformance(t *testing.T) {
	for _, file := range scenarioFiles(t) {
		name := filepath.Base(file)
		t.Run(name[:len(name)-len(".json")], func(t *testing.T) {
			t.Parallel()
			sc, err := LoadScenario(file)
			if err != nil {
				t.Fatal(err)
			}
			res, err := sc.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if d := res.Diff(); d != "" {
				t.Errorf("%s\n%s\ntrace:\n%s", sc.Summary, d, res.TraceJSON())
			}
			into, err := sc.RunInto(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(into.TraceJSON()), string(res.TraceJSON()); got != want {
				t.Errorf("RunInto's trace differs from Run's:\n%s\nRun's:\n%s", got, want)
			}
		})
	}
}

func FuzzParseScenario(f *testing.F) {
	for _, file := range scenarioFiles(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"format": 1, "name": "x", "steps": [{"at": 0, "queued": {"session": "a@b/c", "stanza": {"ref": "m"}}}], "expect": []}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := parseScenario("fuzz", data)
		if err != nil {
			return
		}
		if sc.Name == "" {
			t.Errorf("accepted a scenario without a name")
		}
	})
}

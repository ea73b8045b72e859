package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/transcript.golden")

// TestTranscript runs the example and checks its whole output against the
// golden transcript. Keys, salts and padding are fresh on every run, but
// nothing the transcript shows depends on them: a difference is a change
// in what the device receives.
func TestTranscript(t *testing.T) {
	for range 3 {
		var out bytes.Buffer
		if err := run(&out); err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "transcript.golden")
		if *update {
			if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("transcript differs from %s (run with -update after checking):\n%s", golden, out.String())
		}
	}
}

package main

import (
	"bytes"
	"os"
	"testing"
)

// TestMain runs the test binary as a node when the parent (run, in
// TestCluster) starts it as one.
func TestMain(m *testing.M) {
	if name := os.Getenv(nodeEnv); name != "" {
		if err := runNode(name, os.Getenv(dsnEnv), os.Getenv(channelEnv), os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestCluster runs the two-process demonstration and checks its
// transcript.
func TestCluster(t *testing.T) {
	dsn := os.Getenv("PUSHRULES_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("set PUSHRULES_TEST_POSTGRES_DSN (bash .ci/postgres.sh starts a server and sets it)")
	}
	var out bytes.Buffer
	if err := run(t.Context(), dsn, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := `nodes A and B listening, one database
A> enable juliet@example.org phone
A< ok
A> enable juliet@example.org tablet
A< ok
B heard A's 2 notices
B> load juliet@example.org
B< regs phone,tablet from database
B> load juliet@example.org
B< regs phone,tablet from memory
A> disable juliet@example.org phone
A< ok removed 1
B heard A's notice and stopped reading the disabled registration
B> load juliet@example.org
B< regs tablet from memory
`
	if out.String() != want {
		t.Errorf("transcript:\n%s\nwant:\n%s", out.String(), want)
	}
}

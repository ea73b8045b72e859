package main

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"sort"
	"testing"
	"time"
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
A> open juliet@example.org/phone
A< ok
A> enable juliet@example.org/phone phone
A< result
B> open juliet@example.org/tablet
B< ok
B> enable juliet@example.org/tablet tablet
B< result
B> offline juliet@example.org
B< pushed tablet,phone
A> hibernate juliet@example.org/phone
A< pushed phone
A> resume juliet@example.org/phone
A< ok
B> disable juliet@example.org/tablet phone
B< result
A heard B's notice: its phone session is no longer bound
A> hibernate juliet@example.org/phone
A< pushed 
A> resume juliet@example.org/phone
A< ok
A> enable juliet@example.org/phone phone2
A< result
A> disable juliet@example.org/phone tablet
A< result
B heard A's notices: it pushes only to phone2, and its tablet session is no longer bound
`
	if out.String() != want {
		t.Errorf("transcript:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestClusterRounds runs 1,000 rounds on two node processes. In each, node
// B disables the registration a session on node A is bound to, and A must
// see it (the session unbound, its next hibernation pushing nothing to it);
// then A disables a registration enabled on B, and B's offline pushes must
// stop going to it. Each change must reach the other node within 5 s (the
// latencies, p50 to the worst, are logged, not asserted: a shared test
// machine has pauses of its own); once it has, a push to the removed
// registration is a stale push and fails the test.
func TestClusterRounds(t *testing.T) {
	dsn := os.Getenv("PUSHRULES_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("set PUSHRULES_TEST_POSTGRES_DSN (bash .ci/postgres.sh starts a server and sets it)")
	}
	rounds := 1000
	if testing.Short() {
		rounds = 50
	}
	c, stop, err := start(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	const limit, bound = 5 * time.Second, 100 * time.Millisecond
	var lat []time.Duration
	do := func(p *proc, cmd, want string) {
		t.Helper()
		if got, err := p.do(cmd); err != nil || (want != "" && got != want) {
			t.Fatalf("%s> %s: %q %v, want %q", p.name, cmd, got, err, want)
		}
	}
	do(c.a, "open "+phone, "ok")
	do(c.b, "open "+tablet, "ok")
	for i := range rounds {
		a, b := fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i)
		// B removes the registration A's session is bound to.
		do(c.a, "enable "+phone+" "+a, "result")
		do(c.a, "bound "+phone, "bound "+a)
		begin := time.Now()
		do(c.b, "disable "+tablet+" "+a, "result")
		d, err := until(c.a, "bound "+phone, "unbound", begin, limit)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		lat = append(lat, d)
		do(c.a, "hibernate "+phone, "pushed ")
		do(c.a, "resume "+phone, "ok")
		// A removes a registration B pushes from the offline path.
		do(c.b, "enable "+tablet+" "+b, "result")
		if _, err := until(c.b, "offline "+user, "pushed "+b, time.Now(), 10*time.Second); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		begin = time.Now()
		do(c.a, "disable "+phone+" "+b, "result")
		d, err = until(c.b, "offline "+user, "pushed ", begin, limit)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		lat = append(lat, d)
		do(c.b, "offline "+user, "pushed ") // and no stale push afterwards
	}
	slices.Sort(lat)
	over := len(lat) - sort.Search(len(lat), func(i int) bool { return lat[i] > bound })
	t.Logf("%d changes seen by the other node: p50 %v, p95 %v, p99 %v, max %v; %d over %v", len(lat),
		lat[len(lat)/2], lat[len(lat)*95/100], lat[len(lat)*99/100], lat[len(lat)-1], over, bound)
	// The latencies are reported, not asserted: a test must not fail on a
	// loaded machine's timing. What fails it is a change that never
	// reaches the other node within limit.
}

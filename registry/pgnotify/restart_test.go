package pgnotify_test

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/pgnotify"
)

// restartCommand returns a command restarting the test server, or skips
// the test unless the server is a throwaway one made by .ci/postgres.sh
// (its data directory is under a "pushrules-pg." temporary directory) and
// pg_ctl can be run as the directory's owner.
func restartCommand(t *testing.T) *exec.Cmd {
	t.Helper()
	var dataDir, binDir string
	a := adminDB(t)
	if err := a.QueryRow(`SHOW data_directory`).Scan(&dataDir); err != nil {
		t.Skipf("restart test skipped: cannot read data_directory: %v", err)
	}
	if !strings.HasPrefix(filepath.Base(filepath.Dir(dataDir)), "pushrules-pg.") {
		t.Skipf("restart test skipped: %s is not a throwaway server of .ci/postgres.sh", dataDir)
	}
	if err := a.QueryRow(`SELECT setting FROM pg_config WHERE name = 'BINDIR'`).Scan(&binDir); err != nil {
		t.Skipf("restart test skipped: cannot find pg_ctl: %v", err)
	}
	fi, err := os.Stat(dataDir)
	if err != nil {
		t.Skipf("restart test skipped: the server is not on this machine: %v", err)
	}
	// -l: the restarted server must not write to our output, which would
	// keep CombinedOutput waiting for it.
	args := []string{filepath.Join(binDir, "pg_ctl"), "-D", dataDir, "-l", filepath.Join(filepath.Dir(dataDir), "server.log"),
		"-w", "-t", "60", "-m", "fast", "restart"}
	owner := fi.Sys().(*syscall.Stat_t).Uid
	if int(owner) == os.Getuid() {
		return exec.Command(args[0], args[1:]...)
	}
	u, err := user.LookupId(strconv.Itoa(int(owner)))
	if err != nil || os.Getuid() != 0 {
		t.Skipf("restart test skipped: cannot run pg_ctl as the owner of %s", dataDir)
	}
	cmd := exec.Command("runuser", append([]string{"-u", u.Username, "--"}, args...)...)
	cmd.Dir = "/"
	return cmd
}

// TestPostgresRestart restarts the server under two nodes: what was
// stored before is all there after, writes during the restart either fail
// and change nothing or succeed, both listeners come back, and B never
// serves a registration A disabled.
func TestPostgresRestart(t *testing.T) {
	dsn := newSchema(t)
	cmd := restartCommand(t)
	channel := randomName("c")
	opts := pgnotify.Options{MinBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}
	a := newNode(t, dsn, "A", channel, opts)
	b := newNode(t, dsn, "B", channel, opts)
	ctx := context.Background()
	users := []string{"u1@example.org", "u2@example.org", "u3@example.org"}
	for i, u := range users {
		for d := range 3 {
			if _, _, err := a.cache.Save(ctx, reg(u, strconv.Itoa(d), uint64(10*i+d+1)), 0); err != nil {
				t.Fatal(err)
			}
		}
		load(t, b.cache, u) // cached on B
	}
	before := map[string][]registry.Registration{}
	for _, u := range users {
		before[u] = load(t, b.cache, u)
	}

	// A disables u1's device 0 and then keeps enabling registrations of
	// u4 while the server restarts, as a host would.
	// pg_ctl writes to a file, not a pipe: it must finish starting the
	// server even if this test dies.
	out, err := os.Create(filepath.Join(t.TempDir(), "pg_ctl.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("pg_ctl: %v", err)
	}
	restarted, done := make(chan error, 1), make(chan struct{})
	go func() {
		restarted <- cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() { <-done }) // the server must be back for the next tests
	gone := reg(users[0], "0", 1)
	deleteFailures := 0
	for _, err := a.cache.Delete(ctx, gone.User, gone.ID); err != nil; _, err = a.cache.Delete(ctx, gone.User, gone.ID) {
		deleteFailures++
		time.Sleep(5 * time.Millisecond) // the server is down: retry
	}
	const u4 = "u4@example.org"
	var saved, failed []uint64
	for k := uint64(100); ; k++ {
		if _, _, err := a.cache.Save(ctx, reg(u4, strconv.FormatUint(k, 10), k), 0); err == nil {
			saved = append(saved, k)
		} else {
			failed = append(failed, k)
		}
		b.cache.Load(ctx, u4) // errors while the server is down are fine
		select {
		case err := <-restarted:
			if err != nil {
				log, _ := os.ReadFile(out.Name())
				t.Fatalf("restart: %v: %s", err, log)
			}
		default:
			time.Sleep(5 * time.Millisecond)
			continue
		}
		break
	}
	waitFor(t, "A's listener to listen again", a.listener.Listening)
	waitFor(t, "B's listener to listen again", b.listener.Listening)
	// Drop the pools' connections to the old server, as a host's pool
	// would after one failed use each.
	for _, db := range []*sql.DB{a.db, b.db, adminDB(t)} {
		db.SetMaxIdleConns(0)
		db.SetMaxIdleConns(2)
	}
	loadOK := func(user string) []registry.Registration { return load(t, b.cache, user) }
	got := loadOK(u4)
	for _, k := range saved {
		if !has(got, k) {
			t.Errorf("the registration %d of %s, saved during the restart, is lost", k, u4)
		}
	}
	ghosts := 0
	for _, k := range failed {
		if has(got, k) {
			ghosts++ // committed, but the answer was lost with the connection
		}
	}
	t.Logf("during the restart: the Delete failed %d times, then %d Saves succeeded, %d failed (%d of those were committed all the same)", deleteFailures, len(saved), len(failed), ghosts)
	for _, u := range users {
		got := loadOK(u)
		want := before[u]
		if u == gone.User {
			want = want[1:]
		}
		if len(got) != len(want) || has(got, gone.Generation) {
			t.Errorf("after the restart B loads %d registrations of %s (disabled one: %v), want %d", len(got), u, has(got, gone.Generation), len(want))
		}
	}
	// Notices flow again.
	drain(b)
	start := time.Now()
	if _, err := a.cache.DeleteUser(ctx, users[1]); err != nil {
		t.Fatal(err)
	}
	awaitRemote(t, b, users[1], start)
	if got := load(t, b.cache, users[1]); len(got) != 0 {
		t.Errorf("B loads %d registrations of a user A deleted after the restart", len(got))
	}
	t.Logf("listeners reconnected %d and %d times", a.listener.Reconnects(), b.listener.Reconnects())
}

package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/pushrules/pushrules/registry/sqlstore"
)

// proc is a running node process.
type proc struct {
	name string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
}

// startNode runs this program again as the node name.
func startNode(name, dsn, channel string) (*proc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), nodeEnv+"="+name, dsnEnv+"="+dsn, channelEnv+"="+channel)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{name: name, cmd: cmd, in: in, out: bufio.NewScanner(out)}
	if line, err := p.read(); err != nil || line != "ready" {
		p.stop()
		return nil, fmt.Errorf("node %s did not start: %q %v", name, line, err)
	}
	return p, nil
}

func (p *proc) read() (string, error) {
	if !p.out.Scan() {
		return "", errors.Join(fmt.Errorf("node %s exited", p.name), p.out.Err())
	}
	return p.out.Text(), nil
}

// do sends a command and returns the answer.
func (p *proc) do(cmd string) (string, error) {
	if _, err := fmt.Fprintln(p.in, cmd); err != nil {
		return "", err
	}
	return p.read()
}

// stop asks the node to quit and waits for it.
func (p *proc) stop() error {
	fmt.Fprintln(p.in, "quit")
	p.in.Close()
	return p.cmd.Wait()
}

// run creates a schema, starts nodes A and B on it, and shows a disable on
// A stopping B's reads, writing what happens to w.
func run(ctx context.Context, dsn string, w io.Writer) (err error) {
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer admin.Close()
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := "pushrules_cluster_" + hex.EncodeToString(rnd[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		return err
	}
	defer func() {
		if _, dropErr := admin.ExecContext(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE"); dropErr != nil {
			err = errors.Join(err, dropErr)
		}
	}()
	u, err := url.Parse(dsn)
	if err != nil {
		return fmt.Errorf("the DSN must be a URL: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	dsn = u.String()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	err = sqlstore.Migrate(ctx, db)
	db.Close()
	if err != nil {
		return err
	}

	channel := schema // one channel per run: runs sharing a database do not hear each other
	a, err := startNode("A", dsn, channel)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, a.stop()) }()
	b, err := startNode("B", dsn, channel)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, b.stop()) }()
	fmt.Fprintln(w, "nodes A and B listening, one database")

	step := func(p *proc, cmd string) (string, error) {
		reply, err := p.do(cmd)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(w, "%s> %s\n%s< %s\n", p.name, cmd, p.name, reply)
		return reply, nil
	}
	const user = "juliet@example.org"
	// waitRemote polls B until it has heard n notices about user.
	waitRemote := func(n int) error {
		want := fmt.Sprint("remote ", n)
		for start := time.Now(); ; time.Sleep(time.Millisecond) {
			reply, err := b.do("remote " + user)
			if err != nil || reply == want {
				return err
			}
			if time.Since(start) > 10*time.Second {
				return fmt.Errorf("node B answers %q 10 s after the write, want %q", reply, want)
			}
		}
	}
	for _, s := range []struct {
		p   *proc
		cmd string
	}{
		{a, "enable " + user + " phone"},
		{a, "enable " + user + " tablet"},
	} {
		if _, err := step(s.p, s.cmd); err != nil {
			return err
		}
	}
	if err := waitRemote(2); err != nil {
		return err
	}
	fmt.Fprintln(w, "B heard A's 2 notices")
	for range 2 { // a miss, then a hit
		if _, err := step(b, "load "+user); err != nil {
			return err
		}
	}
	if _, err := step(a, "disable "+user+" phone"); err != nil {
		return err
	}
	// B keeps loading: it reads phone from memory until A's notice drops
	// its entry.
	start := time.Now()
	loads := 0
	for {
		reply, err := b.do("load " + user)
		if err != nil {
			return err
		}
		loads++
		if strings.HasPrefix(reply, "regs tablet ") {
			break
		}
		if time.Since(start) > 10*time.Second {
			return fmt.Errorf("node B still reads %q 10 s after the disable", reply)
		}
	}
	elapsed := time.Since(start)
	if err := waitRemote(3); err != nil {
		return err
	}
	fmt.Fprintln(w, "B heard A's notice and stopped reading the disabled registration")
	fmt.Fprintf(os.Stderr, "cluster: B read the disabled registration %d times, for %v\n", loads-1, elapsed.Round(time.Microsecond))
	if _, err := b.do("load " + user); err != nil { // fills the cache again, if the notice came after the last load
		return err
	}
	_, err = step(b, "load "+user)
	return err
}

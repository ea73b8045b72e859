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

// run starts nodes A and B on a schema of their own and shows a disable on
// each stopping pushes on the other, writing what happens to w.
func run(ctx context.Context, dsn string, w io.Writer) (err error) {
	c, stop, err := start(ctx, dsn)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stop()) }()
	fmt.Fprintln(w, "nodes A and B listening, one database")
	c.w = w
	return c.demonstrate()
}

// start creates a schema and starts nodes A and B on it; stop stops them
// and drops the schema.
func start(ctx context.Context, dsn string) (c *cluster, stop func() error, err error) {
	dsn, dropSchema, err := startSchema(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	cleanup := []func() error{dropSchema}
	stop = func() error {
		var errs error
		for i := len(cleanup) - 1; i >= 0; i-- {
			errs = errors.Join(errs, cleanup[i]())
		}
		return errs
	}
	channel := dsn // one channel per schema: runs sharing a database do not hear each other
	if u, err := url.Parse(dsn); err == nil {
		channel = u.Query().Get("search_path")
	}
	c = &cluster{}
	for _, n := range []struct {
		name string
		p    **proc
	}{{"A", &c.a}, {"B", &c.b}} {
		p, err := startNode(n.name, dsn, channel)
		if err != nil {
			return nil, nil, errors.Join(err, stop())
		}
		*n.p = p
		cleanup = append(cleanup, p.stop)
	}
	return c, stop, nil
}

// startSchema creates a schema of its own in the database and migrates it;
// it returns the DSN that works in it, and drop, which drops it.
func startSchema(ctx context.Context, dsn string) (schemaDSN string, drop func() error, err error) {
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, err
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := "pushrules_cluster_" + hex.EncodeToString(rnd[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, errors.Join(err, admin.Close())
	}
	drop = func() error {
		_, err := admin.ExecContext(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE")
		return errors.Join(err, admin.Close())
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, errors.Join(fmt.Errorf("the DSN must be a URL: %w", err), drop())
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		return "", nil, errors.Join(err, drop())
	}
	err = sqlstore.Migrate(ctx, db)
	db.Close()
	if err != nil {
		return "", nil, errors.Join(err, drop())
	}
	return u.String(), drop, nil
}

// cluster drives the two nodes, writing each command and answer to w.
type cluster struct {
	a, b *proc
	w    io.Writer
}

const (
	user   = "juliet@example.org"
	phone  = user + "/phone"  // a session on node A
	tablet = user + "/tablet" // a session on node B
)

func (c *cluster) step(p *proc, cmd string) (string, error) {
	reply, err := p.do(cmd)
	if err != nil {
		return "", err
	}
	if c.w != nil {
		fmt.Fprintf(c.w, "%s> %s\n%s< %s\n", p.name, cmd, p.name, reply)
	}
	return reply, nil
}

// until sends cmd to p until the answer is want, and returns how long
// that took after start; it gives up after limit.
func until(p *proc, cmd, want string, start time.Time, limit time.Duration) (time.Duration, error) {
	for {
		reply, err := p.do(cmd)
		if err != nil {
			return 0, err
		}
		if reply == want {
			return time.Since(start), nil
		}
		if time.Since(start) > limit {
			return 0, fmt.Errorf("node %s answers %q to %q %v after the change, want %q", p.name, reply, cmd, limit, want)
		}
	}
}

// demonstrate shows a disable on each node stopping pushes on the other:
// B removes the registration a session on A is bound to, and A removes one
// B pushes from the archive path.
func (c *cluster) demonstrate() error {
	for _, s := range []struct {
		p   *proc
		cmd string
	}{
		{c.a, "open " + phone},
		{c.a, "enable " + phone + " phone"},
		{c.b, "open " + tablet},
		{c.b, "enable " + tablet + " tablet"},
		{c.b, "offline " + user},
		{c.a, "hibernate " + phone},
		{c.a, "resume " + phone},
		{c.b, "disable " + tablet + " phone"},
	} {
		if _, err := c.step(s.p, s.cmd); err != nil {
			return err
		}
	}
	if _, err := until(c.a, "bound "+phone, "unbound", time.Now(), 10*time.Second); err != nil {
		return err
	}
	fmt.Fprintln(c.w, "A heard B's notice: its phone session is no longer bound")
	for _, s := range []struct {
		p   *proc
		cmd string
	}{
		{c.a, "hibernate " + phone},
		{c.a, "resume " + phone},
		{c.a, "enable " + phone + " phone2"},
		{c.a, "disable " + phone + " tablet"},
	} {
		if _, err := c.step(s.p, s.cmd); err != nil {
			return err
		}
	}
	if _, err := until(c.b, "offline "+user, "pushed phone2", time.Now(), 10*time.Second); err != nil {
		return err
	}
	// The notice that dropped B's cached registrations also reaches B's
	// engine, which unbinds the tablet; wait for that too.
	if _, err := until(c.b, "bound "+tablet, "unbound", time.Now(), 10*time.Second); err != nil {
		return err
	}
	fmt.Fprintln(c.w, "B heard A's notices: it pushes only to phone2, and its tablet session is no longer bound")
	return nil
}

package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/push"
	"github.com/pushrules/pushrules/registry/cache"
	"github.com/pushrules/pushrules/registry/pgnotify"
	"github.com/pushrules/pushrules/registry/sqlstore"
)

// Environment of a node process, set by the parent.
const (
	nodeEnv    = "PUSHRULES_CLUSTER_NODE" // the node's name; set means "run as a node"
	dsnEnv     = "PUSHRULES_CLUSTER_DSN"
	channelEnv = "PUSHRULES_CLUSTER_CHANNEL"
)

// runNode is one server node: a push engine over a cache over sqlstore,
// with a notifier and a listener; other nodes' notices reach the engine as
// events.RegistrationsChanged. It answers commands read from in, one per
// line, on out:
//
//	open SESSION            -> ok
//	enable SESSION NODE     -> result | error TYPE/CONDITION
//	disable SESSION NODE    -> result | error TYPE/CONDITION
//	hibernate SESSION       -> pushed NODE,... (a message in the queue)
//	resume SESSION          -> ok
//	offline USER            -> pushed NODE,... (a message stored offline)
//	bound SESSION           -> bound NODE | unbound
//	remote                  -> remote N, the other nodes' notices so far
//	quit
//
// It prints "ready" once it listens.
func runNode(name, dsn, channel string, in io.Reader, out io.Writer) error {
	ctx := context.Background()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	sqlStore, err := sqlstore.New(ctx, db)
	if err != nil {
		return err
	}
	opts := pgnotify.Options{Node: name, Channel: channel}
	notifier, err := pgnotify.NewNotifier(db, opts)
	if err != nil {
		return err
	}
	var engine *push.Engine // set before the listener starts
	var remote atomic.Int64
	changed := func(ev events.RegistrationsChanged) {
		// A real host executes these decisions: a session unbound here gets
		// its normal hibernation timeout back.
		if _, err := engine.Handle(ctx, ev); err != nil {
			fmt.Fprintf(os.Stderr, "node %s: %v\n", name, err)
		}
	}
	store, err := cache.New(sqlStore, cache.Options{
		Notifier: notifier,
		OnRemoteChange: func(user string) {
			changed(events.RegistrationsChanged{Now: time.Now(), User: user})
			remote.Add(1)
		},
		OnReset: func() { changed(events.RegistrationsChanged{Now: time.Now(), All: true}) },
	})
	if err != nil {
		return err
	}
	engine, err = push.New(push.Config{Store: store, IDPrefix: name + "-"})
	if err != nil {
		return err
	}
	listener, err := pgnotify.Listen(ctx, dsn, store, opts)
	if err != nil {
		return err
	}
	defer listener.Close()
	for deadline := time.Now().Add(30 * time.Second); !listener.Listening(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s: not listening after 30 s: %v", name, listener.Err())
		}
	}
	fmt.Fprintln(out, "ready")

	n := &node{engine: engine}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 1 && f[0] == "quit" {
			return nil
		}
		if len(f) == 1 && f[0] == "remote" {
			fmt.Fprintln(out, "remote", remote.Load())
			continue
		}
		reply, err := n.do(ctx, f)
		if err != nil {
			return fmt.Errorf("node %s: %q: %w", name, sc.Text(), err)
		}
		fmt.Fprintln(out, reply)
	}
	return sc.Err()
}

type node struct {
	engine *push.Engine
	mu     sync.Mutex
	key    events.Key
}

func (n *node) message(to string) events.Stanza {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.key++
	return events.Stanza{Key: n.key, Kind: events.KindMessage, Type: "chat", From: "romeo@montague.example/orchard", To: to,
		Body: "hello", HasBody: true}
}

func (n *node) do(ctx context.Context, f []string) (string, error) {
	now := time.Now()
	var ev events.Event
	switch {
	case len(f) == 2 && f[0] == "open":
		ev = events.SessionOpened{Now: now, Session: f[1]}
	case len(f) == 3 && (f[0] == "enable" || f[0] == "disable"):
		ev = events.IQ{Now: now, Session: f[1], ID: "x",
			Payload: []byte("<" + f[0] + " xmlns='urn:xmpp:push:0' jid='push.example.net' node='" + f[2] + "'/>")}
	case len(f) == 2 && f[0] == "hibernate":
		ev = events.HibernationStarted{Now: now, Session: f[1], Queue: []events.Stanza{n.message(f[1])}}
	case len(f) == 2 && f[0] == "resume":
		ev = events.HibernationEnded{Now: now, Session: f[1]}
	case len(f) == 2 && f[0] == "offline":
		ev = events.OfflineMessage{Now: now, User: f[1], Stanza: n.message(f[1])}
	case len(f) == 2 && f[0] == "bound":
		if id, ok := n.engine.Binding(f[1]); ok {
			return "bound " + id.Node(), nil
		}
		return "unbound", nil
	default:
		return "", fmt.Errorf("unknown command")
	}
	d, err := n.engine.Handle(ctx, ev)
	if err != nil {
		return "", err
	}
	switch {
	case len(d.Replies) == 1 && d.Replies[0].Error != nil:
		return "error " + d.Replies[0].Error.Type + "/" + d.Replies[0].Error.Condition, nil
	case len(d.Replies) == 1:
		return "result", nil
	case f[0] == "hibernate" || f[0] == "offline":
		nodes := make([]string, len(d.Publishes))
		for i := range d.Publishes {
			nodes[i] = d.Publishes[i].Node()
			n.engine.ForgetPublish(d.Publishes[i].ID) // this demonstration has no push service
		}
		return "pushed " + strings.Join(nodes, ","), nil
	}
	return "ok", nil
}

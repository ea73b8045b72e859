package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/pushrules/pushrules/registry"
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

// runNode is one server node: a cache over sqlstore, with a notifier and a
// listener. It answers commands read from in, one per line, on out:
//
//	enable USER NODE   -> ok
//	disable USER NODE  -> ok removed N
//	load USER          -> regs NODE,... from memory|database
//	remote USER        -> remote N
//	quit
//
// where N counts the notices of other nodes about USER. It prints "ready"
// once it listens.
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
	var mu sync.Mutex
	remote := map[string]int{}
	store, err := cache.New(sqlStore, cache.Options{
		Notifier: notifier,
		// A real host feeds an event to its push engine here, so that
		// sessions bound to a registration removed elsewhere are unbound.
		OnRemoteChange: func(user string) { mu.Lock(); remote[user]++; mu.Unlock() },
	})
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

	var hits uint64 // cache hits so far
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		var reply string
		switch {
		case len(f) == 3 && f[0] == "enable":
			reg := registry.Registration{User: f[1], ID: registry.NewIdentifier("push.example.net", f[2]),
				Enabled: time.Now(), Generation: uint64(time.Now().UnixNano())}
			_, _, err = store.Save(ctx, reg, 5)
			reply = "ok"
		case len(f) == 3 && f[0] == "disable":
			var removed []registry.Registration
			removed, err = store.Delete(ctx, f[1], registry.NewIdentifier("push.example.net", f[2]))
			reply = fmt.Sprint("ok removed ", len(removed))
		case len(f) == 2 && f[0] == "load":
			var regs []registry.Registration
			regs, err = store.Load(ctx, f[1])
			nodes := make([]string, len(regs))
			for i, r := range regs {
				nodes[i] = r.ID.Node()
			}
			from := "database"
			if st := store.Stats(); st.Hits > hits {
				from, hits = "memory", st.Hits
			}
			reply = fmt.Sprintf("regs %s from %s", strings.Join(nodes, ","), from)
		case len(f) == 2 && f[0] == "remote":
			mu.Lock()
			reply = fmt.Sprint("remote ", remote[f[1]])
			mu.Unlock()
		case len(f) == 1 && f[0] == "quit":
			return nil
		default:
			reply, err = "", fmt.Errorf("unknown command %q", sc.Text())
		}
		if err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
		fmt.Fprintln(out, reply)
	}
	return sc.Err()
}

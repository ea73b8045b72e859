// Command cluster shows two server nodes, two processes, sharing one
// PostgreSQL database through registry/sqlstore, each with its own
// registry cache kept coherent by registry/pgnotify: a registration
// disabled through node A stops being read by node B as soon as A's notice
// arrives, although B had it cached.
//
//	go run . -dsn postgres://postgres@127.0.0.1:55432/pushrules?sslmode=disable
//
// The DSN defaults to $PUSHRULES_TEST_POSTGRES_DSN (bash .ci/postgres.sh
// starts a throwaway server and sets it). The program works in a schema of
// its own, dropped at the end. It starts the nodes by running itself again
// with PUSHRULES_CLUSTER_NODE set.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
)

func main() {
	if name := os.Getenv(nodeEnv); name != "" {
		if err := runNode(name, os.Getenv(dsnEnv), os.Getenv(channelEnv), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	dsn := flag.String("dsn", os.Getenv("PUSHRULES_TEST_POSTGRES_DSN"), "PostgreSQL URL")
	flag.Parse()
	if *dsn == "" {
		fmt.Fprintln(os.Stderr, "cluster: give -dsn or set PUSHRULES_TEST_POSTGRES_DSN")
		os.Exit(2)
	}
	if err := run(context.Background(), *dsn, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

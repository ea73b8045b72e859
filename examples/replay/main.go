// Command replay runs conformance scenarios through the push rules and
// compares the trace of decisions each produces with the one it expects.
// The scenario file format is described in testdata/conformance/FORMAT.md;
// that directory holds the project's suite.
//
// Usage:
//
//	go run ./examples/replay [-trace] [-into] FILE|DIR...
//
// A directory stands for every *.json file in it, in name order. For each
// scenario replay prints "PASS name" or "FAIL name" followed by the
// difference (or the error that stopped it), indented: the decisions
// missing and unexpected, one JSON line each, and where a step has both,
// the two side by side field by field. A file that cannot be read or
// parsed fails too. It ends with the line "N passed, M failed".
// With -trace it also prints the trace each scenario produced, as JSON in
// the shape of a scenario's "expect". With -into it feeds the events
// through Engine.HandleInto with one reused Decisions (Scenario.RunInto),
// the allocation-free path, instead of the engine's handlers.
//
// The exit status is 0 when every scenario passed, 1 when any failed or
// could not be read, and 2 on a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pushrules/pushrules/push/pushtest"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command with its arguments and output; it returns the exit
// status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	trace := fs.Bool("trace", false, "print the trace each scenario produced")
	into := fs.Bool("into", false, "feed the events through Engine.HandleInto with a reused Decisions")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: replay [-trace] [-into] FILE|DIR...")
		fmt.Fprintln(stderr, "(the scenario format: testdata/conformance/FORMAT.md in the pushrules repository)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	passed, failed := 0, 0
	fail := func(name, detail string) {
		failed++
		fmt.Fprintf(stdout, "FAIL %s\n%s", name, indent(detail))
	}
	for _, arg := range fs.Args() {
		files, err := scenarioFiles(arg)
		if err != nil {
			fail(arg, err.Error())
			continue
		}
		for _, file := range files {
			name := strings.TrimSuffix(filepath.Base(file), ".json")
			sc, err := pushtest.LoadScenario(file)
			if err != nil {
				fail(name, err.Error())
				continue
			}
			runScenario := sc.Run
			if *into {
				runScenario = sc.RunInto
			}
			res, err := runScenario(ctx)
			switch {
			case err != nil:
				fail(name, err.Error())
			case res.Diff() != "":
				fail(name, res.Diff())
			default:
				passed++
				fmt.Fprintf(stdout, "PASS %s\n", name)
			}
			if *trace && res != nil {
				stdout.Write(res.TraceJSON())
			}
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// scenarioFiles returns the scenario files arg stands for: itself, or the
// *.json files of a directory in name order.
func scenarioFiles(arg string) ([]string, error) {
	fi, err := os.Stat(arg)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{arg}, nil
	}
	files, err := filepath.Glob(filepath.Join(arg, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no *.json scenario files", arg)
	}
	return files, nil // Glob sorts
}

// indent indents every line of s by four spaces.
func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	return "    " + strings.ReplaceAll(s, "\n", "\n    ") + "\n"
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/review/plan"
)

// Review modes of kinfra plan:
//
//	kinfra plan --stack us-east-1 --failures [--json]  what losing each zone does; exit 1 unless the stack survives any one
//	kinfra plan --parity [--dir DIR] [--json]           config paths whose values differ between the stacks; exit 0
//
// main.go's usage text lists them beside plan's other modes.

// reviewFlags are the review modes' flags on kinfra plan's flag set.
type reviewFlags struct {
	failures, parity *bool
}

func addReviewFlags(fs *flag.FlagSet) reviewFlags {
	return reviewFlags{
		failures: fs.Bool("failures", false, "simulate the loss of each availability zone (etcd quorum, API targets, node pool capacity) and check every master slot's identity; exit 1 unless the stack survives any one zone's loss"),
		parity:   fs.Bool("parity", false, "compare the effective configs of every stack in --dir (default: the project's stacks) and list the paths whose values differ; no --stack"),
	}
}

// runParity is kinfra plan --parity: parity is informational, so it exits 0
// unless a stack cannot be loaded.
func runParity(fs *flag.FlagSet, dir string, asJSON bool, stdout, stderr io.Writer) int {
	conflict := ""
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "stack", "stack-file", "config", "user-data", "failures":
			conflict = f.Name
		}
	})
	if conflict != "" || fs.NArg() > 0 {
		what := "arguments"
		if conflict != "" {
			what = "--" + conflict
		}
		fmt.Fprintf(stderr, "kinfra plan: --parity compares every stack of --dir; it takes no %s\n", what)
		fs.Usage()
		return 2
	}
	stackDir, err := plan.StackDirOf(dir)
	if err == nil {
		var rep plan.ParityReport
		if rep, err = plan.ParityOfDir(stackDir); err == nil {
			if asJSON {
				err = rep.JSON(stdout)
			} else {
				rep.Text(stdout)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "kinfra plan --parity:", err)
		if errors.Is(err, stackfile.ErrUsage) {
			return 2
		}
		return 1
	}
	return 0
}

// runFailures is kinfra plan --failures, on a plan that ran: exit 1 with the
// reasons on stderr unless every zone's loss keeps quorum and API targets and
// every slot keeps its identity (or when the plan has error findings, as
// every kinfra plan).
func runFailures(p *plan.Plan, asJSON bool, stdout, stderr io.Writer) int {
	rep, err := p.Failures()
	if err != nil {
		fmt.Fprintln(stderr, "kinfra plan --failures:", err)
		return 1
	}
	if asJSON {
		if err := rep.JSON(stdout); err != nil {
			fmt.Fprintln(stderr, "kinfra plan --failures:", err)
			return 1
		}
	} else {
		rep.Text(stdout)
	}
	for _, warn := range rep.Warnings {
		fmt.Fprintf(stderr, "kinfra plan --failures: warning: %s\n", warn)
	}
	code := 0
	if !rep.OK {
		fmt.Fprintf(stderr, "kinfra plan --failures: stack %s does not survive the loss of any one zone (with every slot's identity kept), or cannot recover etcd's data:\n", p.Stack)
		for _, pr := range rep.Problems {
			fmt.Fprintf(stderr, "  %s\n", pr)
		}
		code = 1
	}
	return max(code, findingsExit(p.Findings, stderr))
}

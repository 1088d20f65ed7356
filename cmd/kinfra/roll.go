package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/kinfra-dev/kinfra/internal/roll"
)

const rollUsage = `usage:
  kinfra roll (--stack NAME | --stack-file PATH) [--dry-run] [--timeout 15m] [--poll 10s]

roll brings the running masters to what the stack declares, after
` + "`pulumi up`" + ` has given their launch templates a new version: one slot at a
time, it points the slot's group at the declared version, replaces its
instance and waits until the master's boot finished, every etcd member is
healthy, its API server is ready, its node Ready and its load balancer target
healthy. Before the first slot it checks the same health and takes an etcd
snapshot into the backup bucket. A failed gate or a timeout stops the roll
(exit 1) before the next slot; run it again to resume. Slots already on their
declared version are skipped.

It uses the AWS credentials of the environment (AWS_PROFILE, the stack's
aws:profile, SSO, ...), and reaches etcd and the API servers on their private
addresses (run it from inside the VPC, or over a VPN to it) with client
certificates it issues in memory from the cluster's CAs in SSM.

`

func runRoll(args []string, stdout, stderr io.Writer) int {
	const cmd = "kinfra roll"
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, rollUsage); fs.PrintDefaults() }
	stack := addStackFlags(fs)
	dryRun := fs.Bool("dry-run", false, "print the steps; change nothing")
	timeout := fs.Duration("timeout", 15*time.Minute, "bound of each wait: the successor's launch, then each gate")
	poll := fs.Duration("poll", 10*time.Second, "interval between checks")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", cmd, fs.Arg(0))
		return 2
	}
	if *timeout <= 0 || *poll <= 0 || *poll > *timeout {
		fmt.Fprintf(stderr, "%s: --timeout %s and --poll %s: both must be positive, and the poll no longer than the timeout\n", cmd, *timeout, *poll)
		return 2
	}
	c, profile, code := stack.cluster(cmd, stderr)
	if code != 0 {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	o := roll.Options{DryRun: *dryRun, Timeout: *timeout, Poll: *poll, SkipSnapshot: !c.Backup.On()}
	r, err := roll.Connect(ctx, c, profile, o, nil)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	r.Out = stdout
	fmt.Fprintf(stdout, "Rolling the masters of cluster %s (%s)\n", c.Name, c.Region)
	rolled, err := r.Masters(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "%s: interrupted; run it again to resume\n", cmd)
		}
		return 1
	}
	if len(rolled) > 0 {
		fmt.Fprintf(stdout, "\nRolled %d master slots: %v\n", len(rolled), rolled)
	}
	return 0
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/kinfra-dev/kinfra/internal/roll"
)

const rollUsage = `usage:
  kinfra roll (--stack NAME | --stack-file PATH) [--dry-run] [--timeout 15m] [--poll 10s]
              [--pools NAME,... | --masters-only]

roll brings the running instances to what the stack declares, after
` + "`pulumi up`" + ` has given their launch templates a new version, masters first:
one slot at a time, it points the slot's group at the declared version,
replaces its instance and waits until the master's boot finished, every etcd
member is healthy, its API server is ready, its node Ready and its load
balancer target healthy. Before the first slot it checks the same health and
takes an etcd snapshot into the backup bucket.

Then the node pools, in the order of cluster.nodePools (or of --pools), in
batches their instanceRefresh settings bound: launch replacements first when
maxHealthyPercentage allows, cordon, evict every pod through the Eviction API
(PodDisruptionBudgets honoured, up to drainTimeoutSeconds), terminate, and
wait until the group settles with its new nodes Ready.

A failed gate or a timeout stops the roll (exit 1) before the next slot or
batch; run it again to resume. Instances already on their declared version
are skipped.

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
	poolList := fs.String("pools", "", "the node pools to roll after the masters, in this order (comma-separated; default: every pool, in the stack's order)")
	mastersOnly := fs.Bool("masters-only", false, "roll the masters only")
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
	if *mastersOnly && *poolList != "" {
		fmt.Fprintf(stderr, "%s: --pools and --masters-only exclude each other\n", cmd)
		return 2
	}
	c, profile, code := stack.cluster(cmd, stderr)
	if code != 0 {
		return code
	}
	var names []string
	if *poolList != "" {
		names = strings.Split(*poolList, ",")
	}
	pools, err := roll.PoolsOf(c, names)
	if err != nil {
		fmt.Fprintf(stderr, "%s: --pools: %v\n", cmd, err)
		return 2
	}
	if *mastersOnly {
		pools = nil
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
	failed := func(err error) int {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "%s: interrupted; run it again to resume\n", cmd)
		}
		return 1
	}
	rolled, err := r.Masters(ctx)
	if err != nil {
		return failed(err)
	}
	if len(rolled) > 0 {
		fmt.Fprintf(stdout, "\nRolled %d master slots: %v\n", len(rolled), rolled)
	}
	if len(pools) == 0 {
		return 0
	}
	fmt.Fprintf(stdout, "\nRolling the node pools of cluster %s: %s\n", c.Name, poolNames(pools))
	done, err := r.RollPools(ctx, pools)
	if err != nil {
		return failed(err)
	}
	if len(done) > 0 {
		fmt.Fprintf(stdout, "\nRolled %d node pools: %s\n", len(done), strings.Join(done, ", "))
	}
	return 0
}

func poolNames(pools []roll.Pool) string {
	var s []string
	for _, p := range pools {
		s = append(s, p.Name)
	}
	return strings.Join(s, ", ")
}

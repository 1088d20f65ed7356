package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kinfra-dev/kinfra/internal/etcdops"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/spec"
)

// The restore's terminal, replaceable by tests.
var (
	etcdStdin       io.Reader = os.Stdin
	stdinIsTerminal           = func() bool {
		st, err := os.Stdin.Stat()
		return err == nil && st.Mode()&os.ModeCharDevice != 0
	}
	etcdPoll = etcdops.DefaultPoll
)

const etcdUsage = `usage:
  kinfra etcd backups (--stack NAME | --stack-file PATH) [--json]
  kinfra etcd restore (--stack NAME | --stack-file PATH) --snapshot latest|KEY [--dry-run] [--yes]
                      [--force] [--no-reboot] [--reboot-pending] [--again] [--wait 30m]
  kinfra etcd recover-space (--stack NAME | --stack-file PATH) [--dry-run]
                      [--defrag-timeout 10m] [--wait 5m]

backups lists the cluster's etcd snapshots in S3, newest first.
restore asks every master to restore one snapshot (docs/etcd-restore.md).
recover-space is the NOSPACE runbook: with every member answering, it
compacts etcd to the current revision, defragments the members one at a
time (followers first, the leader last, each once every member is healthy),
disarms NOSPACE and checks that a write succeeds (docs/masters.md, NOSPACE).
All use the AWS credentials of the environment (AWS_PROFILE, the stack's
aws:profile, SSO, ...); AWS_ENDPOINT_URL points them at another endpoint.
recover-space also reaches the etcd members on their private names with a
client certificate it issues in memory from the etcd CA in SSM, as kinfra
roll does.
`

func runEtcd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "backups":
			return runEtcdBackups(args[1:], stdout, stderr)
		case "restore":
			return runEtcdRestore(args[1:], stdout, stderr)
		case "recover-space":
			return runEtcdRecoverSpace(args[1:], stdout, stderr)
		}
	}
	fmt.Fprint(stderr, etcdUsage)
	return 2
}

// stackFlags are the flags that choose the stack, as in plan.
type stackFlags struct{ stack, stackFile, dir *string }

func addStackFlags(fs *flag.FlagSet) stackFlags {
	return stackFlags{
		stack:     fs.String("stack", "", "stack `name`: <project>/stacks/Pulumi.<name>.yaml"),
		stackFile: fs.String("stack-file", "", "`path` of any Pulumi stack file"),
		dir:       fs.String("dir", ".", "`directory` inside the kinfra project (for --stack)"),
	}
}

// cluster loads the stack's effective cluster spec (defaults applied, as
// plan and the program see it) and its aws:profile; code is the exit code
// on failure.
func (f stackFlags) cluster(cmd string, stderr io.Writer) (c spec.Cluster, profile string, code int) {
	if (*f.stack == "") == (*f.stackFile == "") {
		fmt.Fprintf(stderr, "%s: give exactly one of --stack or --stack-file\n", cmd)
		return c, "", 2
	}
	path := *f.stackFile
	if *f.stack != "" {
		var err error
		if _, path, err = stackPath(*f.dir, *f.stack); err != nil {
			fmt.Fprintln(stderr, cmd+":", err)
			return c, "", 2
		}
	}
	sf, err := stackfile.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, cmd+":", err)
		if errors.Is(err, stackfile.ErrUsage) {
			return c, "", 2
		}
		return c, "", 1
	}
	c, err = spec.Load([]byte(sf.Config[stackfile.ClusterKey]), sf.Config[stackfile.RegionKey])
	if err != nil {
		fmt.Fprintf(stderr, "%s: the cluster config of %s is invalid (kinfra plan --stack-file %s shows why):\n%v\n", cmd, path, path, err)
		return c, "", 1
	}
	return c, sf.Config["aws:profile"], 0
}

// etcdCommand is what every kinfra etcd subcommand shares: the stack's
// flags beside its own, and then the stack's cluster and AWS clients.
type etcdCommand struct {
	name   string
	fs     *flag.FlagSet
	stack  stackFlags
	stderr io.Writer
}

func newEtcdCommand(name string, stderr io.Writer) *etcdCommand {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, etcdUsage); fs.PrintDefaults() }
	return &etcdCommand{name: name, fs: fs, stack: addStackFlags(fs), stderr: stderr}
}

// parse parses args: 0, or 2 for a usage error.
func (e *etcdCommand) parse(args []string) int {
	if err := e.fs.Parse(args); err != nil {
		return 2
	}
	if e.fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "%s: unexpected argument %q\n", e.name, e.fs.Arg(0))
		return 2
	}
	return 0
}

// connect loads the stack's cluster and makes its AWS clients, under a
// context that an interrupt ends (call stop when done); code is the exit
// code on failure.
func (e *etcdCommand) connect() (ctx context.Context, stop func(), c spec.Cluster, cl etcdops.Clients, code int) {
	stop = func() {}
	c, profile, code := e.stack.cluster(e.name, e.stderr)
	if code != 0 {
		return nil, stop, c, cl, code
	}
	ctx, stop = signal.NotifyContext(context.Background(), os.Interrupt)
	cl, err := etcdops.NewClients(ctx, c.Region, profile)
	if err != nil {
		fmt.Fprintln(e.stderr, e.name+":", err)
		return ctx, stop, c, cl, 1
	}
	return ctx, stop, c, cl, 0
}

func runEtcdBackups(args []string, stdout, stderr io.Writer) int {
	e := newEtcdCommand("kinfra etcd backups", stderr)
	asJSON := e.fs.Bool("json", false, "print one JSON object")
	if code := e.parse(args); code != 0 {
		return code
	}
	cmd := e.name
	ctx, stop, c, cl, code := e.connect()
	defer stop()
	if code != 0 {
		return code
	}
	l, err := etcdops.Backups(ctx, cl, c, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(l); err != nil {
			fmt.Fprintln(stderr, cmd+":", err)
			return 1
		}
	} else {
		printBackups(stdout, l)
	}
	if len(l.Snapshots) == 0 {
		fmt.Fprintf(stderr, "%s: no snapshots under s3://%s/%s/; check the masters' backup timer (docs/masters.md, Backups)\n", cmd, l.Bucket, l.Prefix)
		return 1
	}
	return 0
}

func printBackups(w io.Writer, l etcdops.Listing) {
	fmt.Fprintf(w, "Snapshots of cluster %s in s3://%s/%s/ (newest first): %d\n", l.Cluster, l.Bucket, l.Prefix, len(l.Snapshots))
	if len(l.Snapshots) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "TAKEN AT\tTIER\tMEMBER\tREVISION\tSIZE\tGEN\tCLUSTER ID\tKEY")
		for _, s := range l.Snapshots {
			gen := "?"
			if s.Generation != nil {
				gen = fmt.Sprint(*s.Generation)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", s.TakenAt.Format(time.RFC3339), s.Tier, s.Member, s.Revision,
				etcdops.Bytes(s.Size), gen, orDash(s.ClusterID), s.Key)
		}
		tw.Flush()
		fmt.Fprintf(w, "Newest: %s, %s old\n", l.Newest, time.Duration(l.NewestAgeSeconds)*time.Second)
	}
	if l.Ignored > 0 {
		fmt.Fprintf(w, "(%d other objects under the tiers are not named like snapshots and were left out)\n", l.Ignored)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runEtcdRestore(args []string, stdout, stderr io.Writer) int {
	e := newEtcdCommand("kinfra etcd restore", stderr)
	cmd, fs := e.name, e.fs
	var o etcdops.RestoreOptions
	fs.StringVar(&o.Snapshot, "snapshot", "", "`latest` or the key of the snapshot to restore (kinfra etcd backups lists them)")
	fs.BoolVar(&o.Force, "force", false, "restore a snapshot that fails the identity checks (another cluster's, another PKI's)")
	fs.BoolVar(&o.DryRun, "dry-run", false, "print every step and change nothing")
	fs.BoolVar(&o.NoReboot, "no-reboot", false, "write the request only; each master restores when it next boots")
	fs.BoolVar(&o.RebootPending, "reboot-pending", false, "when resuming, reboot the masters not yet at the request's generation")
	fs.BoolVar(&o.Again, "again", false, "restore once more a snapshot whose request is already complete")
	fs.DurationVar(&o.Wait, "wait", 30*time.Minute, "how long to wait for every member to restore (0: do not wait)")
	yes := fs.Bool("yes", false, "confirm: a restore replaces every member's data")
	if code := e.parse(args); code != 0 {
		return code
	}
	if o.Snapshot == "" {
		fmt.Fprintf(stderr, "%s: --snapshot is required: latest, or a key from kinfra etcd backups\n", cmd)
		return 2
	}
	if o.Wait < 0 {
		fmt.Fprintf(stderr, "%s: --wait %s is negative\n", cmd, o.Wait)
		return 2
	}
	ctx, stop, c, cl, code := e.connect()
	defer stop()
	if code != 0 {
		return code
	}
	o.Out, o.Warn, o.Poll = stdout, stderr, etcdPoll
	o.Confirm = func() error { return confirmRestore(c.Name, *yes, stderr) }
	res, err := etcdops.Restore(ctx, cl, c, o)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "%s: interrupted; the request stays in place; run the same command again to resume waiting\n", cmd)
		}
		return 1
	}
	if res.Written && o.Wait == 0 {
		fmt.Fprintf(stdout, "Requested generation %d; run the same command again to wait for it.\n", res.Request.Generation)
	}
	return 0
}

// confirmRestore asks for --yes, or for the cluster name on a terminal.
func confirmRestore(cluster string, yes bool, stderr io.Writer) error {
	if yes {
		return nil
	}
	if !stdinIsTerminal() {
		return errors.New("a restore replaces the data of every etcd member; pass --yes to confirm (stdin is not a terminal to ask on)")
	}
	fmt.Fprintf(stderr, "A restore replaces the data of every etcd member of cluster %s with the snapshot above:\n"+
		"everything written since it was taken is lost. Type the cluster name to continue: ", cluster)
	line, err := bufio.NewReader(etcdStdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("no confirmation: %v", err)
	}
	if strings.TrimSpace(line) != cluster {
		return fmt.Errorf("confirmation %q is not the cluster name %q; nothing was written", strings.TrimSpace(line), cluster)
	}
	return nil
}

// SpaceClientName is the subject of recover-space's client certificate, as
// etcd's logs name it.
const SpaceClientName = "kinfra-recover-space"

// etcdDial is how recover-space reaches the members (nil: the system's
// dialer); tests replace it.
var etcdDial etcdops.DialFunc

func runEtcdRecoverSpace(args []string, stdout, stderr io.Writer) int {
	e := newEtcdCommand("kinfra etcd recover-space", stderr)
	cmd, fs := e.name, e.fs
	var o etcdops.SpaceOptions
	fs.BoolVar(&o.DryRun, "dry-run", false, "read the members and alarms, print the steps, change nothing")
	fs.DurationVar(&o.DefragTimeout, "defrag-timeout", 10*time.Minute, "bound of the compaction and of each member's defragmentation")
	fs.DurationVar(&o.Wait, "wait", 5*time.Minute, "how long to wait for a defragmented member to be healthy again")
	if code := e.parse(args); code != 0 {
		return code
	}
	if o.DefragTimeout <= 0 || o.Wait <= 0 {
		fmt.Fprintf(stderr, "%s: --defrag-timeout %s and --wait %s must be positive\n", cmd, o.DefragTimeout, o.Wait)
		return 2
	}
	ctx, stop, c, cl, code := e.connect()
	defer stop()
	if code != 0 {
		return code
	}
	members, err := etcdops.ConnectEtcd(ctx, cl.SSM, c, SpaceClientName, etcdDial)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	o.Out = stdout
	fmt.Fprintf(stdout, "Cluster %s: recovering etcd's space\n", c.Name)
	if _, err := etcdops.RecoverSpace(ctx, members, o); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	return 0
}

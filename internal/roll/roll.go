// Package roll brings a cluster's running masters, then its node pools'
// nodes (pools.go), to what its stack declares, one slot or batch at a
// time, behind health gates (`kinfra roll`; README, "Upgrading a cluster").
//
// `pulumi up` gives every master slot a new launch template version when the
// image, instance type or rendered configuration changes, but replaces no
// instance: each slot's Auto Scaling Group keeps launching the version it
// was last rolled to (kinfra ignores the group's launchTemplate.version
// after creating it). The roll owns that version. For each slot whose
// instance is not on the template's default version (what Pulumi last
// declared), in slot order:
//
//  1. it points the group at the declared version;
//  2. it terminates the instance without lowering the group's capacity, so
//     the group launches its successor (the successor takes the slot's etcd
//     volume, DNS record and member identity);
//  3. it waits until the successor is InService, the master's boot has not
//     failed, every etcd member is healthy, the successor's API server is
//     ready, its node is Ready and its load balancer target is healthy.
//
// A failed gate or a timeout stops the roll with the reason and a non-zero
// exit; the next slot is never touched. Everything before it is idempotent,
// so running the roll again resumes: slots already on their declared version
// are skipped. Before the first replacement the roll checks that every etcd
// member is healthy and every API server ready, and takes an etcd snapshot
// into the cluster's backup bucket.
//
// The AWS side (Fleet) and the cluster side (Gates) are interfaces: the CLI
// implements them with the AWS SDK and with clients of etcd and the API
// (aws.go, gates.go); the tests with moto_server and with real etcd and
// kube-apiserver binaries.
package roll

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
)

// Group is one master slot's or node pool's Auto Scaling Group as the roll
// sees it.
type Group struct {
	// Slot is the master slot (-1 for a pool's group); Pool the node pool.
	Slot int
	Pool string
	Name string
	// LaunchTemplateID is the slot's launch template.
	LaunchTemplateID string
	// GroupVersion is the launch template version the group launches.
	GroupVersion string
	// Declared is the template's default version: what the stack declared
	// at the last `pulumi up`.
	Declared string
	// Instances are the group's instances that are not terminating.
	Instances []Instance
	// Desired and MaxSize are the group's capacity settings.
	Desired, MaxSize int
	// InstanceTypes are the types a pool's group launches (its mixed
	// instances policy's overrides); empty for a single-type group.
	InstanceTypes []string
	// mixed is the group's mixed instances policy, which a pool's group
	// names its launch template in (nil: the group's own LaunchTemplate).
	mixed *astypes.MixedInstancesPolicy
}

// Instance is one EC2 instance of a group.
type Instance struct {
	ID string
	// Version is the launch template version it was launched from (EC2's
	// aws:ec2launchtemplate:version tag).
	Version        string
	LifecycleState string
	PrivateIP      string
	Type           string
}

// InService is the lifecycle state of an instance serving in its group.
const InService = "InService"

// Fleet is the AWS side of the roll.
type Fleet interface {
	// MasterGroups lists the cluster's master groups, by slot.
	MasterGroups(ctx context.Context) ([]Group, error)
	// Group reads one group again.
	Group(ctx context.Context, name string) (Group, error)
	// SetVersion points the group at a launch template version.
	SetVersion(ctx context.Context, g Group, version string) error
	// Replace terminates an instance and keeps the group's capacity, so
	// that the group launches a successor.
	Replace(ctx context.Context, g Group, instanceID string) error
	// TargetHealth is the instance's state in the API target group
	// ("healthy", "initial", "unhealthy", ...).
	TargetHealth(ctx context.Context, instanceID string) (string, error)
}

// Gates are the cluster side of the roll: the health it waits for.
type Gates interface {
	// Etcd returns nil when every member of the cluster is healthy, else
	// which are not and why.
	Etcd(ctx context.Context) error
	// APIReady returns nil when the API server on the master at ip answers
	// /readyz with ok.
	APIReady(ctx context.Context, ip string) error
	// NodeReady returns nil when the node with internal address ip is
	// registered and Ready.
	NodeReady(ctx context.Context, ip string) error
	// Booted returns nil once the slot's master reports (its status
	// record) that its boot on the instance finished; an error wrapping
	// ErrBootFailed when it reports the boot failed, which stops the roll at
	// once instead of at the timeout.
	Booted(ctx context.Context, slot int, instanceID string) error
	// Snapshot takes an etcd snapshot into the backup bucket and returns
	// where it is.
	Snapshot(ctx context.Context) (string, error)
}

// Options tune a roll.
type Options struct {
	// DryRun prints the steps and changes nothing.
	DryRun bool
	// Timeout bounds each wait (the successor's launch, and then the
	// gates). Default 15 minutes, as kops validates a rolled instance.
	Timeout time.Duration
	// Poll is the interval between checks. Default 10 seconds.
	Poll time.Duration
	// SkipSnapshot skips the preflight snapshot (clusters without backups).
	SkipSnapshot bool
}

// Roller rolls a cluster's masters, then its node pools.
type Roller struct {
	Fleet Fleet
	Gates Gates
	// PoolFleet and PoolGates roll the node pools (RollPools).
	PoolFleet PoolFleet
	PoolGates PoolGates
	Out       io.Writer
	Opts      Options
	// Slots is the number of master slots the stack declares; the roll
	// refuses to start when AWS has another number of master groups.
	Slots int
	// sleep is replaced by the benchmark of the roll's own overhead.
	sleep func(context.Context, time.Duration) error
}

// ErrGate is wrapped by every error that stops a roll on a health gate
// (not on an AWS call that failed).
var ErrGate = errors.New("health gate")

// ErrBootFailed is wrapped by Gates.Booted when the master reported that its
// boot failed: no wait goes on after it.
var ErrBootFailed = errors.New("the master's boot failed")

// Pending reports whether g's instance is not on its declared version (or
// the group does not launch it), with why.
func (g Group) Pending() (bool, string) {
	switch {
	case len(g.Instances) == 0:
		return true, "it has no instance"
	case len(g.Instances) > 1:
		return true, fmt.Sprintf("it has %d instances", len(g.Instances))
	case g.Instances[0].Version != g.Declared:
		return true, fmt.Sprintf("instance %s runs launch template version %s, the stack declares %s", g.Instances[0].ID, orUnknown(g.Instances[0].Version), g.Declared)
	case g.GroupVersion != g.Declared:
		return true, fmt.Sprintf("the group launches version %s, the stack declares %s", g.GroupVersion, g.Declared)
	}
	return false, ""
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

func (r *Roller) printf(format string, args ...any) {
	if r.Out != nil {
		fmt.Fprintf(r.Out, format, args...)
	}
}

func (r *Roller) opts() Options { return r.Opts.withDefaults() }

// withDefaults fills in the defaults of the unset options.
func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 10 * time.Second
	}
	return o
}

// Masters rolls every master slot that is not on its declared launch
// template version, one at a time, and returns the slots it rolled.
func (r *Roller) Masters(ctx context.Context) ([]int, error) {
	o := r.opts()
	groups, err := r.Fleet.MasterGroups(ctx)
	if err != nil {
		return nil, err
	}
	if len(groups) == 0 {
		return nil, errors.New("no master groups found: is the stack deployed, and are the AWS credentials for its account and region?")
	}
	if r.Slots > 0 && len(groups) != r.Slots {
		var names []string
		for _, g := range groups {
			names = append(names, fmt.Sprintf("%s (slot %d)", g.Name, g.Slot))
		}
		return nil, fmt.Errorf("the stack declares %d master slots, AWS has %d master groups: %s; run `pulumi up` first", r.Slots, len(groups), strings.Join(names, ", "))
	}
	var pending []Group
	for _, g := range groups {
		if p, why := g.Pending(); p {
			r.printf("slot %d (%s): to roll: %s\n", g.Slot, g.Name, why)
			pending = append(pending, g)
		} else {
			r.printf("slot %d (%s): on declared version %s, skipped\n", g.Slot, g.Name, g.Declared)
		}
	}
	if len(pending) == 0 {
		r.printf("every master is on its declared launch template version; nothing to roll\n")
		return nil, nil
	}
	if o.DryRun {
		r.printf("\ndry run: the roll would\n")
		r.printf("  1. check every etcd member is healthy and every API server ready\n")
		if o.SkipSnapshot {
			r.printf("  2. take no snapshot (backups are off)\n")
		} else {
			r.printf("  2. take an etcd snapshot into the backup bucket\n")
		}
		for i, g := range pending {
			r.printf("  %d. slot %d: point %s at launch template version %s, replace its instance, wait for InService, etcd healthy, API ready, node Ready, target healthy\n", i+3, g.Slot, g.Name, g.Declared)
		}
		return nil, nil
	}

	r.printf("\npreflight\n")
	if err := r.healthy(ctx, groups); err != nil {
		return nil, fmt.Errorf("preflight: %w; nothing was replaced", err)
	}
	if o.SkipSnapshot {
		r.printf("  no snapshot: backups are off for this cluster\n")
	} else {
		where, err := r.Gates.Snapshot(ctx)
		if err != nil {
			return nil, fmt.Errorf("preflight: the etcd snapshot failed: %w; nothing was replaced", err)
		}
		r.printf("  etcd snapshot: %s\n", where)
	}

	var rolled []int
	for _, g := range pending {
		start := time.Now()
		if err := r.rollSlot(ctx, g); err != nil {
			return rolled, fmt.Errorf("slot %d (%s): %w. The roll stopped here; no later slot was touched. Fix the cause and run the roll again: it resumes at this slot", g.Slot, g.Name, err)
		}
		rolled = append(rolled, g.Slot)
		r.printf("slot %d: rolled in %s\n", g.Slot, time.Since(start).Round(time.Second))
	}
	return rolled, nil
}

// healthy is the preflight: every etcd member healthy and the API ready on
// every master.
func (r *Roller) healthy(ctx context.Context, groups []Group) error {
	if err := r.Gates.Etcd(ctx); err != nil {
		return fmt.Errorf("%w: etcd: %w", ErrGate, err)
	}
	r.printf("  etcd: every member healthy\n")
	for _, g := range groups {
		for _, in := range g.Instances {
			if err := r.Gates.APIReady(ctx, in.PrivateIP); err != nil {
				return fmt.Errorf("%w: slot %d's API server (%s, %s) is not ready: %w", ErrGate, g.Slot, in.ID, in.PrivateIP, err)
			}
		}
	}
	r.printf("  API: every master's API server ready\n")
	return nil
}

// rollSlot replaces one slot's instance and waits for every gate.
func (r *Roller) rollSlot(ctx context.Context, g Group) error {
	r.printf("\nslot %d (%s)\n", g.Slot, g.Name)
	if g.GroupVersion != g.Declared {
		if err := r.Fleet.SetVersion(ctx, g, g.Declared); err != nil {
			return fmt.Errorf("pointing the group at launch template version %s: %w", g.Declared, err)
		}
		r.printf("  group launches version %s\n", g.Declared)
	}
	old := map[string]bool{}
	for _, in := range g.Instances {
		old[in.ID] = true
	}
	for _, in := range g.Instances {
		if in.Version == g.Declared && len(g.Instances) == 1 {
			break // only the group's version was behind
		}
		if err := r.Fleet.Replace(ctx, g, in.ID); err != nil {
			return fmt.Errorf("replacing instance %s: %w", in.ID, err)
		}
		r.printf("  instance %s terminating\n", in.ID)
	}

	var next Instance
	if err := r.wait(ctx, "its new instance to be InService on version "+g.Declared, func() error {
		cur, err := r.Fleet.Group(ctx, g.Name)
		if err != nil {
			return err
		}
		var serving []Instance
		for _, in := range cur.Instances {
			if old[in.ID] {
				continue
			}
			if err := r.Gates.Booted(ctx, g.Slot, in.ID); errors.Is(err, ErrBootFailed) {
				return err
			}
			if in.LifecycleState == InService && in.Version == g.Declared {
				serving = append(serving, in)
			}
		}
		if len(serving) != 1 {
			return fmt.Errorf("%d new instances in service (instances: %s)", len(serving), states(cur.Instances))
		}
		next = serving[0]
		return nil
	}); err != nil {
		return err
	}
	r.printf("  instance %s InService (%s)\n", next.ID, next.PrivateIP)

	gates := []struct {
		what  string
		check func() error
	}{
		{"its boot to finish", func() error { return r.Gates.Booted(ctx, g.Slot, next.ID) }},
		{"every etcd member to be healthy", func() error { return r.Gates.Etcd(ctx) }},
		{"its API server to be ready", func() error { return r.Gates.APIReady(ctx, next.PrivateIP) }},
		{"its node to be Ready", func() error { return r.Gates.NodeReady(ctx, next.PrivateIP) }},
		{"its load balancer target to be healthy", func() error {
			h, err := r.Fleet.TargetHealth(ctx, next.ID)
			if err != nil {
				return err
			}
			if h != "healthy" {
				return fmt.Errorf("target %s is %s", next.ID, h)
			}
			return nil
		}},
	}
	for _, gate := range gates {
		if err := r.wait(ctx, gate.what, gate.check); err != nil {
			return fmt.Errorf("%w: %w", ErrGate, err)
		}
		r.printf("  %s: ok\n", strings.TrimPrefix(strings.TrimPrefix(gate.what, "its "), "every "))
	}
	return nil
}

// wait polls check until it returns nil, an error wrapping ErrBootFailed, or
// the timeout.
func (r *Roller) wait(ctx context.Context, what string, check func() error) error {
	return r.opts().wait(ctx, r.sleep, what, check)
}

// wait polls check every o.Poll for at most o.Timeout, sleeping with sleep
// (nil: the clock's).
func (o Options) wait(ctx context.Context, sleep func(context.Context, time.Duration) error, what string, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if sleep == nil {
		sleep = sleepCtx
	}
	for {
		err := check()
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrBootFailed) {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if sleep(ctx, o.Poll) != nil {
			return fmt.Errorf("timed out after %s waiting for %s: %w", o.Timeout, what, err)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func states(ins []Instance) string {
	if len(ins) == 0 {
		return "none"
	}
	var s []string
	for _, in := range ins {
		s = append(s, fmt.Sprintf("%s %s v%s", in.ID, in.LifecycleState, orUnknown(in.Version)))
	}
	return strings.Join(s, ", ")
}

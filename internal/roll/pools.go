package roll

// The node pools' phase of the roll: after the masters, each pool in the
// order the operator sets, in batches its instanceRefresh settings bound.
// A pool's nodes are replaced by the roll rather than by an Auto Scaling
// instance refresh, for the same reasons as the masters' (docs/roll.md,
// "Decisions"), and one more: the roll evicts every pod through the
// Eviction API before it terminates a node, so a PodDisruptionBudget that
// forbids an eviction stops the roll instead of being overridden when the
// termination hook's heartbeat runs out.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kinfra-dev/kinfra/spec"
)

// Pool is how the roll replaces one node pool's nodes.
type Pool struct {
	Name string
	// MinHealthyPercentage of the pool's nodes stay in service: at most
	// the rest are drained at once.
	MinHealthyPercentage int
	// MaxHealthyPercentage above 100 lets the roll launch replacements
	// before the nodes they replace are drained (within the group's
	// maxSize).
	MaxHealthyPercentage int
	// Warmup passes after a batch's new nodes are Ready, before the next
	// batch: time for the workloads to settle on them.
	Warmup time.Duration
	// DrainTimeout bounds the eviction of one batch's pods.
	DrainTimeout time.Duration
}

// PoolsOf are the stack's pools in the order the roll takes them: names
// when given (a subset, in that order), else the order of
// cluster.nodePools.
func PoolsOf(c spec.Cluster, names []string) ([]Pool, error) {
	byName := map[string]spec.NodePool{}
	var all []string
	for _, p := range c.NodePools {
		byName[p.Name] = p
		all = append(all, p.Name)
	}
	if names == nil {
		names = all
	}
	var out []Pool
	var unknown []string
	seen := map[string]bool{}
	for _, n := range names {
		p, ok := byName[n]
		if !ok {
			unknown = append(unknown, n)
			continue
		}
		if seen[n] {
			return nil, fmt.Errorf("pool %s is named twice", n)
		}
		seen[n] = true
		r := p.InstanceRefresh
		out = append(out, Pool{
			Name:                 p.Name,
			MinHealthyPercentage: *r.MinHealthyPercentage,
			MaxHealthyPercentage: r.MaxHealthyPercentage,
			Warmup:               time.Duration(r.InstanceWarmupSeconds) * time.Second,
			DrainTimeout:         time.Duration(p.DrainTimeoutSeconds) * time.Second,
		})
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("the stack has no node pool %s; it has %s", strings.Join(unknown, ", "), strings.Join(all, ", "))
	}
	return out, nil
}

// PoolFleet is the AWS side of the pools' roll.
type PoolFleet interface {
	// PoolGroups are the cluster's node pool groups, by pool name.
	PoolGroups(ctx context.Context) (map[string]Group, error)
	// Group reads one group again.
	Group(ctx context.Context, name string) (Group, error)
	// SetVersion points the group at a launch template version.
	SetVersion(ctx context.Context, g Group, version string) error
	// SetDesired sets the group's desired capacity.
	SetDesired(ctx context.Context, g Group, n int) error
	// Replace terminates an instance and keeps the group's capacity.
	Replace(ctx context.Context, g Group, instanceID string) error
	// Remove terminates an instance and lowers the group's capacity by one.
	Remove(ctx context.Context, g Group, instanceID string) error
}

// PoolGates are the cluster side of the pools' roll, through the API.
type PoolGates interface {
	// Cordon marks the node with internal address ip unschedulable.
	Cordon(ctx context.Context, ip string) error
	// Evict asks the Eviction API to evict every pod of the node that a
	// drain moves (not DaemonSet or static pods, nor finished ones), and
	// returns nil once none is left, else which are left and why (a
	// PodDisruptionBudget that forbids the eviction, a pod still stopping).
	Evict(ctx context.Context, ip string) error
	// Uncordon makes the node schedulable again.
	Uncordon(ctx context.Context, ip string) error
	// NodesReady returns nil when the nodes with these internal addresses
	// are all registered and Ready, else which are not (one list of the
	// nodes, however many).
	NodesReady(ctx context.Context, ips []string) error
}

// Stale are the group's instances the roll replaces: not launched from the
// declared launch template version, or of an instance type the pool no
// longer lists.
func (g Group) Stale() []Instance {
	var out []Instance
	for _, in := range g.Instances {
		if in.Version != g.Declared || (len(g.InstanceTypes) > 0 && in.Type != "" && !slices.Contains(g.InstanceTypes, in.Type)) {
			out = append(out, in)
		}
	}
	return out
}

// batch is how many nodes one step of a pool's roll takes: up to surge
// launched first (capacity above the group's), and down drained while the
// rest stay in service.
func (p Pool) batch(g Group) (surge, down int, err error) {
	n := 0
	for _, in := range g.Instances {
		if in.LifecycleState == InService {
			n++
		}
	}
	down = n * (100 - p.MinHealthyPercentage) / 100
	surge = (n*(p.MaxHealthyPercentage-100) + 99) / 100
	surge = max(0, min(surge, g.MaxSize-g.Desired))
	if surge+down == 0 {
		if p.MinHealthyPercentage < 100 {
			return 0, 1, nil // as an instance refresh: at least one at a time
		}
		return 0, 0, fmt.Errorf("minHealthyPercentage 100 keeps every node in service, and no replacement can launch first: the group runs %d of its maxSize %d with maxHealthyPercentage %d; raise maxHealthyPercentage or maxSize", g.Desired, g.MaxSize, p.MaxHealthyPercentage)
	}
	return surge, down, nil
}

// RollPools replaces the stale nodes of each pool in turn, and returns the
// pools it changed.
func (r *Roller) RollPools(ctx context.Context, pools []Pool) ([]string, error) {
	o := r.opts()
	groups, err := r.PoolFleet.PoolGroups(ctx)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, p := range pools {
		if _, ok := groups[p.Name]; !ok {
			missing = append(missing, p.Name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the stack declares node pools AWS has no group for: %s; run `pulumi up` first", strings.Join(missing, ", "))
	}
	var todo []Pool
	for _, p := range pools {
		g := groups[p.Name]
		stale := g.Stale()
		switch {
		case len(stale) > 0:
			r.printf("pool %s (%s): %d of %d nodes to replace (launch template version %s declared)\n", p.Name, g.Name, len(stale), len(g.Instances), g.Declared)
			todo = append(todo, p)
		case g.GroupVersion != g.Declared:
			r.printf("pool %s (%s): every node matches; the group launches version %s, the stack declares %s\n", p.Name, g.Name, g.GroupVersion, g.Declared)
			todo = append(todo, p)
		default:
			r.printf("pool %s (%s): every node on declared version %s, skipped\n", p.Name, g.Name, g.Declared)
		}
	}
	if len(todo) == 0 {
		return nil, nil
	}
	if o.DryRun {
		r.printf("\ndry run: the roll would, pool by pool\n")
		for _, p := range todo {
			g := groups[p.Name]
			surge, down, err := p.batch(g)
			if err != nil {
				r.printf("  pool %s: refuse: %v\n", p.Name, err)
				continue
			}
			r.printf("  pool %s: point %s at launch template version %s; then in batches of %d nodes (%d replacements launched first): cordon, evict (PodDisruptionBudgets honoured, %s at most), terminate, wait for the new nodes Ready and %s of warmup\n",
				p.Name, g.Name, g.Declared, surge+down, surge, p.DrainTimeout, p.Warmup)
		}
		return nil, nil
	}
	var rolled []string
	for _, p := range todo {
		if err := r.rollPool(ctx, p, groups[p.Name]); err != nil {
			return rolled, fmt.Errorf("pool %s (%s): %w. The roll stopped here; no later batch or pool was touched. Fix the cause and run the roll again: it resumes with this pool's remaining nodes", p.Name, groups[p.Name].Name, err)
		}
		rolled = append(rolled, p.Name)
	}
	return rolled, nil
}

func (r *Roller) rollPool(ctx context.Context, p Pool, g Group) error {
	r.printf("\npool %s (%s)\n", p.Name, g.Name)
	if g.GroupVersion != g.Declared {
		if err := r.PoolFleet.SetVersion(ctx, g, g.Declared); err != nil {
			return fmt.Errorf("pointing the group at launch template version %s: %w", g.Declared, err)
		}
		r.printf("  group launches version %s\n", g.Declared)
		g.GroupVersion = g.Declared
	}
	for {
		stale := g.Stale()
		if len(stale) == 0 {
			r.printf("  every node on version %s\n", g.Declared)
			return nil
		}
		surge, down, err := p.batch(g)
		if err != nil {
			return err
		}
		batch := stale[:min(surge+down, len(stale))]
		launch := min(surge, len(batch))
		if g, err = r.poolBatch(ctx, p, g, batch, launch); err != nil {
			return err
		}
	}
}

// poolBatch replaces batch's nodes, the first launch of them by capacity
// launched before they go, and returns the group as it then is.
func (r *Roller) poolBatch(ctx context.Context, p Pool, g Group, batch []Instance, launch int) (Group, error) {
	var ids []string
	for _, in := range batch {
		ids = append(ids, in.ID)
	}
	r.printf("  batch: %s\n", strings.Join(ids, ", "))
	before := map[string]bool{}
	for _, in := range g.Instances {
		before[in.ID] = true
	}
	if launch > 0 {
		cur, err := r.PoolFleet.Group(ctx, g.Name)
		if err != nil {
			return g, err
		}
		if err := r.PoolFleet.SetDesired(ctx, cur, cur.Desired+launch); err != nil {
			return g, fmt.Errorf("launching %d replacements first (desired capacity %d to %d): %w", launch, cur.Desired, cur.Desired+launch, err)
		}
		r.printf("  desired capacity %d to %d: %d replacements launch first\n", cur.Desired, cur.Desired+launch, launch)
		if g, err = r.settle(ctx, g, before, nil); err != nil {
			return g, err
		}
	}

	var cordoned []Instance
	undo := func(cause error) error {
		for _, in := range cordoned {
			if err := r.PoolGates.Uncordon(ctx, in.PrivateIP); err != nil {
				cause = fmt.Errorf("%w; uncordoning %s (%s) failed too: %v", cause, in.ID, in.PrivateIP, err)
			}
		}
		if launch > 0 {
			cause = fmt.Errorf("%w. The %d replacements launched first keep running (the group's desired capacity stays raised); the next run counts them", cause, launch)
		}
		return cause
	}
	for _, in := range batch {
		if err := r.PoolGates.Cordon(ctx, in.PrivateIP); err != nil {
			return g, undo(fmt.Errorf("cordoning node %s (%s): %w", in.PrivateIP, in.ID, err))
		}
		cordoned = append(cordoned, in)
	}
	r.printf("  cordoned %d nodes\n", len(cordoned))
	for _, in := range batch {
		o := r.opts()
		o.Timeout = p.DrainTimeout
		if err := o.wait(ctx, r.sleep, fmt.Sprintf("node %s (%s) to drain", in.PrivateIP, in.ID), func() error { return r.PoolGates.Evict(ctx, in.PrivateIP) }); err != nil {
			return g, undo(fmt.Errorf("%w: %w; its nodes were uncordoned and keep running", ErrGate, err))
		}
		r.printf("  node %s (%s) drained\n", in.PrivateIP, in.ID)
	}

	gone := map[string]bool{}
	for i, in := range batch {
		terminate, how := r.PoolFleet.Replace, "terminating, a successor launches"
		if i < launch {
			terminate, how = r.PoolFleet.Remove, "terminating, its replacement already runs"
		}
		if err := terminate(ctx, g, in.ID); err != nil {
			// cluster-autoscaler may have scaled it in meanwhile.
			cur, rerr := r.PoolFleet.Group(ctx, g.Name)
			if rerr != nil || slices.ContainsFunc(cur.Instances, func(c Instance) bool { return c.ID == in.ID }) {
				return g, fmt.Errorf("terminating %s: %w", in.ID, err)
			}
			r.printf("  instance %s already left the group\n", in.ID)
		} else {
			r.printf("  instance %s %s\n", in.ID, how)
		}
		gone[in.ID] = true
	}
	g, err := r.settle(ctx, g, before, gone)
	if err != nil {
		return g, err
	}
	if p.Warmup > 0 {
		r.printf("  warmup %s\n", p.Warmup)
		sleep := r.sleep
		if sleep == nil {
			sleep = sleepCtx
		}
		if err := sleep(ctx, p.Warmup); err != nil {
			return g, err
		}
	}
	return g, nil
}

// settle waits until the group holds its desired capacity, every instance
// in service, none of gone left, and every instance not in before launched
// from the declared version with its node Ready; it returns the group then.
func (r *Roller) settle(ctx context.Context, g Group, before, gone map[string]bool) (Group, error) {
	var cur Group
	err := r.wait(ctx, "the group to settle with its new nodes Ready", func() error {
		var err error
		if cur, err = r.PoolFleet.Group(ctx, g.Name); err != nil {
			return err
		}
		for _, in := range cur.Instances {
			if gone[in.ID] {
				return fmt.Errorf("instance %s has not left the group yet", in.ID)
			}
		}
		if len(cur.Instances) != cur.Desired {
			return fmt.Errorf("%d instances, desired capacity %d (instances: %s)", len(cur.Instances), cur.Desired, states(cur.Instances))
		}
		var problems, ips []string
		for _, in := range cur.Instances {
			switch {
			case in.LifecycleState != InService:
				problems = append(problems, fmt.Sprintf("instance %s is %s", in.ID, in.LifecycleState))
			case before[in.ID]:
			case in.Version != cur.Declared:
				problems = append(problems, fmt.Sprintf("new instance %s runs launch template version %s, not %s", in.ID, orUnknown(in.Version), cur.Declared))
			default:
				ips = append(ips, in.PrivateIP)
			}
		}
		if len(problems) > 0 {
			return errors.New(strings.Join(problems, "; "))
		}
		if len(ips) == 0 {
			return nil
		}
		return r.PoolGates.NodesReady(ctx, ips)
	})
	if err != nil {
		return g, fmt.Errorf("%w: %w", ErrGate, err)
	}
	r.printf("  group settled: %d nodes in service, the new ones Ready\n", len(cur.Instances))
	return cur, nil
}

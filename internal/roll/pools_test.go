package roll

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/roll/rolltest"
	"github.com/kinfra-dev/kinfra/spec"
)

// fakePoolGates record every cordon, eviction and uncordon, and refuse the
// evictions of the nodes in refused (as the Eviction API does when a
// PodDisruptionBudget forbids one).
type fakePoolGates struct {
	mu       sync.Mutex
	log      []string
	refused  map[string]string
	cordoned map[string]bool
}

func (f *fakePoolGates) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, s)
}

func (f *fakePoolGates) Cordon(_ context.Context, ip string) error {
	f.record("cordon " + ip)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cordoned[ip] = true
	return nil
}

func (f *fakePoolGates) Uncordon(_ context.Context, ip string) error {
	f.record("uncordon " + ip)
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.cordoned, ip)
	return nil
}

func (f *fakePoolGates) Evict(_ context.Context, ip string) error {
	f.record("evict " + ip)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.cordoned[ip] {
		return fmt.Errorf("node %s is not cordoned", ip)
	}
	if why, ok := f.refused[ip]; ok {
		return fmt.Errorf("node %s has 1 pods left: shop/web-1: eviction refused (429): %s", ip, why)
	}
	return nil
}

func (f *fakePoolGates) NodesReady(_ context.Context, ips []string) error {
	f.record("ready " + strings.Join(ips, ","))
	return nil
}

// watchedFleet records, at each termination, the instance, how, and the
// group's capacity then.
type watchedFleet struct {
	*AWSFleet
	gates *fakePoolGates
}

func (w *watchedFleet) terminate(ctx context.Context, g Group, id string, how string, do func(context.Context, Group, string) error) error {
	cur, err := w.Group(ctx, g.Name)
	if err != nil {
		return err
	}
	ip := ""
	for _, in := range cur.Instances {
		if in.ID == id {
			ip = in.PrivateIP
		}
	}
	w.gates.record(fmt.Sprintf("%s %s %s in-service=%d desired=%d", how, g.Pool, ip, inService(cur), cur.Desired))
	return do(ctx, g, id)
}

func (w *watchedFleet) Replace(ctx context.Context, g Group, id string) error {
	return w.terminate(ctx, g, id, "replace", w.AWSFleet.Replace)
}

func (w *watchedFleet) Remove(ctx context.Context, g Group, id string) error {
	return w.terminate(ctx, g, id, "remove", w.AWSFleet.Remove)
}

func inService(g Group) int {
	n := 0
	for _, in := range g.Instances {
		if in.LifecycleState == InService {
			n++
		}
	}
	return n
}

type motoPools struct {
	*motoCluster
	cfg   aws.Config
	pools map[string]rolltest.Pool
}

func startMotoPools(t *testing.T, sizes map[string][2]int) *motoPools {
	t.Helper()
	c := startMotoCluster(t, 3)
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
	require.NoError(t, err)
	m := &motoPools{motoCluster: c, cfg: cfg, pools: map[string]rolltest.Pool{}}
	for name, s := range sizes {
		m.pools[name] = c.CreatePool(t, cfg, motoClusterName, name, s[0], s[1])
	}
	return m
}

func (m *motoPools) group(t *testing.T, pool string) Group {
	t.Helper()
	g, err := m.fleet.Group(context.Background(), m.pools[pool].Group)
	require.NoError(t, err)
	return g
}

func ips(g Group) []string {
	var out []string
	for _, in := range g.Instances {
		out = append(out, in.PrivateIP)
	}
	return out
}

func pool(name string, minHealthy, maxHealthy int) Pool {
	return Pool{Name: name, MinHealthyPercentage: minHealthy, MaxHealthyPercentage: maxHealthy, DrainTimeout: time.Second}
}

func TestPoolsRollInTheirOrderInBatchesDrainingEveryNodeFirst(t *testing.T) {
	m := startMotoPools(t, map[string][2]int{"general": {4, 10}, "ingress": {2, 4}})
	gates := &fakePoolGates{cordoned: map[string]bool{}}
	var out bytes.Buffer
	r := &Roller{PoolFleet: &watchedFleet{AWSFleet: m.fleet, gates: gates}, PoolGates: gates, Out: &out, Opts: fastOptions()}
	// ingress keeps every node in service and launches one replacement
	// first (max 150% of 2 nodes, room to maxSize 4); general drains two
	// of its four at a time (min 50%) and launches none first.
	pools := []Pool{pool("ingress", 100, 150), pool("general", 50, 100)}

	rolled, err := r.RollPools(context.Background(), pools)
	require.NoError(t, err)
	require.Empty(t, rolled)
	require.Contains(t, out.String(), "pool ingress (prod-use1-pool-ingress): every node on declared version 1, skipped")
	require.Empty(t, gates.log, "nothing declared: nothing touched")

	for _, p := range m.pools {
		m.DeclarePool(t, p)
	}
	old := map[string][]string{"ingress": ips(m.group(t, "ingress")), "general": ips(m.group(t, "general"))}

	out.Reset()
	r.Opts.DryRun = true
	rolled, err = r.RollPools(context.Background(), pools)
	require.NoError(t, err)
	require.Empty(t, rolled)
	require.Contains(t, out.String(), "pool ingress (prod-use1-pool-ingress): 2 of 2 nodes to replace (launch template version 2 declared)")
	require.Contains(t, out.String(), "pool ingress: point prod-use1-pool-ingress at launch template version 2; then in batches of 1 nodes (1 replacements launched first): cordon, evict")
	require.Contains(t, out.String(), "pool general: point prod-use1-pool-general at launch template version 2; then in batches of 2 nodes (0 replacements launched first)")
	require.Empty(t, gates.log, "a dry run touches nothing")
	require.Equal(t, "1", m.group(t, "general").GroupVersion)

	out.Reset()
	r.Opts.DryRun = false
	rolled, err = r.RollPools(context.Background(), pools)
	require.NoError(t, err, out.String())
	require.Equal(t, []string{"ingress", "general"}, rolled)
	for name, size := range map[string]int{"ingress": 2, "general": 4} {
		g := m.group(t, name)
		require.Equal(t, "2", g.GroupVersion, "%s's group launches the declared version", name)
		require.Equal(t, size, g.Desired, "%s's group is back at its capacity", name)
		require.Len(t, g.Instances, size)
		for _, in := range g.Instances {
			require.Equal(t, "2", in.Version, "%s's node %s runs the declared version", name, in.ID)
			require.NotContains(t, old[name], in.PrivateIP)
		}
	}

	// Every old node was cordoned, then drained, then terminated; ingress
	// never ran fewer than its 2 nodes, general never fewer than 2 of 4;
	// ingress went first.
	at := func(s string) int {
		i := slices.Index(gates.log, s)
		require.GreaterOrEqual(t, i, 0, "%q in %v", s, gates.log)
		return i
	}
	var terminations []string
	for _, l := range gates.log {
		if strings.HasPrefix(l, "replace ") || strings.HasPrefix(l, "remove ") {
			terminations = append(terminations, l)
		}
	}
	require.Len(t, terminations, 6, "%v", gates.log)
	for _, tm := range terminations[:2] {
		require.Regexp(t, `^remove ingress \S+ in-service=3 desired=3$`, tm, "ingress: its replacement ran before the node went")
	}
	for _, tm := range terminations[2:] {
		require.Regexp(t, `^replace general \S+ in-service=(4|3) desired=4$`, tm)
	}
	for name, list := range old {
		for _, ip := range list {
			c, e := at("cordon "+ip), at("evict "+ip)
			var term int
			for i, l := range gates.log {
				if strings.HasPrefix(l, "replace "+name+" "+ip+" ") || strings.HasPrefix(l, "remove "+name+" "+ip+" ") {
					term = i
				}
			}
			require.Less(t, c, e, "%s cordoned before its eviction", ip)
			require.Less(t, e, term, "%s drained before it was terminated", ip)
		}
	}
	require.Less(t, at("cordon "+old["ingress"][1]), at("cordon "+old["general"][0]), "ingress first, as asked")
	require.Len(t, gates.cordoned, 6, "only the terminated nodes were cordoned")
	for _, l := range gates.log {
		require.False(t, strings.HasPrefix(l, "uncordon "), "no drain failed: %s", l)
	}

	// Again: every node matches; nothing touched.
	gates.log = nil
	rolled, err = r.RollPools(context.Background(), pools)
	require.NoError(t, err)
	require.Empty(t, rolled)
	require.Empty(t, gates.log)
}

func TestARefusedEvictionStopsThePoolsRollWithTheNodeUncordonedAndTheRollResumes(t *testing.T) {
	m := startMotoPools(t, map[string][2]int{"general": {3, 6}, "batch": {1, 2}})
	for _, p := range m.pools {
		m.DeclarePool(t, p)
	}
	old := m.group(t, "general")
	blocked := old.Instances[1]
	pdb := "Cannot evict pod as it would violate the pod's disruption budget."
	gates := &fakePoolGates{cordoned: map[string]bool{}, refused: map[string]string{blocked.PrivateIP: pdb}}
	var out bytes.Buffer
	r := &Roller{PoolFleet: m.fleet, PoolGates: gates, Out: &out, Opts: fastOptions()}
	// One node at a time, none launched first.
	pools := []Pool{pool("general", 67, 100), pool("batch", 0, 100)}
	pools[0].DrainTimeout = 300 * time.Millisecond

	rolled, err := r.RollPools(context.Background(), pools)
	require.Error(t, err)
	require.ErrorIs(t, err, ErrGate)
	require.Empty(t, rolled)
	require.Equal(t, fmt.Sprintf("pool general (prod-use1-pool-general): health gate: timed out after 300ms waiting for node %[1]s (%[2]s) to drain: node %[1]s has 1 pods left: shop/web-1: eviction refused (429): %[3]s; its nodes were uncordoned and keep running. The roll stopped here; no later batch or pool was touched. Fix the cause and run the roll again: it resumes with this pool's remaining nodes", blocked.PrivateIP, blocked.ID, pdb), err.Error())
	require.NotContains(t, gates.cordoned, blocked.PrivateIP, "the node the budget holds is schedulable again")
	g := m.group(t, "general")
	require.True(t, slices.ContainsFunc(g.Instances, func(in Instance) bool { return in.ID == blocked.ID }), "it keeps running")
	require.Len(t, g.Stale(), 2, "the node before it was replaced, the one after it untouched")
	require.Equal(t, "1", m.group(t, "batch").GroupVersion, "no later pool was touched")

	// The budget allows it now: the same roll resumes and finishes.
	delete(gates.refused, blocked.PrivateIP)
	rolled, err = r.RollPools(context.Background(), pools)
	require.NoError(t, err, out.String())
	require.Equal(t, []string{"general", "batch"}, rolled)
	for _, name := range []string{"general", "batch"} {
		require.Empty(t, m.group(t, name).Stale(), name)
	}
}

func TestAPoolThatMayLoseNoNodeAndCannotGrowIsRefused(t *testing.T) {
	m := startMotoPools(t, map[string][2]int{"ingress": {2, 2}})
	m.DeclarePool(t, m.pools["ingress"])
	gates := &fakePoolGates{cordoned: map[string]bool{}}
	r := &Roller{PoolFleet: m.fleet, PoolGates: gates, Opts: fastOptions()}
	_, err := r.RollPools(context.Background(), []Pool{pool("ingress", 100, 150)})
	require.EqualError(t, err, "pool ingress (prod-use1-pool-ingress): minHealthyPercentage 100 keeps every node in service, and no replacement can launch first: the group runs 2 of its maxSize 2 with maxHealthyPercentage 150; raise maxHealthyPercentage or maxSize. The roll stopped here; no later batch or pool was touched. Fix the cause and run the roll again: it resumes with this pool's remaining nodes")
	require.Empty(t, gates.log)

	_, err = r.RollPools(context.Background(), []Pool{pool("ingress", 90, 110), pool("spare", 90, 110)})
	require.EqualError(t, err, "the stack declares node pools AWS has no group for: spare; run `pulumi up` first")
}

func TestPoolsOfTakesTheStacksOrderOrTheOperators(t *testing.T) {
	c := spec.Cluster{NodePools: []spec.NodePool{{Name: "general"}, {Name: "ingress"}, {Name: "batch"}}}
	c = c.WithDefaults()
	got, err := PoolsOf(c, nil)
	require.NoError(t, err)
	require.Equal(t, "general ingress batch", names(got))
	require.Equal(t, Pool{Name: "general", MinHealthyPercentage: 90, MaxHealthyPercentage: 110, Warmup: 300 * time.Second, DrainTimeout: 900 * time.Second}, got[0])
	got, err = PoolsOf(c, []string{"batch", "general"})
	require.NoError(t, err)
	require.Equal(t, "batch general", names(got))
	_, err = PoolsOf(c, []string{"batch", "gpu", "spot"})
	require.EqualError(t, err, "the stack has no node pool gpu, spot; it has general, ingress, batch")
	_, err = PoolsOf(c, []string{"batch", "batch"})
	require.EqualError(t, err, "pool batch is named twice")
}

func names(ps []Pool) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Name)
	}
	return strings.Join(s, " ")
}

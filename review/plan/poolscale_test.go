package plan

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/review/findings"
	"github.com/kinfra-dev/kinfra/spec"
)

// poolsStack is a three-zone stack with n node pools of the defaults.
func poolsStack(tb testing.TB, n int) stackfile.File {
	tb.Helper()
	// Address room for 10,000 pools of one node: a /18 of nodes per zone,
	// and a node block each in the pod range.
	c := spec.Cluster{
		Name: "many",
		Network: spec.Network{
			VpcCidr: "10.0.0.0/16", PrivateSubnetPrefixLength: 18,
			AvailabilityZones: []string{"us-east-1a", "us-east-1b", "us-east-1c"},
		},
		Kubernetes: spec.Kubernetes{PodCidr: "100.64.0.0/10"},
	}
	for i := range n {
		c.NodePools = append(c.NodePools, spec.NodePool{Name: fmt.Sprintf("p%05d", i), MinSize: 0, MaxSize: 1})
	}
	js, err := json.Marshal(c)
	require.NoError(tb, err)
	return stackfile.File{Name: "us-east-1", Config: map[string]string{"aws:region": "us-east-1", "kinfra:cluster": string(js)}}
}

// benchPoolCounts are BenchmarkPlanNodePools' sizes: small by default, so
// that the test command's one pass stays short; KINFRA_BENCH_POOLS lists
// others (docs/decisions.md, "Performance").
func benchPoolCounts(tb testing.TB) []int {
	env := os.Getenv("KINFRA_BENCH_POOLS")
	if env == "" {
		return []int{100, 200, 400}
	}
	var counts []int
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			tb.Fatalf("KINFRA_BENCH_POOLS=%q: %q is not a pool count; give counts separated by commas, e.g. 250,500,1000,2000", env, f)
		}
		counts = append(counts, n)
	}
	return counts
}

// BenchmarkPlanNodePools plans a stack of n pools; ns/pool stays flat (or
// falls, as the fixed cost spreads) when the plan's cost is linear in pools.
func BenchmarkPlanNodePools(b *testing.B) {
	for _, n := range benchPoolCounts(b) {
		b.Run(fmt.Sprintf("pools=%d", n), func(b *testing.B) {
			sf := poolsStack(b, n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Run(sf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/pool")
		})
	}
}

// planAllocs is the heap allocations of one plan of n pools: a count of the
// plan's work that, unlike its time, the machine's load does not change.
func planAllocs(t *testing.T, n int) float64 {
	sf := poolsStack(t, n)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Run(sf)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	return float64(after.Mallocs - before.Mallocs)
}

// A plan's cost is linear in its node pools: each pool beyond the first
// costs the same at 320 pools as at 40. Work that compares or re-derives
// every pool for each pool makes the cost of a pool grow with their number
// (defaulting the whole cluster once per pool did: 16 allocations per pair
// of pools, a cost per pool 40% higher at 320 pools than at 40).
func TestPlanWorkPerNodePoolDoesNotGrowWithThePools(t *testing.T) {
	one := planAllocs(t, 1)
	perPool := func(n int) float64 { return (planAllocs(t, n) - one) / float64(n-1) }
	few, many := perPool(40), perPool(320)
	t.Logf("allocations per pool: %.0f at 40 pools, %.0f at 320", few, many)
	require.Less(t, many/few, 1.1, "a pool costs %.0f allocations at 40 pools and %.0f at 320", few, many)
}

// The plan counts the groups it creates, master groups included, against
// the region's default quota: three masters and 498 pools are 501 groups.
func TestAPlanOfMoreAutoScalingGroupsThanTheRegionsDefaultQuotaWarns(t *testing.T) {
	p, err := Run(poolsStack(t, findings.DefaultAutoScalingGroupQuota-2))
	require.NoError(t, err)
	require.Equal(t, 3, p.Config.Masters.Count)
	require.Equal(t, findings.DefaultAutoScalingGroupQuota+1, p.Counts()["aws:autoscaling/group:Group"])
	var quota []findings.Finding
	for _, f := range p.Findings {
		if f.Rule == "quota/auto-scaling-groups" {
			quota = append(quota, f)
		}
	}
	require.Len(t, quota, 1)
	require.Equal(t, findings.Warning, quota[0].Severity)
	require.Contains(t, quota[0].Message, "creates 501 Auto Scaling groups")
	require.Empty(t, findings.Errors(p.Findings), "a warning does not fail the plan")
}

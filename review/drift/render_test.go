package drift

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/inventory"
)

// driftedReport is the test stack with a hand-made rule, a resized pool and
// a deleted NAT gateway.
func driftedReport(t *testing.T) *Report {
	inv := liveAccount(t, sharedPlan(t))
	g := securityGroup(t, inv, mastersSG)
	g.Ingress = append(g.Ingress, inventory.Rule{ID: "sgr-0hand0000000001", Protocol: "tcp", FromPort: 22, ToPort: 22, CidrIPv4: "0.0.0.0/0"})
	group(t, inv, pool).MaxSize = 50
	inv.NatGateways = inv.NatGateways[1:]
	return compare(t, inv)
}

func TestReportOrderIsKindTypeNamePath(t *testing.T) {
	r := driftedReport(t)
	require.Equal(t, map[Kind]int{Missing: 1, Changed: 1, Unplanned: 1}, r.Counts())
	require.Equal(t, []Kind{Missing, Changed, Unplanned}, []Kind{r.Drifts[0].Kind, r.Drifts[1].Kind, r.Drifts[2].Kind})
	// Sorting an already sorted report changes nothing, and the order does
	// not depend on the inventory's.
	inv := liveAccount(t, sharedPlan(t))
	slices.Reverse(inv.SecurityGroups)
	slices.Reverse(inv.Subnets)
	slices.Reverse(inv.RouteTables)
	again := compare(t, inv)
	require.Empty(t, again.Drifts)
	require.Equal(t, compare(t, liveAccount(t, sharedPlan(t))).Compared, again.Compared)
}

func TestTextReport(t *testing.T) {
	var b bytes.Buffer
	driftedReport(t).Text(&b)
	out := b.String()
	for _, want := range []string{
		"Drift of stack drift (cluster drift-test, us-east-1): 1 missing, 1 changed, 1 unplanned;",
		"\nMissing (in the plan, not in the account):\n  drift-test-network-nat-us-east-1",
		"\nChanged outside code:\n  drift-test-pool-general drift-test-pool-general-5d6e7f8  (aws:autoscaling/group:Group)\n      maxSize: maxSize differs from the plan (plan 5, live 50)\n",
		"\nUnplanned (in the account, not in the plan):\n  drift-test-masters-masters sgr-0hand0000000001  (aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule)\n      ingress: security group drift-test-masters-masters has an ingress rule the plan does not have (plan: none, live tcp 22 from 0.0.0.0/0)\n",
		"\nNot compared:\n  - " + whyOtherType + ":\n      aws:autoscaling/lifecycleHook:LifecycleHook (1)\n",
		"aws:autoscaling/group:Group desiredCapacity (2)",
	} {
		require.Contains(t, out, want)
	}
	b.Reset()
	compare(t, liveAccount(t, sharedPlan(t))).Text(&b)
	require.Regexp(t, `^Drift of stack drift \(cluster drift-test, us-east-1\): no drift: the account matches the plan in the \d+ resources compared\n\nNot compared:`, b.String())
}

func TestMarkdownReport(t *testing.T) {
	var b bytes.Buffer
	driftedReport(t).Markdown(&b)
	out := b.String()
	for _, want := range []string{
		"## kinfra drift: `drift`\n\nCluster `drift-test` in `us-east-1`: 1 missing, 1 changed, 1 unplanned;",
		"| missing | changed | unplanned | compared |\n|---:|---:|---:|---:|\n| 1 | 1 | 1 |",
		"### Missing (in the plan, not in the account)\n\n| resource | type | live ID | attribute | plan | live | |\n",
		"| `drift-test-pool-general` | `Group` | `drift-test-pool-general-5d6e7f8` | `maxSize` | `5` | `50` | maxSize differs from the plan |\n",
		"| `drift-test-masters-masters` | `SecurityGroupIngressRule` | `sgr-0hand0000000001` | `ingress` | — | `tcp 22 from 0.0.0.0/0` |",
		"<details><summary>Not compared</summary>\n\n- " + whyOtherType + ": ",
	} {
		require.Contains(t, out, want)
	}
	require.Less(t, strings.Index(out, "### Missing"), strings.Index(out, "### Changed"))
	require.Less(t, strings.Index(out, "### Changed"), strings.Index(out, "### Unplanned"))
	require.True(t, strings.HasSuffix(out, "</details>\n"))
}

func TestMarkdownReportFitsAComment(t *testing.T) {
	r := driftedReport(t)
	for i := 0; i < 2000; i++ {
		r.Drifts = append(r.Drifts, Drift{Kind: Unplanned, Type: tIngress, Name: "g", ID: "sgr-x", Path: "ingress", Live: strings.Repeat("x", 40), Message: "hand-made"})
	}
	var b bytes.Buffer
	r.Markdown(&b)
	require.LessOrEqual(t, b.Len(), markdownLimit)
	require.Contains(t, b.String(), "more drifts, left out to fit a comment: run `kinfra drift` for the full list.")
	require.Contains(t, b.String(), "<summary>Not compared</summary>")
}

func TestJSONReport(t *testing.T) {
	r := driftedReport(t)
	var b bytes.Buffer
	require.NoError(t, r.JSON(&b))
	var back Report
	require.NoError(t, json.Unmarshal(b.Bytes(), &back))
	require.Equal(t, *r, back)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &raw))
	for _, k := range []string{"stack", "cluster", "region", "drifts", "compared", "notCompared"} {
		require.Contains(t, raw, k)
	}
	first := raw["drifts"].([]any)[0].(map[string]any)
	require.Equal(t, "missing", first["kind"])
	require.NotContains(t, first, "id", "a missing resource has no live ID")

	// A clean report still has its lists, empty rather than null.
	b.Reset()
	require.NoError(t, compare(t, liveAccount(t, sharedPlan(t))).JSON(&b))
	require.Contains(t, b.String(), `"drifts": []`)
}

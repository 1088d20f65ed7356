package tests

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/awsnames"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/review/plan"
	"github.com/kinfra-dev/kinfra/spec"
)

// renamed is a committed stack with its cluster and every node pool renamed
// to names of the given lengths (pool names made unique by their last
// characters).
func renamed(t *testing.T, file string, clusterLen int, poolLen func(cluster string) int) stackfile.File {
	t.Helper()
	sf, err := stackfile.Load(file)
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, json.Unmarshal([]byte(sf.Config["kinfra:cluster"]), &c))
	name := "c"
	if clusterLen > 1 {
		name = "c" + strings.Repeat("l", clusterLen-2) + "z"
	}
	c["name"] = name
	pools, _ := c["nodePools"].([]any)
	for i, p := range pools {
		n := poolLen(name)
		suffix := fmt.Sprintf("-%d", i)
		p.(map[string]any)["name"] = "p" + strings.Repeat("o", n-1-len(suffix)) + suffix
	}
	js, err := json.Marshal(c)
	require.NoError(t, err)
	sf.Config["kinfra:cluster"] = string(js)
	return sf
}

// checkAWSNames asserts that every AWS resource the plan registers has a
// known naming rule, and a name within its AWS limit.
func checkAWSNames(t *testing.T, p *plan.Plan) {
	t.Helper()
	named := 0
	for _, r := range p.Resources {
		if !r.Custom || !strings.HasPrefix(r.Type, "aws:") {
			continue
		}
		require.True(t, awsnames.Known(r.Type), "%s (%s) has no entry in awsnames.Limits or awsnames.Unnamed", r.Type, r.Name)
		name, length, ok := awsnames.Name(r.Type, r.Name, r.Inputs)
		if !ok {
			continue
		}
		named++
		l := awsnames.Limits[r.Type]
		require.LessOrEqual(t, length, l.Max, "%s %s: its AWS name %q is %d characters; AWS allows %d", r.Type, r.Name, name, length, l.Max)
	}
	require.Greater(t, named, 20, "the plan names resources")
}

// Every committed stack, with its cluster name at the spec's maximum for its
// region and its pools' names at the maximum that cluster name allows, plans
// cleanly and names every AWS resource within AWS's limits; so does the
// shortest cluster name with the longest pool names it allows, and the
// lengths around the API target group's switch to an explicit name.
func TestEveryAWSNameFitsAtTheSpecsMaximumLengths(t *testing.T) {
	for _, file := range committedStacks(t) {
		region := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), "Pulumi."), ".yaml")
		lengths := []int{spec.MaxClusterName(region)}
		if region == "us-east-1" {
			lengths = append(lengths, 1, 12, 13)
		}
		for _, n := range lengths {
			t.Run(fmt.Sprintf("%s/cluster-%d", filepath.Base(file), n), func(t *testing.T) {
				sf := renamed(t, file, n, spec.MaxNodePoolName)
				p, err := plan.Run(sf)
				require.NoError(t, err)
				checkAWSNames(t, p)
				for _, r := range p.Resources {
					if r.Type == awsnames.TargetGroup {
						// Autonamed while it fits, else named like the load balancer.
						fits := awsnames.AutonameFits(awsnames.TargetGroup, r.Name)
						require.Equal(t, !fits, r.Inputs["name"] != nil, "target group %s", r.Name)
					}
				}
			})
		}
	}
}

// One character more than the maximum fails before anything is registered,
// naming the field, the value, the limit and the AWS resource that binds.
func TestNamesOneOverTheMaximumFailValidation(t *testing.T) {
	file := committedStacks(t)[0]
	region := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), "Pulumi."), ".yaml")
	max := spec.MaxClusterName(region)

	p, err := plan.Run(renamed(t, file, max+1, func(string) int { return 4 }))
	require.Error(t, err)
	require.Empty(t, p.Resources, "nothing is registered")
	require.Contains(t, err.Error(), fmt.Sprintf("cluster.name: %q is %d characters; at most %d are allowed in %s", "c"+strings.Repeat("l", max-1)+"z", max+1, max, region))
	require.Contains(t, err.Error(), "AWS allows an EventBridge rule name of at most 64")

	p, err = plan.Run(renamed(t, file, 9, func(c string) int { return spec.MaxNodePoolName(c) + 1 }))
	require.Error(t, err)
	require.Empty(t, p.Resources)
	require.Contains(t, err.Error(), "cluster.nodePools[0].name:")
	require.Contains(t, err.Error(), "AWS allows an IAM role name of at most 64")
}

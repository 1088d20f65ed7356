package spec_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/spec"
)

func nameOf(n int, first string) string {
	if n == 1 {
		return first
	}
	return first + strings.Repeat("x", n-2) + "9"
}

func nameErrors(msgs []string, path string) []string {
	var out []string
	for _, m := range msgs {
		if strings.HasPrefix(m, path+":") {
			out = append(out, m)
		}
	}
	return out
}

// Every cluster name length from 1 to one past the maximum, in regions of
// every name length: valid up to MaxClusterName, refused beyond it with the
// AWS name that binds.
func TestClusterNameLengthsAreAcceptedUpToTheDerivedMaximum(t *testing.T) {
	for _, region := range []string{"us-east-1", "eu-west-1", "ap-southeast-2", "il-central-1", "us-gov-west-1"} {
		max := spec.MaxClusterName(region)
		require.GreaterOrEqual(t, max, 24, "names the docs allowed before stay allowed")
		for n := 1; n <= max+1; n++ {
			c := valid()
			c.Region, c.Network.AvailabilityZones = region, []string{region + "a", region + "b", region + "c"}
			c.Name = nameOf(n, "c")
			got := nameErrors(messages(t, c), "cluster.name")
			if n <= max {
				require.Empty(t, got, "%s: %d characters", region, n)
				continue
			}
			require.Len(t, got, 1)
			require.Contains(t, got[0], fmt.Sprintf("%q is %d characters; at most %d are allowed in %s, because the ", c.Name, n, max, region))
			require.Contains(t, got[0], "AWS allows an EventBridge rule name of at most 64")
		}
	}
}

// For every cluster name length, pool names are valid up to
// MaxNodePoolName and refused one past it, naming the node IAM role.
func TestNodePoolNameLengthsAreAcceptedUpToTheDerivedMaximum(t *testing.T) {
	for n := 1; n <= spec.MaxClusterName("us-east-1"); n++ {
		c := valid()
		c.Name = nameOf(n, "c")
		max := spec.MaxNodePoolName(c.Name)
		c.NodePools = []spec.NodePool{
			{Name: nameOf(max, "a"), MinSize: 1, MaxSize: 3},
			{Name: nameOf(max+1, "b"), MinSize: 1, MaxSize: 3},
		}
		msgs := messages(t, c)
		require.Empty(t, nameErrors(msgs, "cluster.nodePools[0].name"), "cluster %d characters, pool %d", n, max)
		got := nameErrors(msgs, "cluster.nodePools[1].name")
		require.Len(t, got, 1, "cluster %d characters, pool %d: %v", n, max+1, msgs)
		require.Contains(t, got[0], fmt.Sprintf("is %d characters; with cluster name %q (%d characters) at most %d are allowed", max+1, c.Name, n, max))
		require.Contains(t, got[0], fmt.Sprintf("the IAM role kinfra creates would be named %q", c.Name+"-pool-"+c.NodePools[1].Name+"-node-xxxxxxx"))
	}
}

// A library user's pool (workers.New) is held to the same limits.
func TestValidateNodePoolAppliesTheDerivedLimit(t *testing.T) {
	c := valid()
	p := spec.NodePool{Name: nameOf(spec.MaxNodePoolName(c.Name)+1, "p"), MaxSize: 3}
	errs := c.ValidateNodePool("workers.Pool", p.WithDefaults(c.Kubernetes.Version, spec.Images{Enabled: ptr(false)}.WithDefaults()), c.Network.AvailabilityZones)
	require.Contains(t, strings.Join(errs.Messages(), "\n"), "AWS allows an IAM role name of at most 64")
}

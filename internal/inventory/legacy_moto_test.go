package inventory_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/inventory"
	"github.com/kinfra-dev/kinfra/internal/inventory/legacytest"
	"github.com/kinfra-dev/kinfra/internal/testtools"
)

// moto_server 5.2.1 creates every resource of the legacy fixture: the
// stack completes and lists each of the template's resources, created,
// with its physical ID.
func TestLegacyFixtureDeploysInMoto(t *testing.T) {
	t.Parallel()
	m := testtools.StartMoto(t)
	cfg := legacytest.Config(m)
	got := legacytest.Deploy(t, cfg)

	doc, err := inventory.ParseTemplate(legacytest.Template(t))
	require.NoError(t, err)
	declared := doc["Resources"].(map[string]any)
	require.Len(t, got, len(declared), "the stack lists every resource of the template")
	var rules []string
	for id, raw := range declared {
		typ := raw.(map[string]any)["Type"].(string)
		r, ok := got[id]
		require.True(t, ok, "%s is in the stack", id)
		require.Equal(t, typ, aws.ToString(r.ResourceType), id)
		require.Equal(t, cftypes.ResourceStatusCreateComplete, r.ResourceStatus, id)
		if typ == "AWS::EC2::SecurityGroupIngress" {
			rules = append(rules, id) // moto gives these no physical ID; checked below
			continue
		}
		require.NotEmpty(t, aws.ToString(r.PhysicalResourceId), "%s has a physical ID", id)
	}
	require.Len(t, rules, 3)

	// The standalone rules are in their groups.
	masters, nodes := aws.ToString(got["MastersSecurityGroup"].PhysicalResourceId), aws.ToString(got["NodesSecurityGroup"].PhysicalResourceId)
	out, err := ec2.NewFromConfig(cfg).DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{masters, nodes}})
	require.NoError(t, err)
	type peer struct {
		group, protocol string
		from, to        int32
		source          string
	}
	var found []peer
	for _, g := range out.SecurityGroups {
		for _, p := range g.IpPermissions {
			for _, pair := range p.UserIdGroupPairs {
				found = append(found, peer{aws.ToString(g.GroupId), aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort), aws.ToString(pair.GroupId)})
			}
		}
	}
	require.ElementsMatch(t, []peer{
		{masters, "tcp", 2379, 2380, masters},
		{nodes, "-1", 0, 0, nodes},
		{nodes, "tcp", 10250, 10250, masters},
	}, found)
}

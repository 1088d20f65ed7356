package plan

import (
	"encoding/json"
	"regexp"
	"slices"
	"testing"

	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/stretchr/testify/require"
)

// regionStack is a minimal stack in region with the given cluster JSON.
func regionStack(region, cluster string) stackfile.File {
	return stackfile.File{Name: region, Config: map[string]string{"aws:region": region, "kinfra:cluster": cluster}}
}

// Every ARN the plan holds, made by kinfra or answered by the offline
// account, is in the region's partition.
func TestAStackInAnotherPartitionMakesEveryARNInIt(t *testing.T) {
	for region, partition := range map[string]string{"cn-north-1": "aws-cn", "us-gov-west-1": "aws-us-gov", "eu-west-1": "aws"} {
		t.Run(region, func(t *testing.T) {
			p, err := Run(regionStack(region, `{"name":"part"}`))
			require.NoError(t, err)
			js, err := json.Marshal(p.Resources)
			require.NoError(t, err)
			arns := regexp.MustCompile(`arn:([a-z-]+):`).FindAllStringSubmatch(string(js), -1)
			require.NotEmpty(t, arns)
			for _, m := range arns {
				require.Equal(t, partition, m[1], "an ARN in %s", m[0])
			}
			require.Contains(t, p.Notes, "account 123456789012 is a placeholder for the caller's identity; the partition, "+partition+", is "+region+"'s")
		})
	}
}

func TestUnpinnedZonesArePlannedFromTheZonesEveryAccountHas(t *testing.T) {
	p, err := Run(regionStack("us-west-1", `{"name":"usw1","network":{"azCount":2},"masters":{"count":1}}`))
	require.NoError(t, err)
	var zones []string
	for _, r := range p.Resources {
		if r.Type == "aws:ec2/subnet:Subnet" {
			if z, ok := r.Inputs["availabilityZone"].(string); ok && !slices.Contains(zones, z) {
				zones = append(zones, z)
			}
		}
	}
	slices.Sort(zones)
	require.Equal(t, []string{"us-west-1a", "us-west-1b"}, zones)
	require.Contains(t, p.Notes, "availability zones are not pinned; the offline plan takes us-west-1a and us-west-1b, the first 2 of the zones every account has in us-west-1 (us-west-1a and us-west-1b, and us-west-1c in some accounts only); `pulumi preview` takes the first 2 the account reports, by name")

	_, err = Run(regionStack("us-west-1", `{"name":"usw1"}`))
	require.EqualError(t, err, "cluster.network.azCount: 3 zones wanted, but every account has only 2 in us-west-1 (us-west-1a and us-west-1b, and us-west-1c in some accounts only); set azCount 2, or pin the zones your account has in availabilityZones")
}

func TestZonesOnlySomeAccountsHaveAndOptInRegionsAreNoted(t *testing.T) {
	p, err := Run(regionStack("ap-northeast-1", `{"name":"apne1","network":{"availabilityZones":["ap-northeast-1a","ap-northeast-1b","ap-northeast-1c"]}}`))
	require.NoError(t, err)
	require.Contains(t, p.Notes, "ap-northeast-1b exists only in some accounts (ap-northeast-1's zone letters are mapped per account, and retired zones stay only where they were); `pulumi preview` fails if this account has none")

	p, err = Run(regionStack("ap-east-2", `{"name":"ape2"}`))
	require.NoError(t, err)
	require.Contains(t, p.Notes, "ap-east-2 (Asia Pacific (Taipei)) is an opt-in region: enable it for the account (AWS console, Account, AWS Regions) before `pulumi up`")
}

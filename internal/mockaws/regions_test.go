package mockaws_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/regions"
)

// The offline account lives in its region's partition and reports the
// zones every account of the region has, never a letter the region lacks.
func TestTheOfflineAccountAnswersWithItsRegionsPartitionAndZones(t *testing.T) {
	for _, r := range regions.Supported() {
		t.Run(r.Name, func(t *testing.T) {
			m := mockaws.New(r.Name)
			var zones []string
			var partition, suffix, caller string
			require.NoError(t, m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
				az, err := aws.GetAvailabilityZones(ctx, nil)
				if err != nil {
					return err
				}
				p, err := aws.GetPartition(ctx, nil)
				if err != nil {
					return err
				}
				id, err := aws.GetCallerIdentity(ctx, nil)
				if err != nil {
					return err
				}
				zones, partition, suffix, caller = az.Names, p.Partition, p.DnsSuffix, id.Arn
				return nil
			}))
			require.Equal(t, r.Zones, zones)
			require.Equal(t, r.Partition, partition)
			require.Equal(t, r.DNSSuffix, suffix)
			require.True(t, strings.HasPrefix(caller, "arn:"+r.Partition+":iam::"), caller)
		})
	}
}

func TestTheOfflineAccountInventsNoZonesForAnUnknownRegion(t *testing.T) {
	m := mockaws.New("us-east-9")
	err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		_, err := aws.GetAvailabilityZones(ctx, nil)
		return err
	})
	require.ErrorContains(t, err, `the offline AWS model knows no zones of us-east-9: "us-east-9" is not a region of the aws partition`)
}

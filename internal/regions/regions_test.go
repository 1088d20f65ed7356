package regions

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every region of a supported partition is either in the zone table or
// known to be missing from it: a new SDK that adds a region fails here
// until its zones are added (or it is listed below with why).
func TestEverySDKRegionOfASupportedPartitionHasZonesOrIsKnownToLackThem(t *testing.T) {
	var missing []string
	for _, p := range sdkPartitions {
		if !slices.Contains(supportedPartitions, p.ID) {
			require.NotEmpty(t, refusedPartitions[p.ID], "partition %s is neither supported nor refused with a reason", p.ID)
			continue
		}
		for _, r := range p.Regions {
			if _, ok := zoneTable[r.Name]; !ok {
				missing = append(missing, r.Name)
			}
		}
	}
	// Opened too recently for the public zone lists (docs/decisions.md).
	require.Equal(t, []string{"me-west-1", "sa-west-1"}, missing)
}

func TestEveryZoneTableEntryIsASDKRegionOfASupportedPartition(t *testing.T) {
	for name := range zoneTable {
		p, _, ok := find(name)
		require.True(t, ok, "%s is in the zone table but not in the SDK's partitions", name)
		require.Contains(t, supportedPartitions, p.ID, name)
	}
}

func TestTheZoneTableIsWellFormed(t *testing.T) {
	for name, z := range zoneTable {
		letters := z.current + z.someAccounts
		require.GreaterOrEqual(t, len(z.current), 2, "%s: every region has at least two zones every account has", name)
		for i, l := range letters {
			require.True(t, l >= 'a' && l <= 'z', "%s: %q is not a zone letter", name, l)
			require.Equal(t, i, strings.IndexRune(letters, l), "%s: %c listed twice", name, l)
		}
		require.True(t, slices.IsSorted([]byte(z.current)), "%s: current letters are in order", name)
		if z.perAccount != 0 {
			require.GreaterOrEqual(t, z.perAccount, len(z.current), name)
			require.Less(t, z.perAccount, len(letters), "%s: perAccount is for fewer than all letters", name)
		}
	}
}

func TestLookupDescribesARegion(t *testing.T) {
	r, err := Lookup("us-west-1")
	require.NoError(t, err)
	require.Equal(t, Region{Name: "us-west-1", Description: "US West (N. California)", Partition: "aws", DNSSuffix: "amazonaws.com",
		Zones: []string{"us-west-1a", "us-west-1b"}, SomeAccounts: []string{"us-west-1c"}, PerAccount: 2}, r)
	require.Equal(t, []string{"us-west-1a", "us-west-1b", "us-west-1c"}, r.AllZones())
	require.True(t, r.HasZone("us-west-1c"))
	require.False(t, r.HasZone("us-west-1d"))

	cn, err := Lookup("cn-north-1")
	require.NoError(t, err)
	require.Equal(t, "aws-cn", cn.Partition)
	require.Equal(t, "amazonaws.com.cn", cn.DNSSuffix)
	require.Equal(t, []string{"cn-north-1a", "cn-north-1b", "cn-north-1d"}, cn.Zones)
	require.Equal(t, "aws-us-gov", PartitionOf("us-gov-east-1"))
	require.Empty(t, PartitionOf("us-iso-east-1"))
}

func TestNearestNamesAreTyposOnly(t *testing.T) {
	all := []string{"us-east-1", "us-east-2", "us-west-1", "eu-west-1"}
	require.Equal(t, []string{"us-east-1", "us-east-2"}, nearest("us-east-9", all))
	require.Equal(t, []string{"eu-west-1"}, nearest("eu-wset-1", all))
	require.Empty(t, nearest("ap-south-1", all))
}

package cidr

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCarveEveryZoneCountStaysInsideTheVPCWithoutOverlap(t *testing.T) {
	for _, vpc := range []string{"10.0.0.0/16", "10.60.0.0/18", "172.31.0.0/20"} {
		v := netip.MustParsePrefix(vpc)
		for zones := 1; zones <= 6; zones++ {
			got, err := Carve(v, zones, v.Bits()+3, v.Bits()+6)
			require.NoError(t, err, "%s with %d zones", vpc, zones)
			all := append(append([]netip.Prefix{}, got.Private...), got.Public...)
			require.Len(t, all, 2*zones)
			for i, a := range all {
				require.True(t, Contains(v, a), "%s outside %s", a, v)
				for _, b := range all[i+1:] {
					require.False(t, a.Overlaps(b), "%s overlaps %s", a, b)
				}
			}
		}
	}
}

func TestCarveIsDeterministicAndAddingAZoneMovesNothing(t *testing.T) {
	v := netip.MustParsePrefix("10.40.0.0/16")
	three, err := Carve(v, 3, 19, 22)
	require.NoError(t, err)
	six, err := Carve(v, 6, 19, 22)
	require.NoError(t, err)
	require.Equal(t, three.Private, six.Private[:3])
	require.Equal(t, three.Public, six.Public[:3])
	require.Equal(t, []string{"10.40.0.0/19", "10.40.32.0/19", "10.40.64.0/19"}, strs(three.Private))
	require.Equal(t, []string{"10.40.252.0/22", "10.40.248.0/22", "10.40.244.0/22"}, strs(three.Public))
}

func TestCarveRejectsLayoutsThatDoNotFit(t *testing.T) {
	_, err := Carve(netip.MustParsePrefix("10.0.0.0/24"), 6, 26, 28)
	require.EqualError(t, err, "6 private /26 and 6 public /28 subnets need 480 addresses, more than the 256 of 10.0.0.0/24")
}

func TestParseNetworkRejectsHostBits(t *testing.T) {
	_, err := ParseNetwork("10.0.1.0/16")
	require.EqualError(t, err, "10.0.1.0/16 has host bits set; did you mean 10.0.0.0/16?")
	p, err := ParseNetwork("10.0.0.0/16")
	require.NoError(t, err)
	require.Equal(t, 65536, Size(p))
}

func TestIPv6SubnetNumbersSixtyFoursInsideTheBlock(t *testing.T) {
	s, err := IPv6Subnet("2600:1f18:abcd:ef00::/56", 17)
	require.NoError(t, err)
	require.Equal(t, "2600:1f18:abcd:ef11::/64", s)
	_, err = IPv6Subnet("10.0.0.0/16", 0)
	require.Error(t, err)
	_, err = IPv6Subnet("2600:1f18:abcd:ef00::/56", 256)
	require.Error(t, err)
}

func strs(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

package instancetypes

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLookupFollowsPublishedFigures(t *testing.T) {
	for _, tc := range []Type{
		{Name: "m5.large", VCPUs: 2, MemoryMiB: 8192, ENIs: 3, IPv4PerENI: 10, Arch: "x86_64"},
		{Name: "m7i.2xlarge", VCPUs: 8, MemoryMiB: 32768, ENIs: 4, IPv4PerENI: 15, Arch: "x86_64"},
		{Name: "c6i.4xlarge", VCPUs: 16, MemoryMiB: 32768, ENIs: 8, IPv4PerENI: 30, Arch: "x86_64"},
		{Name: "r7g.16xlarge", VCPUs: 64, MemoryMiB: 524288, ENIs: 15, IPv4PerENI: 50, Arch: "arm64"},
		{Name: "t3.medium", VCPUs: 2, MemoryMiB: 4096, ENIs: 3, IPv4PerENI: 6, Arch: "x86_64"},
	} {
		got, ok := Lookup(tc.Name)
		require.True(t, ok, tc.Name)
		require.Equal(t, tc, got)
	}
	// m5.large: 3 ENIs of 10 addresses, one each for the interface itself.
	m5, _ := Lookup("m5.large")
	require.Equal(t, 27, m5.PodAddresses())
}

func TestLookupRefusesSizesAFamilyDoesNotOffer(t *testing.T) {
	for _, name := range []string{"m5.48xlarge", "m6g.24xlarge", "m7i.medium", "x2idn.large", "m7i", "m7i.huge"} {
		_, ok := Lookup(name)
		require.False(t, ok, name)
	}
}

func TestArchFromFamilyName(t *testing.T) {
	require.Equal(t, "arm64", Arch("m7g.large"))
	require.Equal(t, "arm64", Arch("c7gn.xlarge"))
	require.Equal(t, "arm64", Arch("t4g.small"))
	require.Equal(t, "x86_64", Arch("g5.xlarge"))
	require.Equal(t, "x86_64", Arch("m7i.large"))
	require.True(t, ValidName("p5.48xlarge"))
	require.False(t, ValidName("m7i large"))
}

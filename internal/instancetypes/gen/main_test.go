package main

import (
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// The committed table is what the generator makes from the SDK version
// go.mod requires: a bump of the ec2 module without go generate fails here.
func TestCommittedTableIsCurrent(t *testing.T) {
	version, err := sdkVersion()
	require.NoError(t, err)
	want, err := render(names(), version)
	require.NoError(t, err)
	got, err := os.ReadFile("../zz_generated_types.go")
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "run go generate ./internal/instancetypes")
}

func TestRenderRefusesNamesThatAreNotFamilyDotSize(t *testing.T) {
	for _, n := range []string{"m7i", ".large", "m7i.", "m7i.large.x"} {
		_, err := render([]string{"m5.large", n}, "v1.0.0")
		require.Error(t, err, n)
	}
}

func TestSizesAreOrderedSmallToLarge(t *testing.T) {
	want := []string{"nano", "micro", "small", "medium", "large", "xlarge", "2xlarge", "3xlarge", "12xlarge", "112xlarge", "metal", "metal-16xl", "metal-48xl"}
	got := slices.Clone(want)
	slices.Reverse(got)
	slices.SortStableFunc(got, compareSizes)
	require.Equal(t, want, got)
}

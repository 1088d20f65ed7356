package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// The committed table is what the generator makes from the SDK go.mod
// requires: updating the SDK without `go generate ./internal/regions`
// fails here.
func TestTheCommittedTableIsGeneratedFromTheRequiredSDK(t *testing.T) {
	dir, version, err := sdkModule()
	require.NoError(t, err)
	want, err := Render(dir, version)
	require.NoError(t, err)
	got, err := os.ReadFile("../partitions_gen.go")
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "run go generate ./internal/regions")
}

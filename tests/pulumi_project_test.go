package tests

import (
	"encoding/json"
	"io"
	"testing"

	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/stretchr/testify/require"
)

// The Pulumi SDK's own loaders (the code the CLI runs) accept Pulumi.yaml
// against the project schema, and read every stack file into exactly the
// config strings the offline plan gives the program.
func TestPulumiAcceptsTheProjectAndEveryStackAsThePlanReadsIt(t *testing.T) {
	project, err := workspace.LoadProject("../Pulumi.yaml")
	require.NoError(t, err)
	require.Equal(t, "kinfra", string(project.Name))
	require.Equal(t, "go", project.Runtime.Name())
	require.Equal(t, "stacks", project.StackConfigDir)
	require.Contains(t, project.Config, "cluster")
	cluster := project.Config["cluster"]
	require.Equal(t, "object", cluster.TypeName())

	sink := diag.DefaultSink(io.Discard, io.Discard, diag.FormatOptions{Color: colors.Never})
	for _, file := range committedStacks(t) {
		t.Run(file, func(t *testing.T) {
			ps, err := workspace.LoadProjectStack(sink, project, file)
			require.NoError(t, err)
			fromPulumi, err := ps.Config.Decrypt(config.NopDecrypter)
			require.NoError(t, err)
			sf, err := stackfile.Load(file)
			require.NoError(t, err)
			require.Len(t, sf.Config, len(fromPulumi))
			for key, value := range fromPulumi {
				ours, ok := sf.Config[key.String()]
				require.True(t, ok, "plan reads %s", key)
				if ps.Config[key].Object() {
					require.JSONEq(t, value, ours, key.String())
				} else {
					require.Equal(t, value, ours, key.String())
				}
			}
			var cluster map[string]any
			require.NoError(t, json.Unmarshal([]byte(sf.Config["kinfra:cluster"]), &cluster))
			require.NotEmpty(t, cluster["name"])
		})
	}
}

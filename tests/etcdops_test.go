package tests

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/internal/etcdops"
)

// kinfra etcd names the masters' tag and the cluster CA's parameter
// without compiling the components (internal/etcdops): they must be what
// the program creates.
func TestEtcdOpsNamesWhatTheProgramCreates(t *testing.T) {
	require.Equal(t, masters.SlotTag, etcdops.SlotTag)
	p := planStack(t, "us-east-1")
	names := etcdops.ParameterNames(*p.Config)
	var params []string
	for _, r := range p.Resources {
		if r.Type == "aws:ssm/parameter:Parameter" {
			if name, ok := r.Inputs["name"].(string); ok {
				params = append(params, name)
			}
		}
	}
	require.Contains(t, params, names.CACert)
	require.Len(t, names.Members, p.Config.Masters.Count)
}

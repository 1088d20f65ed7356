package tests

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/etcdops"
)

// kinfra etcd reads the cluster CA's parameter and the members' records
// by the names the program creates.
func TestEtcdOpsNamesWhatTheProgramCreates(t *testing.T) {
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

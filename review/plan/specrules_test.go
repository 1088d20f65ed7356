package plan

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/review/findings"
)

// Rules on the resolved spec run on the spec the plan resolved: a stack
// whose kube-proxy mode cannot sync its Services in time gets the warning
// from kinfra plan itself, and one that can does not.
func TestThePlanRunsTheSpecRulesOnItsResolvedSpec(t *testing.T) {
	proxyScale := func(extra string) []findings.Finding {
		cluster := `{"name":"scale","network":{"availabilityZones":["eu-west-1a","eu-west-1b","eu-west-1c"]},` +
			`"nodePools":[{"name":"general","minSize":1,"maxSize":3}]` + extra + `}`
		p, err := Run(stackfile.File{Name: "eu-west-1", Config: map[string]string{"aws:region": "eu-west-1", "kinfra:cluster": cluster}})
		require.NoError(t, err)
		var hits []findings.Finding
		for _, f := range p.Findings {
			if f.Rule == findings.ProxyScale {
				hits = append(hits, f)
			}
		}
		return hits
	}
	hits := proxyScale(`,"kubernetes":{"maxServices":5000},"kubeProxy":{"mode":"iptables"}`)
	require.Len(t, hits, 1)
	require.Contains(t, hits[0].Message, "5000 Services in kube-proxy's iptables mode")
	// nftables is the default mode, and syncs 5,000 in time.
	require.Empty(t, proxyScale(`,"kubernetes":{"maxServices":5000}`))
}

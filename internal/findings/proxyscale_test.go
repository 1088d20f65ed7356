package findings

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAProxyModeAskedForMoreServicesThanItWasMeasuredToSyncWarns(t *testing.T) {
	for _, c := range []struct {
		mode     string
		services int
		warn     bool
	}{
		{"iptables", 0, false}, // maxServices unset: not checked
		{"iptables", 1000, false},
		{"iptables", 1001, true},
		{"iptables", 20000, true},
		{"nftables", 20000, false},
		{"", 20000, false}, // the default mode
		{"ipvs", 20000, false},
	} {
		config := map[string]string{"kinfra:cluster": fmt.Sprintf(`{"name":"p","kubernetes":{"maxServices":%d},"kubeProxy":{"mode":%q}}`, c.services, c.mode)}
		var hits []Finding
		for _, f := range RunStack(nil, config) {
			if f.Rule == ProxyScale {
				hits = append(hits, f)
			}
		}
		if !c.warn {
			require.Empty(t, hits, "%s at %d", c.mode, c.services)
			continue
		}
		require.Len(t, hits, 1, "%s at %d", c.mode, c.services)
		require.Equal(t, Warning, hits[0].Severity)
		require.Equal(t, `kinfra:cluster["kubernetes"]["maxServices"]`, hits[0].Resource)
		require.Contains(t, hits[0].Message, fmt.Sprintf("%d Services in kube-proxy's iptables mode", c.services))
		require.Contains(t, hits[0].Message, "Use nftables")
	}
	// An acknowledged warning stays in the plan with its reason.
	acks, err := ParseAcknowledgements(`[{"rule":"addons/proxy-scale","reason":"migrating to nftables in Q1; platform team"}]`)
	require.NoError(t, err)
	out := Acknowledge(RunStack(nil, map[string]string{"kinfra:cluster": `{"kubernetes":{"maxServices":5000},"kubeProxy":{"mode":"iptables"}}`}), acks)
	require.Len(t, out, 1)
	require.Equal(t, "migrating to nftables in Q1; platform team", out[0].Acknowledged)
}

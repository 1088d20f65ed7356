package findings

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/spec"
)

// defaulted is the spec of a stack's kinfra:cluster with its defaults, as
// the plan resolves it (these partial specs would not validate).
func defaulted(t *testing.T, config map[string]string) *spec.Cluster {
	t.Helper()
	var c spec.Cluster
	require.NoError(t, json.Unmarshal([]byte(config["kinfra:cluster"]), &c))
	c = c.WithDefaults()
	return &c
}

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
		{"nftables", 5000, false},
		{"nftables", 5001, true},
		{"", 5001, true}, // the default mode: nftables
		{"none", 30000, false},
		{"ipvs", 20000, false},
	} {
		proxy := fmt.Sprintf(`{"mode":%q}`, c.mode)
		if c.mode == "" {
			proxy = `{}`
		}
		config := map[string]string{"kinfra:cluster": fmt.Sprintf(`{"name":"p","kubernetes":{"maxServices":%d},"kubeProxy":%s}`, c.services, proxy)}
		var hits []Finding
		for _, f := range RunStack(nil, nil, defaulted(t, config)) {
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
		mode := c.mode
		if mode == "" {
			mode = "nftables"
		}
		require.Contains(t, hits[0].Message, fmt.Sprintf("%d Services in kube-proxy's %s mode", c.services, mode))
		if mode == "iptables" {
			require.Contains(t, hits[0].Message, "Use nftables")
		} else {
			require.Contains(t, hits[0].Message, "a CNI that replaces kube-proxy")
		}
	}
	// A CNI that replaces kube-proxy leaves no kube-proxy to warn about.
	require.Empty(t, RunStack(nil, nil, defaulted(t, map[string]string{"kinfra:cluster": `{"kubernetes":{"maxServices":30000},"cni":{"provider":"cilium","kubeProxyReplacement":true}}`})))
	// An acknowledged warning stays in the plan with its reason.
	acks, err := ParseAcknowledgements(`[{"rule":"addons/proxy-scale","reason":"migrating to nftables in Q1; platform team"}]`)
	require.NoError(t, err)
	out := Acknowledge(RunStack(nil, nil, defaulted(t, map[string]string{"kinfra:cluster": `{"kubernetes":{"maxServices":5000},"kubeProxy":{"mode":"iptables"}}`})), acks)
	require.Len(t, out, 1)
	require.Equal(t, "migrating to nftables in Q1; platform team", out[0].Acknowledged)
}

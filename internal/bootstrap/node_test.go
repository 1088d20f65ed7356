package bootstrap

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func testNode() Node {
	return Node{
		ClusterName: "prod-use1", Region: "us-east-1", Pool: "ingress",
		APIName:         "api.prod-use1.k8s.internal",
		CACertHash:      "sha256:" + strings.Repeat("ab", 32),
		ParameterPrefix: "/kinfra/prod-use1",
		Labels:          map[string]string{"kinfra.dev/node-pool": "ingress", "node.kubernetes.io/ingress": ""},
		Taints:          []Taint{{Key: "dedicated", Value: "ingress", Effect: "NoSchedule"}},
		MaxPods:         110,
		KubeReserved:    map[string]string{"cpu": "90m", "memory": "1465Mi"},
		SystemReserved:  map[string]string{"cpu": "100m"},
		EvictionHard:    map[string]string{"memory.available": "500Mi"},
	}
}

func TestNodeUserDataCarriesNoSecret(t *testing.T) {
	r, err := testNode().Render()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(r.UserData, "#cloud-config\n"))
	join := r.Files[NodeJoinTemplatePath].Content
	require.Contains(t, join, "token: '"+TokenPlaceholder+"'")
	require.Contains(t, join, "tlsBootstrapToken: '"+TokenPlaceholder+"'")
	require.Contains(t, join, "apiServerEndpoint: api.prod-use1.k8s.internal:6443")
	require.Contains(t, join, "- sha256:"+strings.Repeat("ab", 32))
	require.Contains(t, join, "value: kinfra.dev/node-pool=ingress,node.kubernetes.io/ingress=")
	require.Contains(t, join, "directory: "+NodePatchesDir)
	require.NotContains(t, join, "controlPlane")
	require.Equal(t, "0600", r.Files[NodeJoinTemplatePath].Permissions)
	kubelet := r.Files[KubeletPatchPath].Content
	require.Contains(t, kubelet, "maxPods: 110")
	require.Contains(t, kubelet, "memory: 1465Mi")
}

func TestNodeRenderRefusesWhatItCannotPlaceSafely(t *testing.T) {
	n := testNode()
	n.CACertHash = "md5:abc"
	n.Labels = map[string]string{"a": "b,c=d"}
	_, err := n.Render()
	require.EqualError(t, err, `bootstrap: cannot render node pool: bad CACertHash "md5:abc", label "a"="b,c=d"`)
}

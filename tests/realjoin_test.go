package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/testtools"
)

// A node pool's node joins with the JoinConfiguration kinfra renders for it:
// token discovery, which reads the cluster-info ConfigMap without
// credentials and checks it against the CA hash, before the bootstrap
// token's TLS bootstrap. Here the real kubeadm v1.37.2 runs that discovery
// (join's preflight phase) against us-east-1's real API server, from a
// machine of the network, with the node's rendered file and the cluster's
// token and node name, as the node boot script writes it.
//
// The API server admitted anonymous requests to its health paths only, so
// the discovery was refused (401, "failed to request the cluster-info
// ConfigMap: Unauthorized") and no node could ever join: the defect this
// test reproduces. Past it, the discovery waits for the token's JWS
// signature on cluster-info, which kube-controller-manager's bootstrap
// signer adds; no controller manager runs here, so the test stops there,
// with the discovery's timeout shortened.
func TestRealNodeJoinDiscoversTheClusterWithItsRenderedConfiguration(t *testing.T) {
	// Waits more than it computes: it runs beside the other slow tests.
	t.Parallel()
	realControlPlaneTools(t)
	st := loadRealStack(t, "us-east-1")
	c := newRealCluster(t, st)
	api := c.startControlPlane(t)
	m0 := c.masters[0]
	for _, phase := range [][]string{{"bootstrap-token", "--skip-token-print"}} {
		args := append(append([]string{"init", "phase"}, phase...), "--config", bootstrap.KubeadmInitPath)
		out, err := m0.kubeadm(t, args...)
		require.NoError(t, err, out)
	}
	out, err := m0.kubeadm(t, "token", "create", st.bundle.BootstrapToken, "--ttl", "0", "--kubeconfig", "/etc/kubernetes/admin.conf")
	require.NoError(t, err, out)

	// The node's rendered join configuration, its token put in as the node
	// boot script does.
	var join string
	uds, err := st.plan.UserData()
	require.NoError(t, err)
	for _, ud := range uds {
		var doc struct {
			WriteFiles []bootstrap.File `yaml:"write_files"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(ud.CloudConfig), &doc))
		for _, f := range doc.WriteFiles {
			if f.Path == bootstrap.NodeJoinTemplatePath {
				join = f.Content
			}
		}
		if join != "" {
			break
		}
	}
	require.NotEmpty(t, join, "a node pool renders its join configuration")
	require.Contains(t, join, "bootstrapToken:")
	join = strings.NewReplacer(bootstrap.TokenPlaceholder, st.bundle.BootstrapToken, bootstrap.NodeNameHolder, "kinfra-test-worker").Replace(join)
	require.NotContains(t, join, "\ntimeouts:")
	join = strings.Replace(join, "kind: JoinConfiguration\n", "kind: JoinConfiguration\ntimeouts:\n  discovery: 12s\n", 1)
	// The kubelet stand-in's root also holds the configuration.
	c.joinConfig = "/etc/kinfra/kubeadm-join.yaml"
	root := filepath.Join(c.dir, "worker")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "etc", "kinfra"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc", "kinfra", "kubeadm-join.yaml"), []byte(join), 0o600))
	out, err = c.joinPreflight(t, testtools.Path(t, "kubeadm"))
	require.Error(t, err, "no bootstrap signer runs here")
	require.Contains(t, err.Error(), "[discovery] Created cluster-info discovery client")
	require.Contains(t, err.Error(), `could not find a JWS signature in the cluster-info ConfigMap for token ID "`+strings.Split(st.bundle.BootstrapToken, ".")[0]+`"`,
		"the discovery read cluster-info and looked for the token's signature")
	require.NotContains(t, err.Error(), "Unauthorized")

	// Anonymously, as the discovery reads it.
	code, body, err := api.anonymous("/api/v1/namespaces/kube-public/configmaps/cluster-info")
	require.NoError(t, err)
	require.Equal(t, 200, code, "cluster-info must be readable without credentials: %s", realTruncate(body, 300))
}

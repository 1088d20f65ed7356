package kubeconfig

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/pki"
)

func TestClusterIdentityChangesOnlyWithTheClusterOrItsCA(t *testing.T) {
	a, err := pki.Offline("prod")
	require.NoError(t, err)
	b, err := pki.Offline("prod")
	require.NoError(t, err)

	id, err := ClusterIdentity("prod", a.ClusterCA.Cert)
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`^prod/[0-9a-f]{16}$`), id)
	again, err := ClusterIdentity("prod", a.ClusterCA.Cert)
	require.NoError(t, err)
	require.Equal(t, id, again, "the same cluster and CA: the same identity")

	// Offline bundles of one name share their keys, not their certificates.
	require.NotEqual(t, a.ClusterCA.Cert, b.ClusterCA.Cert)
	same, err := ClusterIdentity("prod", b.ClusterCA.Cert)
	require.NoError(t, err)
	require.Equal(t, id, same, "the CA re-signed with the same key: the same cluster")
	fresh, err := pki.Generate("prod")
	require.NoError(t, err)
	other, err := ClusterIdentity("prod", fresh.ClusterCA.Cert)
	require.NoError(t, err)
	require.NotEqual(t, id, other, "a new CA key is a new cluster")
	renamed, err := ClusterIdentity("stage", a.ClusterCA.Cert)
	require.NoError(t, err)
	require.NotEqual(t, id, renamed)

	_, err = ClusterIdentity("prod", "not a certificate")
	require.EqualError(t, err, "kubeconfig: the cluster CA of prod is not a PEM certificate")
}

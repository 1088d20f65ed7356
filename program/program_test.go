package program_test

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/program"
)

func pkiJSON(t *testing.T) string {
	t.Helper()
	b, err := pki.Generate("secrets")
	require.NoError(t, err)
	js, err := b.JSON()
	require.NoError(t, err)
	return string(js)
}

// The program refuses a kinfra:pki the engine does not mark secret (a
// plain value in the stack file) before registering anything, naming
// `kinfra pki init`, and reports the spec's problems with it.
func TestTheProgramRefusesAPlainTextPKI(t *testing.T) {
	m := mockaws.New("us-east-1")
	err := m.Run("kinfra", "dev", map[string]string{
		stackfile.RegionKey:  "us-east-1",
		stackfile.ClusterKey: `{"name":"Bad_Name"}`,
		stackfile.PKIKey:     pkiJSON(t),
	}, program.Run)
	require.Error(t, err)
	require.Contains(t, err.Error(), "kinfra:pki: is plain text in the stack file, but it holds the cluster's CA private keys and must be a Pulumi secret")
	require.Contains(t, err.Error(), "`kinfra pki init --stack dev --force`")
	require.Contains(t, err.Error(), `cluster.name: "Bad_Name" is not allowed`, "reported together with the spec's problems")
	require.Empty(t, m.Resources(), "nothing is registered")
}

// The same value, marked secret as `kinfra pki init` stores it, is read.
func TestTheProgramReadsASecretPKI(t *testing.T) {
	for _, secret := range []bool{true, false} {
		m := mockaws.New("us-east-1")
		if secret {
			m.SecretKeys = []string{stackfile.PKIKey}
		}
		var got *pki.Bundle
		err := m.Run("kinfra", "dev", map[string]string{stackfile.PKIKey: pkiJSON(t)}, func(ctx *pulumi.Context) error {
			var err error
			got, err = program.LoadPKI(ctx)
			return err
		})
		if !secret {
			require.ErrorContains(t, err, "is plain text in the stack file")
			continue
		}
		require.NoError(t, err)
		require.NotNil(t, got)
	}
}

package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// `kinfra plan` fails a stack whose kinfra:pki is plain text, as `pulumi up`
// would, and says how to store it as a secret.
func TestPlanRefusesAPlainTextPKI(t *testing.T) {
	path := writeStack(t, "Pulumi.plain.yaml", `
config:
  aws:region: us-east-1
  kinfra:pki: '{"clusterName":"plain"}'
  kinfra:cluster:
    name: plain
`)
	code, _, errOut := kinfra("plan", "--stack-file", path)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "kinfra:pki: is plain text in the stack file")
	require.Contains(t, errOut, "kinfra pki init --stack plain --force")
}

package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/review/findings"
)

func stackFile(t *testing.T, body string) stackfile.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "Pulumi.dev.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	sf, err := stackfile.Load(path)
	require.NoError(t, err)
	return sf
}

// A plain-text kinfra:pki in the stack file fails the offline plan as it
// would fail `pulumi up`, although the plan could use a throwaway PKI;
// the spec's own problems are reported with it.
func TestAPlainTextPKIFailsThePlan(t *testing.T) {
	b, err := pki.Generate("dev")
	require.NoError(t, err)
	js, err := b.JSON()
	require.NoError(t, err)
	indented := "    " + strings.ReplaceAll(string(js), "\n", "\n    ")
	for _, name := range []string{"dev", "Bad_Name"} {
		sf := stackFile(t, fmt.Sprintf("config:\n  aws:region: us-east-1\n  kinfra:cluster:\n    name: %s\n  kinfra:pki: |\n%s\n", name, indented))
		require.Contains(t, sf.Config, "kinfra:pki", "plain, so readable offline")
		p, err := Run(sf)
		require.Error(t, err)
		require.Contains(t, err.Error(), "kinfra:pki: is plain text in the stack file, but it holds the cluster's CA private keys and must be a Pulumi secret")
		require.Contains(t, err.Error(), "`kinfra pki init --stack dev --force`")
		require.Empty(t, p.Resources)
		if name == "Bad_Name" {
			require.Contains(t, err.Error(), `cluster.name: "Bad_Name" is not allowed`)
		}
	}
	// Any plain value, not only a valid bundle.
	_, err = Run(stackFile(t, "config:\n  aws:region: us-east-1\n  kinfra:cluster:\n    name: dev\n  kinfra:pki: oops\n"))
	require.ErrorContains(t, err, "kinfra:pki: is plain text in the stack file")
}

// An AWS access key ID in plain config is a warning naming where it is,
// at any depth of kinfra:cluster and in other keys; the plan still passes.
func TestAccessKeysInPlainConfigAreFlagged(t *testing.T) {
	sf := stackFile(t, `config:
  aws:region: us-east-1
  aws:accessKey: AKIAIOSFODNN7EXAMPLE
  kinfra:cluster:
    name: dev
    tags:
      owner: ASIAZZZZZZZZZZZZZZZZ
`)
	p, err := Run(sf)
	require.NoError(t, err)
	var got []string
	for _, f := range p.Findings {
		if f.Rule == "config/aws-access-key" {
			require.Equal(t, findings.Warning, f.Severity)
			got = append(got, f.Resource+": "+strings.SplitN(f.Message, " in plain text", 2)[0])
		}
	}
	require.Equal(t, []string{
		"aws:accessKey: holds what looks like an AWS access key ID (AKIA…MPLE)",
		`kinfra:cluster["tags"]["owner"]: holds what looks like an AWS access key ID (ASIA…ZZZZ)`,
	}, got)
	require.Empty(t, findings.Errors(p.Findings))
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/internal/testtools"
	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/review/plan"
)

// pulumiProject is a throwaway copy of the kinfra project with one stack,
// on a local file backend with a passphrase secrets provider.
func pulumiProject(t *testing.T) (dir, bin string) {
	bin = testtools.Path(t, "pulumi")
	dir = t.TempDir()
	project, err := os.ReadFile("../../Pulumi.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), project, 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "stacks"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stacks", "Pulumi.test.yaml"), []byte(`config:
  aws:region: eu-west-1
  kinfra:cluster:
    name: pki-test
    network:
      availabilityZones: [eu-west-1a, eu-west-1b, eu-west-1c]
`), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "backend"), 0o755))
	t.Setenv("PULUMI_BACKEND_URL", "file://"+filepath.Join(dir, "backend"))
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "kinfra-test")
	t.Setenv("PULUMI_HOME", filepath.Join(dir, "home"))
	t.Setenv("PULUMI_SKIP_UPDATE_CHECK", "true")
	pulumi(t, dir, bin, "stack", "init", "test")
	return dir, bin
}

func pulumi(t *testing.T, dir, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		t.Fatalf("pulumi %v: %v\n%s", args, err, ee.Stderr)
	}
	require.NoError(t, err)
	return string(out)
}

func TestPKIInitStoresAValidBundleAsAPulumiSecret(t *testing.T) {
	dir, bin := pulumiProject(t)
	code, out, errOut := kinfra("pki", "init", "--stack", "test", "--dir", dir, "--pulumi", bin)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "stored a new PKI for cluster pki-test as the secret kinfra:pki of stack test")

	stackFile := filepath.Join(dir, "stacks", "Pulumi.test.yaml")
	raw, err := os.ReadFile(stackFile)
	require.NoError(t, err)
	require.Contains(t, string(raw), "kinfra:pki:\n    secure: v1:", "encrypted in the stack file")
	require.NotContains(t, string(raw), "PRIVATE KEY")

	value := strings.TrimSuffix(pulumi(t, dir, bin, "config", "get", "kinfra:pki", "--stack", "test"), "\n")
	b, err := pki.Parse([]byte(value), time.Now())
	require.NoError(t, err, "what the program will read is a valid bundle")
	require.Contains(t, b.ClusterCA.Cert, "-----BEGIN CERTIFICATE-----")

	// The offline plan cannot decrypt it, says so, and still plans.
	sf, err := stackfile.Load(stackFile)
	require.NoError(t, err)
	require.Equal(t, []string{"kinfra:pki"}, sf.Secure)
	p, err := plan.Run(sf)
	require.NoError(t, err)
	require.Contains(t, strings.Join(p.Notes, "\n"), "kinfra:pki is not readable offline")

	// A second init would replace every CA: refused without --force.
	code, _, errOut = kinfra("pki", "init", "--stack", "test", "--dir", dir, "--pulumi", bin)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "stack test already has kinfra:pki")
	code, _, errOut = kinfra("pki", "init", "--stack", "test", "--dir", dir, "--pulumi", bin, "--force")
	require.Equal(t, 0, code, errOut)
	again := strings.TrimSuffix(pulumi(t, dir, bin, "config", "get", "kinfra:pki", "--stack", "test"), "\n")
	require.NotEqual(t, value, again)
}

func TestPKIInitExplainsWhatPulumiNeeds(t *testing.T) {
	dir, bin := pulumiProject(t)
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "")
	t.Setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "")
	code, _, errOut := kinfra("pki", "init", "--stack", "test", "--dir", dir, "--pulumi", bin)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "its secrets provider (e.g. PULUMI_CONFIG_PASSPHRASE for passphrase stacks)")
}

func TestPKIInitNeedsAStack(t *testing.T) {
	code, _, errOut := kinfra("pki", "init")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "--stack is required")
	code, _, errOut = kinfra("pki", "init", "--stack", "nope", "--dir", "../..")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `no stack "nope"`)
}

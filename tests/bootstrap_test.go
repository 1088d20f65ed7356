package tests

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/plan"
	"github.com/kinfra-dev/kinfra/internal/testtools"
)

// renderedUserData is every master launch template's user data in every
// committed stack, decoded, by "<stack>/<launch template>".
func renderedUserData(t *testing.T) map[string]string {
	out := map[string]string{}
	for _, file := range committedStacks(t) {
		sf, err := plan.LoadStackFile(file)
		require.NoError(t, err)
		p, err := plan.Run(sf)
		require.NoError(t, err)
		for _, lt := range mockaws.OfType(p.Resources, "aws:ec2/launchTemplate:LaunchTemplate") {
			raw, err := base64.StdEncoding.DecodeString(lt.Inputs["userData"].(string))
			require.NoError(t, err)
			require.LessOrEqual(t, len(raw), bootstrap.UserDataLimit, "%s: EC2 limits user data to 16 KiB", lt.Name)
		}
		uds, err := p.UserData()
		require.NoError(t, err)
		for _, ud := range uds {
			out[sf.Name+"/"+ud.LaunchTemplate] = ud.CloudConfig
		}
	}
	require.NotEmpty(t, out)
	return out
}

// writeFiles writes a cloud-config's write_files under dir, by base name.
func writeFiles(t *testing.T, userData, dir string) map[string]string {
	var doc struct {
		WriteFiles []bootstrap.File `yaml:"write_files"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(userData), &doc))
	paths := map[string]string{}
	for _, f := range doc.WriteFiles {
		p := filepath.Join(dir, filepath.Base(f.Path))
		require.NoError(t, os.WriteFile(p, []byte(f.Content), 0o600))
		paths[f.Path] = p
	}
	return paths
}

func runTool(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", filepath.Base(name), strings.Join(args, " "), out)
}

func TestEveryRenderedKubeadmConfigPassesKubeadmValidate(t *testing.T) {
	kubeadm := testtools.Path(t, "kubeadm")
	for name, ud := range renderedUserData(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			files := writeFiles(t, ud, dir)
			require.Contains(t, files, bootstrap.KubeadmInitPath)
			runTool(t, kubeadm, "config", "validate", "--config", files[bootstrap.KubeadmInitPath])

			// kubeadm checks that the discovery kubeconfig exists. The boot
			// script writes it (from SSM) just before joining; here a stand-in
			// takes its place, and only that path is changed.
			join := mustRead(t, files[bootstrap.KubeadmJoinPath])
			require.Contains(t, join, "kubeConfigPath: "+bootstrap.DiscoveryPath)
			require.Contains(t, mustRead(t, files[bootstrap.MasterEnvPath]), "DISCOVERY_CONFIG='"+bootstrap.DiscoveryPath+"'",
				"the boot script writes the file the join configuration names")
			standIn := filepath.Join(dir, "discovery.conf")
			require.NoError(t, os.WriteFile(standIn, []byte(discoveryStandIn), 0o600))
			joinPath := filepath.Join(dir, "join.yaml")
			require.NoError(t, os.WriteFile(joinPath, []byte(strings.Replace(join, bootstrap.DiscoveryPath, standIn, 1)), 0o600))
			runTool(t, kubeadm, "config", "validate", "--config", joinPath)
		})
	}
}

// discoveryStandIn has the shape of the kubeconfig the boot script writes.
const discoveryStandIn = `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://api.test.k8s.internal:6443
users:
- name: tls-bootstrap
  user:
    token: abcdef.0123456789abcdef
contexts:
- name: join
  context:
    cluster: test
    user: tls-bootstrap
current-context: join
`

func TestEveryRenderedUserDataPassesCloudInitSchema(t *testing.T) {
	cloudInit := testtools.Path(t, "cloud-init")
	for name, ud := range renderedUserData(t) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "user-data")
			require.NoError(t, os.WriteFile(path, []byte(ud), 0o600))
			runTool(t, cloudInit, "schema", "--config-file", path)
		})
	}
}

func TestEveryRenderedScriptPassesShellcheck(t *testing.T) {
	shellcheck := testtools.Path(t, "shellcheck")
	for name, ud := range renderedUserData(t) {
		t.Run(name, func(t *testing.T) {
			files := writeFiles(t, ud, t.TempDir())
			require.Contains(t, files, bootstrap.BootScriptPath)
			runTool(t, shellcheck, "--shell=bash", "--severity=style", files[bootstrap.BootScriptPath])
		})
	}
}

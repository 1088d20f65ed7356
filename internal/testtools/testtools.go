// Package testtools finds the upstream binaries the tests hand rendered
// artifacts to (kubeadm, kube-apiserver, kubectl, etcd, shellcheck,
// cloud-init, the Pulumi CLI, actionlint, moto_server, and k8s-check,
// kinfra's checker built on the Kubernetes code), and runs servers for them
// in network namespaces (netns.go, process.go) or on loopback (moto.go). The test
// command (scripts/test) builds or installs them and sets
// KINFRA_REQUIRE_TOOLS=1, so there a missing tool fails the test; in a bare
// `go test` it skips, saying what to run.
package testtools

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Path returns the binary for name: $KINFRA_<NAME> (upper case, '-' and '.'
// as '_': kubeadm-1.36 is $KINFRA_KUBEADM_1_36), else the last (by name)
// .tools/bin/<name>-v* of the repository, else name on PATH. scripts/tools
// leaves one per pinned version; after a pin changes, the test command sets
// $KINFRA_<NAME> to the new one. The "v" keeps kubeadm's glob from matching
// kubeadm-1.36-v1.36.3, the previous minor's.
func Path(t testing.TB, name string) string {
	t.Helper()
	env := "KINFRA_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(name))
	if p := os.Getenv(env); p != "" {
		return p
	}
	if root, ok := repoRoot(); ok {
		matches, _ := filepath.Glob(filepath.Join(root, ".tools", "bin", name+"-v*"))
		if len(matches) > 0 {
			return matches[len(matches)-1]
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	skipOrFail(t, name+" is not available: run ./scripts/test (it builds or installs it), or set "+env)
	return ""
}

func repoRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, ".tools")); err == nil {
			return dir, true
		}
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.yaml")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

package testtools_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kinfra-dev/kinfra/internal/testtools"
)

// writeFile writes content to a new file of the test's temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkOK runs k8s-check and requires it to accept the file, printing want.
func checkOK(t *testing.T, sub, path, want string) {
	t.Helper()
	out, err := testtools.K8sCheck(t, sub, path)
	if err != nil {
		t.Fatalf("k8s-check %s %s: %v\n%s", sub, path, err, out)
	}
	if strings.TrimSpace(out) != want {
		t.Fatalf("k8s-check %s output = %q, want %q", sub, out, want)
	}
}

// checkFails runs k8s-check and requires it to reject the file (exit code
// 1, not a crash or usage error) with a message matching every pattern.
func checkFails(t *testing.T, sub, path string, patterns ...string) string {
	t.Helper()
	out, err := testtools.K8sCheck(t, sub, path)
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
		t.Fatalf("k8s-check %s %s: want exit code 1, got %v\n%s", sub, path, err, out)
	}
	if strings.Contains(out, "ok "+path) {
		t.Errorf("k8s-check %s: says ok for a bad file:\n%s", sub, out)
	}
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(out) {
			t.Errorf("k8s-check %s output does not match %q:\n%s", sub, p, out)
		}
	}
	return out
}

func TestK8sCheckVersion(t *testing.T) {
	out, err := exec.Command(testtools.Path(t, "k8s-check"), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("k8s-check version: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`^v1\.\d+\.\d+\n$`).Match(out) {
		t.Fatalf("k8s-check version = %q, want a Kubernetes version", out)
	}
}

// A partial KubeletConfiguration, like the kubeadm patches kinfra renders.
const kubeletPatch = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
maxPods: 110
kubeReserved:
  cpu: 100m
  memory: 256Mi
  ephemeral-storage: 1Gi
systemReserved:
  cpu: 100m
  memory: 200Mi
evictionHard:
  memory.available: 100Mi
  nodefs.available: "10%"
  imagefs.available: "15%"
`

func TestK8sCheckKubeletConfigAcceptsPartialConfiguration(t *testing.T) {
	path := writeFile(t, "kubelet.yaml", kubeletPatch)
	checkOK(t, "kubelet-config", path, "ok "+path)
}

func TestK8sCheckKubeletConfigRejectsUnknownField(t *testing.T) {
	path := writeFile(t, "kubelet.yaml", kubeletPatch+"maxPodsPerCore: 10\nmaxPodz: 3\n")
	checkFails(t, "kubelet-config", path, `unknown field "maxPodz"`)
}

func TestK8sCheckKubeletConfigRejectsDuplicateField(t *testing.T) {
	path := writeFile(t, "kubelet.yaml", kubeletPatch+"maxPods: 20\n")
	// The duplicate is on the file's line 15.
	checkFails(t, "kubelet-config", path, `line 15: key "maxPods" already set`)
}

func TestK8sCheckKubeletConfigRejectsInvalidValues(t *testing.T) {
	t.Run("validation", func(t *testing.T) {
		path := writeFile(t, "kubelet.yaml", strings.Replace(kubeletPatch, "maxPods: 110", "maxPods: -1", 1))
		checkFails(t, "kubelet-config", path, `maxPods .* must not be a negative number`)
	})
	t.Run("eviction threshold", func(t *testing.T) {
		path := writeFile(t, "kubelet.yaml", strings.Replace(kubeletPatch, "memory.available: 100Mi", "memory.available: lots", 1))
		checkFails(t, "kubelet-config", path, `evictionHard: memory\.available: "lots"`)
	})
	t.Run("reserved resource", func(t *testing.T) {
		path := writeFile(t, "kubelet.yaml", strings.Replace(kubeletPatch, "cpu: 100m\n  memory: 200Mi", "cpu: 100m\n  memory: -200Mi", 1))
		checkFails(t, "kubelet-config", path, `systemReserved: .*"memory" cannot be negative`)
	})
	t.Run("feature gate", func(t *testing.T) {
		path := writeFile(t, "kubelet.yaml", kubeletPatch+"featureGates:\n  NoSuchFeature: true\n")
		checkFails(t, "kubelet-config", path, `unrecognized feature gate: NoSuchFeature`)
	})
	t.Run("other kind", func(t *testing.T) {
		path := writeFile(t, "kubelet.yaml", "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n")
		checkFails(t, "kubelet-config", path, `is not a kubelet\.config\.k8s\.io/v1beta1 KubeletConfiguration`)
	})
}

const configMapAndDaemonSet = `# an add-on
apiVersion: v1
kind: ConfigMap
metadata:
  name: agent
  namespace: kube-system
data:
  config.yaml: |
    level: info
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  namespace: kube-system
spec:
  selector:
    matchLabels:
      app: agent
  template:
    metadata:
      labels:
        app: agent
    spec:
      tolerations:
      - operator: Exists
      containers:
      - name: agent
        image: registry.k8s.io/pause:3.10
        resources:
          requests:
            cpu: 10m
            memory: 16Mi
        volumeMounts:
        - name: config
          mountPath: /etc/agent
      volumes:
      - name: config
        configMap:
          name: agent
---
`

func TestK8sCheckObjectsAcceptsMultiDocumentFile(t *testing.T) {
	path := writeFile(t, "addon.yaml", configMapAndDaemonSet)
	checkOK(t, "objects", path, "ok "+path+" (2 objects)")
}

func TestK8sCheckObjectsRejectsMisspelledField(t *testing.T) {
	path := writeFile(t, "addon.yaml", strings.Replace(configMapAndDaemonSet, "volumeMounts:", "volumeMount:", 1))
	checkFails(t, "objects", path,
		`document 2 at line 11 \(DaemonSet kube-system/agent\): unknown field "spec\.template\.spec\.containers\[0\]\.volumeMount"`)
}

func TestK8sCheckObjectsRejects(t *testing.T) {
	for name, tc := range map[string]struct{ doc, pattern string }{
		"duplicate field": {
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n",
			`line 5: key "name" already set`,
		},
		"unknown kind": {
			"apiVersion: apps/v1\nkind: DaemonSett\nmetadata:\n  name: a\n",
			`unknown kind "DaemonSett" in apiVersion "apps/v1"`,
		},
		"version no longer served": {
			"apiVersion: extensions/v1beta1\nkind: DaemonSet\nmetadata:\n  name: a\n",
			`apiVersion "extensions/v1beta1" is not served`,
		},
		"wrong type": {
			"apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: a\nspec:\n  minReadySeconds: soon\n",
			`cannot unmarshal string .* of type int32`,
		},
		"no name": {
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: a\n",
			`metadata\.name is not set`,
		},
		"no kind": {
			"apiVersion: v1\nmetadata:\n  name: a\n",
			`kind is not set`,
		},
		"same object twice": {
			configMapAndDaemonSet + "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: agent\n  namespace: kube-system\n",
			`document 3 at line 42: ConfigMap kube-system/agent is also defined in document 1 at line 1`,
		},
		"bad List item": {
			"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ServiceAccount\n  metadata:\n    name: a\n  automount: true\n",
			`document 1 at line 1 item 1 \(ServiceAccount a\): unknown field "automount"`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			checkFails(t, "objects", writeFile(t, "objects.yaml", tc.doc), tc.pattern)
		})
	}
}

func TestK8sCheckReportsEveryBadFile(t *testing.T) {
	good := writeFile(t, "good.yaml", configMapAndDaemonSet)
	bad := writeFile(t, "bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  a: 1\n")
	out, err := testtools.K8sCheck(t, "objects", good, bad)
	if err == nil {
		t.Fatalf("k8s-check objects accepted %s:\n%s", bad, out)
	}
	if !strings.Contains(out, "ok "+good+" (2 objects)\n") || !strings.Contains(out, bad+": document 1 at line 1 (ConfigMap a): ") {
		t.Fatalf("k8s-check objects output:\n%s", out)
	}
}

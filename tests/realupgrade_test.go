package tests

// Upgrading the cluster's configuration on real binaries (docs/masters.md,
// "Upgrading the cluster's configuration"; docs/real-binaries.md): a
// control plane made at v1.36.3 by kubeadm and kube-apiserver v1.36.3 from
// a committed stack rendered at that version; then masters of the same
// stack rendered at v1.37.2, built by the boot script's own functions with
// kubeadm v1.37.2, bring the cluster's kubeadm configuration to their
// version with the boot's upgrade_cluster.

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/kubeconfig"
	"github.com/kinfra-dev/kinfra/internal/testtools"
)

func realUpgradeTools(t *testing.T) {
	realControlPlaneTools(t)
	for _, tool := range []string{"kubeadm-1.36", "kube-apiserver-1.36"} {
		testtools.Path(t, tool)
	}
}

// realKubeletVersion is what the kubelet stand-in reports. The kubelet is
// not built here; kubeadm join's preflight only runs `kubelet --version`.
const realKubeletVersion = "v1.37.2"

// kubeletStandIn is a static program (kubeadm runs it inside a chroot that
// has no shell) that answers `kubelet --version` as the kubelet does.
const kubeletStandIn = `package main

import (
	"fmt"
	"os"
)

// A stand-in for the kubelet in kinfra's real-binary tests: it only
// reports its version.
func main() {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Println("Kubernetes ` + realKubeletVersion + `")
		return
	}
	fmt.Fprintln(os.Stderr, "kubelet stand-in: only --version is implemented")
	os.Exit(1)
}
`

// realKubeadmObjects are the objects kubeadm's phases own in the cluster
// (kind/namespace/name): its configuration, the RBAC rules of bootstrap
// tokens and nodes, cluster-info, and CoreDNS.
var realKubeadmObjects = []string{
	"ConfigMap/kube-system/kubeadm-config", "ConfigMap/kube-system/kubelet-config",
	"Role/kube-system/kubeadm:nodes-kubeadm-config", "RoleBinding/kube-system/kubeadm:nodes-kubeadm-config",
	"Role/kube-system/kubeadm:kubelet-config", "RoleBinding/kube-system/kubeadm:kubelet-config",
	"ClusterRole//kubeadm:get-nodes", "ClusterRoleBinding//kubeadm:get-nodes",
	"ClusterRoleBinding//kubeadm:kubelet-bootstrap", "ClusterRoleBinding//kubeadm:node-autoapprove-bootstrap",
	"ClusterRoleBinding//kubeadm:node-autoapprove-certificate-rotation", "ClusterRoleBinding//kubeadm:apiserver-kubelet-client",
	"ConfigMap/kube-public/cluster-info",
	"Role/kube-public/kubeadm:bootstrap-signer-clusterinfo", "RoleBinding/kube-public/kubeadm:bootstrap-signer-clusterinfo",
	"Deployment/kube-system/coredns", "ConfigMap/kube-system/coredns", "Service/kube-system/kube-dns",
	"ServiceAccount/kube-system/coredns", "ClusterRole//system:coredns", "ClusterRoleBinding//system:coredns",
	// kinfra's own kube-proxy (the add-ons), which kubeadm must never touch.
	"ConfigMap/kube-system/kube-proxy",
}

// realObject is the part of an object the upgrade tests compare.
type realObject struct {
	ResourceVersion string
	Data            map[string]string
	Image           string // a Deployment's first container's
}

// kubeadmState reads every object of realKubeadmObjects, by key; a missing
// one is absent from the map.
func (a *realAPIServer) kubeadmState(t *testing.T, kc string) map[string]realObject {
	t.Helper()
	state := map[string]realObject{}
	for _, ns := range []string{"kube-system", "kube-public"} {
		var names []string
		for _, key := range realKubeadmObjects {
			parts := strings.SplitN(key, "/", 3)
			if parts[1] == ns || (parts[1] == "" && ns == "kube-system") {
				names = append(names, strings.ToLower(parts[0])+"/"+parts[2])
			}
		}
		out, err := a.run(kc, append([]string{"get", "-n", ns, "--ignore-not-found", "-o", "json"}, names...)...)
		require.NoError(t, err, out)
		var list struct {
			Items []struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Namespace, Name, ResourceVersion string
				} `json:"metadata"`
				Data map[string]string `json:"data"`
				Spec struct {
					Template struct {
						Spec struct {
							Containers []struct{ Image string } `json:"containers"`
						} `json:"spec"`
					} `json:"template"`
				} `json:"spec"`
			} `json:"items"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &list), out)
		for _, it := range list.Items {
			o := realObject{ResourceVersion: it.Metadata.ResourceVersion, Data: it.Data}
			if cs := it.Spec.Template.Spec.Containers; len(cs) > 0 {
				o.Image = cs[0].Image
			}
			state[it.Kind+"/"+it.Metadata.Namespace+"/"+it.Metadata.Name] = o
		}
	}
	return state
}

// realClusterVersion is the kubernetesVersion of kubeadm-config's
// ClusterConfiguration in state.
func realClusterVersion(t *testing.T, state map[string]realObject) string {
	t.Helper()
	var cc struct {
		KubernetesVersion string `yaml:"kubernetesVersion"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(state["ConfigMap/kube-system/kubeadm-config"].Data["ClusterConfiguration"]), &cc))
	return cc.KubernetesVersion
}

// registerKubelet does for master m what its kubelet does once the API
// answers, and what kubeadm's upgrade phases read: it registers m's Node
// (named as m's kubelet.conf names it) and mirrors m's API server static
// pod (the pod kubeadm wrote, bound to the node, with the mirror
// annotations): its image tells kubeadm which version the instance runs.
func (a *realAPIServer) registerKubelet(t *testing.T, kc string, m *realMaster) string {
	t.Helper()
	node := m.hostname()
	var conf struct {
		Users []struct {
			User struct {
				Cert string `yaml:"client-certificate-data"`
			} `yaml:"user"`
		} `yaml:"users"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(mustRead(t, m.path("/etc/kubernetes/kubelet.conf"))), &conf))
	require.Len(t, conf.Users, 1)
	require.Equal(t, "system:node:"+node, realCertCN(t, conf.Users[0].User.Cert), "kubelet.conf names the node after the host")

	var pod map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(mustRead(t, m.path("/etc/kubernetes/manifests/kube-apiserver.yaml"))), &pod))
	meta := pod["metadata"].(map[string]any)
	meta["name"] = "kube-apiserver-" + node
	annotations := meta["annotations"].(map[string]any)
	annotations["kubernetes.io/config.mirror"] = "kinfra-test"
	annotations["kubernetes.io/config.source"] = "file"
	pod["spec"].(map[string]any)["nodeName"] = node
	delete(pod, "status")
	// The kubelet registers its node with its addresses and, running, as
	// Ready.
	a.create(t, kc, map[string]any{"apiVersion": "v1", "kind": "Node", "metadata": map[string]any{
		"name": node, "labels": map[string]any{"kubernetes.io/hostname": node, "kubernetes.io/os": "linux"}},
		"status": map[string]any{
			"addresses":  []any{map[string]any{"type": "InternalIP", "address": m.host.IP()}, map[string]any{"type": "Hostname", "address": node}},
			"conditions": []any{map[string]any{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status (kinfra's test stand-in)"}},
		}})
	a.create(t, kc, pod)
	return node
}

// create creates obj through the API.
func (a *realAPIServer) create(t *testing.T, kc string, obj map[string]any) {
	t.Helper()
	b, err := json.Marshal(obj)
	require.NoError(t, err)
	f, err := os.CreateTemp(a.c.dir, "object-*.json")
	require.NoError(t, err)
	_, err = f.Write(b)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	out, err := a.run(kc, "create", "-f", f.Name())
	require.NoError(t, err, out)
}

// realCertCN is the common name of a base64 PEM certificate.
func realCertCN(t *testing.T, b64 string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	require.NoError(t, err)
	block, _ := pem.Decode(raw)
	require.NotNil(t, block)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	return cert.Subject.CommonName
}

// joinPreflight runs `kubeadm join phase preflight` of kubeadm (a binary)
// on a new worker (the client machine, with its own root) against the
// cluster, as a node pool's boot would join: the cluster CA and the API's
// name, the join token, containerd's socket. Discovery is by a file that
// holds the CA, the API's address and the join token instead of by token:
// token discovery reads cluster-info anonymously and waits for the
// controller manager's signature of it, and neither anonymous reads nor a
// controller manager are there. Only the checks of the machine itself (no
// container runtime, kernel settings, tools that a worker image has) are
// ignored, by name: the kubelet's version and the control plane's (that
// kubeadm-config's kubernetesVersion is one kubeadm supports) are checked.
func (c *realCluster) joinPreflight(t *testing.T, kubeadm string) (string, error) {
	t.Helper()
	root := filepath.Join(c.dir, "worker")
	if _, err := os.Stat(filepath.Join(root, "usr", "bin", "kubelet")); os.IsNotExist(err) {
		require.NoError(t, os.MkdirAll(filepath.Join(root, "usr", "bin"), 0o755))
		src := filepath.Join(c.dir, "kubelet-standin.go")
		require.NoError(t, os.WriteFile(src, []byte(kubeletStandIn), 0o644))
		build := exec.Command("go", "build", "-o", filepath.Join(root, "usr", "bin", "kubelet"), src)
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
		out, err := build.CombinedOutput()
		require.NoError(t, err, "building the kubelet stand-in: %s", out)
		kc, err := kubeconfig.Admin{
			Cluster: c.stack.cluster.Name, Server: fmt.Sprintf("https://%s:%d", c.stack.apiName(), bootstrap.APIPort),
			CACert: c.stack.bundle.ClusterCA.Cert, ClientCert: c.stack.bundle.Admin.Cert, ClientKey: c.stack.bundle.Admin.Key,
		}.Render()
		require.NoError(t, err)
		// The discovery file has the cluster and, for credentials, the join
		// token instead of the admin's certificate.
		var doc map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(kc), &doc))
		for _, u := range doc["users"].([]any) {
			u.(map[string]any)["user"] = map[string]any{"token": c.stack.bundle.BootstrapToken}
		}
		b, err := yaml.Marshal(doc)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(root, "etc", "kinfra"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, "etc", "kinfra", "discovery.conf"), b, 0o600))
	}
	// No containerd, no cgroup mounts and no host tools in the worker's
	// root: the checks of those, and only those, are ignored.
	ignored := []string{"CRI", "ContainerRuntimeVersion", "SystemVerification", "FileExisting-losetup", "FileExisting-mount", "FileExisting-cp"}
	const script = `set -euo pipefail
root=$1
shift
mkdir -p "$root/proc" "$root/tmp" "$root/etc" "$root/dev"
mount -t proc proc "$root/proc"
# The host's names, and /dev/null for the commands kubeadm runs.
touch "$root/etc/hosts" "$root/dev/null"
mount --bind /etc/hosts "$root/etc/hosts"
mount --bind /dev/null "$root/dev/null"
exec unshare --uts bash -c 'hostname kinfra-test-worker && exec "$@"' _ "$@" --rootfs "$root" 2>&1`
	discovery := []string{"--discovery-file", "/etc/kinfra/discovery.conf", "--cri-socket", bootstrap.ContainerdSocket}
	if c.joinConfig != "" {
		discovery = []string{"--config", c.joinConfig}
	}
	args := append([]string{"-c", script, "join-preflight", root, kubeadm, "join", "phase", "preflight"}, discovery...)
	args = append(args, "--ignore-preflight-errors", strings.Join(ignored, ","), "--v=1")
	return c.client.Run(3*time.Minute, nil, "bash", args...)
}

// realKubeadmImage is the image of name that m's kubeadm installs for its
// rendered configuration (kubeadm config images list).
func realKubeadmImage(t *testing.T, m *realMaster, name string) string {
	t.Helper()
	out, err := m.kubeadm(t, "config", "images", "list", "--config", bootstrap.KubeadmInitPath)
	require.NoError(t, err, out)
	for _, line := range strings.Fields(out) {
		if strings.Contains(line, "/"+name+":") {
			return line
		}
	}
	t.Fatalf("kubeadm lists no %s image: %s", name, out)
	return ""
}

// realObjectKeys are the keys of state, sorted.
func realObjectKeys(m map[string]realObject) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// realUpgrade is where the upgrade tests start: us-east-1 rendered at
// from (old) and at to, its version (st), one cluster with one PKI; the
// kubeadm and API server of both (v1.36.3 and v1.37.2); and the machines
// of the cluster at from (c), each running from's kubeadm and API server,
// with nothing started.
type realUpgrade struct {
	old, st                  realStack
	kubeadm136, apiServer136 string
	kubeadm137, apiServer137 string
	c                        *realCluster
}

func newRealUpgrade(t *testing.T, from, to string) realUpgrade {
	t.Helper()
	realUpgradeTools(t)
	u := realUpgrade{old: loadRealStackAt(t, "us-east-1", from), st: loadRealStack(t, "us-east-1"),
		kubeadm136: testtools.Path(t, "kubeadm-1.36"), apiServer136: testtools.Path(t, "kube-apiserver-1.36"),
		kubeadm137: testtools.Path(t, "kubeadm"), apiServer137: testtools.Path(t, "kube-apiserver")}
	require.Equal(t, to, u.st.cluster.Kubernetes.Version)
	u.st.bundle = u.old.bundle
	// Rendered at either version, a slot's files differ in the version only.
	for i, s := range u.st.slots {
		require.Equal(t, len(s.files), len(u.old.slots[i].files))
		for path, f := range s.files {
			require.Equal(t, f.Content, strings.ReplaceAll(u.old.slots[i].files[path].Content, from, to), "slot %d %s", i, path)
		}
	}
	u.c = newRealCluster(t, u.old)
	u.c.useKubeadm(t)
	for _, m := range u.c.masters {
		m.kubeadmBin, m.apiServerBin = u.kubeadm136, u.apiServer136
	}
	return u
}

// initPhase runs `kubeadm init phase <phase>` of m's kubeadm with m's
// rendered configuration.
func (m *realMaster) initPhase(t *testing.T, phase ...string) {
	t.Helper()
	args := append(append([]string{"init", "phase"}, phase...), "--config", bootstrap.KubeadmInitPath)
	out, err := m.kubeadm(t, args...)
	require.NoError(t, err, "kubeadm %s:\n%s", strings.Join(args, " "), out)
}

// makeCluster makes the cluster as slot 0's first boot does with its
// image's kubeadm and API server (realMaster.kubeadmBin, apiServerBin):
// etcd on every slot; kubeadm init's phases around its API server (the
// certificates, kubeconfigs and static pod; then through the API the
// configuration, the bootstrap-token rules and cluster-info, CoreDNS;
// never kube-proxy), and kinfra's join token, as kubeadm_init makes it. It
// returns slot 0's API server and the admin kubeconfig through the API's
// name.
func (c *realCluster) makeCluster(t *testing.T) (*realAPIServer, string) {
	t.Helper()
	c.startEtcdCluster(t)
	m0 := c.prepareControlPlane(t, nil)
	m0.initPhase(t, "kubeconfig", "kubelet")
	first := c.startAPIServer(t, m0)
	first.waitReady(t)
	for _, phase := range [][]string{{"upload-config", "all"}, {"bootstrap-token", "--skip-token-print"}, {"addon", "coredns"}} {
		m0.initPhase(t, phase...)
	}
	out, err := m0.kubeadm(t, "token", "create", c.stack.bundle.BootstrapToken, "--ttl", m0.slot.env["JOIN_TOKEN_TTL"]+"s", "--kubeconfig", "/etc/kubernetes/admin.conf")
	require.NoError(t, err, out)
	kc, _ := first.adminKubeconfig(t, fmt.Sprintf("https://%s:%d", c.stack.apiName(), bootstrap.APIPort))
	return first, kc
}

// buildControlPlaneNode is what the boot of master m does once etcd runs,
// with its image's kubeadm (a new instance's boot, the cluster made):
// place_pki, wait_for_cluster and control_plane; its API server from the
// static pod; its kubelet registers (registerKubelet, through kc); and
// mark_control_plane.
func (c *realCluster) buildControlPlaneNode(t *testing.T, m *realMaster, kc string) *realAPIServer {
	t.Helper()
	out, err := m.boot(t, 5*time.Minute, "{ place_pki; wait_for_cluster; control_plane; } 2>&1")
	require.NoError(t, err, out)
	a := c.startAPIServer(t, m)
	a.waitReady(t)
	a.registerKubelet(t, kc, m)
	out, err = m.boot(t, 2*time.Minute, "mark_control_plane 2>&1")
	require.NoError(t, err, out)
	return a
}

func TestRealMastersBringTheClusterConfigurationToTheirVersion(t *testing.T) {
	// Waits more than it computes: it runs beside the other slow tests.
	t.Parallel()
	const from, to = "v1.36.3", "v1.37.2"
	u := newRealUpgrade(t, from, to)
	c, old, st, kubeadm136, kubeadm137, apiServer137 := u.c, u.old, u.st, u.kubeadm136, u.kubeadm137, u.apiServer137

	// The cluster as v1.36.3 made it (makeCluster). The add-ons put
	// kinfra's kube-proxy ConfigMap where kubeadm's would be.
	first, kc := c.makeCluster(t)
	m0 := first.m
	var kubeProxy map[string]any
	for key, o := range realAddonObjects(t, old.plan.Resources) {
		if strings.HasPrefix(key, "ConfigMap-") && o["metadata"].(map[string]any)["name"] == "kube-proxy" {
			kubeProxy = o
		}
	}
	require.NotNil(t, kubeProxy, "the stack runs kinfra's kube-proxy")
	first.create(t, kc, kubeProxy)
	node0 := first.registerKubelet(t, kc, m0)

	before := first.kubeadmState(t, kc)
	require.ElementsMatch(t, realKubeadmObjects, realObjectKeys(before), "kubeadm v1.36.3 made every object")
	require.Equal(t, from, realClusterVersion(t, before))
	coredns136 := realKubeadmImage(t, m0, "coredns")
	require.Equal(t, coredns136, before["Deployment/kube-system/coredns"].Image)

	// Slot 1's new instance, launched from the stack rendered at v1.37.2:
	// the boot builds its control-plane node with kubeadm v1.37.2 and starts
	// its API server v1.37.2, and its kubelet registers; slot 0 still runs
	// v1.36.3.
	m1 := c.masters[1]
	m1.reimage(t, st.slots[1], kubeadm137, apiServer137)
	second := c.buildControlPlaneNode(t, m1, kc)
	c.net.Name(st.apiName(), m1.host) // the load balancer's name reaches it
	coredns137 := realKubeadmImage(t, m1, "coredns")
	require.NotEqual(t, coredns136, coredns137, "kubeadm v1.37.2 pins another CoreDNS")

	// Today's defect: the master's boot so far (today's whole boot) moved
	// nothing; kubeadm-config says v1.36.3 while it runs v1.37.2. A v1.37.2
	// join still passes its preflight: kubeadm v1.37.2 supports a control
	// plane one minor behind, and join's preflight compares the kubelet
	// with kubeadm's own minimum (v1.34) only, not with kubeadm-config. The
	// join that fails is the one after the next minor (below).
	require.Equal(t, from, realClusterVersion(t, second.kubeadmState(t, kc)))
	out, err := c.joinPreflight(t, kubeadm137)
	require.NoError(t, err, out)
	requireJoinChecks(t, out)

	// The first master of v1.37.2 runs the step: kubeadm upgrade apply's
	// cluster-wide phases. The bootstrap-token rules are made again (one is
	// removed first to see it).
	out, err = second.run(kc, "delete", "clusterrolebinding", "kubeadm:get-nodes")
	require.NoError(t, err, out)
	out, err = m1.boot(t, 5*time.Minute, "upgrade_cluster 2>&1")
	require.NoError(t, err, out)
	t.Logf("upgrade_cluster on the first master of v1.37.2:\n%s", out)
	afterFirst := second.kubeadmState(t, kc)
	require.Equal(t, to, realClusterVersion(t, afterFirst))
	require.Contains(t, afterFirst, "ClusterRoleBinding//kubeadm:get-nodes")
	require.Equal(t, coredns136, afterFirst["Deployment/kube-system/coredns"].Image, "CoreDNS waits while slot 0 runs v1.36.3")
	require.Contains(t, out, "control plane instances ["+node0+"] have not been upgraded")

	// Slot 0's old instance goes next in the roll (its node and mirror pod
	// with it, as the cloud controller and the pod garbage collector remove
	// them; its successor, one more master of v1.37.2, is not built here).
	// Slot 2's new instance, the roll's last (its old one never registered
	// here), finds kubeadm-config at its version and runs kubeadm upgrade
	// node's CoreDNS phase: no older control-plane instance is left.
	first.proc.Stop()
	for _, obj := range [][]string{{"pod", "-n", "kube-system", "kube-apiserver-" + node0}, {"node", node0}} {
		out, err = second.run(kc, append([]string{"delete", "--grace-period=0", "--force"}, obj...)...)
		require.NoError(t, err, out)
	}
	m2 := c.masters[2]
	m2.reimage(t, st.slots[2], kubeadm137, apiServer137)
	out, err = m2.boot(t, 5*time.Minute, "{ place_pki; wait_for_cluster; control_plane; } 2>&1")
	require.NoError(t, err, out)
	second.registerKubelet(t, kc, m2)
	// (Its mark_control_plane, which needs its own API server, is left out:
	// the step reads and writes through the API's name.)
	out, err = m2.boot(t, 5*time.Minute, "upgrade_cluster 2>&1")
	require.NoError(t, err, out)
	t.Logf("upgrade_cluster on the last master of v1.37.2:\n%s", out)
	after := second.kubeadmState(t, kc)
	require.ElementsMatch(t, realKubeadmObjects, realObjectKeys(after), "every object kubeadm owns exists")
	require.Equal(t, to, realClusterVersion(t, after))
	require.Equal(t, coredns137, after["Deployment/kube-system/coredns"].Image)
	require.Equal(t, before["ConfigMap/kube-system/kube-proxy"], after["ConfigMap/kube-system/kube-proxy"], "kinfra's kube-proxy is untouched")
	out, err = second.run(kc, "get", "daemonset", "-n", "kube-system", "--ignore-not-found", "-o", "name")
	require.NoError(t, err, out)
	require.Empty(t, strings.TrimSpace(out), "kubeadm installed no kube-proxy")
	// kubeadm-config is the cluster's ClusterConfiguration at the new
	// version, as kubeadm upgrade apply keeps it: only the version moved.
	clusterConfig := func(state map[string]realObject) string {
		return state["ConfigMap/kube-system/kubeadm-config"].Data["ClusterConfiguration"]
	}
	require.Equal(t, strings.Replace(clusterConfig(before), "kubernetesVersion: "+from+"\n", "kubernetesVersion: "+to+"\n", 1), clusterConfig(after))
	// kubelet-config is what kubeadm v1.37.2 renders for the cluster: the
	// kubelet settings it wrote for the new master (control_plane's
	// kubelet-start) but for the node's own container runtime endpoint;
	// the v1.37.2 kubelet's own validation accepts it. (kubeadm v1.36.3
	// rendered the very same for this cluster.)
	kubelet := after["ConfigMap/kube-system/kubelet-config"].Data["kubelet"]
	local := mustRead(t, m2.path("/var/lib/kubelet/config.yaml"))
	require.Equal(t, kubelet, strings.Replace(local, "containerRuntimeEndpoint: "+bootstrap.ContainerdSocket+"\n", "containerRuntimeEndpoint: \"\"\n", 1))
	require.Equal(t, before["ConfigMap/kube-system/kubelet-config"].Data["kubelet"], kubelet)
	kubeletFile := filepath.Join(c.dir, "kubelet-config.yaml")
	require.NoError(t, os.WriteFile(kubeletFile, []byte(kubelet), 0o600))
	out, err = testtools.K8sCheck(t, "kubelet-config", kubeletFile)
	require.NoError(t, err, out)

	out, err = c.joinPreflight(t, kubeadm137)
	require.NoError(t, err, out)
	requireJoinChecks(t, out)

	// Again: nothing changes.
	out, err = m2.boot(t, 5*time.Minute, "upgrade_cluster 2>&1")
	require.NoError(t, err, out)
	require.Equal(t, after, second.kubeadmState(t, kc), "a second run changes nothing")

	// A master of v1.36.3 (slot 0's old launch template) finds kubeadm-config
	// at v1.37.2 and leaves it.
	out, err = m0.boot(t, 5*time.Minute, "upgrade_cluster 2>&1")
	require.NoError(t, err, out)
	require.Contains(t, out, "kubeadm-config says v1.37.2, newer than this master's v1.36.3: leaving the cluster's configuration as it is")
	require.Equal(t, after, second.kubeadmState(t, kc), "an older master changes nothing")

	// Two minors behind, as today's boot leaves a cluster made at v1.35
	// after its masters ran v1.36 and then v1.37 (kubeadm-config written
	// by kubeadm v1.36.3 from the rendered configuration at v1.35.0: no
	// v1.35 binary is built here): the v1.37.2 join fails its preflight,
	// and the step refuses to jump two minors, changing nothing.
	const twoBehind = "v1.35.0"
	init135 := strings.Replace(mustRead(t, m1.path(bootstrap.KubeadmInitPath)), "kubernetesVersion: "+to+"\n", "kubernetesVersion: "+twoBehind+"\n", 1)
	require.Contains(t, init135, twoBehind)
	require.NoError(t, os.WriteFile(m1.path("/etc/kinfra/kubeadm-init-1.35.yaml"), []byte(init135), 0o600))
	out, err = m1.kubeadmWith(t, kubeadm136, "init", "phase", "upload-config", "kubeadm", "--config", "/etc/kinfra/kubeadm-init-1.35.yaml")
	require.NoError(t, err, out)
	stale := second.kubeadmState(t, kc)
	require.Equal(t, twoBehind, realClusterVersion(t, stale))
	out, err = c.joinPreflight(t, kubeadm137)
	require.Error(t, err, "the join's preflight must fail with kubeadm-config two minors behind")
	require.Contains(t, err.Error(), "this version of kubeadm only supports deploying clusters with the control plane version >= 1.36.0. Current version: "+twoBehind)
	t.Logf("join preflight v1.37.2 against kubeadm-config %s (the defect, one minor later): %s", twoBehind, realLine(err.Error(), "control plane version"))
	out, err = m2.boot(t, 2*time.Minute, "upgrade_cluster 2>&1")
	require.Error(t, err, out)
	require.Contains(t, err.Error(), "refusing to move the cluster's configuration more than one minor at once")
	require.Equal(t, stale, second.kubeadmState(t, kc), "a refused step changes nothing")
}

// requireJoinChecks: the join's preflight ran the kubelet's version check
// and read kubeadm-config (where the control plane's version is checked).
func requireJoinChecks(t *testing.T, out string) {
	t.Helper()
	require.Contains(t, out, "validating kubelet version")
	require.NotContains(t, out, "KubeletVersion]")
	require.Contains(t, out, `Reading configuration from the "kubeadm-config" ConfigMap`)
}

// realLine is the first line of s that contains substr.
func realLine(s, substr string) string {
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, substr) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

package tests

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
)

// The boot's upgrade step, with the boot script's own main (bootWorld: the
// AWS CLI against moto_server, recorders for the host's commands, whose
// $state holds what the cluster's API would answer). The real kubeadm and
// API server run the same step in realupgrade_test.go.

// bootUpgradeWorld is slot 1's first boot in an existing cluster whose
// kubeadm-config says version and whose CoreDNS runs coredns.
func bootUpgradeWorld(t *testing.T, version, coredns string) *bootWorld {
	t.Helper()
	w := newBootWorld(t, 1, bootWorldOptions{})
	w.set("kube-system", "") // slot 0 created the cluster
	w.set("members", w.members(0))
	w.set("cluster-version", version+"\n")
	w.set("coredns-image", coredns+"\n")
	return w
}

// kubeadmCalls are the boot's kubeadm commands from its first upgrade or
// config command on (after the control-plane node was built).
func (w *bootWorld) kubeadmUpgradeCalls() []string {
	var out []string
	for _, c := range w.callsOf("kubeadm") {
		if c.has("kubeadm", "upgrade") || c.has("kubeadm", "config") {
			out = append(out, strings.Join(c.Args, " "))
		}
	}
	return out
}

// A master of a newer version (the stack's v1.37.2) boots into a cluster
// made at v1.36.3: once its control-plane node is built, kubeadm-config
// says its version. Today's boot left it at v1.36.3, so that the second
// minor upgrade broke every join.
func TestBootScriptAWSNewerMasterBringsTheClusterConfigurationToItsVersion(t *testing.T) {
	t.Parallel()
	w := bootUpgradeWorld(t, "v1.36.3", "registry.k8s.io/coredns/coredns:v1.14.2")
	version := w.env["KUBERNETES_VERSION"]
	require.Equal(t, "v1.37.2", version, "the committed stack's version")
	code, out := w.boot()
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "slot 1 is a control-plane node")

	require.Equal(t, version+"\n", mustRead(t, w.state+"/cluster-version"),
		"kubeadm-config says %s after a master of %s booted", strings.TrimSpace(mustRead(t, w.state+"/cluster-version")), version)
	admin := w.kubeconfigDir + "/admin.conf"
	require.Equal(t, []string{
		"config images list --config " + w.rendered(bootstrap.KubeadmInitPath),
		"upgrade apply phase bootstrap-token " + version + " --kubeconfig " + admin,
		"upgrade apply phase addon coredns " + version + " --kubeconfig " + admin,
		"upgrade apply phase upload-config all " + version + " --kubeconfig " + admin,
	}, w.kubeadmUpgradeCalls(), "kubeadm upgrade apply's cluster-wide phases, kubeadm-config last; never kube-proxy")
	require.Contains(t, out, "bringing the cluster's configuration from v1.36.3 to v1.37.2")
	w.requireOrder(bootStep{"kubeadm", []string{"init", "phase", "mark-control-plane"}}, bootStep{"kubeadm", []string{"upgrade"}})
}

// The next master of the same version finds kubeadm-config at its version
// and CoreDNS behind: kubeadm upgrade node's CoreDNS phase, nothing else.
func TestBootScriptAWSMasterUpgradesCoreDNSOnceKubeadmConfigIsAtItsVersion(t *testing.T) {
	t.Parallel()
	w := bootUpgradeWorld(t, "v1.37.2", "registry.k8s.io/coredns/coredns:v1.14.2")
	code, out := w.boot()
	require.Equal(t, 0, code, out)
	require.Equal(t, []string{
		"config images list --config " + w.rendered(bootstrap.KubeadmInitPath),
		"upgrade node phase addon coredns --kubeconfig " + w.kubeconfigDir + "/admin.conf",
	}, w.kubeadmUpgradeCalls())
	require.Equal(t, bootCoreDNSImage+"\n", mustRead(t, w.state+"/coredns-image"))
}

// A master older than the cluster's configuration (a slot launched from an
// older template) leaves it alone and says why; one two minors newer
// refuses, and its boot fails visibly.
func TestBootScriptAWSMasterNeverDowngradesNorSkipsAMinor(t *testing.T) {
	t.Parallel()
	w := bootUpgradeWorld(t, "v1.38.0", "registry.k8s.io/coredns/coredns:v1.15.0")
	code, out := w.boot()
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "kubeadm-config says v1.38.0, newer than this master's v1.37.2: leaving the cluster's configuration as it is")
	require.Empty(t, w.kubeadmUpgradeCalls())
	require.Equal(t, "v1.38.0\n", mustRead(t, w.state+"/cluster-version"))

	w = bootUpgradeWorld(t, "v1.35.4", "registry.k8s.io/coredns/coredns:v1.12.1")
	code, out = w.boot()
	require.NotEqual(t, 0, code, out)
	require.Contains(t, out, "FATAL: kubeadm-config says v1.35.4 and this master runs v1.37.2: refusing to move the cluster's configuration more than one minor at once")
	require.Empty(t, w.kubeadmUpgradeCalls())
	require.Equal(t, "v1.35.4\n", mustRead(t, w.state+"/cluster-version"))
}

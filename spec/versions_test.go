package spec_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/spec"
)

func TestParseVersion(t *testing.T) {
	v, err := spec.ParseVersion("v1.37.2")
	require.NoError(t, err)
	require.Equal(t, spec.Version{Major: 1, Minor: 37, Patch: 2}, v)
	require.Equal(t, "v1.37.2", v.String())
	require.Equal(t, "v1.37", v.MinorString())
	for _, bad := range []string{"1.37.2", "v1.37", "v1.37.2-rc.0", "v1.037.2", "v1.37.2 ", "latest", ""} {
		_, err := spec.ParseVersion(bad)
		require.EqualError(t, err, `"`+bad+`" is not a Kubernetes version; use vMAJOR.MINOR.PATCH such as v1.37.2`, bad)
	}
}

// versions is a control plane and node version pair.
func versions(control, node string) spec.KubernetesVersions {
	v, err := spec.Kubernetes{Version: control, NodeVersion: node}.Versions()
	if err != nil {
		panic(err)
	}
	return v
}

// The skew rules as functions over versions, beyond the two minors the
// pinned kubeadm installs.
func TestNodeSkewAllowsNodesUpToThreeMinorsBehindAndNeverAhead(t *testing.T) {
	for _, ok := range []spec.KubernetesVersions{
		versions("v1.37.2", "v1.37.2"),
		versions("v1.37.2", "v1.37.5"), // patches may differ either way
		versions("v1.37.2", "v1.36.3"),
		versions("v1.37.2", "v1.34.0"),
		versions("v1.36.3", "v1.33.9"),
	} {
		require.Empty(t, spec.CheckNodeSkew(ok), "%v", ok)
	}
	require.Equal(t, []string{
		"cluster.kubernetes.nodeVersion: v1.37.0 is newer than cluster.kubernetes.version v1.36.3; kubelets and kube-proxy must never be newer than the API servers (Kubernetes version skew policy): use v1.36.x or a minor up to three older",
	}, spec.CheckNodeSkew(versions("v1.36.3", "v1.37.0")).Messages())
	require.Equal(t, []string{
		"cluster.kubernetes.nodeVersion: v1.33.5 is 4 minors older than cluster.kubernetes.version v1.37.2; node pools may be at most three minors behind the control plane (Kubernetes version skew policy, and kubeadm's): use v1.34.x or newer",
	}, spec.CheckNodeSkew(versions("v1.37.2", "v1.33.5")).Messages())
}

func TestVersionChanges(t *testing.T) {
	cases := []struct {
		name       string
		base, head spec.KubernetesVersions
		want       []string
	}{
		{"nothing changes", versions("v1.36.3", "v1.36.3"), versions("v1.36.3", "v1.36.3"), nil},
		{"a patch upgrade of both in one change", versions("v1.37.2", "v1.37.2"), versions("v1.37.3", "v1.37.3"), nil},
		{"a patch downgrade", versions("v1.37.3", "v1.37.3"), versions("v1.37.2", "v1.37.2"), nil},
		{"two-step upgrade, step 1: version with nodeVersion pinned", versions("v1.36.3", "v1.36.3"), versions("v1.37.2", "v1.36.3"), nil},
		{"two-step upgrade, step 2: nodeVersion", versions("v1.37.2", "v1.36.3"), versions("v1.37.2", "v1.37.2"), nil},
		{"nodes catch up over several minors", versions("v1.37.2", "v1.34.1"), versions("v1.37.2", "v1.37.2"), nil},
		{"a skipped minor", versions("v1.35.4", "v1.35.4"), versions("v1.37.2", "v1.35.4"), []string{
			"cluster.kubernetes.version: v1.35.4 → v1.37.2 skips v1.36; the control plane moves one minor per change, because its API servers must stay within one minor of each other while the masters are replaced one at a time (and kubeadm upgrades one minor at a time): change to v1.36.x first, roll the masters, then continue",
		}},
		{"two skipped minors", versions("v1.34.1", "v1.34.1"), versions("v1.37.2", "v1.34.1"), []string{
			"cluster.kubernetes.version: v1.34.1 → v1.37.2 skips v1.35 and v1.36; the control plane moves one minor per change, because its API servers must stay within one minor of each other while the masters are replaced one at a time (and kubeadm upgrades one minor at a time): change to v1.35.x first, roll the masters, then continue",
		}},
		{"a minor downgrade", versions("v1.37.2", "v1.36.3"), versions("v1.36.3", "v1.36.3"), []string{
			"cluster.kubernetes.version: v1.37.2 → v1.36.3 lowers the control plane's minor; Kubernetes supports no downgrade of the API servers to an older minor (the newer ones may already have stored objects the older cannot read): keep v1.37.x (a patch downgrade within it is allowed)",
		}},
		{"a control plane that would outrun the running nodes by four minors", versions("v1.36.3", "v1.33.5"), versions("v1.37.2", "v1.34.0"), []string{
			"cluster.kubernetes.version: v1.37.2 would be 4 minors newer than v1.33.5, which the nodes run until their pools have rolled; node pools may be at most three minors behind the control plane (and kubeadm refuses to upgrade past older kubelets): first raise cluster.kubernetes.nodeVersion to v1.34.x or newer in an earlier change",
		}},
		{"a one-change bump of both", versions("v1.36.3", "v1.36.1"), versions("v1.37.2", "v1.37.1"), []string{
			"cluster.kubernetes.nodeVersion: v1.37.1 would be newer than v1.36.3, which the oldest API server runs until `kinfra roll` has replaced every master; kubelets, kube-proxy and cluster-autoscaler must never be newer than any API server. Keep `nodeVersion: v1.36.1` in this change, and raise it in a later one once every master runs v1.37",
		}},
		{"a nodeVersion that follows version riding along", versions("v1.36.3", "v1.36.3"), versions("v1.37.2", "v1.37.2"), []string{
			"cluster.kubernetes.nodeVersion: v1.37.2 would be newer than v1.36.3, which the oldest API server runs until `kinfra roll` has replaced every master; kubelets, kube-proxy and cluster-autoscaler must never be newer than any API server. nodeVersion follows cluster.kubernetes.version unless set, so raising version raises the nodes too: upgrade in two changes, this one with `nodeVersion: v1.36.3` pinned, and once every master runs v1.37, a second that raises nodeVersion",
		}},
		{"nodes ahead of the control plane as it was", versions("v1.36.3", "v1.35.2"), versions("v1.37.2", "v1.37.0"), []string{
			"cluster.kubernetes.nodeVersion: v1.37.0 would be newer than v1.36.3, which the oldest API server runs until `kinfra roll` has replaced every master; kubelets, kube-proxy and cluster-autoscaler must never be newer than any API server. Keep `nodeVersion: v1.35.2` in this change, and raise it in a later one once every master runs v1.37",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := spec.CheckVersionChange(tc.base, tc.head).Messages()
			if tc.want == nil {
				require.Empty(t, got)
				return
			}
			require.Equal(t, tc.want, got)
		})
	}
}

// The spec: both versions must be ones kinfra's kubeadm installs, and the
// nodes within the skew policy; all problems at once.
func TestNodeVersionInTheSpec(t *testing.T) {
	eff, err := spec.Resolve(valid())
	require.NoError(t, err)
	require.Equal(t, spec.DefaultKubernetes, eff.Kubernetes.NodeVersion, "nodeVersion defaults to version")
	require.Equal(t, "registry.k8s.io/kube-proxy:v1.37.2", eff.KubeProxy.Image)

	c := valid()
	c.Kubernetes.Version = "v1.37.2"
	c.Kubernetes.NodeVersion = "v1.36.3"
	c.Images.Enabled = new(bool)
	eff, err = spec.Resolve(c)
	require.NoError(t, err)
	require.Equal(t, "registry.k8s.io/kube-proxy:v1.36.3", eff.KubeProxy.Image, "kube-proxy runs beside the kubelets")
	require.Equal(t, "kinfra-node-k8s-v1.36.3-*", eff.NodePools[0].Image.Name, "pools look up the node version's image")
	require.Equal(t, "kinfra-master-k8s-v1.37.2-*", eff.Masters.Image.Name, "masters keep the control plane's")

	for _, tc := range []struct {
		name, version, nodeVersion string
		want                       []string
	}{
		{"malformed", "v1.37.2", "1.36", []string{
			`cluster.kubernetes.nodeVersion: "1.36" is not a Kubernetes version; use vMAJOR.MINOR.PATCH such as v1.37.2`,
		}},
		{"not installable", "v1.37.2", "v1.35.4", []string{
			"cluster.kubernetes.nodeVersion: v1.35.4 is not supported; kinfra's kubeadm (v1.37) installs v1.36.x and v1.37.x",
		}},
		{"newer than version", "v1.36.3", "v1.37.2", []string{
			"cluster.kubernetes.nodeVersion: v1.37.2 is newer than cluster.kubernetes.version v1.36.3; kubelets and kube-proxy must never be newer than the API servers (Kubernetes version skew policy): use v1.36.x or a minor up to three older",
		}},
		{"both wrong, all at once", "v1.34.1", "v1.38.0", []string{
			"cluster.kubernetes.version: v1.34.1 is not supported; kinfra's kubeadm (v1.37) installs v1.36.x and v1.37.x",
			"cluster.kubernetes.nodeVersion: v1.38.0 is not supported; kinfra's kubeadm (v1.37) installs v1.36.x and v1.37.x",
			"cluster.kubernetes.nodeVersion: v1.38.0 is newer than cluster.kubernetes.version v1.34.1; kubelets and kube-proxy must never be newer than the API servers (Kubernetes version skew policy): use v1.34.x or a minor up to three older",
		}},
		{"a defaulted nodeVersion repeats nothing", "v1.34.1", "", []string{
			"cluster.kubernetes.version: v1.34.1 is not supported; kinfra's kubeadm (v1.37) installs v1.36.x and v1.37.x",
		}},
		{"older patch of the same minor", "v1.37.2", "v1.37.0", nil},
		{"newer patch of the same minor", "v1.36.3", "v1.36.9", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			c.Kubernetes.Version, c.Kubernetes.NodeVersion = tc.version, tc.nodeVersion
			require.Equal(t, tc.want, messages(t, c))
		})
	}
}

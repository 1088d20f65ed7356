package spec

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Kubernetes versions and the skew rules kinfra enforces, in one place: the
// spec checks one stack's two versions (checkVersions), `kinfra plan diff`
// a change between two stacks' (CheckVersionChange). The rules are
// upstream's version-skew policy and kubeadm's
// (cmd/kubeadm/app/phases/upgrade/policy.go, preflight/checks.go):
//
//   - kube-apiserver instances are within one minor of each other, so the
//     control plane, whose masters are replaced one at a time, moves one
//     minor per change (kubeadm, too, upgrades one minor at a time);
//   - kubelet and kube-proxy are never newer than any kube-apiserver, and at
//     most three minors older (kubeadm refuses to upgrade past older
//     kubelets, and supports kubelets three minors older than itself).
//
// Skew is counted in minors: patches within a minor may differ either way.

// SupportedKubernetesMinors are the minor versions the pinned kubeadm (v1.37)
// can install: its own and the one before.
var SupportedKubernetesMinors = []string{"1.36", "1.37"}

// MaxNodeSkew is how many minors kubelets and kube-proxy may be older than
// the API servers.
const MaxNodeSkew = 3

// Version is a Kubernetes release, vMAJOR.MINOR.PATCH.
type Version struct{ Major, Minor, Patch int }

var kubeVersion = regexp.MustCompile(`^v(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})$`)

// ParseVersion reads a release version such as v1.37.2.
func ParseVersion(s string) (Version, error) {
	m := kubeVersion.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("%q is not a Kubernetes version; use vMAJOR.MINOR.PATCH such as %s", validate.Shorten(s), DefaultKubernetes)
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	return Version{n(1), n(2), n(3)}, nil
}

func (v Version) String() string { return fmt.Sprintf("v%d.%d.%d", v.Major, v.Minor, v.Patch) }

// MinorString is the version's minor, e.g. v1.37.
func (v Version) MinorString() string { return fmt.Sprintf("v%d.%d", v.Major, v.Minor) }

// minorsAfter is how many minors v is newer than w (negative when older).
// Kubernetes has only ever had major 1: another major counts as far away.
func (v Version) minorsAfter(w Version) int {
	if v.Major != w.Major {
		return (v.Major - w.Major) * 1000
	}
	return v.Minor - w.Minor
}

// addMinors is the first patch of the minor n after v (before, for n < 0).
func (v Version) addMinors(n int) Version { return Version{v.Major, v.Minor + n, 0} }

func (v Version) supported() bool {
	return slices.Contains(SupportedKubernetesMinors, fmt.Sprintf("%d.%d", v.Major, v.Minor))
}

// KubernetesVersions are what a cluster runs: the control plane at
// cluster.kubernetes.version, node pools, kube-proxy and the add-ons that
// follow Kubernetes at cluster.kubernetes.nodeVersion.
type KubernetesVersions struct{ Control, Node Version }

// Versions parses k's versions; an unset nodeVersion reads as version, as
// it defaults (and as a plan made before nodeVersion existed ran its nodes).
func (k Kubernetes) Versions() (KubernetesVersions, error) {
	control, err := ParseVersion(k.Version)
	if err != nil {
		return KubernetesVersions{}, fmt.Errorf("cluster.kubernetes.version: %w", err)
	}
	node := control
	if k.NodeVersion != "" {
		if node, err = ParseVersion(k.NodeVersion); err != nil {
			return KubernetesVersions{}, fmt.Errorf("cluster.kubernetes.nodeVersion: %w", err)
		}
	}
	return KubernetesVersions{Control: control, Node: node}, nil
}

const (
	versionPath     = "cluster.kubernetes.version"
	nodeVersionPath = "cluster.kubernetes.nodeVersion"
)

// checkVersions validates both versions: each a release kinfra's kubeadm
// installs (nodeVersion on its own only when it differs from version, so a
// defaulted one repeats nothing), and the nodes within the skew policy.
func (k Kubernetes) checkVersions() validate.Errors {
	var errs validate.Errors
	check := func(path, s string) (Version, bool) {
		v, err := ParseVersion(s)
		switch {
		case err != nil:
			errs.Addf(path, "%v", err)
			return v, false
		case !v.supported():
			errs.Addf(path, "%s is not supported; kinfra's kubeadm (v1.37) installs v%s.x and v%s.x", s, SupportedKubernetesMinors[0], SupportedKubernetesMinors[1])
		}
		return v, true
	}
	control, ok := check(versionPath, k.Version)
	if k.NodeVersion == k.Version {
		return errs
	}
	node, nodeOK := check(nodeVersionPath, k.NodeVersion)
	if ok && nodeOK {
		errs.Append(CheckNodeSkew(KubernetesVersions{Control: control, Node: node}))
	}
	return errs
}

// CheckNodeSkew checks one stack's node version against its control plane:
// never newer, at most MaxNodeSkew minors older.
func CheckNodeSkew(v KubernetesVersions) validate.Errors {
	var errs validate.Errors
	switch behind := v.Control.minorsAfter(v.Node); {
	case behind < 0:
		errs.Addf(nodeVersionPath, "%s is newer than cluster.kubernetes.version %s; kubelets and kube-proxy must never be newer than the API servers (Kubernetes version skew policy): use %s.x or a minor up to three older",
			v.Node, v.Control, v.Control.MinorString())
	case behind > MaxNodeSkew:
		errs.Addf(nodeVersionPath, "%s is %d minors older than cluster.kubernetes.version %s; node pools may be at most three minors behind the control plane (Kubernetes version skew policy, and kubeadm's): use %s.x or newer",
			v.Node, behind, v.Control, v.Control.addMinors(-MaxNodeSkew).MinorString())
	}
	return errs
}

// CheckVersionChange checks a change of a running cluster's versions from
// base to head, made with one `pulumi up` and then `kinfra roll`: the
// control plane moves at most one minor and never to an older one (a patch
// downgrade within its minor is allowed), and neither the nodes head
// declares nor the nodes still running base's version may be out of skew
// with any API server while the masters are replaced: until `kinfra roll`
// has replaced every master, the oldest runs base's version.
func CheckVersionChange(base, head KubernetesVersions) validate.Errors {
	var errs validate.Errors
	step := head.Control.minorsAfter(base.Control)
	switch {
	case step > 1:
		skipped := "every minor between them"
		if head.Control.Major == base.Control.Major {
			var minors []string
			for i := 1; i < step; i++ {
				minors = append(minors, base.Control.addMinors(i).MinorString())
			}
			skipped = validate.JoinAll(minors)
		}
		errs.Addf(versionPath, "%s → %s skips %s; the control plane moves one minor per change, because its API servers must stay within one minor of each other while the masters are replaced one at a time (and kubeadm upgrades one minor at a time): change to %s.x first, roll the masters, then continue",
			base.Control, head.Control, skipped, base.Control.addMinors(1).MinorString())
	case step < 0:
		errs.Addf(versionPath, "%s → %s lowers the control plane's minor; Kubernetes supports no downgrade of the API servers to an older minor (the newer ones may already have stored objects the older cannot read): keep %s.x (a patch downgrade within it is allowed)",
			base.Control, head.Control, base.Control.MinorString())
	}
	if behind := head.Control.minorsAfter(base.Node); behind > MaxNodeSkew {
		errs.Addf(versionPath, "%s would be %d minors newer than %s, which the nodes run until their pools have rolled; node pools may be at most three minors behind the control plane (and kubeadm refuses to upgrade past older kubelets): first raise cluster.kubernetes.nodeVersion to %s.x or newer in an earlier change",
			head.Control, behind, base.Node, head.Control.addMinors(-MaxNodeSkew).MinorString())
	}
	if head.Node.minorsAfter(base.Control) > 0 {
		why := fmt.Sprintf("%s would be newer than %s, which the oldest API server runs until `kinfra roll` has replaced every master; kubelets, kube-proxy and cluster-autoscaler must never be newer than any API server. ",
			head.Node, base.Control)
		if head.Node == head.Control {
			why += fmt.Sprintf("nodeVersion follows cluster.kubernetes.version unless set, so raising version raises the nodes too: upgrade in two changes, this one with `nodeVersion: %s` pinned, and once every master runs %s, a second that raises nodeVersion",
				base.Node, head.Control.MinorString())
		} else {
			why += fmt.Sprintf("Keep `nodeVersion: %s` in this change, and raise it in a later one once every master runs %s",
				base.Node, head.Control.MinorString())
		}
		errs.Addf(nodeVersionPath, "%s", why)
	}
	return errs
}

package plan

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/review/findings"
	"github.com/kinfra-dev/kinfra/spec"
)

// versioned is the hand-made cluster's plan with its Kubernetes versions
// (nodeVersion "" as a kinfra before nodeVersion wrote it).
func versioned(version, nodeVersion string) *Plan {
	p := diffCluster()
	p.Config = &spec.Cluster{Name: "c", Kubernetes: spec.Kubernetes{Version: version, NodeVersion: nodeVersion}}
	return p
}

func TestVersionChangesOutsideTheSkewRulesAreErrorsOnTheirField(t *testing.T) {
	d := Diff(versioned("v1.36.3", "v1.36.3"), versioned("v1.37.2", "v1.37.2"))
	require.Equal(t, []findings.Finding{{
		Rule: RuleVersionSkew, Severity: findings.Error, Path: "cluster.kubernetes.nodeVersion",
		Message: "v1.37.2 would be newer than v1.36.3, which the oldest API server runs until `kinfra roll` has replaced every master; kubelets, kube-proxy and cluster-autoscaler must never be newer than any API server. nodeVersion follows cluster.kubernetes.version unless set, so raising version raises the nodes too: upgrade in two changes, this one with `nodeVersion: v1.36.3` pinned, and once every master runs v1.37, a second that raises nodeVersion",
	}}, d.Flags)
	require.Equal(t, 1, d.ExitCode(), "an impossible change fails like an invalid config")

	var text, md bytes.Buffer
	d.Text(&text)
	require.Contains(t, text.String(), "Dangerous changes: 1 errors, 0 warnings\n  error   diff/version-skew  cluster.kubernetes.nodeVersion\n          v1.37.2 would be newer than v1.36.3")
	d.Markdown(&md)
	require.Contains(t, md.String(), "- :x: **error** `diff/version-skew` `cluster.kubernetes.nodeVersion`: v1.37.2 would be newer")

	// A plan made before nodeVersion existed ran its nodes at version.
	d = Diff(versioned("v1.37.2", ""), versioned("v1.37.3", "v1.37.3"))
	require.Empty(t, d.Flags)
	d = Diff(versioned("v1.36.3", ""), versioned("v1.37.2", "v1.37.2"))
	require.Equal(t, []string{RuleVersionSkew}, diffRules(d))
	require.Contains(t, d.Flags[0].Message, "`nodeVersion: v1.36.3` pinned")
}

// The upgrade kinfra supports: raise version with nodeVersion pinned, roll
// the masters, then raise nodeVersion.
func TestTheTwoStepUpgradeIsAccepted(t *testing.T) {
	before, step1, step2 := versioned("v1.36.3", "v1.36.3"), versioned("v1.37.2", "v1.36.3"), versioned("v1.37.2", "v1.37.2")
	for _, d := range []*PlanDiff{Diff(before, step1), Diff(step1, step2)} {
		require.Empty(t, d.Flags)
		require.Equal(t, 0, d.ExitCode())
		require.NotContains(t, strings.Join(d.Notes, "\n"), "version-skew")
	}
}

func TestEveryVersionSkewErrorOfAChange(t *testing.T) {
	for _, tc := range []struct {
		name       string
		old, new   *Plan
		path, text string
	}{
		{"skipped minor", versioned("v1.36.3", "v1.36.3"), versioned("v1.38.0", "v1.36.3"), "cluster.kubernetes.version",
			"v1.36.3 → v1.38.0 skips v1.37; the control plane moves one minor per change, because its API servers must stay within one minor of each other while the masters are replaced one at a time (and kubeadm upgrades one minor at a time): change to v1.37.x first, roll the masters, then continue"},
		{"minor downgrade", versioned("v1.37.2", "v1.36.3"), versioned("v1.36.3", "v1.36.3"), "cluster.kubernetes.version",
			"v1.37.2 → v1.36.3 lowers the control plane's minor; Kubernetes supports no downgrade of the API servers to an older minor (the newer ones may already have stored objects the older cannot read): keep v1.37.x (a patch downgrade within it is allowed)"},
		{"one-change bump of both", versioned("v1.36.3", "v1.36.1"), versioned("v1.37.2", "v1.37.1"), "cluster.kubernetes.nodeVersion",
			"v1.37.1 would be newer than v1.36.3, which the oldest API server runs until `kinfra roll` has replaced every master; kubelets, kube-proxy and cluster-autoscaler must never be newer than any API server. Keep `nodeVersion: v1.36.1` in this change, and raise it in a later one once every master runs v1.37"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Diff(tc.old, tc.new)
			require.Equal(t, []findings.Finding{{Rule: RuleVersionSkew, Severity: findings.Error, Path: tc.path, Message: tc.text}}, d.Flags)
		})
	}
}

func TestVersionsAreNotCheckedWithoutBothConfigs(t *testing.T) {
	d := Diff(diffCluster(), versioned("v1.37.2", "v1.37.2"))
	require.Empty(t, d.Flags)
	require.Contains(t, d.Notes, "the change of the Kubernetes versions was not checked against the version-skew rules: the old plan has no effective config")
	d = Diff(versioned("v1.37.2", "v1.37.2"), versioned("1.37", ""))
	require.Contains(t, d.Notes, `the change of the Kubernetes versions was not checked against the version-skew rules: the new plan's cluster.kubernetes.version: "1.37" is not a Kubernetes version; use vMAJOR.MINOR.PATCH such as v1.37.2`)
	d = Diff(EmptyPlan("test"), versioned("v1.37.2", "v1.36.3"))
	require.Empty(t, d.Flags, "a new stack has no running control plane to outrun")
	require.NotContains(t, strings.Join(d.Notes, "\n"), "version-skew")
}

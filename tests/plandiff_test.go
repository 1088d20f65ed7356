package tests

import (
	"bytes"
	"encoding/json"
	"maps"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/review/findings"
	"github.com/kinfra-dev/kinfra/review/plan"
)

const planDiffStackFile = "../stacks/Pulumi.us-east-1.yaml"

var (
	planDiffBaseOnce sync.Once
	planDiffBase     *plan.Plan
	planDiffBaseErr  error
)

// planDiffCommitted is the plan of the committed us-east-1 stack, made once.
func planDiffCommitted(t *testing.T) *plan.Plan {
	t.Helper()
	planDiffBaseOnce.Do(func() {
		sf, err := stackfile.Load(planDiffStackFile)
		if err != nil {
			planDiffBaseErr = err
			return
		}
		planDiffBase, planDiffBaseErr = plan.Run(sf)
	})
	require.NoError(t, planDiffBaseErr)
	return planDiffBase
}

// planDiffOfEdit plans the committed us-east-1 stack with its
// kinfra:cluster edited, and diffs that against the committed plan.
func planDiffOfEdit(t *testing.T, edit func(c map[string]any)) *plan.PlanDiff {
	t.Helper()
	return plan.Diff(planDiffCommitted(t), planDiffEdited(t, edit))
}

// planDiffEdited plans the committed us-east-1 stack with its
// kinfra:cluster edited.
func planDiffEdited(t *testing.T, edit func(c map[string]any)) *plan.Plan {
	t.Helper()
	sf, err := stackfile.Load(planDiffStackFile)
	require.NoError(t, err)
	sf.Config = maps.Clone(sf.Config)
	var c map[string]any
	require.NoError(t, json.Unmarshal([]byte(sf.Config["kinfra:cluster"]), &c))
	edit(c)
	b, err := json.Marshal(c)
	require.NoError(t, err)
	sf.Config["kinfra:cluster"] = string(b)
	p, err := plan.Run(sf)
	require.NoError(t, err)
	return p
}

func planDiffRules(d *plan.PlanDiff, sev findings.Severity) []string {
	var out []string
	for _, f := range d.Flags {
		if f.Severity == sev {
			out = append(out, f.Rule)
		}
	}
	return out
}

func TestPlanDiffReorderingZonesMovesAMasterSlotAndIsAnError(t *testing.T) {
	d := planDiffOfEdit(t, func(c map[string]any) {
		zones := c["network"].(map[string]any)["availabilityZones"].([]any)
		zones[0], zones[1] = zones[1], zones[0]
	})
	errs := planDiffRules(d, findings.Error)
	require.Contains(t, errs, "diff/master-slot-moved")
	require.Contains(t, errs, "diff/etcd-volume-zone-changed")
	require.Contains(t, errs, "diff/etcd-volume-replaced")
	require.Equal(t, 1, d.ExitCode())
}

func TestPlanDiffChangingAZoneOfASlotIsAnError(t *testing.T) {
	d := planDiffOfEdit(t, func(c map[string]any) {
		c["network"].(map[string]any)["availabilityZones"].([]any)[2] = "us-east-1f"
		c["network"].(map[string]any)["availabilityZones"].([]any)[5] = "us-east-1c"
	})
	require.Contains(t, planDiffRules(d, findings.Error), "diff/etcd-volume-zone-changed")
	require.Equal(t, 1, d.ExitCode())
}

func TestPlanDiffChangingTheMasterCountIsAnError(t *testing.T) {
	d := planDiffOfEdit(t, func(c map[string]any) {
		c["masters"].(map[string]any)["count"] = 5
	})
	require.Contains(t, planDiffRules(d, findings.Error), "diff/master-count-changed")
	require.Positive(t, d.Summary.Added, "the new slots")
	require.Equal(t, 1, d.ExitCode())
}

func TestPlanDiffRenamingTheClusterReplacesEverythingAndIsAnError(t *testing.T) {
	d := planDiffOfEdit(t, func(c map[string]any) { c["name"] = "prod-use9" })
	errs := planDiffRules(d, findings.Error)
	require.Contains(t, errs, "diff/etcd-volume-removed")
	require.Contains(t, errs, "diff/vpc-removed")
	require.Contains(t, errs, "diff/master-group-removed")
	require.Contains(t, errs, "diff/private-zone-removed")
	require.Contains(t, errs, "diff/kms-key-removed")
	require.Contains(t, errs, "diff/pki-parameter-removed")
	require.Equal(t, len(planDiffCommitted(t).Resources), d.Summary.Removed, "every URN has the cluster name")
	require.Equal(t, d.Summary.Removed, d.Summary.Added)
	n := 0
	for _, f := range d.Flags {
		if f.Rule == "diff/etcd-volume-removed" {
			n++
		}
	}
	require.Equal(t, 3, n, "one per etcd volume")
	require.Equal(t, 1, d.ExitCode())
}

func TestPlanDiffOfABenignChangeIsOnlyUpdatesAndExitsZero(t *testing.T) {
	d := planDiffOfEdit(t, func(c map[string]any) {
		pool := c["nodePools"].([]any)[0].(map[string]any)
		pool["maxSize"] = 1300
	})
	require.Equal(t, 0, d.ExitCode(), "%+v", d.Flags)
	require.Empty(t, d.Flags)
	require.Zero(t, d.Summary.Added)
	require.Zero(t, d.Summary.Removed)
	require.Zero(t, d.Summary.Replaced)
	require.Positive(t, d.Summary.Updated)
	for _, rd := range d.Resources {
		require.Equal(t, plan.ActionUpdate, rd.Action, rd.URN)
	}
}

// README, "Upgrading a cluster": a new Kubernetes patch for the masters is
// one change that replaces no master (kinfra roll does, afterwards).
func TestPlanDiffOfAMasterUpgradeReplacesNoMaster(t *testing.T) {
	base := planDiffCommitted(t)
	head := planDiffEdited(t, func(c map[string]any) {
		c["kubernetes"].(map[string]any)["version"] = "v1.37.3"
	})
	d := plan.Diff(base, head)
	require.Empty(t, d.Errors(), "%+v", d.Flags)
	var templates int
	for _, rd := range d.Resources {
		if strings.Contains(rd.URN, "aws:ec2/launchTemplate:LaunchTemplate::") && strings.Contains(rd.URN, "-masters-master-") {
			require.Equal(t, plan.ActionUpdate, rd.Action, rd.URN)
			templates++
		}
		if strings.Contains(rd.URN, "aws:autoscaling/group:Group::") && strings.Contains(rd.URN, "-masters-master-") {
			t.Fatalf("master group %s changes (%s): the roll moves it, not pulumi up", rd.URN, rd.Action)
		}
	}
	require.Equal(t, 3, templates, "every slot's launch template follows the stack")
}

// docs/workers.md, "Version skew": an upgrade is two changes. The first
// raises version with nodeVersion pinned and rebuilds only the master image;
// the second raises nodeVersion and moves only the nodes (their image,
// kube-proxy, cluster-autoscaler). Bumping both at once, or leaving
// nodeVersion to follow version, is refused; so is a minor downgrade.
func TestPlanDiffKubernetesUpgradeIsTwoChanges(t *testing.T) {
	versions := func(version, nodeVersion string) *plan.Plan {
		return planDiffEdited(t, func(c map[string]any) {
			k := c["kubernetes"].(map[string]any)
			k["version"] = version
			if nodeVersion != "" {
				k["nodeVersion"] = nodeVersion
			}
		})
	}
	before, step1, after := versions("v1.36.3", ""), versions("v1.37.2", "v1.36.3"), planDiffCommitted(t)
	require.Equal(t, "v1.37.2", after.Config.Kubernetes.NodeVersion, "the committed stack leaves nodeVersion to follow version")

	changed := func(d *plan.PlanDiff) map[string]bool {
		out := map[string]bool{}
		for _, rd := range d.Resources {
			out[rd.Name] = true
		}
		return out
	}
	d := plan.Diff(before, step1)
	require.Empty(t, d.Flags)
	c := changed(d)
	require.True(t, c["prod-use1-images-master"], "step 1 rebuilds the master image")
	require.False(t, c["prod-use1-images-node"], "and not the node image")
	require.False(t, c["prod-use1-addons-kube-proxy"])
	for name := range c {
		require.NotContains(t, name, "pool", "step 1 leaves the pools alone")
	}

	d = plan.Diff(step1, after)
	require.Empty(t, d.Flags)
	c = changed(d)
	require.True(t, c["prod-use1-images-node"], "step 2 rebuilds the node image")
	require.True(t, c["prod-use1-pool-general"], "and rolls the pools")
	require.True(t, c["prod-use1-addons-kube-proxy"], "and kube-proxy")
	require.True(t, c["prod-use1-addons-cluster-autoscaler"], "and cluster-autoscaler")
	require.False(t, c["prod-use1-images-master"], "not the master image")

	d = plan.Diff(before, after)
	require.Equal(t, []findings.Finding{{Rule: plan.RuleVersionSkew, Severity: findings.Error, Path: "cluster.kubernetes.nodeVersion",
		Message: "v1.37.2 would be newer than v1.36.3, which the oldest API server runs until `kinfra roll` has replaced every master; kubelets, kube-proxy and cluster-autoscaler must never be newer than any API server. nodeVersion follows cluster.kubernetes.version unless set, so raising version raises the nodes too: upgrade in two changes, this one with `nodeVersion: v1.36.3` pinned, and once every master runs v1.37, a second that raises nodeVersion"}},
		d.Flags, "a defaulted nodeVersion rides along")
	require.Equal(t, 1, d.ExitCode())

	d = plan.Diff(after, before)
	require.Equal(t, []findings.Finding{{Rule: plan.RuleVersionSkew, Severity: findings.Error, Path: "cluster.kubernetes.version",
		Message: "v1.37.2 → v1.36.3 lowers the control plane's minor; Kubernetes supports no downgrade of the API servers to an older minor (the newer ones may already have stored objects the older cannot read): keep v1.37.x (a patch downgrade within it is allowed)"}},
		d.Flags)
}

func TestPlanDiffOfTheUnchangedStackIsEmpty(t *testing.T) {
	d := planDiffOfEdit(t, func(map[string]any) {})
	require.Empty(t, d.Resources, "offline plans are reproducible")
	require.Equal(t, len(planDiffCommitted(t).Resources), d.Summary.Unchanged)
}

// --base-ref HEAD builds HEAD's program in a worktree: minutes on a cold
// cache. With uncommitted changes HEAD's plan may legitimately differ, so
// only a clean tree must diff to nothing.
func TestPlanDiffAgainstBaseRefHEADProducesADiffAndRemovesItsWorktree(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the program at HEAD in a git worktree")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	if err := exec.Command("git", "-C", root, "rev-parse", "--verify", "HEAD").Run(); err != nil {
		t.Skip("not a git checkout with a HEAD commit")
	}
	bin := filepath.Join(t.TempDir(), "kinfra")
	build := exec.Command("go", "build", "-o", bin, "./cmd/kinfra")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "plan", "diff", "--stack", "us-east-1", "--dir", root, "--base-ref", "HEAD", "--json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	require.Contains(t, []int{0, 1}, code, "0 or 1 (dangerous changes), never a usage error or a failure to plan: %s", stderr.String())
	var d plan.PlanDiff
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &d), stderr.String())
	require.Equal(t, "us-east-1", d.Stack)
	require.Positive(t, d.Summary.Added+d.Summary.Removed+d.Summary.Replaced+d.Summary.Updated+d.Summary.Unchanged)
	require.Equal(t, code, d.ExitCode())
	require.Contains(t, stderr.String(), "removed the temporary worktree")

	// Others may be diffing in this checkout too: look for this run's
	// worktree only.
	m := regexp.MustCompile(`in a temporary worktree (\S+)`).FindStringSubmatch(stderr.String())
	require.NotNil(t, m, stderr.String())
	list, err := exec.Command("git", "-C", root, "worktree", "list", "--porcelain").Output()
	require.NoError(t, err)
	require.NotContains(t, string(list), "worktree "+m[1]+"\n", "the worktree is removed")
	require.NoDirExists(t, m[1])

	status, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output()
	require.NoError(t, err)
	if len(bytes.TrimSpace(status)) == 0 {
		require.Empty(t, d.Resources, "a clean tree plans as HEAD does")
		require.Equal(t, 0, code)
	} else {
		t.Logf("the tree has uncommitted changes; HEAD's plan may differ: %d changed resources", len(d.Resources))
	}
}

// A preview in which the add-ons' kubeconfig is unknown (it waits on the
// master groups, so any group Pulumi will replace makes it unknown) must not
// replace the Kubernetes provider: pulumi-kubernetes would then replace every
// object under it, the CNI and the CSI driver included. The provider keeps
// a clusterIdentifier that only a new cluster changes (a new name or CA).
func TestPlanDiffAnUnknownKubeconfigDoesNotReplaceTheAddonsProvider(t *testing.T) {
	committed := planDiffCommitted(t)
	preview := *committed
	preview.Resources = nil
	found := 0
	for _, r := range committed.Resources {
		if r.Type == "pulumi:providers:kubernetes" {
			r.Inputs = maps.Clone(r.Inputs)
			r.Inputs["kubeconfig"] = mockaws.Unknown
			found++
		}
		preview.Resources = append(preview.Resources, r)
	}
	require.Equal(t, 1, found, "the stack has one Kubernetes provider")
	d := plan.Diff(committed, &preview)
	require.Zero(t, d.Summary.Replaced, "%+v", d.Flags)
	require.NotContains(t, planDiffRules(d, findings.Error), "diff/kubernetes-provider-replaced")

	// A new cluster CA is a new cluster: that replaces the provider.
	var p *plan.Plan
	for _, r := range committed.Resources {
		if r.Type == "pulumi:providers:kubernetes" {
			p = &plan.Plan{Resources: []mockaws.Resource{r}}
		}
	}
	other := p.Resources[0]
	other.Inputs = maps.Clone(other.Inputs)
	other.Inputs["clusterIdentifier"] = "prod-use1/0000000000000000"
	d = plan.Diff(p, &plan.Plan{Resources: []mockaws.Resource{other}})
	require.Equal(t, 1, d.Summary.Replaced)
}

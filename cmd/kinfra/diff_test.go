package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/review/findings"
	"github.com/kinfra-dev/kinfra/review/plan"
)

var (
	usEast1Once sync.Once
	usEast1JSON string
)

// usEast1Plan is `kinfra plan --stack us-east-1 --json`, made once.
func usEast1Plan(t *testing.T) string {
	t.Helper()
	usEast1Once.Do(func() {
		code, out, errOut := kinfra("plan", "--stack", "us-east-1", "--dir", "../..", "--json")
		require.Equal(t, 0, code, errOut)
		usEast1JSON = out
	})
	require.NotEmpty(t, usEast1JSON)
	return usEast1JSON
}

// editPlan applies f to the resources of a plan JSON and writes it to a
// file of the test's.
func editPlan(t *testing.T, planJSON, name string, f func(rs []map[string]any)) string {
	t.Helper()
	var p map[string]any
	require.NoError(t, json.Unmarshal([]byte(planJSON), &p))
	var rs []map[string]any
	for _, r := range p["resources"].([]any) {
		rs = append(rs, r.(map[string]any))
	}
	if f != nil {
		f(rs)
	}
	b, err := json.Marshal(p)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, b, 0o644))
	return path
}

func named(rs []map[string]any, typ, name string) map[string]any {
	for _, r := range rs {
		if r["type"] == typ && r["name"] == name {
			return r
		}
	}
	panic("no " + typ + " " + name)
}

// moveMasterSubnet points master slot 1's group at slot 0's subnet.
func moveMasterSubnet(rs []map[string]any) {
	g0 := named(rs, "aws:autoscaling/group:Group", "prod-use1-masters-master-0")["inputs"].(map[string]any)
	g1 := named(rs, "aws:autoscaling/group:Group", "prod-use1-masters-master-1")["inputs"].(map[string]any)
	g1["vpcZoneIdentifiers"] = g0["vpcZoneIdentifiers"]
}

func TestPlanDiffWithoutDangerousChangesExitsZero(t *testing.T) {
	a := editPlan(t, usEast1Plan(t), "a.json", nil)
	b := editPlan(t, usEast1Plan(t), "b.json", func(rs []map[string]any) {
		g := named(rs, "aws:autoscaling/group:Group", "prod-use1-pool-general")
		g["inputs"].(map[string]any)["maxSize"] = 1300.0
	})
	code, out, errOut := kinfra("plan", "diff", a, b)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Plan diff of stack us-east-1: 0 to add, 0 to remove, 0 to replace, 1 to update, ")
	require.Contains(t, out, "Dangerous changes: 0 errors, 0 warnings")
	require.Contains(t, out, "maxSize: 1200 → 1300")
	require.Empty(t, errOut)

	code, out, _ = kinfra("plan", "diff", a, a)
	require.Equal(t, 0, code)
	require.Contains(t, out, "0 to add, 0 to remove, 0 to replace, 0 to update, ")
}

func TestPlanDiffFlagsAMovedMasterInEveryFormatAndExitsOne(t *testing.T) {
	a := editPlan(t, usEast1Plan(t), "a.json", nil)
	b := editPlan(t, usEast1Plan(t), "b.json", moveMasterSubnet)

	code, out, errOut := kinfra("plan", "diff", a, b)
	require.Equal(t, 1, code)
	require.Contains(t, out, "error   diff/master-slot-moved")
	require.Contains(t, out, "~  update  prod-use1-masters-master-1  (aws:autoscaling/group:Group)")
	require.Contains(t, out, "vpcZoneIdentifiers[0]: ")
	require.Contains(t, errOut, "kinfra plan diff: 1 dangerous changes (error flags):\n  diff/master-slot-moved urn:pulumi:")

	code, out, _ = kinfra("plan", "diff", "--json", a, b)
	require.Equal(t, 1, code)
	var d plan.PlanDiff
	require.NoError(t, json.Unmarshal([]byte(out), &d))
	require.Equal(t, "us-east-1", d.Stack)
	require.Equal(t, 1, d.Summary.Updated)
	require.Equal(t, "diff/master-slot-moved", d.Flags[0].Rule)
	require.Equal(t, "vpcZoneIdentifiers[0]", d.Resources[0].Changes[0].Path)

	code, out, _ = kinfra("plan", "diff", a, b, "--markdown")
	require.Equal(t, 1, code)
	require.True(t, strings.HasPrefix(out, "## kinfra plan diff: `us-east-1`\n"), out)
	require.Contains(t, out, "| added | removed | replaced | updated | unchanged |")
	require.Contains(t, out, "- :x: **error** `diff/master-slot-moved` `prod-use1-masters-master-1`")
	require.Contains(t, out, "<details><summary>")
}

// withVersions is a plan JSON whose effective config runs the given
// Kubernetes versions, written to a file of the test's.
func withVersions(t *testing.T, planJSON, name, version, nodeVersion string) string {
	t.Helper()
	var p map[string]any
	require.NoError(t, json.Unmarshal([]byte(planJSON), &p))
	k := p["config"].(map[string]any)["kubernetes"].(map[string]any)
	k["version"], k["nodeVersion"] = version, nodeVersion
	b, err := json.Marshal(p)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, b, 0o644))
	return path
}

// A version change the skew rules forbid is impossible as it stands: it
// exits 1, like an invalid config, with the field and the whole message on
// standard error.
func TestPlanDiffRefusesAVersionSkewAndExitsOne(t *testing.T) {
	a := withVersions(t, usEast1Plan(t), "a.json", "v1.36.3", "v1.36.3")
	b := withVersions(t, usEast1Plan(t), "b.json", "v1.37.2", "v1.37.2")
	msg := "v1.37.2 would be newer than v1.36.3, which the oldest API server runs until `kinfra roll` has replaced every master; kubelets, kube-proxy and cluster-autoscaler must never be newer than any API server. nodeVersion follows cluster.kubernetes.version unless set, so raising version raises the nodes too: upgrade in two changes, this one with `nodeVersion: v1.36.3` pinned, and once every master runs v1.37, a second that raises nodeVersion"

	code, out, errOut := kinfra("plan", "diff", a, b)
	require.Equal(t, 1, code)
	require.Contains(t, out, "Dangerous changes: 1 errors, 0 warnings\n  error   diff/version-skew  cluster.kubernetes.nodeVersion\n          "+msg+"\n")
	require.Equal(t, "kinfra plan diff: 1 dangerous changes (error flags):\n  diff/version-skew cluster.kubernetes.nodeVersion: "+msg+"\n", errOut)

	code, out, _ = kinfra("plan", "diff", "--json", a, b)
	require.Equal(t, 1, code)
	var d plan.PlanDiff
	require.NoError(t, json.Unmarshal([]byte(out), &d))
	require.Equal(t, []findings.Finding{{Rule: "diff/version-skew", Severity: "error", Path: "cluster.kubernetes.nodeVersion", Message: msg}}, d.Flags)

	// The first step of the two-step upgrade passes.
	c := withVersions(t, usEast1Plan(t), "c.json", "v1.37.2", "v1.36.3")
	code, _, errOut = kinfra("plan", "diff", a, c)
	require.Equal(t, 0, code, errOut)
}

func TestPlanDiffUsageErrorsExitTwo(t *testing.T) {
	a := editPlan(t, `{"stack": "x", "resources": []}`, "a.json", nil)
	notPlan := filepath.Join(t.TempDir(), "not.json")
	require.NoError(t, os.WriteFile(notPlan, []byte(`{"hello": 1}`), 0o644))
	for name, args := range map[string][]string{
		"no files":                     {"plan", "diff"},
		"one file":                     {"plan", "diff", a},
		"three files":                  {"plan", "diff", a, a, a},
		"missing file":                 {"plan", "diff", a, "/nonexistent/b.json"},
		"not a plan":                   {"plan", "diff", a, notPlan},
		"two formats":                  {"plan", "diff", "--json", "--markdown", a, a},
		"unknown flag":                 {"plan", "diff", "--yes", a, a},
		"stack without base ref":       {"plan", "diff", "--stack", "us-east-1", "--dir", "../.."},
		"base ref without stack":       {"plan", "diff", "--base-ref", "HEAD", "--dir", "../.."},
		"base ref and both stacks":     {"plan", "diff", "--base-ref", "HEAD", "--stack", "us-east-1", "--stack-file", "x.yaml"},
		"files and base ref":           {"plan", "diff", a, a, "--base-ref", "HEAD"},
		"unknown stack":                {"plan", "diff", "--stack", "mars-north-1", "--dir", "../..", "--base-ref", "HEAD"},
		"base ref that is no commit":   {"plan", "diff", "--stack", "us-east-1", "--dir", "../..", "--base-ref", "no-such-ref-kinfra"},
		"stack file outside the repo":  {"plan", "diff", "--stack-file", writeStack(t, "Pulumi.out.yaml", "config:\n  aws:region: us-east-1\n"), "--dir", "../..", "--base-ref", "HEAD"},
		"directory outside a git repo": {"plan", "diff", "--stack-file", writeStack(t, "Pulumi.out.yaml", "config:\n  aws:region: us-east-1\n"), "--dir", t.TempDir(), "--base-ref", "HEAD"},
	} {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := kinfra(args...)
			require.Equal(t, 2, code, errOut)
			require.Empty(t, out)
			require.NotEmpty(t, errOut)
		})
	}
}

// fakeRepo is a git repository holding a kinfra project whose program at
// each commit prints what the test gives (standing in for `kinfra plan
// --json`), so the --base-ref mechanics run in seconds.
type fakeRepo struct {
	t   *testing.T
	dir string
}

func newFakeRepo(t *testing.T) *fakeRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	r := &fakeRepo{t: t, dir: t.TempDir()}
	r.write("go.mod", "module example.com/fake\n\ngo 1.21\n")
	r.write("Pulumi.yaml", "name: kinfra\nruntime: go\nstackConfigDir: stacks\n")
	r.write("stacks/Pulumi.fake.yaml", "config:\n  aws:region: us-east-1\n  kinfra:cluster:\n    name: fake\n    network:\n      natGateways: single\n    nodePools:\n      - {name: general, maxSize: 3}\n")
	r.git("init", "-q")
	return r
}

func (r *fakeRepo) write(rel, body string) {
	r.t.Helper()
	path := filepath.Join(r.dir, rel)
	require.NoError(r.t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(r.t, os.WriteFile(path, []byte(body), 0o644))
}

func (r *fakeRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.dir, "-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(r.t, err, string(out))
	return string(out)
}

// program commits a fake cmd/kinfra that prints stdout and exits with code.
func (r *fakeRepo) program(stdout string, code int, msg string) {
	r.t.Helper()
	r.write("out.json", stdout)
	r.write("cmd/kinfra/main.go", `package main

import "os"

func main() {
	b, _ := os.ReadFile("out.json")
	os.Stdout.Write(b)
	os.Exit(`+strconv.Itoa(code)+`)
}
`)
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
}

// worktrees are the repository's worktrees besides its own.
func (r *fakeRepo) worktrees() []string {
	var out []string
	for _, l := range strings.Split(r.git("worktree", "list", "--porcelain"), "\n") {
		if p, ok := strings.CutPrefix(l, "worktree "); ok {
			if real, _ := filepath.EvalSymlinks(r.dir); p != r.dir && p != real {
				out = append(out, p)
			}
		}
	}
	return out
}

func TestPlanDiffAgainstABaseRefPlansThatCommitInAWorktreeAndRemovesIt(t *testing.T) {
	r := newFakeRepo(t)
	// The working tree's plan, with one tag changed: what the old commit's
	// program "plans".
	sf, err := stackfile.Load(filepath.Join(r.dir, "stacks/Pulumi.fake.yaml"))
	require.NoError(t, err)
	p, err := plan.Run(sf)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, p.JSON(&buf))
	old := editPlan(t, buf.String(), "old.json", func(rs []map[string]any) {
		named(rs, "aws:ec2/vpc:Vpc", "fake-network-vpc")["inputs"].(map[string]any)["tags"].(map[string]any)["team"] = "old"
	})
	oldJSON, err := os.ReadFile(old)
	require.NoError(t, err)
	// Error findings exit 1 with the plan on stdout: still a plan.
	r.program(string(oldJSON), 1, "good program")
	r.program("this is not JSON", 3, "broken program")

	code, out, errOut := kinfra("plan", "diff", "--stack", "fake", "--dir", r.dir, "--base-ref", "HEAD~1", "--json")
	require.Equal(t, 0, code, errOut)
	var d plan.PlanDiff
	require.NoError(t, json.Unmarshal([]byte(out), &d), out)
	require.Equal(t, plan.DiffSummary{Updated: 1, Unchanged: len(p.Resources) - 1}, d.Summary)
	require.Equal(t, `tags.team`, d.Resources[0].Changes[0].Path)
	require.Contains(t, errOut, "in a temporary worktree")
	require.Contains(t, errOut, "removed the temporary worktree")
	require.Empty(t, r.worktrees())

	// A program that prints no plan is an error, and its worktree goes too.
	code, out, errOut = kinfra("plan", "diff", "--stack-file", filepath.Join(r.dir, "stacks/Pulumi.fake.yaml"), "--dir", r.dir, "--base-ref", "HEAD")
	require.Equal(t, 1, code, errOut)
	require.Empty(t, out)
	require.Contains(t, errOut, "the program at HEAD made no plan of stacks/Pulumi.fake.yaml")
	require.Empty(t, r.worktrees())

	// A stack file the base ref does not have: every resource is added.
	r.write("stacks/Pulumi.new.yaml", "config:\n  aws:region: us-east-1\n  kinfra:cluster:\n    name: newer\n    network:\n      natGateways: single\n    nodePools:\n      - {name: general, maxSize: 3}\n")
	code, out, errOut = kinfra("plan", "diff", "--stack", "new", "--dir", r.dir, "--base-ref", "HEAD")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Plan diff of stack new: ")
	require.Contains(t, out, " to add, 0 to remove, 0 to replace, 0 to update, 0 unchanged")
	require.Contains(t, errOut, "stacks/Pulumi.new.yaml does not exist at HEAD: every resource is added")
	require.Empty(t, r.worktrees())
}

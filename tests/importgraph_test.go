package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The network component promises that a stack needing only a VPC does not
// compile the Kubernetes SDK. These tests hold it to that, both from inside
// this module and from a separate consumer module (examples/vpc-only).

const (
	networkPkg    = "github.com/kinfra-dev/kinfra/components/network"
	kubernetesSDK = "pulumi-kubernetes"
	ec2Pkg        = "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
)

// goBinary is the go command of the toolchain running the tests.
func goBinary(t *testing.T) string {
	t.Helper()
	name := "go"
	if runtime.GOOS == "windows" {
		name = "go.exe"
	}
	if p := filepath.Join(runtime.GOROOT(), "bin", name); fileExists(p) {
		return p
	}
	p, err := exec.LookPath("go")
	require.NoError(t, err, "no go binary in GOROOT/bin or on PATH")
	return p
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// repoRoot is the module root, the parent of this package's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(root, "go.mod"))
	return root
}

// runGo runs the go command in dir and returns its combined output, failing
// the test (with the output) if it does not succeed.
func runGo(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(goBinary(t), args...)
	cmd.Dir = dir
	// The consumer module stands alone: no workspace file may pull it into
	// another build list.
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %s (in %s) failed:\n%s", strings.Join(args, " "), dir, out)
	return string(out)
}

// linesContaining returns the lines of out that contain s.
func linesContaining(out, s string) []string {
	var hits []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, s) {
			hits = append(hits, line)
		}
	}
	return hits
}

func TestNetworkDoesNotCompileKubernetesSDK(t *testing.T) {
	deps := runGo(t, repoRoot(t), "list", "-deps", networkPkg)

	require.Empty(t, linesContaining(deps, kubernetesSDK),
		"%s depends on the Kubernetes SDK", networkPkg)
	require.Contains(t, strings.Split(deps, "\n"), ec2Pkg,
		"go list -deps %s no longer lists %s; the test is not looking at the right graph", networkPkg, ec2Pkg)
}

func TestExternalModuleBuildsAVPC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the examples/vpc-only module and its pulumi-aws dependencies")
	}
	dir := filepath.Join(repoRoot(t), "examples", "vpc-only")
	require.FileExists(t, filepath.Join(dir, "go.mod"))
	require.FileExists(t, filepath.Join(dir, "go.sum"))

	deps := runGo(t, dir, "list", "-deps", ".")
	require.Empty(t, linesContaining(deps, kubernetesSDK),
		"examples/vpc-only depends on the Kubernetes SDK")
	require.Contains(t, strings.Split(deps, "\n"), networkPkg,
		"examples/vpc-only does not import %s", networkPkg)

	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		require.NotContains(t, string(b), kubernetesSDK, "examples/vpc-only/%s lists the Kubernetes SDK", f)
	}

	runGo(t, dir, "build", "-o", filepath.Join(t.TempDir(), "vpc-only"), ".")
	runGo(t, dir, "vet", ".")
}

// The AWS SDK for Go v2 and etcd's client are for the CLI's day-2 commands
// (internal/etcdops, internal/roll) and the account reader of import and
// drift (internal/inventory/awsread); the components, the spec and the
// Pulumi program never compile them, nor do the inventory model and the
// import and drift logic that only need the model.
func TestComponentsDoNotCompileTheAWSSDK(t *testing.T) {
	const awsSDK, etcdClient = "github.com/aws/aws-sdk-go-v2", "go.etcd.io/etcd/client"
	root := repoRoot(t)
	deps := runGo(t, root, "list", "-deps", "./components/...", "./spec/...", "./pki/...", "./program", ".")
	require.Empty(t, linesContaining(deps, awsSDK), "the components' import graph includes the AWS SDK")
	require.Empty(t, linesContaining(deps, etcdClient), "the components' import graph includes etcd's client")
	require.Contains(t, strings.Split(deps, "\n"), "github.com/kinfra-dev/kinfra/components/masters",
		"go list -deps no longer lists the components; the test is not looking at the right graph")

	ops := runGo(t, root, "list", "-deps", "./internal/etcdops")
	require.Contains(t, strings.Split(ops, "\n"), awsSDK+"/service/s3",
		"internal/etcdops no longer imports the AWS SDK; the test is not looking at the right package")
	rollDeps := strings.Split(runGo(t, root, "list", "-deps", "./internal/roll"), "\n")
	require.Contains(t, rollDeps, awsSDK+"/service/autoscaling", "internal/roll no longer imports the AWS SDK; the test is not looking at the right package")
	require.Contains(t, rollDeps, etcdClient+"/v3", "internal/roll no longer imports etcd's client; the test is not looking at the right package")

	// The model, and import and drift's logic, are plain Go: only the
	// reader that fills the model calls AWS.
	for _, pkg := range []string{"./internal/inventory", "./internal/importer", "./review/drift"} {
		model := runGo(t, root, "list", "-deps", pkg)
		require.Empty(t, linesContaining(model, awsSDK), "%s compiles the AWS SDK", pkg)
		require.Contains(t, strings.Split(model, "\n"), "github.com/kinfra-dev/kinfra/internal/inventory",
			"go list -deps %s no longer lists internal/inventory; the test is not looking at the right package", pkg)
	}

	// The reader is an allowed SDK user; it stays clear of the Pulumi SDK,
	// so that drift and import do not compile a Pulumi program to read AWS.
	reader := runGo(t, root, "list", "-deps", "./internal/inventory/awsread")
	for _, svc := range []string{"ec2", "autoscaling", "elasticloadbalancingv2", "cloudformation"} {
		require.Contains(t, strings.Split(reader, "\n"), awsSDK+"/service/"+svc,
			"internal/inventory/awsread no longer imports the SDK's %s; the test is not looking at the right package", svc)
	}
	require.Empty(t, linesContaining(reader, "github.com/pulumi/"), "internal/inventory/awsread compiles the Pulumi SDK")
}

// internal/ holds leaf libraries only: nothing under it imports the
// components, the program or the review tooling, directly or through
// another package. The review tooling (review/) and the program (program/)
// sit above the components and may import them.
func TestInternalImportsNoComponentNorTheReviewTooling(t *testing.T) {
	const module = "github.com/kinfra-dev/kinfra/"
	above := []string{module + "components/", module + "review/", module + "program", module + "cmd/"}
	out := runGo(t, repoRoot(t), "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./internal/...")
	packages := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		fields := strings.Fields(line)
		packages++
		for _, dep := range fields[1:] {
			for _, a := range above {
				require.False(t, strings.HasPrefix(dep, a), "%s imports %s, which sits above internal/", fields[0], dep)
			}
		}
	}
	require.Greater(t, packages, 20, "go list found too few packages under internal/; the test is not looking at the right tree")

	// The same check sees an upward import where there is one.
	review := runGo(t, repoRoot(t), "list", "-deps", "./review/plan")
	require.Contains(t, strings.Split(review, "\n"), module+"components/cluster", "review/plan no longer imports the components; the check above may be looking at nothing")
}

package testtools

import (
	"os/exec"
	"testing"
)

// K8sCheck runs k8s-check (tools/kubernetes/cmd/k8s-check, which
// `scripts/tools k8s-check` builds against the pinned Kubernetes version)
// with a subcommand, "kubelet-config" or "objects", on files. It returns the
// combined output: an "ok FILE" line per good file and a "FILE: problem"
// line per problem. err is nil if every file is good; an *exec.ExitError
// with exit code 1 means problems were found, anything else that the checker
// could not run. Like Path, it skips or fails the test if k8s-check is
// missing.
func K8sCheck(t testing.TB, sub string, files ...string) (output string, err error) {
	t.Helper()
	bin := Path(t, "k8s-check")
	out, err := exec.Command(bin, append([]string{sub}, files...)...).CombinedOutput()
	return string(out), err
}

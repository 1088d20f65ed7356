package testtools

import (
	"os/exec"
	"testing"
)

// Actionlint runs actionlint (github.com/rhysd/actionlint, which
// `scripts/tools actionlint` builds at the version pinned in
// tools/actionlint/go.mod; found like Path: $KINFRA_ACTIONLINT, else
// .tools/bin/actionlint-v*, else PATH) on GitHub Actions workflow files, with
// shellcheck (found the same way) checking every run: script, so that the
// scripts are never silently left unchecked. It returns the combined output,
// one "file:line:col: message [rule]" line per finding. err is nil if there
// is no finding; an *exec.ExitError with exit code 1 means findings, anything
// else that actionlint could not run. Like Path, it skips or fails the test
// if actionlint or shellcheck is missing.
func Actionlint(t testing.TB, files ...string) (output string, err error) {
	t.Helper()
	bin := Path(t, "actionlint")
	shellcheck := Path(t, "shellcheck")
	args := append([]string{"-no-color", "-oneline", "-shellcheck=" + shellcheck, "-pyflakes="}, files...)
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

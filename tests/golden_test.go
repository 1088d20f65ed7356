package tests

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// update rewrites the golden plans: go test ./tests -run Golden -update.
var update = flag.Bool("update", false, "rewrite tests/golden from the current plans")

// goldenDir holds, per committed stack, its plan as `kinfra plan --json`
// prints it and every launch template's decoded user data, so that a pull
// request shows its infrastructure change as a diff of these files.
const goldenDir = "golden"

// goldenFiles renders the golden files of one stack file.
func goldenFiles(t *testing.T, file string) map[string][]byte {
	t.Helper()
	p := planOf(t, file)
	var js bytes.Buffer
	require.NoError(t, p.JSON(&js))
	uds, err := p.UserData()
	require.NoError(t, err)
	var ud bytes.Buffer
	for _, u := range uds {
		ud.WriteString(u.Text())
	}
	return map[string][]byte{
		p.Stack + ".json":           js.Bytes(),
		p.Stack + ".user-data.yaml": ud.Bytes(),
	}
}

// Every committed stack's plan is kept under tests/golden; a change to the
// program or a stack that changes a plan fails here until the golden files
// are refreshed with -update and the refresh is committed: the review then
// sees the change as a file diff.
func TestGoldenPlansMatchEveryCommittedStack(t *testing.T) {
	want := map[string]bool{}
	for _, file := range committedStacks(t) {
		files := goldenFiles(t, file)
		for name, got := range files {
			want[name] = true
			if *update {
				require.NoError(t, os.MkdirAll(goldenDir, 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(goldenDir, name), got, 0o644))
			}
		}
		for _, problem := range goldenProblems(file, files) {
			t.Error(problem)
		}
	}
	// No golden file outlives its stack.
	entries, err := os.ReadDir(goldenDir)
	require.NoError(t, err)
	for _, e := range entries {
		if !want[e.Name()] {
			if *update {
				require.NoError(t, os.Remove(filepath.Join(goldenDir, e.Name())))
				continue
			}
			t.Errorf("%s belongs to no committed stack; remove it (or run with -update)", filepath.Join(goldenDir, e.Name()))
		}
	}
}

// goldenProblems compares a stack's rendered golden files with the
// committed ones.
func goldenProblems(file string, files map[string][]byte) []string {
	var out []string
	for _, name := range sortedKeys(files) {
		path := filepath.Join(goldenDir, name)
		old, err := os.ReadFile(path)
		if err != nil {
			out = append(out, fmt.Sprintf("no golden file %s for %s: run go test ./tests -run Golden -update and commit tests/golden", path, file))
			continue
		}
		if !bytes.Equal(old, files[name]) {
			out = append(out, fmt.Sprintf("%s differs from the plan of %s (line %d: %s).\n"+
				"Review the change: go run ./cmd/kinfra plan --stack-file %s --json > /tmp/new.json && go run ./cmd/kinfra plan diff tests/%s /tmp/new.json\n"+
				"then refresh the golden files with go test ./tests -run Golden -update, and commit them with the change",
				path, file, firstDifferentLine(old, files[name]), diffLine(old, files[name]), strings.TrimPrefix(file, "../"), path))
		}
	}
	return out
}

// An unreviewed change to a stack fails the golden comparison, for the
// plan and for the user data alike.
func TestGoldenPlansCatchAnUnreviewedChange(t *testing.T) {
	if *update {
		t.Skip("refreshing the golden files")
	}
	file := filepath.Join("..", "stacks", "Pulumi.us-east-1.yaml")
	require.Empty(t, goldenProblems(file, goldenFiles(t, file)))

	// The same stack with a larger pool whose nodes take more pods.
	body := mustRead(t, file)
	for old, changed := range map[string]string{"        maxSize: 300\n": "        maxSize: 301\n", "        maxPods: 250\n": "        maxPods: 200\n"} {
		require.Contains(t, body, old)
		body = strings.Replace(body, old, changed, 1)
	}
	edited := filepath.Join(t.TempDir(), filepath.Base(file))
	require.NoError(t, os.WriteFile(edited, []byte(body), 0o644))
	problems := goldenProblems(file, goldenFiles(t, edited))
	require.Len(t, problems, 2, "%v", problems)
	require.Contains(t, problems[0], "golden/us-east-1.json differs")
	require.Contains(t, problems[0], `plan "\"maxSize\": 301,"`)
	require.Contains(t, problems[1], "golden/us-east-1.user-data.yaml differs")
}

func firstDifferentLine(a, b []byte) int {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}

// diffLine shows the first differing line of a (golden) and b (plan).
func diffLine(a, b []byte) string {
	n := firstDifferentLine(a, b) - 1
	line := func(s []string) string {
		if n < len(s) {
			l := strings.TrimSpace(s[n])
			if len(l) > 120 {
				l = l[:120] + "…"
			}
			return fmt.Sprintf("%q", l)
		}
		return "end of file"
	}
	return "golden " + line(strings.Split(string(a), "\n")) + ", plan " + line(strings.Split(string(b), "\n"))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

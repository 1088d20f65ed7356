package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/internal/testtools"
)

// The GitHub Actions workflows (docs/ci.md): checked by actionlint, and here
// for what actionlint cannot know: that every action is pinned and given only
// inputs its action.yml declares, that the matrices are the committed stacks,
// and that every kinfra command they run uses flags kinfra has.

const (
	pullRequestWorkflow = "../.github/workflows/pull-request.yml"
	deployWorkflow      = "../.github/workflows/deploy.yml"
)

var workflowFiles = []string{pullRequestWorkflow, deployWorkflow}

// actionInputs is every input each pinned action declares in its action.yml
// at that version (true: required). Only inputs confirmed at the pinned major
// are listed: those of the action.yml read (repository, path, commit below)
// that actionlint v1.7.12's table of popular actions (popular_actions.go,
// generated from the action.yml at each major tag) also lists for that tag.
var actionInputs = map[string]map[string]bool{
	// github.com/actions/checkout action.yml, read at commit
	// 02c73802609a582111d8af3a9cd6519263dd983a (runs: node20, outputs ref and
	// commit: the v4 line). Its input "reference" is left out: the v4 tag
	// does not declare it.
	"actions/checkout@v4": {
		"repository": false, "ref": false, "token": false, "ssh-key": false,
		"ssh-known-hosts": false, "ssh-strict": false, "ssh-user": false,
		"persist-credentials": false, "path": false, "clean": false, "filter": false,
		"sparse-checkout": false, "sparse-checkout-cone-mode": false, "fetch-depth": false,
		"fetch-tags": false, "show-progress": false, "lfs": false, "submodules": false,
		"set-safe-directory": false, "github-server-url": false,
	},
	// github.com/actions/setup-go action.yml, read at commit
	// 02aadfee7f572f67453450365b688df2c3f95730 (runs: node24: the v6 line).
	"actions/setup-go@v6": {
		"go-version": false, "go-version-file": false, "check-latest": false,
		"token": false, "cache": false, "cache-dependency-path": false, "architecture": false,
	},
	// github.com/actions/github-script action.yml, read at commit
	// 35053f82bc1ddfe8d46e9709c6658ba87a2cfc46 (runs: node24: the v8 line).
	"actions/github-script@v8": {
		"script": true, "github-token": false, "debug": false, "user-agent": false,
		"previews": false, "result-encoding": false, "retries": false,
		"retry-exempt-status-codes": false, "base-url": false,
	},
	// github.com/pulumi/actions action.yml, read at commit
	// 4ddd4329226d5f7fdca0bc1fe3a0a659f4de25fe (after 5.5.1, with the
	// breaking `refresh` change released as 6.0.0; runs: node20). actionlint's
	// @v6 table lists all of them, and a few more from later v6 releases.
	"pulumi/actions@v6": {
		"command": false, "stack-name": false, "pulumi-version": false,
		"pulumi-version-file": false, "work-dir": false, "comment-on-pr": false,
		"comment-on-pr-number": false, "comment-on-summary": false, "github-token": false,
		"cloud-url": false, "secrets-provider": false, "parallel": false, "message": false,
		"config-map": false, "expect-no-changes": false, "diff": false, "replace": false,
		"target": false, "target-dependents": false, "policyPacks": false,
		"policyPackConfigs": false, "refresh": false, "upsert": false, "remove": false,
		"edit-pr-comment": false, "color": false, "exclude-protected": false, "plan": false,
		"suppress-outputs": false, "suppress-progress": false, "always-include-summary": false,
	},
	// github.com/aws-actions/configure-aws-credentials: the only copies of its
	// action.yml read for this table are v1's (commits 0271a818bc5ab9a7c293ae792bddd98e0e89d304
	// and eb745fe265a565d3784b246250884f97a7826c75, which declare aws-region,
	// role-to-assume and role-session-name); the v6 inputs are actionlint
	// v1.7.12's table for @v6, less those the v6.0.0 README's options table
	// (same repository, README.md) does not list (web-identity-token-file,
	// no-proxy). aws-region is required (actionlint's @v6 table, and
	// already commit eb745fe).
	"aws-actions/configure-aws-credentials@v6": {
		"aws-region": true, "role-to-assume": false, "aws-access-key-id": false,
		"aws-secret-access-key": false, "aws-session-token": false, "role-chaining": false,
		"audience": false, "http-proxy": false, "mask-aws-account-id": false,
		"role-duration-seconds": false, "role-external-id": false, "role-session-name": false,
		"role-skip-session-tagging": false, "transitive-tag-keys": false,
		"inline-session-policy": false, "managed-session-policies": false,
		"output-credentials": false, "output-env-credentials": false,
		"unset-current-credentials": false, "disable-retry": false, "retry-max-attempts": false,
		"special-characters-workaround": false, "use-existing-credentials": false,
		"allowed-account-ids": false, "force-skip-oidc": false, "action-timeout-s": false,
	},
}

// kinfraFlags are the flags of each kinfra subcommand the workflows run, and
// whether each takes a value. plan's are runPlan's flag set (cmd/kinfra
// main.go, and addReviewFlags in review.go); plan diff's are runPlanDiff's
// (cmd/kinfra/diff.go: --stack, --stack-file, --base-ref, --dir, --markdown,
// --json).
var kinfraFlags = map[string]map[string]bool{
	"plan": {
		"stack": true, "stack-file": true, "dir": true,
		"json": false, "config": false, "user-data": false, "failures": false, "parity": false,
	},
	"plan diff": {"stack": true, "stack-file": true, "base-ref": true, "dir": true, "markdown": false, "json": false},
	"roll":      {"stack": true, "stack-file": true, "dir": true, "dry-run": false, "timeout": true, "poll": true},
}

type workflow struct {
	Concurrency *concurrency    `yaml:"concurrency"`
	Jobs        map[string]*job `yaml:"jobs"`
}

type concurrency struct {
	Group            string `yaml:"group"`
	CancelInProgress *bool  `yaml:"cancel-in-progress"`
}

type job struct {
	Needs       stringList        `yaml:"needs"`
	If          string            `yaml:"if"`
	Environment string            `yaml:"environment"`
	Concurrency *concurrency      `yaml:"concurrency"`
	Permissions map[string]string `yaml:"permissions"`
	Strategy    struct {
		FailFast *bool `yaml:"fail-fast"`
		Matrix   struct {
			Stack []string `yaml:"stack"`
		} `yaml:"matrix"`
	} `yaml:"strategy"`
	Steps []step `yaml:"steps"`
}

type step struct {
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]string `yaml:"with"`
	Env  map[string]string `yaml:"env"`
}

// stringList is a YAML string or list of strings (needs:).
type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = []string{n.Value}
		return nil
	}
	return n.Decode((*[]string)(l))
}

func loadWorkflow(t *testing.T, path string) workflow {
	t.Helper()
	var w workflow
	require.NoError(t, yaml.Unmarshal([]byte(mustRead(t, path)), &w), path)
	require.NotEmpty(t, w.Jobs, path)
	return w
}

func stackNames(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, f := range committedStacks(t) {
		names = append(names, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Pulumi."), ".yaml"))
	}
	sort.Strings(names)
	return names
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

func TestWorkflowsPassActionlint(t *testing.T) {
	out, err := testtools.Actionlint(t, workflowFiles...)
	require.NoError(t, err, "actionlint findings:\n%s", out)
	require.Empty(t, strings.TrimSpace(out))
}

// actionlint really checks: an input the action does not declare, and a
// run: script shellcheck faults, are findings.
func TestWorkflowsActionlintFindsBadInputsAndScripts(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yml")
	require.NoError(t, os.WriteFile(bad, []byte(`on: push
jobs:
  up:
    runs-on: ubuntu-latest
    steps:
      - uses: pulumi/actions@v6
        with:
          command: up
          stack-nam: us-east-1
      - run: echo $UNQUOTED
`), 0o644))
	out, err := testtools.Actionlint(t, bad)
	require.Error(t, err)
	require.Contains(t, out, `input "stack-nam" is not defined in action "pulumi/actions@v6"`)
	require.Contains(t, out, "SC2086")
}

var pinnedAction = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@]+)?@(v[0-9]+(\.[0-9]+){0,2}|[0-9a-f]{40})$`)

func TestWorkflowActionsArePinnedAndGivenOnlyDeclaredInputs(t *testing.T) {
	for _, file := range workflowFiles {
		for name, j := range loadWorkflow(t, file).Jobs {
			for i, s := range j.Steps {
				if s.Uses == "" {
					continue
				}
				where := fmt.Sprintf("%s: job %s, step %d (%s)", filepath.Base(file), name, i+1, s.Uses)
				require.Regexp(t, pinnedAction, s.Uses, "%s: pin a version tag (vN, vN.N.N) or a commit", where)
				inputs, ok := actionInputs[s.Uses]
				require.True(t, ok, "%s: add the inputs of its action.yml at that version to actionInputs, citing it", where)
				for key := range s.With {
					_, declared := inputs[key]
					require.True(t, declared, "%s: with.%s is not an input of its action.yml", where, key)
				}
				for key, required := range inputs {
					if required {
						require.Contains(t, s.With, key, "%s: required input %s missing", where, key)
					}
				}
			}
		}
	}
}

// pulumiSteps are the steps of w that run the Pulumi action, by job.
func pulumiSteps(w workflow) map[string]step {
	steps := map[string]step{}
	for name, j := range w.Jobs {
		for _, s := range j.Steps {
			if strings.HasPrefix(s.Uses, "pulumi/actions@") {
				steps[name] = s
			}
		}
	}
	return steps
}

// awsStep is the configure-aws-credentials step of j.
func awsStep(t *testing.T, name string, j *job) step {
	t.Helper()
	for _, s := range j.Steps {
		if strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials@") {
			return s
		}
	}
	t.Fatalf("job %s configures no AWS credentials", name)
	return step{}
}

func TestWorkflowMatricesAreTheCommittedStacks(t *testing.T) {
	stacks := stackNames(t)

	// The workflows take each stack's region from its name.
	for _, file := range committedStacks(t) {
		sf, err := stackfile.Load(file)
		require.NoError(t, err)
		require.Equal(t, sf.Name, sf.Config["aws:region"],
			"%s: the workflows use the stack name as its region; name it after aws:region or give the matrices a region per stack", file)
	}

	pulumiVersion := regexp.MustCompile(`(?m)^\s*(?:require\s+)?github\.com/pulumi/pulumi/pkg/v3\s+v(\S+)\s*$`).FindStringSubmatch(mustRead(t, "../tools/pulumi/go.mod"))
	require.Len(t, pulumiVersion, 2, "tools/pulumi/go.mod pins the Pulumi CLI")

	t.Run("preview", func(t *testing.T) {
		w := loadWorkflow(t, pullRequestWorkflow)
		steps := pulumiSteps(w)
		require.Len(t, steps, 1)
		for name, s := range steps {
			j := w.Jobs[name]
			require.Equal(t, stacks, sorted(j.Strategy.Matrix.Stack), "job %s: matrix.stack", name)
			require.NotNil(t, j.Strategy.FailFast)
			require.False(t, *j.Strategy.FailFast, "job %s: one stack's failure must not cancel the others' previews", name)
			require.Equal(t, "preview", s.With["command"])
			require.Equal(t, "${{ matrix.stack }}", s.With["stack-name"])
			require.Equal(t, "true", s.With["comment-on-pr"])
			require.Equal(t, pulumiVersion[1], s.With["pulumi-version"], "the Pulumi CLI of tools/pulumi")
			require.Equal(t, "${{ matrix.stack }}", awsStep(t, name, j).With["aws-region"])
			require.Equal(t, "write", j.Permissions["id-token"])
			require.Empty(t, j.Environment, "previews assume the pull_request role, not an environment's")
		}
		require.NotNil(t, w.Concurrency)
		require.Contains(t, w.Concurrency.Group, "github.event.pull_request.number")
		require.NotNil(t, w.Concurrency.CancelInProgress)
		require.True(t, *w.Concurrency.CancelInProgress)
	})

	t.Run("deploy", func(t *testing.T) {
		w := loadWorkflow(t, deployWorkflow)
		require.Nil(t, w.Concurrency, "deploys are serialized per stack (job concurrency), never cancelled as a workflow")
		var deployed []string
		first := ""
		for name, s := range pulumiSteps(w) {
			j := w.Jobs[name]
			require.Equal(t, "up", s.With["command"], "job %s", name)
			require.Equal(t, pulumiVersion[1], s.With["pulumi-version"], "job %s: the Pulumi CLI of tools/pulumi", name)
			require.NotNil(t, j.Concurrency, "job %s: one deploy per stack at a time", name)
			require.NotNil(t, j.Concurrency.CancelInProgress, "job %s", name)
			require.False(t, *j.Concurrency.CancelInProgress, "job %s: a cancelled pulumi up leaves pending operations", name)
			region := awsStep(t, name, j).With["aws-region"]
			if s.With["stack-name"] == "${{ matrix.stack }}" {
				require.NotEmpty(t, j.Strategy.Matrix.Stack, "job %s", name)
				require.Equal(t, "${{ matrix.stack }}", j.Environment, "job %s: the stack's environment", name)
				require.Equal(t, "deploy-${{ matrix.stack }}", j.Concurrency.Group, "job %s", name)
				require.Equal(t, "${{ matrix.stack }}", region, "job %s", name)
				require.NotNil(t, j.Strategy.FailFast, "job %s", name)
				require.False(t, *j.Strategy.FailFast, "job %s: a failed region must not cancel another's pulumi up", name)
				deployed = append(deployed, j.Strategy.Matrix.Stack...)
				continue
			}
			stack := s.With["stack-name"]
			require.Empty(t, j.Strategy.Matrix.Stack, "job %s", name)
			require.Equal(t, stack, j.Environment, "job %s: the stack's environment", name)
			require.Equal(t, "deploy-"+stack, j.Concurrency.Group, "job %s", name)
			require.Equal(t, stack, region, "job %s", name)
			deployed = append(deployed, stack)
			if stack == "us-east-1" {
				first = name
			}
		}
		require.Equal(t, stacks, sorted(deployed), "every stack deployed exactly once")
		// Every deploy rolls its masters after its pulumi up (docs/roll.md).
		for name := range pulumiSteps(w) {
			j := w.Jobs[name]
			up, roll := -1, -1
			for i, s := range j.Steps {
				if strings.HasPrefix(s.Uses, "pulumi/actions@") {
					up = i
				}
				if strings.Contains(s.Run, "go run ./cmd/kinfra roll --stack ") {
					roll = i
					stack := strings.TrimPrefix(strings.TrimSpace(s.Run), "go run ./cmd/kinfra roll --stack ")
					if stack == `"$STACK"` {
						require.Equal(t, "${{ matrix.stack }}", s.Env["STACK"], "job %s: the roll's stack is the job's", name)
					} else {
						require.Equal(t, j.Environment, stack, "job %s: the roll's stack is the job's", name)
					}
				}
			}
			require.True(t, up >= 0 && roll > up, "job %s runs kinfra roll after pulumi up", name)
		}
		require.NotEmpty(t, first, "us-east-1 has its own job: it bakes the images the others look up")
		for name := range pulumiSteps(w) {
			if name != first {
				require.Contains(t, w.Jobs[name].Needs, first, "job %s deploys after us-east-1", name)
			}
		}
	})
}

// kinfraCommand is one `go run ./cmd/kinfra ...` of a run: script.
type kinfraCommand struct {
	where, sub string
	flags      []string
}

// kinfraCommands finds every `go run ./cmd/kinfra` line of the workflows'
// run: scripts and splits it into subcommand and flags, up to the first shell
// operator. A positional argument, a flag missing its value or an unknown
// subcommand fails t.
func kinfraCommands(t *testing.T) []kinfraCommand {
	t.Helper()
	const prefix = "go run ./cmd/kinfra"
	var cmds []kinfraCommand
	for _, file := range workflowFiles {
		for name, j := range loadWorkflow(t, file).Jobs {
			for _, s := range j.Steps {
				for _, line := range strings.Split(strings.ReplaceAll(s.Run, "\\\n", " "), "\n") {
					i := strings.Index(line, prefix)
					if i < 0 {
						continue
					}
					where := fmt.Sprintf("%s: job %s: %s", filepath.Base(file), name, strings.TrimSpace(line))
					var words []string
					for _, w := range strings.Fields(line[i+len(prefix):]) {
						if strings.ContainsAny(w[:1], "<>|&;#") || strings.HasPrefix(w, "2>") {
							break
						}
						words = append(words, w)
					}
					c := kinfraCommand{where: where}
					for len(words) > 0 && !strings.HasPrefix(words[0], "-") && (c.sub == "" || (c.sub == "plan" && words[0] == "diff")) {
						c.sub = strings.TrimSpace(c.sub + " " + words[0])
						words = words[1:]
					}
					flags, ok := kinfraFlags[c.sub]
					require.True(t, ok, "%s: kinfra subcommand %q is not one the workflows may run", where, c.sub)
					for len(words) > 0 {
						w := words[0]
						words = words[1:]
						require.True(t, strings.HasPrefix(w, "-"), "%s: positional argument %q (kinfra takes none)", where, w)
						flag, _, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
						takesValue, known := flags[flag]
						require.True(t, known, "%s: kinfra %s has no flag --%s", where, c.sub, flag)
						if takesValue && !hasValue {
							require.NotEmpty(t, words, "%s: --%s needs a value", where, flag)
							words = words[1:]
						}
						c.flags = append(c.flags, flag)
					}
					cmds = append(cmds, c)
				}
			}
		}
	}
	return cmds
}

func TestWorkflowKinfraCommandsUseRealFlags(t *testing.T) {
	// plan's table is runPlan's flag set and plan diff's is runPlanDiff's:
	// every flag they list is declared in cmd/kinfra.
	var src strings.Builder
	files, err := filepath.Glob("../cmd/kinfra/*.go")
	require.NoError(t, err)
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			src.WriteString(mustRead(t, f))
		}
	}
	declared := func(flag string) bool {
		return regexp.MustCompile(`\.(Bool|String|Int|Duration)(Var)?\((&\w+, )?"` + regexp.QuoteMeta(flag) + `"`).MatchString(src.String())
	}
	for sub, flags := range kinfraFlags {
		for flag := range flags {
			require.True(t, declared(flag), "kinfra %s --%s is not declared in cmd/kinfra", sub, flag)
		}
	}

	ran := map[string]bool{}
	for _, c := range kinfraCommands(t) {
		if c.sub == "plan" && slices.Contains(c.flags, "parity") {
			for _, f := range []string{"stack", "stack-file", "config", "user-data", "failures"} {
				require.NotContains(t, c.flags, f, "%s: --parity takes no --%s", c.where, f)
			}
		}
		ran[c.sub+" --"+strings.Join(sorted(c.flags), " --")] = true
	}
	// What the pull-request workflow's offline plan must run for each stack,
	// and once for all.
	for _, want := range []string{
		"plan diff --base-ref --markdown --stack",
		"plan --failures --stack",
		"plan --parity",
	} {
		require.True(t, ran[want], "no workflow runs kinfra %s (ran: %v)", want, ran)
	}
}

// The offline plan needs no credentials: it reads no secret and gets no
// OIDC token.
func TestWorkflowOfflinePlanHasNoCredentials(t *testing.T) {
	w := loadWorkflow(t, pullRequestWorkflow)
	j, ok := w.Jobs["offline-plan"]
	require.True(t, ok)
	require.Equal(t, map[string]string{"contents": "read", "pull-requests": "write"}, j.Permissions)
	var raw struct {
		Jobs map[string]yaml.Node `yaml:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(mustRead(t, pullRequestWorkflow)), &raw))
	node := raw.Jobs["offline-plan"]
	text, err := yaml.Marshal(&node)
	require.NoError(t, err)
	require.NotContains(t, string(text), "secrets.")
	require.NotContains(t, string(text), "configure-aws-credentials")
}

package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/review/plan"
)

// kinfra plan diff compares two offline plans of a stack and calls out the
// dangerous changes (docs/plan-diff.md):
//
//	kinfra plan diff OLD.json NEW.json [--json | --markdown]
//	kinfra plan diff (--stack NAME | --stack-file PATH) --base-ref GIT_REF [--dir DIR] [--json | --markdown]
//
// OLD and NEW are `kinfra plan --json` outputs. With --base-ref, NEW is the
// plan of the working tree and OLD the plan of the same stack file at
// GIT_REF, made by that commit's own program in a temporary git worktree.
// Exit status: 0 no dangerous change, 1 an error flag (or a plan that could
// not be made), 2 usage (bad arguments, unreadable files).

const diffUsage = `usage:
  kinfra plan diff OLD.json NEW.json [--json | --markdown]
  kinfra plan diff (--stack NAME | --stack-file PATH) --base-ref GIT_REF [--dir DIR] [--json | --markdown]

plan diff compares two offline plans (kinfra plan --json outputs) of a stack:
what would be added, removed, replaced and updated, and which changes are
dangerous (docs/plan-diff.md). With --base-ref, the old plan is made by the
program at GIT_REF, in a temporary git worktree, from the same stack file.
Exit status: 0 no dangerous change, 1 at least one error flag, 2 usage.
`

// runPlanDiff is kinfra plan diff.
func runPlanDiff(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kinfra plan diff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, diffUsage); fs.PrintDefaults() }
	stack := fs.String("stack", "", "stack `name`: <project>/stacks/Pulumi.<name>.yaml of the working tree (with --base-ref)")
	stackFile := fs.String("stack-file", "", "`path` of the stack file (with --base-ref)")
	baseRef := fs.String("base-ref", "", "git `ref` whose program plans the old side, from the same stack file")
	dir := fs.String("dir", ".", "`directory` inside the kinfra project and git repository")
	asJSON := fs.Bool("json", false, "print the diff as one JSON object")
	asMarkdown := fs.Bool("markdown", false, "print the diff as GitHub-flavoured Markdown (a pull request comment)")

	// Flags may come before, between or after the two files.
	var files []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	usageErr := func(msg string) int {
		fmt.Fprintln(stderr, "kinfra plan diff:", msg)
		fs.Usage()
		return 2
	}
	if *asJSON && *asMarkdown {
		return usageErr("give at most one of --json and --markdown")
	}
	stackGiven := *stack != "" || *stackFile != ""
	var old, new *plan.Plan
	switch {
	case len(files) == 2 && !stackGiven && *baseRef == "":
		var code int
		if old, code = readPlanFile(files[0], stderr); code != 0 {
			return code
		}
		if new, code = readPlanFile(files[1], stderr); code != 0 {
			return code
		}
	case len(files) == 0 && *baseRef != "" && (*stack == "") != (*stackFile == ""):
		var code int
		if old, new, code = plansAtBaseRef(*stack, *stackFile, *dir, *baseRef, stderr); code != 0 {
			return code
		}
	case len(files) == 0 && *baseRef == "" && stackGiven:
		return usageErr("--stack and --stack-file need --base-ref; or give two plan files")
	case len(files) == 0 && *baseRef != "":
		return usageErr("--base-ref needs exactly one of --stack or --stack-file")
	case len(files) > 0 && (stackGiven || *baseRef != ""):
		return usageErr("give either two plan files or --base-ref with a stack, not both")
	default:
		return usageErr(fmt.Sprintf("give two plan files (got %d), or --base-ref with a stack", len(files)))
	}

	d := plan.Diff(old, new)
	switch {
	case *asJSON:
		if err := d.JSON(stdout); err != nil {
			fmt.Fprintln(stderr, "kinfra plan diff:", err)
			return 1
		}
	case *asMarkdown:
		d.Markdown(stdout)
	default:
		d.Text(stdout)
	}
	if errs := d.Errors(); len(errs) > 0 {
		fmt.Fprintf(stderr, "kinfra plan diff: %d dangerous changes (error flags):\n", len(errs))
		for _, f := range errs {
			if f.Resource == "" && f.Path != "" {
				// A change of the config that cannot be made as it
				// stands: said in full, as a config error is.
				fmt.Fprintf(stderr, "  %s %s: %s\n", f.Rule, f.Path, f.Message)
				continue
			}
			fmt.Fprintf(stderr, "  %s %s\n", f.Rule, f.Resource)
		}
	}
	return d.ExitCode()
}

// readPlanFile reads a kinfra plan --json output; an unreadable file or one
// that is not a plan is a usage error.
func readPlanFile(path string, stderr io.Writer) (*plan.Plan, int) {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(stderr, "kinfra plan diff:", err)
		return nil, 2
	}
	defer f.Close()
	p, err := plan.ReadPlanJSON(f)
	if err != nil {
		fmt.Fprintf(stderr, "kinfra plan diff: %s: %v\n", path, err)
		return nil, 2
	}
	return p, 0
}

// plansAtBaseRef makes the new plan from the working tree's stack file and
// the old one from the same file at baseRef, with that commit's program.
func plansAtBaseRef(stack, stackFile, dir, baseRef string, stderr io.Writer) (old, new *plan.Plan, code int) {
	path, projectDir := stackFile, ""
	if stack != "" {
		var err error
		if projectDir, path, err = stackPath(dir, stack); err != nil {
			fmt.Fprintln(stderr, "kinfra plan diff:", err)
			return nil, nil, 2
		}
	} else if pd, _, err := stackfile.FindProject(dir); err == nil {
		projectDir = pd
	}
	sf, err := stackfile.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, "kinfra plan diff:", err)
		if errors.Is(err, stackfile.ErrUsage) {
			return nil, nil, 2
		}
		return nil, nil, 1
	}

	// Where the stack file and the program are in the repository.
	top, err := gitOutput(dir, "rev-parse", "--show-toplevel")
	if err != nil {
		fmt.Fprintf(stderr, "kinfra plan diff: %s is not in a git repository: %v\n", dir, err)
		return nil, nil, 2
	}
	relStack, err := relInside(top, path)
	if err != nil {
		fmt.Fprintln(stderr, "kinfra plan diff:", err)
		return nil, nil, 2
	}
	relProgram := "."
	if projectDir != "" {
		if rel, err := relInside(top, projectDir); err == nil {
			relProgram = rel
		}
	}
	commit, err := gitOutput(top, "rev-parse", "--verify", "--quiet", baseRef+"^{commit}")
	if err != nil {
		fmt.Fprintf(stderr, "kinfra plan diff: --base-ref %s is not a commit of %s\n", baseRef, top)
		return nil, nil, 2
	}

	fmt.Fprintf(stderr, "kinfra plan diff: planning stack %s of the working tree\n", sf.Name)
	p, err := plan.Run(sf)
	if err != nil {
		fmt.Fprintf(stderr, "kinfra plan diff: stack %s is invalid in the working tree:\n%v\n", sf.Name, err)
		return nil, nil, 1
	}
	// Read it back as the old side is read, so both compare alike.
	var buf bytes.Buffer
	if err := p.JSON(&buf); err == nil {
		if rt, err := plan.ReadPlanJSON(&buf); err == nil {
			p = rt
		}
	}
	new = p

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	old, err = planAtCommit(ctx, top, commit, baseRef, relStack, relProgram, sf.Name, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "kinfra plan diff:", err)
		return nil, nil, 1
	}
	return old, new, 0
}

// planAtCommit plans relStack with the program at commit, in a temporary
// worktree that is always removed. A stack file absent at the commit is a
// stack that does not exist yet: an empty plan.
func planAtCommit(ctx context.Context, top, commit, ref, relStack, relProgram, stack string, stderr io.Writer) (*plan.Plan, error) {
	tmp, err := os.MkdirTemp("", "kinfra-plan-diff-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	tree := filepath.Join(tmp, "tree")
	short := commit
	if len(short) > 12 {
		short = short[:12]
	}
	fmt.Fprintf(stderr, "kinfra plan diff: checking out %s (%s) in a temporary worktree %s\n", ref, short, tree)
	add := exec.CommandContext(ctx, "git", "-C", top, "worktree", "add", "--detach", tree, commit)
	add.Stdout, add.Stderr = stderr, stderr
	if err := add.Run(); err != nil {
		return nil, fmt.Errorf("git worktree add %s: %v", ref, err)
	}
	defer func() {
		// Not the signal context: the worktree goes even after an interrupt.
		rm := exec.Command("git", "-C", top, "worktree", "remove", "--force", tree)
		rm.Stdout, rm.Stderr = stderr, stderr
		if err := rm.Run(); err != nil {
			fmt.Fprintf(stderr, "kinfra plan diff: could not remove the worktree %s (%v); run `git worktree prune`\n", tree, err)
			return
		}
		fmt.Fprintln(stderr, "kinfra plan diff: removed the temporary worktree")
	}()

	oldStack := filepath.Join(tree, relStack)
	if _, err := os.Stat(oldStack); err != nil {
		fmt.Fprintf(stderr, "kinfra plan diff: %s does not exist at %s: every resource is added\n", relStack, ref)
		return plan.EmptyPlan(stack), nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("planning at %s needs the go command: %v", ref, err)
	}
	fmt.Fprintf(stderr, "kinfra plan diff: planning stack %s at %s (go run ./cmd/kinfra plan --stack-file %s --json)\n", stack, ref, relStack)
	run := exec.CommandContext(ctx, goBin, "run", "./cmd/kinfra", "plan", "--stack-file", oldStack, "--json")
	run.Dir = filepath.Join(tree, relProgram)
	var out bytes.Buffer
	run.Stdout, run.Stderr = &out, stderr
	runErr := run.Run()
	// Error findings exit 1 with the plan on stdout: that is a plan.
	p, err := plan.ReadPlanJSON(&out)
	if err != nil {
		if runErr != nil {
			return nil, fmt.Errorf("the program at %s made no plan of %s (%v)", ref, relStack, runErr)
		}
		return nil, fmt.Errorf("the program at %s printed no plan of %s: %v", ref, relStack, err)
	}
	return p, nil
}

// gitOutput runs git in dir and returns its trimmed output.
func gitOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(errOut.String()); msg != "" {
			return "", errors.New(msg)
		}
		return "", err
	}
	return strings.TrimSpace(out.String()), nil
}

// relInside is path relative to the repository top, which it must be in.
func relInside(top, path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	if real, err := filepath.EvalSymlinks(top); err == nil {
		top = real
	}
	rel, err := filepath.Rel(top, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is not inside the repository %s, so it has no version at the base ref", path, top)
	}
	return rel, nil
}

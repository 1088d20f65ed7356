// Command kinfra is the offline companion of the kinfra Pulumi program.
//
//	kinfra plan --stack us-east-1           plan a committed stack
//	kinfra plan --stack-file path.yaml      plan any stack file
//	kinfra plan --stack us-east-1 --json    one JSON object: stack, config, resources, findings
//	kinfra plan --stack us-east-1 --config  print the effective config (defaults applied)
//	kinfra plan --stack us-east-1 --user-data  print every instance's decoded cloud-config
//	kinfra plan --stack us-east-1 --failures  what losing each availability zone would do
//	kinfra plan --parity                    config values that differ between the stacks
//	kinfra plan diff OLD.json NEW.json      what changes between two plans, and which changes are dangerous
//	kinfra plan diff --stack us-east-1 --base-ref main  the same, against the plan at a git ref
//	kinfra pki init --stack us-east-1       create the cluster PKI as the secret kinfra:pki
//	kinfra etcd backups --stack us-east-1   list the cluster's etcd snapshots in S3
//	kinfra etcd restore --stack us-east-1 --snapshot latest  restore every etcd member from one
//	kinfra etcd recover-space --stack us-east-1  the NOSPACE runbook: compact, defragment, disarm
//	kinfra roll --stack us-east-1           replace the masters one at a time, behind health gates
//	kinfra import --region us-east-1 --vpc-id vpc-…  --stack legacy  an existing cluster as a stack file
//	kinfra drift --stack us-east-1          what changed in the account outside code
//
// Exit status: 0 success (a valid plan), 1 invalid config, error findings or
// a failed command, 2 usage.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/review/findings"
	"github.com/kinfra-dev/kinfra/review/plan"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage:
  kinfra plan (--stack NAME | --stack-file PATH) [--json | --config | --user-data]
  kinfra plan (--stack NAME | --stack-file PATH) --failures [--json]
  kinfra plan --parity [--dir DIR] [--json]
  kinfra plan diff OLD.json NEW.json [--json | --markdown]
  kinfra plan diff (--stack NAME | --stack-file PATH) --base-ref GIT_REF [--dir DIR] [--json | --markdown]
  kinfra pki init --stack NAME [--force] [--pulumi PATH] [--dir DIR]
  kinfra etcd backups (--stack NAME | --stack-file PATH) [--json]
  kinfra etcd restore (--stack NAME | --stack-file PATH) --snapshot latest|KEY [--dry-run] [--yes] ...
  kinfra etcd recover-space (--stack NAME | --stack-file PATH) [--dry-run] ...
  kinfra roll (--stack NAME | --stack-file PATH) [--dry-run] [--timeout 15m] [--poll 10s]
  kinfra import --region REGION (--vpc-id ID | --cloudformation-stack NAME | --template FILE) (--stack NAME | --out PATH) ...
  kinfra drift (--stack NAME | --stack-file PATH) [--json | --markdown] ...

plan runs the kinfra Pulumi program offline, under mocks, and prints what it
would create. No AWS credentials and no Pulumi CLI are needed.

pki init generates the cluster's CAs, keys, admin certificate, bootstrap token
and encryption key, and stores them as the stack's secret config kinfra:pki
through the Pulumi CLI (docs/pki.md).

plan --failures simulates the loss of each availability zone over the plan
and checks every master slot's identity; plan --parity lists the config paths
whose values differ between the stacks (docs/review.md).

etcd backups lists the cluster's etcd snapshots; etcd restore has every
master restore one (docs/etcd-restore.md). Both call AWS. etcd recover-space
brings a cluster out of NOSPACE (docs/masters.md); it calls AWS and etcd.

roll replaces the masters whose launch template version is behind the stack,
one slot at a time, each once the one before is healthy (README, "Upgrading a
cluster"). It calls AWS, etcd and the API servers.

import writes a stack file for a cluster that already runs, from the account
or a CloudFormation template; drift compares the account with a stack's plan
(docs/import-drift.md). Both make read-only AWS calls.
`

func run(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) > 0 && args[0] == "plan":
		return runPlan(args[1:], stdout, stderr)
	case len(args) > 1 && args[0] == "pki" && args[1] == "init":
		return runPKIInit(args[2:], stdout, stderr)
	case len(args) > 0 && args[0] == "etcd":
		return runEtcd(args[1:], stdout, stderr)
	case len(args) > 0 && args[0] == "roll":
		return runRoll(args[1:], stdout, stderr)
	case len(args) > 0 && args[0] == "import":
		return runImport(args[1:], stdout, stderr)
	case len(args) > 0 && args[0] == "drift":
		return runDrift(args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, usage)
	return 2
}

func runPlan(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "diff" {
		return runPlanDiff(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("kinfra plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	stack := fs.String("stack", "", "stack `name`: plans <project>/stacks/Pulumi.<name>.yaml")
	stackFile := fs.String("stack-file", "", "`path` of any Pulumi stack file to plan")
	asJSON := fs.Bool("json", false, "print the plan as one JSON object")
	showConfig := fs.Bool("config", false, "print only the effective config, defaults applied")
	showUserData := fs.Bool("user-data", false, "print every launch template's decoded cloud-config")
	dir := fs.String("dir", ".", "`directory` inside the kinfra project (for --stack)")
	pkiFile := fs.String("pki-file", "", "`path` of the stack's kinfra:pki in plain text (pulumi config get kinfra:pki): checks its CAs' and admin certificate's expiry")
	review := addReviewFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *review.parity {
		return runParity(fs, *dir, *asJSON, stdout, stderr)
	}
	if fs.NArg() > 0 || (*stack == "") == (*stackFile == "") {
		fmt.Fprintln(stderr, "kinfra plan: give exactly one of --stack or --stack-file")
		fs.Usage()
		return 2
	}
	path := *stackFile
	if *stack != "" {
		var err error
		if _, path, err = stackPath(*dir, *stack); err != nil {
			fmt.Fprintln(stderr, "kinfra plan:", err)
			return 2
		}
	}
	sf, err := stackfile.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, "kinfra plan:", err)
		if errors.Is(err, stackfile.ErrUsage) {
			return 2
		}
		return 1
	}
	if *pkiFile != "" {
		if sf.PKI, err = os.ReadFile(*pkiFile); err != nil {
			fmt.Fprintln(stderr, "kinfra plan:", err)
			return 2
		}
	}
	p, err := plan.Run(sf)
	if err != nil {
		fmt.Fprintf(stderr, "kinfra plan: stack %s is invalid; nothing would be created (%d resources registered):\n%v\n", sf.Name, len(p.Resources), err)
		return 1
	}
	if *review.failures {
		return runFailures(p, *asJSON, stdout, stderr)
	}
	switch {
	case *showUserData:
		uds, err := p.UserData()
		if err != nil {
			fmt.Fprintln(stderr, "kinfra plan:", err)
			return 1
		}
		for _, ud := range uds {
			fmt.Fprint(stdout, ud.Text())
		}
	case *showConfig:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p.Config); err != nil {
			fmt.Fprintln(stderr, "kinfra plan:", err)
			return 1
		}
	case *asJSON:
		if err := p.JSON(stdout); err != nil {
			fmt.Fprintln(stderr, "kinfra plan:", err)
			return 1
		}
	default:
		p.Text(stdout)
	}
	return findingsExit(p.Findings, stderr)
}

// stackPath finds the project holding dir and the file of its stack name.
func stackPath(dir, stack string) (projectDir, path string, err error) {
	projectDir, stackDir, err := stackfile.FindProject(dir)
	if err != nil {
		return "", "", err
	}
	path = filepath.Join(stackDir, "Pulumi."+stack+".yaml")
	if _, err := os.Stat(path); err != nil {
		names, _ := stackfile.Files(stackDir)
		return "", "", fmt.Errorf("no stack %q (%s does not exist); stacks: %v", stack, path, names)
	}
	return projectDir, path, nil
}

// findingsExit fails the plan on error findings, listing them on stderr;
// warnings and notes never fail it.
func findingsExit(fs []findings.Finding, stderr io.Writer) int {
	errs := findings.Errors(fs)
	if len(errs) == 0 {
		return 0
	}
	fmt.Fprintf(stderr, "kinfra plan: %d error findings:\n", len(errs))
	for _, f := range errs {
		fmt.Fprintf(stderr, "  %s %s: %s\n", f.Rule, f.Resource, f.Message)
	}
	return 1
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kinfra-dev/kinfra/internal/etcdops"
	"github.com/kinfra-dev/kinfra/internal/importer"
	"github.com/kinfra-dev/kinfra/internal/inventory"
	"github.com/kinfra-dev/kinfra/internal/inventory/awsread"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/review/findings"
	"github.com/kinfra-dev/kinfra/review/plan"
)

const importUsage = `usage:
  kinfra import --region REGION (--vpc-id ID | --cloudformation-stack NAME | --template FILE [--parameter KEY=VALUE]...)
                (--stack NAME [--dir DIR] | --out PATH|-) [--name CLUSTER] [--adopt] [--force] [--json]
                [--profile PROFILE] [--endpoint-url URL]

import reads an existing cluster's network, groups and load balancers, from
the account (read-only calls: Describe, List, Get) or from a CloudFormation
template, and writes a stack file that kinfra plans: the network imported by
ID when it is kinfra's layout, else adopted; masters and node pools described
from the groups. It plans the file before writing it, and prints every
resource it could not express, by ID (docs/import-drift.md).
Exit status: 0 written, and it plans; 1 failed (AWS, an unplannable result);
2 usage.
`

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runImport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kinfra import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, importUsage); fs.PrintDefaults() }
	region := fs.String("region", "", "the `region` to read, and the stack's aws:region")
	vpcID := fs.String("vpc-id", "", "import the VPC with this `ID` and what runs in it")
	cfnStack := fs.String("cloudformation-stack", "", "import the VPC of this CloudFormation stack `name` (its other resources are reported)")
	template := fs.String("template", "", "describe the cluster a CloudFormation template `file` makes (no AWS calls; nothing to import by ID)")
	var params multiFlag
	fs.Var(&params, "parameter", "a template parameter `KEY=VALUE` (repeatable)")
	stack := fs.String("stack", "", "write <project>/stacks/Pulumi.<`name`>.yaml")
	dir := fs.String("dir", ".", "`directory` inside the kinfra project (for --stack)")
	out := fs.String("out", "", "write the stack file to `path` (- for stdout)")
	name := fs.String("name", "", "the cluster's `name` (default: the one its kubernetes.io/cluster/<name> tags name)")
	adopt := fs.Bool("adopt", false, "adopt the VPC (cluster.network.existing) even when it could be imported")
	force := fs.Bool("force", false, "overwrite an existing stack file")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	profile := fs.String("profile", "", "the AWS shared config `profile`")
	endpoint := fs.String("endpoint-url", "", "send every AWS call to this `URL` (an emulator, a private endpoint)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	sources := 0
	for _, s := range []string{*vpcID, *cfnStack, *template} {
		if s != "" {
			sources++
		}
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "kinfra import: unexpected argument %q\n", fs.Arg(0))
		return 2
	case *region == "":
		fmt.Fprintln(stderr, "kinfra import: --region is required")
		return 2
	case sources != 1:
		fmt.Fprintln(stderr, "kinfra import: give exactly one of --vpc-id, --cloudformation-stack or --template")
		return 2
	case (*stack == "") == (*out == ""):
		fmt.Fprintln(stderr, "kinfra import: give exactly one of --stack or --out")
		return 2
	case *asJSON && *out == "-":
		fmt.Fprintln(stderr, "kinfra import: --json and --out - both print to stdout; write the stack file with --stack or --out PATH")
		return 2
	case len(params) > 0 && *template == "":
		fmt.Fprintln(stderr, "kinfra import: --parameter goes with --template")
		return 2
	}
	path := *out
	if *stack != "" {
		_, stackDir, err := stackfile.FindProject(*dir)
		if err != nil {
			fmt.Fprintln(stderr, "kinfra import:", err)
			return 2
		}
		path = filepath.Join(stackDir, "Pulumi."+*stack+".yaml")
	}
	if path != "-" && !*force {
		if _, err := os.Stat(path); err == nil {
			fmt.Fprintf(stderr, "kinfra import: %s exists; give --force to replace it\n", path)
			return 2
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var inv *inventory.Inventory
	var source string
	switch {
	case *template != "":
		data, err := os.ReadFile(*template)
		if err != nil {
			fmt.Fprintln(stderr, "kinfra import:", err)
			return 2
		}
		kv := map[string]string{}
		for _, p := range params {
			k, v, ok := strings.Cut(p, "=")
			if !ok {
				fmt.Fprintf(stderr, "kinfra import: --parameter %q is not KEY=VALUE\n", p)
				return 2
			}
			kv[k] = v
		}
		var problems []inventory.Problem
		inv, problems, err = inventory.FromTemplate(data, *region, kv)
		if err != nil {
			fmt.Fprintf(stderr, "kinfra import: %s: %v\n", *template, err)
			return 1
		}
		for _, p := range problems {
			fmt.Fprintf(stderr, "kinfra import: %s: %s: %s (not read)\n", *template, p.Path, p.Message)
		}
		source = "template " + *template
	default:
		cfg, err := awsConfig(ctx, *region, *profile, *endpoint)
		if err != nil {
			fmt.Fprintln(stderr, "kinfra import:", err)
			return 1
		}
		scope := awsread.Scope{VpcID: *vpcID, CloudFormationStack: *cfnStack}
		if inv, err = awsread.Read(ctx, awsread.NewClients(cfg), *region, scope); err != nil {
			fmt.Fprintln(stderr, "kinfra import:", err)
			return 1
		}
		source = "VPC " + *vpcID
		if *cfnStack != "" {
			source = "CloudFormation stack " + *cfnStack
		}
	}

	r, err := importer.Build(inv, importer.Options{Region: *region, Name: *name, Adopt: *adopt})
	if err != nil {
		fmt.Fprintln(stderr, "kinfra import:", err)
		return 1
	}
	text, err := r.StackFile(source)
	if err != nil {
		fmt.Fprintln(stderr, "kinfra import:", err)
		return 1
	}
	// Planned before it is written: a file kinfra cannot plan is not kept.
	if code := planImported(r.Name, text, stderr); code != 0 {
		return code
	}
	if path == "-" {
		fmt.Fprint(stdout, text)
	} else if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		fmt.Fprintln(stderr, "kinfra import:", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			fmt.Fprintln(stderr, "kinfra import:", err)
			return 1
		}
		return 0
	}
	report := stdout
	if path == "-" {
		report = stderr // stdout holds the stack file
	} else {
		fmt.Fprintf(report, "wrote %s\n", path)
	}
	fmt.Fprint(report, r.Text())
	return 0
}

// planImported plans the stack file text as `kinfra plan` would; 0 if it
// plans with no error finding.
func planImported(name, text string, stderr io.Writer) int {
	tmp, err := os.MkdirTemp("", "kinfra-import-")
	if err != nil {
		fmt.Fprintln(stderr, "kinfra import:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	path := filepath.Join(tmp, "Pulumi."+name+".yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		fmt.Fprintln(stderr, "kinfra import:", err)
		return 1
	}
	sf, err := stackfile.Load(path)
	if err == nil {
		var p *plan.Plan
		if p, err = plan.Run(sf); err == nil {
			if errs := findings.Errors(p.Findings); len(errs) > 0 {
				var lines []string
				for _, f := range errs {
					lines = append(lines, fmt.Sprintf("  %s %s: %s", f.Rule, f.Resource, f.Message))
				}
				err = errors.New("error findings:\n" + strings.Join(lines, "\n"))
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "kinfra import: the stack file it would write does not plan, so it is not written:\n%v\n--- the stack file:\n%s", err, text)
		return 1
	}
	return 0
}

// awsConfig is the SDK configuration the read-only commands use: the
// default credential chain and profile, and endpoint for every service when
// given (AWS_ENDPOINT_URL does the same).
func awsConfig(ctx context.Context, region, profile, endpoint string) (aws.Config, error) {
	cfg, err := etcdops.LoadConfig(ctx, region, profile)
	if err != nil {
		return aws.Config{}, err
	}
	if endpoint != "" {
		cfg.BaseEndpoint = aws.String(endpoint)
	}
	return cfg, nil
}

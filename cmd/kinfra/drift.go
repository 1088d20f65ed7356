package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/kinfra-dev/kinfra/internal/inventory"
	"github.com/kinfra-dev/kinfra/internal/inventory/awsread"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/review/drift"
	"github.com/kinfra-dev/kinfra/review/plan"
)

const driftUsage = `usage:
  kinfra drift (--stack NAME | --stack-file PATH) [--dir DIR] [--json | --markdown]
               [--profile PROFILE] [--endpoint-url URL]

drift compares the live account with the stack's offline plan: resources
missing, attributes changed outside code (a rule added by hand, a group's
size, a launch template edited, a tag), and resources tagged for the cluster
that the plan does not have (docs/import-drift.md). It makes read-only calls
only (Describe, List, Get), with the credentials of the environment or the
stack's aws:profile.
Exit status: 0 no drift, 1 drift (or a failure), 2 usage.
`

func runDrift(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kinfra drift", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, driftUsage); fs.PrintDefaults() }
	sfl := addStackFlags(fs)
	asJSON := fs.Bool("json", false, "print the drift as one JSON object")
	asMarkdown := fs.Bool("markdown", false, "print the drift as GitHub-flavoured Markdown")
	profile := fs.String("profile", "", "the AWS shared config `profile` (default: the stack's aws:profile)")
	endpoint := fs.String("endpoint-url", "", "send every AWS call to this `URL` (an emulator, a private endpoint)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "kinfra drift: unexpected argument %q\n", fs.Arg(0))
		return 2
	case *asJSON && *asMarkdown:
		fmt.Fprintln(stderr, "kinfra drift: give at most one of --json and --markdown")
		return 2
	case (*sfl.stack == "") == (*sfl.stackFile == ""):
		fmt.Fprintln(stderr, "kinfra drift: give exactly one of --stack or --stack-file")
		return 2
	}
	path := *sfl.stackFile
	if *sfl.stack != "" {
		var err error
		if _, path, err = stackPath(*sfl.dir, *sfl.stack); err != nil {
			fmt.Fprintln(stderr, "kinfra drift:", err)
			return 2
		}
	}
	sf, err := stackfile.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, "kinfra drift:", err)
		if errors.Is(err, stackfile.ErrUsage) {
			return 2
		}
		return 1
	}
	p, err := plan.Run(sf)
	if err != nil {
		fmt.Fprintf(stderr, "kinfra drift: stack %s does not plan (kinfra plan --stack-file %s shows why):\n%v\n", sf.Name, path, err)
		return 1
	}
	if *profile == "" {
		*profile = sf.Config["aws:profile"]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg, err := awsConfig(ctx, p.Config.Region, *profile, *endpoint)
	if err != nil {
		fmt.Fprintln(stderr, "kinfra drift:", err)
		return 1
	}
	clients := awsread.NewClients(cfg)
	vpcID, err := stackVPC(ctx, clients.EC2, p)
	if err != nil {
		fmt.Fprintln(stderr, "kinfra drift:", err)
		return 1
	}
	var inv *inventory.Inventory
	if vpcID != "" {
		if inv, err = awsread.Read(ctx, clients, p.Config.Region, awsread.Scope{VpcID: vpcID}); err != nil {
			fmt.Fprintln(stderr, "kinfra drift:", err)
			return 1
		}
	} else {
		inv = &inventory.Inventory{Region: p.Config.Region}
	}
	report, err := drift.Compare(p, inv)
	if err != nil {
		fmt.Fprintln(stderr, "kinfra drift:", err)
		return 1
	}
	switch {
	case *asJSON:
		err = report.JSON(stdout)
	case *asMarkdown:
		report.Markdown(stdout)
	default:
		report.Text(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "kinfra drift:", err)
		return 1
	}
	if !report.Clean() {
		return 1
	}
	return 0
}

// stackVPC is the VPC of the stack: the adopted or imported one, else the
// one kinfra created, found by the tags the plan gives its VPC; "" when
// there is none (every planned resource is then missing).
func stackVPC(ctx context.Context, api awsread.EC2API, p *plan.Plan) (string, error) {
	n := p.Config.Network
	if n.Existing != nil {
		return n.Existing.VpcId, nil
	}
	if n.Import != nil && n.Import.Vpc != "" {
		return n.Import.Vpc, nil
	}
	var name string
	for _, r := range p.Resources {
		if r.Type == "aws:ec2/vpc:Vpc" {
			name = r.Name
		}
	}
	if name == "" {
		return "", fmt.Errorf("the plan of %s has no VPC to look for", p.Stack)
	}
	out, err := api.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + tags.Cluster), Values: []string{p.Config.Name}},
		{Name: aws.String("tag:Name"), Values: []string{name}},
	}})
	if err != nil {
		return "", fmt.Errorf("finding the cluster's VPC: %w", err)
	}
	switch len(out.Vpcs) {
	case 0:
		return "", nil
	case 1:
		return aws.ToString(out.Vpcs[0].VpcId), nil
	}
	return "", fmt.Errorf("%d VPCs are tagged %s=%s and Name=%s; kinfra makes one", len(out.Vpcs), tags.Cluster, p.Config.Name, name)
}

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/importer"
	"github.com/kinfra-dev/kinfra/internal/inventory/legacytest"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/internal/testtools"
	"github.com/kinfra-dev/kinfra/review/findings"
	"github.com/kinfra-dev/kinfra/review/plan"
)

// The proof of kinfra import: a hand-grown cluster made in moto_server
// from a CloudFormation template is imported, from its stack and from its
// VPC; the stack file plans, its import IDs are moto's, its report names
// what it could not express, and no call changed anything.
func TestImportOfALegacyClusterInMotoPlansWithMotosIDs(t *testing.T) {
	m := testtools.StartMoto(t)
	m.SetAWSEnv(t)
	deployed := legacytest.Deploy(t, legacytest.Config(m))
	physical := func(logical string) string { return aws.ToString(deployed[logical].PhysicalResourceId) }

	for _, source := range [][]string{
		{"--cloudformation-stack", legacytest.StackName},
		{"--vpc-id", physical("Vpc")},
	} {
		t.Run(source[0], func(t *testing.T) {
			m.StartRecording(t)
			out := filepath.Join(t.TempDir(), "Pulumi.legacy.yaml")
			var stdout, stderr bytes.Buffer
			args := append([]string{"import", "--region", legacytest.Region, "--endpoint-url", m.Endpoint, "--out", out, "--json"}, source...)
			require.Equal(t, 0, run(args, &stdout, &stderr), stderr.String())

			// No call reached moto that could change anything; and the
			// reads did reach it.
			reqs := m.Requests(t)
			require.Empty(t, testtools.MutatingRequests(reqs))
			require.NotEmpty(t, reqs)

			// The file plans as `kinfra plan` plans it.
			sf, err := stackfile.Load(out)
			require.NoError(t, err)
			p, err := plan.Run(sf)
			require.NoError(t, err)
			require.Empty(t, findings.Errors(p.Findings))

			// Every import ID is moto's ID of the resource it names.
			want := map[string]string{
				"aws:ec2/vpc:Vpc legacy-network-vpc":                         physical("Vpc"),
				"aws:ec2/internetGateway:InternetGateway legacy-network-igw": physical("InternetGateway"),
				"aws:ec2/routeTable:RouteTable legacy-network-public":        physical("PublicRouteTable"),
				"aws:ec2/vpcEndpoint:VpcEndpoint legacy-network-s3":          physical("S3Endpoint"),
			}
			for _, z := range []string{"a", "b", "c"} {
				zone, Z := "us-east-1"+z, strings.ToUpper(z)
				want["aws:ec2/subnet:Subnet legacy-network-private-"+zone] = physical("PrivateSubnet" + Z)
				want["aws:ec2/subnet:Subnet legacy-network-public-"+zone] = physical("PublicSubnet" + Z)
				want["aws:ec2/routeTable:RouteTable legacy-network-private-"+zone] = physical("PrivateRouteTable" + Z)
				want["aws:ec2/natGateway:NatGateway legacy-network-nat-"+zone] = physical("NatGateway" + Z)
			}
			imports := map[string]string{}
			for _, r := range p.Resources {
				if r.Options.Import != "" {
					imports[r.Type+" "+r.Name] = r.Options.Import
				}
			}
			for k, id := range want {
				require.NotEmpty(t, id, "moto gave %s no ID", k)
				require.Equal(t, id, imports[k], k)
			}

			// The report names what the file does not hold, by moto's IDs.
			var r importer.Result
			require.NoError(t, json.Unmarshal(stdout.Bytes(), &r))
			require.Equal(t, importer.ModeImport, r.Mode)
			reported := map[string]importer.Item{}
			for _, it := range r.Unexpressed {
				reported[it.ID] = it
			}
			for _, logical := range []string{"NodesSecurityGroup", "MastersSecurityGroup", "GeneralLaunchTemplate", "GpuLaunchTemplate"} {
				require.Contains(t, reported, physical(logical), logical)
			}
			require.Contains(t, reported[physical("NodesSecurityGroup")].Why, "tcp/22 from 203.0.113.0/24", "the hand-made SSH rule is named")
			require.Contains(t, reported, physical("ApiLoadBalancer"))
			if source[0] == "--cloudformation-stack" {
				require.Equal(t, "AWS::IAM::Role", reported[physical("NodeRole")].Kind, "the stack's IAM role is reported")
			}
			text, err := os.ReadFile(out)
			require.NoError(t, err)
			for _, it := range r.Unexpressed {
				require.Contains(t, string(text), it.ID, "the stack file's header lists %s", it.ID)
			}
			require.Len(t, p.Config.NodePools, 2)
			require.Equal(t, 3, p.Config.Masters.Count)
		})
	}
}

// A template is read without AWS: the stack file describes the network and
// imports nothing, and plans.
func TestImportOfATemplateDescribesTheClusterWithoutIDs(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // any call would fail
	var stdout, stderr bytes.Buffer
	args := []string{"import", "--region", "us-east-1", "--template", legacytest.TemplatePath(), "--out", "-", "--parameter", "ApiListenerProtocol=TCP"}
	require.Equal(t, 0, run(args, &stdout, &stderr), stderr.String())
	path := filepath.Join(t.TempDir(), "Pulumi.legacy.yaml")
	require.NoError(t, os.WriteFile(path, stdout.Bytes(), 0o600))
	sf, err := stackfile.Load(path)
	require.NoError(t, err)
	p, err := plan.Run(sf)
	require.NoError(t, err)
	for _, r := range p.Resources {
		require.Empty(t, r.Options.Import, "a template has no AWS IDs to import: %s", r.Name)
	}
	require.Equal(t, "10.60.0.0/16", p.Config.Network.VpcCidr)
	require.Contains(t, stderr.String(), "not expressed (")
	require.Contains(t, stderr.String(), "AWS::IAM::Role NodeRole")
}

func TestImportAndDriftRefuseBadArguments(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "Pulumi.x.yaml")
	require.NoError(t, os.WriteFile(existing, []byte("config: {}\n"), 0o600))
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"import", "--vpc-id", "vpc-1", "--out", "-"}, "--region is required"},
		{[]string{"import", "--region", "us-east-1", "--out", "-"}, "give exactly one of --vpc-id, --cloudformation-stack or --template"},
		{[]string{"import", "--region", "us-east-1", "--vpc-id", "vpc-1", "--template", "t.yaml", "--out", "-"}, "give exactly one of --vpc-id, --cloudformation-stack or --template"},
		{[]string{"import", "--region", "us-east-1", "--vpc-id", "vpc-1"}, "give exactly one of --stack or --out"},
		{[]string{"import", "--region", "us-east-1", "--vpc-id", "vpc-1", "--out", existing}, "exists; give --force to replace it"},
		{[]string{"import", "--region", "us-east-1", "--vpc-id", "vpc-1", "--out", "-", "--json"}, "--json and --out - both print to stdout"},
		{[]string{"import", "--region", "us-east-1", "--vpc-id", "vpc-1", "--out", "-", "--parameter", "A=1"}, "--parameter goes with --template"},
		{[]string{"drift"}, "give exactly one of --stack or --stack-file"},
		{[]string{"drift", "--stack-file", existing, "--json", "--markdown"}, "give at most one of --json and --markdown"},
		{[]string{"drift", "--stack-file", existing, "extra"}, `unexpected argument "extra"`},
	} {
		var stdout, stderr bytes.Buffer
		require.Equal(t, 2, run(c.args, &stdout, &stderr), "%v: %s", c.args, stderr.String())
		require.Contains(t, stderr.String(), c.msg, "%v", c.args)
	}
}

// Package legacytest deploys the legacy-cluster CloudFormation fixture
// (tests/testdata/legacy-cluster.cfn.yaml: a hand-grown, pre-kinfra
// cluster) in moto_server, for the tests of `kinfra import` and `kinfra
// drift` to read back.
package legacytest

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/inventory"
	"github.com/kinfra-dev/kinfra/internal/testtools"
)

// The fixture's stack: its name, region and cluster.
const (
	StackName = "legacy"
	Region    = "us-east-1"
	Cluster   = "legacy"
)

// MotoParameters are the parameters moto_server 5.2.1 needs to create
// every resource: its CloudFormation makes every load balancer an
// application one (it drops Type), which refuses the API listener's TCP.
var MotoParameters = map[string]string{"ApiListenerProtocol": "HTTP"}

// TemplatePath is the fixture's path.
func TemplatePath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "tests", "testdata", "legacy-cluster.cfn.yaml")
}

// Template is the fixture's text.
func Template(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(TemplatePath())
	require.NoError(t, err)
	return data
}

// Config is an SDK configuration for the moto_server m, with test
// credentials, that reads nothing from the environment.
func Config(m *testtools.Moto) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(m.Endpoint),
	}
}

// Deploy creates the fixture's stack with MotoParameters and returns its
// resources by logical ID. moto_server creates a stack within the call,
// so the stack is complete (or failed) when CreateStack answers.
func Deploy(t testing.TB, cfg aws.Config) map[string]cftypes.StackResource {
	t.Helper()
	ctx := context.Background()
	cf := cloudformation.NewFromConfig(cfg)
	in := &cloudformation.CreateStackInput{StackName: aws.String(StackName), TemplateBody: aws.String(string(Template(t)))}
	for k, v := range MotoParameters {
		in.Parameters = append(in.Parameters, cftypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(v)})
	}
	_, err := cf.CreateStack(ctx, in)
	require.NoError(t, err, "creating the legacy stack")
	stacks, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(StackName)})
	require.NoError(t, err)
	require.Len(t, stacks.Stacks, 1)
	require.Equal(t, cftypes.StackStatusCreateComplete, stacks.Stacks[0].StackStatus, "the legacy stack's status")
	res, err := cf.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(StackName)})
	require.NoError(t, err)
	out := map[string]cftypes.StackResource{}
	for _, r := range res.StackResources {
		out[aws.ToString(r.LogicalResourceId)] = r
	}
	associate(t, cfg, out)
	return out
}

// associate makes the template's subnet route table associations that
// moto_server 5.2.1's CloudFormation records apart from their tables
// (create_subnet_association), where DescribeRouteTables does not see them:
// on AWS the stack's associations are the tables' own, as here.
func associate(t testing.TB, cfg aws.Config, deployed map[string]cftypes.StackResource) {
	t.Helper()
	ctx := context.Background()
	inv, problems, err := inventory.FromTemplate(Template(t), Region, MotoParameters)
	require.NoError(t, err)
	require.Empty(t, problems)
	api := ec2.NewFromConfig(cfg)
	physical := func(logical string) string {
		id := aws.ToString(deployed[logical].PhysicalResourceId)
		require.NotEmpty(t, id, "the stack has no %s", logical)
		return id
	}
	for _, rt := range inv.RouteTables {
		table := physical(rt.ID)
		live, err := api.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{table}})
		require.NoError(t, err)
		require.Len(t, live.RouteTables, 1)
		have := map[string]bool{}
		for _, a := range live.RouteTables[0].Associations {
			have[aws.ToString(a.SubnetId)] = true
		}
		for _, s := range rt.SubnetIDs {
			if subnet := physical(s); !have[subnet] {
				_, err := api.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String(table), SubnetId: aws.String(subnet)})
				require.NoError(t, err, "associating %s with %s", s, rt.ID)
			}
		}
	}
}

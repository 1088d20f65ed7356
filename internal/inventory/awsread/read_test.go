package awsread

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/inventory"
)

func TestScopeMustNameExactlyOneThing(t *testing.T) {
	for _, s := range []Scope{{}, {VpcID: "vpc-1", CloudFormationStack: "legacy"}} {
		inv, err := Read(context.Background(), Clients{}, testRegion, s)
		require.Error(t, err, "%+v", s)
		require.Nil(t, inv)
		require.Contains(t, err.Error(), "exactly one")
	}
}

func TestReadVPCReadsBackEveryResourceAndNothingOfAnotherVPC(t *testing.T) {
	a := startAccount(t)
	l := buildLegacy(t, a)

	got, reqs, err := a.read(t, Scope{VpcID: l.vpcID})
	require.NoError(t, err)
	calls := map[string]bool{}
	for _, r := range reqs {
		calls[r.String()] = true
	}
	for _, c := range []string{
		"ec2:DescribeVpcs", "ec2:DescribeSecurityGroupRules", "ec2:DescribeLaunchTemplateVersions",
		"autoscaling:DescribeAutoScalingGroups", "elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeListeners",
	} {
		require.True(t, calls[c], "the recording holds %s: %v", c, reqs)
	}

	known := knownRuleIDs(l.want)
	require.Equal(t, comparable(t, l.want, known), comparable(t, got, known))

	b, err := json.Marshal(got)
	require.NoError(t, err)
	for _, id := range l.otherIDs {
		require.NotContains(t, string(b), id, "the other VPC's %s is not in the inventory", id)
	}

	again, _, err := a.read(t, Scope{VpcID: l.vpcID})
	require.NoError(t, err)
	require.Equal(t, got, again, "two reads of the same account give the same inventory")
}

// knownRuleIDs are the rule IDs an expected inventory names: those of
// the rules the test authorised.
func knownRuleIDs(want *inventory.Inventory) map[string]bool {
	ids := map[string]bool{}
	for _, g := range want.SecurityGroups {
		for _, r := range append(append([]inventory.Rule{}, g.Ingress...), g.Egress...) {
			if r.ID != "" {
				ids[r.ID] = true
			}
		}
	}
	return ids
}

// comparable is a copy of inv whose rule IDs that are not known (those AWS
// gave the rules it made with the VPC or a group) are checked for their
// form and blanked, and each group's rules ordered by ID and peer.
func comparable(t *testing.T, inv *inventory.Inventory, known map[string]bool) *inventory.Inventory {
	t.Helper()
	b, err := json.Marshal(inv)
	require.NoError(t, err)
	var out inventory.Inventory
	require.NoError(t, json.Unmarshal(b, &out))
	seen := map[string]bool{}
	for i := range out.SecurityGroups {
		g := &out.SecurityGroups[i]
		for _, rules := range [][]inventory.Rule{g.Ingress, g.Egress} {
			for j := range rules {
				if id := rules[j].ID; id != "" {
					require.True(t, strings.HasPrefix(id, "sgr-"), "rule ID %q", id)
					require.False(t, seen[id], "rule ID %s is unique", id)
					seen[id] = true
				}
				if !known[rules[j].ID] {
					rules[j].ID = ""
				}
			}
			sort.SliceStable(rules, func(i, j int) bool { return rules[i].ID+rules[i].Peer() < rules[j].ID+rules[j].Peer() })
		}
	}
	return &out
}

// legacyStack is a small hand-grown stack: a VPC with two subnets, an
// internet gateway, a security group, an Elastic IP no NAT gateway uses,
// and resources the inventory does not model (an IAM role, an SSM
// parameter).
const legacyStack = `{
  "Resources": {
    "VPC": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.20.0.0/16", "Tags": [{"Key": "Name", "Value": "stack-vpc"}]}},
    "SubnetA": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "VPC"}, "CidrBlock": "10.20.0.0/20", "AvailabilityZone": "us-east-1a"}},
    "SubnetB": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "VPC"}, "CidrBlock": "10.20.16.0/20", "AvailabilityZone": "us-east-1b"}},
    "IGW": {"Type": "AWS::EC2::InternetGateway"},
    "IGWAttachment": {"Type": "AWS::EC2::VPCGatewayAttachment", "Properties": {"VpcId": {"Ref": "VPC"}, "InternetGatewayId": {"Ref": "IGW"}}},
    "Nodes": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "stack nodes", "VpcId": {"Ref": "VPC"},
      "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "10.20.0.0/16"}]}},
    "Spare": {"Type": "AWS::EC2::EIP", "Properties": {"Domain": "vpc"}},
    "NodeRole": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "stack-node-role",
      "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}},
    "Version": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/stack/version", "Type": "String", "Value": "1"}}
  }
}`

func createStack(t *testing.T, a *account, name, body string) map[string]string {
	t.Helper()
	c := cloudformation.NewFromConfig(a.cfg)
	must(c.CreateStack(context.Background(), &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(body), Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityNamedIam}}))
	physical := map[string]string{}
	for _, r := range must(c.DescribeStackResources(context.Background(), &cloudformation.DescribeStackResourcesInput{StackName: aws.String(name)})).StackResources {
		physical[*r.LogicalResourceId] = aws.ToString(r.PhysicalResourceId)
	}
	return physical
}

func TestReadCloudFormationStackReadsItsVPCAndListsWhatItDoesNotModel(t *testing.T) {
	a := startAccount(t)
	other := buildOtherVPC(t, a)
	phys := createStack(t, a, "legacy", legacyStack)

	got, _, err := a.read(t, Scope{CloudFormationStack: "legacy"})
	require.NoError(t, err)

	require.Len(t, got.VPCs, 1)
	require.Equal(t, phys["VPC"], got.VPCs[0].ID)
	require.Equal(t, "10.20.0.0/16", got.VPCs[0].Cidr)
	require.ElementsMatch(t, []string{phys["SubnetA"], phys["SubnetB"]}, ids(got.Subnets, func(s inventory.Subnet) string { return s.ID }))
	require.Len(t, got.InternetGateways, 1)
	require.Equal(t, phys["IGW"], got.InternetGateways[0].ID)
	require.Equal(t, []string{phys["VPC"]}, got.InternetGateways[0].VpcIDs)
	// AWS's own tags are kept as read: CloudFormation's name the stack.
	require.Equal(t, "IGW", got.InternetGateways[0].Tags["aws:cloudformation:logical-id"])
	require.Equal(t, "legacy", got.InternetGateways[0].Tags["aws:cloudformation:stack-name"])
	var nodes *inventory.SecurityGroup
	for i := range got.SecurityGroups {
		if got.SecurityGroups[i].ID == phys["Nodes"] {
			nodes = &got.SecurityGroups[i]
		}
	}
	require.NotNil(t, nodes, "the stack's group %s is read: %+v", phys["Nodes"], got.SecurityGroups)
	require.Len(t, nodes.Ingress, 1)
	require.Equal(t, "10.20.0.0/16", nodes.Ingress[0].CidrIPv4)

	// The role and the parameter are not modelled; the Elastic IP is, but
	// is read only as a NAT gateway's, which it is not. The attachment is
	// read with its gateway.
	require.Equal(t, []inventory.Ref{
		{Type: "AWS::EC2::EIP", ID: phys["Spare"], Note: "declared by the stack (Spare) but not found among the resources read in its VPC"},
		{Type: "AWS::IAM::Role", ID: "stack-node-role"},
		{Type: "AWS::SSM::Parameter", ID: "/stack/version"},
	}, got.Unread)

	b, err := json.Marshal(got)
	require.NoError(t, err)
	for _, id := range other {
		require.NotContains(t, string(b), id, "the other VPC's %s is not in the stack's inventory", id)
	}
}

func TestReadCloudFormationStackWithoutAVPCReadsItsSubnetsVPC(t *testing.T) {
	a := startAccount(t)
	vpc := must(a.ec2.CreateVpc(context.Background(), &ec2.CreateVpcInput{CidrBlock: aws.String("10.30.0.0/16")})).Vpc
	createStack(t, a, "subnets", `{"Resources": {"Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": "`+*vpc.VpcId+`", "CidrBlock": "10.30.0.0/24", "AvailabilityZone": "us-east-1a"}}}}`)

	got, _, err := a.read(t, Scope{CloudFormationStack: "subnets"})
	require.NoError(t, err)
	require.Equal(t, *vpc.VpcId, got.VPCs[0].ID)
	require.Len(t, got.Subnets, 1)
	require.Empty(t, got.Unread)
}

func TestReadFailsClearly(t *testing.T) {
	a := startAccount(t)
	twoVPCs := `{"Resources": {"A": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.40.0.0/16"}}, "B": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.41.0.0/16"}}}}`
	ids := createStack(t, a, "two-vpcs", twoVPCs)
	createStack(t, a, "no-vpc", `{"Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/p", "Type": "String", "Value": "1"}}}}`)

	for _, c := range []struct {
		scope Scope
		want  []string
	}{
		{Scope{CloudFormationStack: "missing"}, []string{`CloudFormation stack "missing" not found`}},
		{Scope{CloudFormationStack: "two-vpcs"}, []string{`stack "two-vpcs" declares 2 VPCs`, ids["A"] + " (A)", ids["B"] + " (B)", "--vpc-id"}},
		{Scope{CloudFormationStack: "no-vpc"}, []string{`stack "no-vpc" declares no AWS::EC2::VPC and no AWS::EC2::Subnet`}},
		{Scope{VpcID: "vpc-0123456789abcdef0"}, []string{"ec2:DescribeVpcs vpc-0123456789abcdef0", "InvalidVpcID.NotFound"}},
	} {
		inv, _, err := a.read(t, c.scope)
		require.Error(t, err, "%+v", c.scope)
		require.Nil(t, inv)
		for _, w := range c.want {
			require.Contains(t, err.Error(), w, "%+v", c.scope)
		}
	}
}

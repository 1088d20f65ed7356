// Package awsread reads an inventory.Inventory from an AWS account through
// the AWS SDK for Go v2, for `kinfra import` and `kinfra drift`.
//
// It is read only: it makes Describe, List and Get calls and nothing else
// (tests assert it from moto_server's request log). It lives apart from
// package inventory so that the model's users (internal/importer,
// review/drift) do not compile the SDK (tests/importgraph_test.go).
package awsread

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/kinfra-dev/kinfra/internal/inventory"
)

// The interfaces below are all the reader may call. They hold Describe,
// List and Get methods only, so that a mutating call does not compile here;
// the SDK's clients satisfy them. docs/import-drift.md lists the same calls
// as a read-only IAM policy: keep the two together.

// EC2API reads a VPC's network, security groups, flow logs and launch
// templates.
type EC2API interface {
	DescribeVpcs(ctx context.Context, in *ec2.DescribeVpcsInput, opts ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error)
	DescribeVpcAttribute(ctx context.Context, in *ec2.DescribeVpcAttributeInput, opts ...func(*ec2.Options)) (*ec2.DescribeVpcAttributeOutput, error)
	DescribeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error)
	DescribeRouteTables(ctx context.Context, in *ec2.DescribeRouteTablesInput, opts ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error)
	DescribeInternetGateways(ctx context.Context, in *ec2.DescribeInternetGatewaysInput, opts ...func(*ec2.Options)) (*ec2.DescribeInternetGatewaysOutput, error)
	DescribeNatGateways(ctx context.Context, in *ec2.DescribeNatGatewaysInput, opts ...func(*ec2.Options)) (*ec2.DescribeNatGatewaysOutput, error)
	DescribeAddresses(ctx context.Context, in *ec2.DescribeAddressesInput, opts ...func(*ec2.Options)) (*ec2.DescribeAddressesOutput, error)
	DescribeVpcEndpoints(ctx context.Context, in *ec2.DescribeVpcEndpointsInput, opts ...func(*ec2.Options)) (*ec2.DescribeVpcEndpointsOutput, error)
	DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
	DescribeSecurityGroupRules(ctx context.Context, in *ec2.DescribeSecurityGroupRulesInput, opts ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupRulesOutput, error)
	DescribeFlowLogs(ctx context.Context, in *ec2.DescribeFlowLogsInput, opts ...func(*ec2.Options)) (*ec2.DescribeFlowLogsOutput, error)
	DescribeLaunchTemplates(ctx context.Context, in *ec2.DescribeLaunchTemplatesInput, opts ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error)
	DescribeLaunchTemplateVersions(ctx context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, opts ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error)
}

// AutoScalingAPI reads Auto Scaling groups.
type AutoScalingAPI interface {
	DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, opts ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
}

// ELBAPI reads Elastic Load Balancing v2 load balancers, listeners and
// target groups.
type ELBAPI interface {
	DescribeLoadBalancers(ctx context.Context, in *elbv2.DescribeLoadBalancersInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error)
	DescribeListeners(ctx context.Context, in *elbv2.DescribeListenersInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error)
	DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
	DescribeTags(ctx context.Context, in *elbv2.DescribeTagsInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error)
}

// CloudFormationAPI lists a stack's resources.
type CloudFormationAPI interface {
	ListStackResources(ctx context.Context, in *cloudformation.ListStackResourcesInput, opts ...func(*cloudformation.Options)) (*cloudformation.ListStackResourcesOutput, error)
}

// Clients are the AWS clients of one region that Read calls.
type Clients struct {
	EC2            EC2API
	AutoScaling    AutoScalingAPI
	ELB            ELBAPI
	CloudFormation CloudFormationAPI
}

// NewClients builds the SDK's clients from cfg (its region, credentials
// and endpoint: AWS_ENDPOINT_URL points them at an emulator).
func NewClients(cfg aws.Config) Clients {
	return Clients{
		EC2:            ec2.NewFromConfig(cfg),
		AutoScaling:    autoscaling.NewFromConfig(cfg),
		ELB:            elbv2.NewFromConfig(cfg),
		CloudFormation: cloudformation.NewFromConfig(cfg),
	}
}

// Scope is what Read reads: one VPC and everything in it, or the VPC of
// one CloudFormation stack and the stack's other resources. Exactly one
// field is set.
type Scope struct {
	VpcID               string
	CloudFormationStack string
}

func (s Scope) validate() error {
	switch {
	case s.VpcID != "" && s.CloudFormationStack != "":
		return fmt.Errorf("inventory scope: both a VPC (%q) and a CloudFormation stack (%q) are given; set exactly one (a read covers one scope)", s.VpcID, s.CloudFormationStack)
	case s.VpcID == "" && s.CloudFormationStack == "":
		return errors.New("inventory scope: neither a VPC ID nor a CloudFormation stack is given; set exactly one")
	}
	return nil
}

// Read reads the resources of scope s in region through c's Describe, List
// and Get calls. An error names the call that failed.
func Read(ctx context.Context, c Clients, region string, s Scope) (*inventory.Inventory, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	r := &reader{c: c, vpcID: s.VpcID, inv: &inventory.Inventory{Region: region}}
	var stack []stackResource
	if s.CloudFormationStack != "" {
		var err error
		if stack, err = listStackResources(ctx, c.CloudFormation, s.CloudFormationStack); err != nil {
			return nil, err
		}
		if r.vpcID, err = stackVPC(ctx, c.EC2, s.CloudFormationStack, stack); err != nil {
			return nil, err
		}
		r.stackTemplates = stackPhysicalIDs(stack, "AWS::EC2::LaunchTemplate")
	}
	for _, step := range []func(context.Context) error{
		r.readVPC, r.readSubnets, r.readRouteTables, r.readInternetGateways,
		r.readNatGateways, r.readAddresses, r.readEndpoints, r.readSecurityGroups,
		r.readFlowLogs, r.readAutoScalingGroups, r.readLaunchTemplates,
		r.readLoadBalancers, r.readTargetGroups, r.readELBTags,
	} {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	if stack != nil {
		r.inv.Unread = unread(stack, r.inv)
	}
	sortInventory(r.inv)
	return r.inv, nil
}

// reader reads one VPC's resources into inv, each step using what the
// steps before it found (subnet IDs, groups' templates).
type reader struct {
	c     Clients
	vpcID string
	inv   *inventory.Inventory
	// stackTemplates are launch templates a CloudFormation stack in scope
	// declares: read even if no group in scope uses them.
	stackTemplates map[string]bool
}

// call names an AWS call in an error, as IAM names its action.
func call(action string, err error) error {
	return fmt.Errorf("%s: %w", action, err)
}

func errNotFound(kind, id string) error {
	return fmt.Errorf("%s %s not found", kind, id)
}

// chunks splits values into runs of at most n: the APIs cap a filter's
// values (200) and DescribeTags's ARNs (20).
func chunks(values []string, n int) [][]string {
	var out [][]string
	for len(values) > n {
		out = append(out, values[:n])
		values = values[n:]
	}
	if len(values) > 0 {
		out = append(out, values)
	}
	return out
}

// sortInventory orders every list by ID or name, so that two reads of the
// same account give the same inventory.
func sortInventory(inv *inventory.Inventory) {
	sortBy(inv.VPCs, func(v inventory.VPC) string { return v.ID })
	sortBy(inv.Subnets, func(v inventory.Subnet) string { return v.ID })
	sortBy(inv.RouteTables, func(v inventory.RouteTable) string { return v.ID })
	for i := range inv.RouteTables {
		sort.Strings(inv.RouteTables[i].SubnetIDs)
		sortBy(inv.RouteTables[i].Routes, func(r inventory.Route) string { return r.Destination() + " " + r.Target })
	}
	sortBy(inv.InternetGateways, func(v inventory.InternetGateway) string { return v.ID })
	sortBy(inv.NatGateways, func(v inventory.NatGateway) string { return v.ID })
	sortBy(inv.Addresses, func(v inventory.Address) string { return v.AllocationID })
	sortBy(inv.Endpoints, func(v inventory.Endpoint) string { return v.ID })
	for i := range inv.Endpoints {
		sort.Strings(inv.Endpoints[i].RouteTableIDs)
		sort.Strings(inv.Endpoints[i].SubnetIDs)
		sort.Strings(inv.Endpoints[i].SecurityGroupIDs)
	}
	sortBy(inv.SecurityGroups, func(v inventory.SecurityGroup) string { return v.ID })
	for i := range inv.SecurityGroups {
		sortBy(inv.SecurityGroups[i].Ingress, func(r inventory.Rule) string { return r.ID })
		sortBy(inv.SecurityGroups[i].Egress, func(r inventory.Rule) string { return r.ID })
	}
	sortBy(inv.LaunchTemplates, func(v inventory.LaunchTemplate) string { return v.ID })
	sortBy(inv.AutoScalingGroups, func(v inventory.AutoScalingGroup) string { return v.Name })
	for i := range inv.AutoScalingGroups {
		sort.Strings(inv.AutoScalingGroups[i].SubnetIDs)
		sort.Strings(inv.AutoScalingGroups[i].TargetGroupARNs)
	}
	sortBy(inv.LoadBalancers, func(v inventory.LoadBalancer) string { return v.ARN })
	for i := range inv.LoadBalancers {
		sort.Strings(inv.LoadBalancers[i].SubnetIDs)
		sort.Strings(inv.LoadBalancers[i].SecurityGroupIDs)
		sortBy(inv.LoadBalancers[i].Listeners, func(l inventory.Listener) string { return l.ARN })
	}
	sortBy(inv.TargetGroups, func(v inventory.TargetGroup) string { return v.ARN })
	sortBy(inv.FlowLogs, func(v inventory.FlowLog) string { return v.ID })
	sortBy(inv.Unread, func(v inventory.Ref) string { return v.Type + " " + v.ID })
}

func sortBy[T any](s []T, key func(T) string) {
	sort.SliceStable(s, func(i, j int) bool { return key(s[i]) < key(s[j]) })
}

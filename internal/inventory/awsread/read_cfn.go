package awsread

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/kinfra-dev/kinfra/internal/inventory"
)

// stackResource is one resource of a CloudFormation stack.
type stackResource struct {
	Type, LogicalID, PhysicalID, Status string
}

// listStackResources lists a stack's resources, less those it deleted.
// (DescribeStackResources would answer only the first 100.)
func listStackResources(ctx context.Context, c CloudFormationAPI, stack string) ([]stackResource, error) {
	var out []stackResource
	p := cloudformation.NewListStackResourcesPaginator(c, &cloudformation.ListStackResourcesInput{StackName: aws.String(stack)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			var ae smithy.APIError
			if errors.As(err, &ae) && ae.ErrorCode() == "ValidationError" && strings.Contains(ae.ErrorMessage(), "does not exist") {
				return nil, fmt.Errorf("CloudFormation stack %q not found in this region (cloudformation:ListStackResources: %s)", stack, ae.ErrorMessage())
			}
			return nil, call("cloudformation:ListStackResources "+stack, err)
		}
		for _, r := range page.StackResourceSummaries {
			if r.ResourceStatus == cfntypes.ResourceStatusDeleteComplete {
				continue
			}
			out = append(out, stackResource{
				Type: aws.ToString(r.ResourceType), LogicalID: aws.ToString(r.LogicalResourceId),
				PhysicalID: aws.ToString(r.PhysicalResourceId), Status: string(r.ResourceStatus),
			})
		}
	}
	return out, nil
}

// stackPhysicalIDs are the physical IDs of a stack's resources of type typ.
func stackPhysicalIDs(stack []stackResource, typ string) map[string]bool {
	ids := map[string]bool{}
	for _, r := range stack {
		if r.Type == typ && r.PhysicalID != "" {
			ids[r.PhysicalID] = true
		}
	}
	return ids
}

// stackVPC is the VPC a stack's resources live in: its one AWS::EC2::VPC,
// or, if it declares none (it builds in a VPC made elsewhere), the one VPC
// of its subnets.
func stackVPC(ctx context.Context, c EC2API, name string, stack []stackResource) (string, error) {
	var vpcs []string
	for _, r := range stack {
		if r.Type == "AWS::EC2::VPC" && r.PhysicalID != "" {
			vpcs = append(vpcs, fmt.Sprintf("%s (%s)", r.PhysicalID, r.LogicalID))
		}
	}
	switch len(vpcs) {
	case 1:
		return strings.Fields(vpcs[0])[0], nil
	case 0:
	default:
		sort.Strings(vpcs)
		return "", fmt.Errorf("CloudFormation stack %q declares %d VPCs: %s; import reads one VPC at a time, so read each with --vpc-id", name, len(vpcs), strings.Join(vpcs, ", "))
	}
	subnets := stackPhysicalIDs(stack, "AWS::EC2::Subnet")
	if len(subnets) == 0 {
		return "", fmt.Errorf("CloudFormation stack %q declares no AWS::EC2::VPC and no AWS::EC2::Subnet: there is no VPC to read; give the VPC with --vpc-id", name)
	}
	ids := make([]string, 0, len(subnets))
	for id := range subnets {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	found := map[string]bool{}
	for _, batch := range chunks(ids, maxFilterValues) {
		out, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: batch})
		if err != nil {
			return "", call("ec2:DescribeSubnets (the subnets of stack "+name+")", err)
		}
		for _, s := range out.Subnets {
			found[aws.ToString(s.VpcId)] = true
		}
	}
	var in []string
	for v := range found {
		in = append(in, v)
	}
	sort.Strings(in)
	if len(in) != 1 {
		return "", fmt.Errorf("CloudFormation stack %q declares no AWS::EC2::VPC and its subnets are in %d VPCs (%s); give the VPC with --vpc-id", name, len(in), strings.Join(in, ", "))
	}
	return in[0], nil
}

// readTypes are the CloudFormation types Read reads, each with the IDs such
// a resource has in an inventory (its physical ID is one of them).
var readTypes = map[string]func(*inventory.Inventory) []string{
	"AWS::EC2::VPC": func(inv *inventory.Inventory) []string {
		return ids(inv.VPCs, func(v inventory.VPC) string { return v.ID })
	},
	"AWS::EC2::Subnet": func(inv *inventory.Inventory) []string {
		return ids(inv.Subnets, func(v inventory.Subnet) string { return v.ID })
	},
	"AWS::EC2::RouteTable": func(inv *inventory.Inventory) []string {
		return ids(inv.RouteTables, func(v inventory.RouteTable) string { return v.ID })
	},
	"AWS::EC2::InternetGateway": func(inv *inventory.Inventory) []string {
		return ids(inv.InternetGateways, func(v inventory.InternetGateway) string { return v.ID })
	},
	"AWS::EC2::NatGateway": func(inv *inventory.Inventory) []string {
		return ids(inv.NatGateways, func(v inventory.NatGateway) string { return v.ID })
	},
	// An Elastic IP's physical ID is its address.
	"AWS::EC2::EIP": func(inv *inventory.Inventory) []string {
		return append(ids(inv.Addresses, func(v inventory.Address) string { return v.PublicIP }), ids(inv.Addresses, func(v inventory.Address) string { return v.AllocationID })...)
	},
	"AWS::EC2::VPCEndpoint": func(inv *inventory.Inventory) []string {
		return ids(inv.Endpoints, func(v inventory.Endpoint) string { return v.ID })
	},
	"AWS::EC2::SecurityGroup": func(inv *inventory.Inventory) []string {
		return ids(inv.SecurityGroups, func(v inventory.SecurityGroup) string { return v.ID })
	},
	"AWS::EC2::LaunchTemplate": func(inv *inventory.Inventory) []string {
		return ids(inv.LaunchTemplates, func(v inventory.LaunchTemplate) string { return v.ID })
	},
	"AWS::EC2::FlowLog": func(inv *inventory.Inventory) []string {
		return ids(inv.FlowLogs, func(v inventory.FlowLog) string { return v.ID })
	},
	"AWS::AutoScaling::AutoScalingGroup": func(inv *inventory.Inventory) []string {
		return ids(inv.AutoScalingGroups, func(v inventory.AutoScalingGroup) string { return v.Name })
	},
	"AWS::ElasticLoadBalancingV2::LoadBalancer": func(inv *inventory.Inventory) []string {
		return ids(inv.LoadBalancers, func(v inventory.LoadBalancer) string { return v.ARN })
	},
	"AWS::ElasticLoadBalancingV2::TargetGroup": func(inv *inventory.Inventory) []string {
		return ids(inv.TargetGroups, func(v inventory.TargetGroup) string { return v.ARN })
	},
	"AWS::ElasticLoadBalancingV2::Listener": func(inv *inventory.Inventory) []string {
		var arns []string
		for _, lb := range inv.LoadBalancers {
			arns = append(arns, ids(lb.Listeners, func(l inventory.Listener) string { return l.ARN })...)
		}
		return arns
	},
}

// readWithParent are the CloudFormation types Read reads as part of
// another resource: routes and associations with their table, an
// attachment with its gateway, rules with their group.
var readWithParent = map[string]bool{
	"AWS::EC2::Route":                       true,
	"AWS::EC2::SubnetRouteTableAssociation": true,
	"AWS::EC2::VPCGatewayAttachment":        true,
	"AWS::EC2::SecurityGroupIngress":        true,
	"AWS::EC2::SecurityGroupEgress":         true,
}

func ids[T any](s []T, id func(T) string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = id(v)
	}
	return out
}

// unread lists the stack's resources that inv does not hold: those of a
// type Read does not read, and those of a type it reads that it did not
// find in the stack's VPC.
func unread(stack []stackResource, inv *inventory.Inventory) []inventory.Ref {
	out := []inventory.Ref{}
	for _, r := range stack {
		if readWithParent[r.Type] {
			continue
		}
		of, read := readTypes[r.Type]
		switch {
		case r.PhysicalID == "":
			out = append(out, inventory.Ref{Type: r.Type, ID: r.LogicalID, Note: "no physical resource (status " + r.Status + "); the ID is the logical ID"})
		case !read:
			out = append(out, inventory.Ref{Type: r.Type, ID: r.PhysicalID})
		case !slices.Contains(of(inv), r.PhysicalID):
			out = append(out, inventory.Ref{Type: r.Type, ID: r.PhysicalID, Note: "declared by the stack (" + r.LogicalID + ") but not found among the resources read in its VPC"})
		}
	}
	return out
}

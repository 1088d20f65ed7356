package awsread

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/kinfra-dev/kinfra/internal/inventory"
)

// maxFilterValues is how many values EC2 takes in one filter.
const maxFilterValues = 200

func filter(name string, values ...string) ec2types.Filter {
	return ec2types.Filter{Name: aws.String(name), Values: values}
}

func ec2Tags(tags []ec2types.Tag) inventory.Tags {
	if len(tags) == 0 {
		return nil
	}
	out := make(inventory.Tags, len(tags))
	for _, t := range tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

func (r *reader) readVPC(ctx context.Context) error {
	out, err := r.c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{r.vpcID}})
	if err != nil {
		return call("ec2:DescribeVpcs "+r.vpcID, err)
	}
	for _, v := range out.Vpcs {
		if aws.ToString(v.VpcId) != r.vpcID {
			continue
		}
		vpc := inventory.VPC{ID: r.vpcID, Cidr: aws.ToString(v.CidrBlock), Tags: ec2Tags(v.Tags)}
		for _, a := range v.CidrBlockAssociationSet {
			if c := aws.ToString(a.CidrBlock); c != vpc.Cidr && associated(a.CidrBlockState) {
				vpc.SecondaryCidrs = append(vpc.SecondaryCidrs, c)
			}
		}
		for _, a := range v.Ipv6CidrBlockAssociationSet {
			if a.Ipv6CidrBlockState == nil || a.Ipv6CidrBlockState.State == ec2types.VpcCidrBlockStateCodeAssociated {
				vpc.Ipv6Cidrs = append(vpc.Ipv6Cidrs, aws.ToString(a.Ipv6CidrBlock))
			}
		}
		if vpc.EnableDNSSupport, err = r.vpcAttribute(ctx, ec2types.VpcAttributeNameEnableDnsSupport); err != nil {
			return err
		}
		if vpc.EnableDNSHostnames, err = r.vpcAttribute(ctx, ec2types.VpcAttributeNameEnableDnsHostnames); err != nil {
			return err
		}
		r.inv.VPCs = append(r.inv.VPCs, vpc)
		return nil
	}
	return call("ec2:DescribeVpcs "+r.vpcID, errNotFound("VPC", r.vpcID))
}

func associated(s *ec2types.VpcCidrBlockState) bool {
	return s == nil || s.State == ec2types.VpcCidrBlockStateCodeAssociated
}

func (r *reader) vpcAttribute(ctx context.Context, name ec2types.VpcAttributeName) (bool, error) {
	out, err := r.c.EC2.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String(r.vpcID), Attribute: name})
	if err != nil {
		return false, call("ec2:DescribeVpcAttribute "+string(name), err)
	}
	v := out.EnableDnsSupport
	if name == ec2types.VpcAttributeNameEnableDnsHostnames {
		v = out.EnableDnsHostnames
	}
	return v != nil && aws.ToBool(v.Value), nil
}

func (r *reader) readSubnets(ctx context.Context) error {
	p := ec2.NewDescribeSubnetsPaginator(r.c.EC2, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{filter("vpc-id", r.vpcID)}})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return call("ec2:DescribeSubnets", err)
		}
		for _, s := range out.Subnets {
			sn := inventory.Subnet{
				ID: aws.ToString(s.SubnetId), VpcID: aws.ToString(s.VpcId),
				AvailabilityZone: aws.ToString(s.AvailabilityZone), Cidr: aws.ToString(s.CidrBlock),
				MapPublicIPOnLaunch: aws.ToBool(s.MapPublicIpOnLaunch), Tags: ec2Tags(s.Tags),
			}
			for _, a := range s.Ipv6CidrBlockAssociationSet {
				// Any block not on its way out (moto_server 5.2.1 answers
				// with no state at all).
				if a.Ipv6CidrBlockState == nil || !slices.Contains(goneSubnetBlock, a.Ipv6CidrBlockState.State) {
					sn.Ipv6Cidr = aws.ToString(a.Ipv6CidrBlock)
				}
			}
			r.inv.Subnets = append(r.inv.Subnets, sn)
		}
	}
	return nil
}

// subnetIDs are the IDs of the VPC's subnets, once read.
// goneSubnetBlock are the states of a subnet's IPv6 block that is not
// (or no longer) the subnet's.
var goneSubnetBlock = []ec2types.SubnetCidrBlockStateCode{
	ec2types.SubnetCidrBlockStateCodeDisassociating, ec2types.SubnetCidrBlockStateCodeDisassociated,
	ec2types.SubnetCidrBlockStateCodeFailing, ec2types.SubnetCidrBlockStateCodeFailed,
}

func (r *reader) subnetIDs() map[string]bool {
	ids := make(map[string]bool, len(r.inv.Subnets))
	for _, s := range r.inv.Subnets {
		ids[s.ID] = true
	}
	return ids
}

func (r *reader) readRouteTables(ctx context.Context) error {
	p := ec2.NewDescribeRouteTablesPaginator(r.c.EC2, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("vpc-id", r.vpcID)}})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return call("ec2:DescribeRouteTables", err)
		}
		for _, t := range out.RouteTables {
			rt := inventory.RouteTable{ID: aws.ToString(t.RouteTableId), VpcID: aws.ToString(t.VpcId), Tags: ec2Tags(t.Tags), SubnetIDs: []string{}}
			for _, a := range t.Associations {
				if aws.ToBool(a.Main) {
					rt.Main = true
				}
				if a.SubnetId != nil {
					rt.SubnetIDs = append(rt.SubnetIDs, *a.SubnetId)
				}
			}
			for _, rr := range t.Routes {
				rt.Routes = append(rt.Routes, inventory.Route{
					DestinationCidr:     aws.ToString(rr.DestinationCidrBlock),
					DestinationIpv6Cidr: aws.ToString(rr.DestinationIpv6CidrBlock),
					DestinationPrefixID: aws.ToString(rr.DestinationPrefixListId),
					Target:              routeTarget(rr),
				})
			}
			r.inv.RouteTables = append(r.inv.RouteTables, rt)
		}
	}
	return nil
}

// routeTarget is the ID of what a route routes to: AWS sets one target
// field (GatewayId holds local, igw-, vgw- and a gateway endpoint's vpce-;
// an instance route has its network interface too, which is named).
func routeTarget(r ec2types.Route) string {
	for _, t := range []*string{
		r.GatewayId, r.NatGatewayId, r.EgressOnlyInternetGatewayId, r.TransitGatewayId,
		r.VpcPeeringConnectionId, r.NetworkInterfaceId, r.InstanceId, r.CarrierGatewayId,
		r.LocalGatewayId, r.CoreNetworkArn,
	} {
		if aws.ToString(t) != "" {
			return *t
		}
	}
	return ""
}

func (r *reader) readInternetGateways(ctx context.Context) error {
	p := ec2.NewDescribeInternetGatewaysPaginator(r.c.EC2, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{filter("attachment.vpc-id", r.vpcID)}})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return call("ec2:DescribeInternetGateways", err)
		}
		for _, g := range out.InternetGateways {
			igw := inventory.InternetGateway{ID: aws.ToString(g.InternetGatewayId), Tags: ec2Tags(g.Tags)}
			for _, a := range g.Attachments {
				igw.VpcIDs = append(igw.VpcIDs, aws.ToString(a.VpcId))
			}
			r.inv.InternetGateways = append(r.inv.InternetGateways, igw)
		}
	}
	return nil
}

func (r *reader) readNatGateways(ctx context.Context) error {
	// Deleted, deleting and failed gateways linger in the API for an hour.
	p := ec2.NewDescribeNatGatewaysPaginator(r.c.EC2, &ec2.DescribeNatGatewaysInput{Filter: []ec2types.Filter{
		filter("vpc-id", r.vpcID), filter("state", "pending", "available"),
	}})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return call("ec2:DescribeNatGateways", err)
		}
		for _, g := range out.NatGateways {
			ngw := inventory.NatGateway{
				ID: aws.ToString(g.NatGatewayId), VpcID: aws.ToString(g.VpcId), SubnetID: aws.ToString(g.SubnetId),
				ConnectivityType: string(g.ConnectivityType), State: string(g.State), Tags: ec2Tags(g.Tags),
			}
			for _, a := range g.NatGatewayAddresses {
				// The primary address is the gateway's allocation; secondary
				// ones are added to it later.
				if a.AllocationId != nil && (ngw.AllocationID == "" || aws.ToBool(a.IsPrimary)) {
					ngw.AllocationID = *a.AllocationId
				}
			}
			r.inv.NatGateways = append(r.inv.NatGateways, ngw)
		}
	}
	return nil
}

// readAddresses reads the Elastic IPs of the NAT gateways' allocations.
func (r *reader) readAddresses(ctx context.Context) error {
	var ids []string
	for _, g := range r.inv.NatGateways {
		if g.AllocationID != "" {
			ids = append(ids, g.AllocationID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	// DescribeAddresses does not page.
	out, err := r.c.EC2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: ids})
	if err != nil {
		return call("ec2:DescribeAddresses", err)
	}
	for _, a := range out.Addresses {
		r.inv.Addresses = append(r.inv.Addresses, inventory.Address{
			AllocationID: aws.ToString(a.AllocationId), PublicIP: aws.ToString(a.PublicIp), Tags: ec2Tags(a.Tags),
		})
	}
	return nil
}

func (r *reader) readEndpoints(ctx context.Context) error {
	p := ec2.NewDescribeVpcEndpointsPaginator(r.c.EC2, &ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{filter("vpc-id", r.vpcID)}})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return call("ec2:DescribeVpcEndpoints", err)
		}
		for _, e := range out.VpcEndpoints {
			switch e.State {
			case ec2types.StateDeleted, ec2types.StateDeleting, ec2types.StateFailed, ec2types.StateRejected, ec2types.StateExpired:
				continue
			}
			ep := inventory.Endpoint{
				ID: aws.ToString(e.VpcEndpointId), VpcID: aws.ToString(e.VpcId), ServiceName: aws.ToString(e.ServiceName),
				Type: string(e.VpcEndpointType), RouteTableIDs: e.RouteTableIds, SubnetIDs: e.SubnetIds,
				PrivateDNSEnabled: aws.ToBool(e.PrivateDnsEnabled), Tags: ec2Tags(e.Tags),
			}
			for _, g := range e.Groups {
				ep.SecurityGroupIDs = append(ep.SecurityGroupIDs, aws.ToString(g.GroupId))
			}
			r.inv.Endpoints = append(r.inv.Endpoints, ep)
		}
	}
	return nil
}

func (r *reader) readSecurityGroups(ctx context.Context) error {
	p := ec2.NewDescribeSecurityGroupsPaginator(r.c.EC2, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{filter("vpc-id", r.vpcID)}})
	index := map[string]int{}
	var ids []string
	// described holds the group-referencing permissions' descriptions, by
	// group, direction and peer, for rules the rules API answers without
	// theirs (moto_server 5.2.1 drops them; AWS gives both the same).
	described := map[string]string{}
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return call("ec2:DescribeSecurityGroups", err)
		}
		for _, g := range out.SecurityGroups {
			id := aws.ToString(g.GroupId)
			for egress, perms := range map[bool][]ec2types.IpPermission{false: g.IpPermissions, true: g.IpPermissionsEgress} {
				for _, perm := range perms {
					for _, pair := range perm.UserIdGroupPairs {
						described[pairKey(id, egress, aws.ToString(perm.IpProtocol), aws.ToInt32(perm.FromPort), aws.ToInt32(perm.ToPort), aws.ToString(pair.GroupId))] = aws.ToString(pair.Description)
					}
				}
			}
			index[id] = len(r.inv.SecurityGroups)
			ids = append(ids, id)
			r.inv.SecurityGroups = append(r.inv.SecurityGroups, inventory.SecurityGroup{
				ID: id, Name: aws.ToString(g.GroupName), Description: aws.ToString(g.Description),
				VpcID: aws.ToString(g.VpcId), Ingress: []inventory.Rule{}, Egress: []inventory.Rule{}, Tags: ec2Tags(g.Tags),
			})
		}
	}
	// The groups' own IpPermissions merge a permission's sources; the rules
	// API gives one rule per source, each with its sgr- ID and tags.
	for _, batch := range chunks(ids, maxFilterValues) {
		p := ec2.NewDescribeSecurityGroupRulesPaginator(r.c.EC2, &ec2.DescribeSecurityGroupRulesInput{Filters: []ec2types.Filter{filter("group-id", batch...)}})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return call("ec2:DescribeSecurityGroupRules", err)
			}
			for _, sr := range out.SecurityGroupRules {
				i, ok := index[aws.ToString(sr.GroupId)]
				if !ok {
					continue
				}
				g := &r.inv.SecurityGroups[i]
				ru := rule(sr)
				if ru.Description == "" && ru.ReferencedGroupID != "" {
					ru.Description = described[pairKey(g.ID, aws.ToBool(sr.IsEgress), ru.Protocol, ru.FromPort, ru.ToPort, ru.ReferencedGroupID)]
				}
				if aws.ToBool(sr.IsEgress) {
					g.Egress = append(g.Egress, ru)
				} else {
					g.Ingress = append(g.Ingress, ru)
				}
			}
		}
	}
	return nil
}

func pairKey(group string, egress bool, protocol string, from, to int32, peer string) string {
	return fmt.Sprintf("%s %t %s %d %d %s", group, egress, protocol, from, to, peer)
}

func rule(sr ec2types.SecurityGroupRule) inventory.Rule {
	r := inventory.Rule{
		ID: aws.ToString(sr.SecurityGroupRuleId), Protocol: aws.ToString(sr.IpProtocol),
		FromPort: aws.ToInt32(sr.FromPort), ToPort: aws.ToInt32(sr.ToPort),
		CidrIPv4: aws.ToString(sr.CidrIpv4), CidrIPv6: aws.ToString(sr.CidrIpv6),
		PrefixListID: aws.ToString(sr.PrefixListId), Description: aws.ToString(sr.Description),
		Tags: ec2Tags(sr.Tags),
	}
	if sr.ReferencedGroupInfo != nil {
		r.ReferencedGroupID = aws.ToString(sr.ReferencedGroupInfo.GroupId)
	}
	return r
}

// readFlowLogs reads the flow logs of the VPC and of its subnets.
func (r *reader) readFlowLogs(ctx context.Context) error {
	resources := []string{r.vpcID}
	for _, s := range r.inv.Subnets {
		resources = append(resources, s.ID)
	}
	for _, batch := range chunks(resources, maxFilterValues) {
		p := ec2.NewDescribeFlowLogsPaginator(r.c.EC2, &ec2.DescribeFlowLogsInput{Filter: []ec2types.Filter{filter("resource-id", batch...)}})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return call("ec2:DescribeFlowLogs", err)
			}
			for _, f := range out.FlowLogs {
				fl := inventory.FlowLog{
					ID: aws.ToString(f.FlowLogId), ResourceID: aws.ToString(f.ResourceId),
					TrafficType: string(f.TrafficType), DestinationType: string(f.LogDestinationType),
					Destination: aws.ToString(f.LogDestination), Tags: ec2Tags(f.Tags),
				}
				// A CloudWatch Logs destination is named by its group (the
				// ARN is set too when the log was created with one).
				if fl.DestinationType == string(ec2types.LogDestinationTypeCloudWatchLogs) && f.LogGroupName != nil {
					fl.Destination = *f.LogGroupName
				}
				r.inv.FlowLogs = append(r.inv.FlowLogs, fl)
			}
		}
	}
	return nil
}

package motoapply

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// tagSpecs tags a resource on create, as the provider does for every EC2
// type that supports it.
func tagSpecs(typ ec2types.ResourceType, tags []tag) []ec2types.TagSpecification {
	if len(tags) == 0 {
		return nil
	}
	return []ec2types.TagSpecification{{ResourceType: typ, Tags: ec2Tags(tags)}}
}

func ec2Tags(tags []tag) []ec2types.Tag {
	out := make([]ec2types.Tag, len(tags))
	for i, t := range tags {
		out[i] = ec2types.Tag{Key: aws.String(t.key), Value: aws.String(t.value)}
	}
	return out
}

// vpc: CreateVpc, then ModifyVpcAttribute for each DNS attribute that
// differs from a new VPC's (support on, hostnames off), as the provider's
// modifyVPCAttributesOnCreate does.
func (a *applier) vpc(ctx context.Context, r mockaws.Resource, in *inputs) (created, error) {
	ipv6, _ := in.boolean("assignGeneratedIpv6CidrBlock")
	out, err := a.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{
		CidrBlock:                   in.optStr("cidrBlock"),
		AmazonProvidedIpv6CidrBlock: aws.Bool(ipv6),
		InstanceTenancy:             ec2types.Tenancy(in.str("instanceTenancy")),
		TagSpecifications:           tagSpecs(ec2types.ResourceTypeVpc, in.tags("tags")),
	})
	if err != nil {
		return created{}, err
	}
	id := aws.ToString(out.Vpc.VpcId)
	if v, ok := in.boolean("enableDnsHostnames"); ok && v {
		if _, err := a.ec2.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: &id, EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
			return created{}, err
		}
	}
	if v, ok := in.boolean("enableDnsSupport"); ok && !v {
		if _, err := a.ec2.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: &id, EnableDnsSupport: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)}}); err != nil {
			return created{}, err
		}
	}
	if ipv6 {
		if err := a.mapIPv6Block(r, out.Vpc); err != nil {
			return created{}, err
		}
	}
	return created{id: id}, nil
}

// mapIPv6Block records which block moto gave the VPC the mock gave
// another: subnets and rules name CIDRs inside it.
func (a *applier) mapIPv6Block(r mockaws.Resource, vpc *ec2types.Vpc) error {
	mock, _ := r.State["ipv6CidrBlock"].(string)
	if len(vpc.Ipv6CidrBlockAssociationSet) == 0 || mock == "" {
		return fmt.Errorf("the VPC has no IPv6 block (mock %q, moto %d blocks)", mock, len(vpc.Ipv6CidrBlockAssociationSet))
	}
	m, err := netip.ParsePrefix(mock)
	if err != nil {
		return err
	}
	l, err := netip.ParsePrefix(aws.ToString(vpc.Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlock))
	if err != nil {
		return err
	}
	a.ipv6[m] = l
	return nil
}

// subnet: CreateSubnet, then ModifySubnetAttribute for each attribute set
// on, as the provider's modifySubnetAttributesOnCreate does.
func (a *applier) subnet(ctx context.Context, in *inputs) (created, error) {
	out, err := a.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{
		VpcId:             in.optStr("vpcId"),
		CidrBlock:         in.optStr("cidrBlock"),
		Ipv6CidrBlock:     in.optStr("ipv6CidrBlock"),
		AvailabilityZone:  in.optStr("availabilityZone"),
		TagSpecifications: tagSpecs(ec2types.ResourceTypeSubnet, in.tags("tags")),
	})
	if err != nil {
		return created{}, err
	}
	id := out.Subnet.SubnetId
	if v, _ := in.boolean("assignIpv6AddressOnCreation"); v {
		if _, err := a.ec2.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: id, AssignIpv6AddressOnCreation: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
			return created{}, err
		}
	}
	if v, _ := in.boolean("mapPublicIpOnLaunch"); v {
		if _, err := a.ec2.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: id, MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
			return created{}, err
		}
	}
	return created{id: aws.ToString(id)}, nil
}

// internetGateway: CreateInternetGateway, then AttachInternetGateway.
func (a *applier) internetGateway(ctx context.Context, in *inputs) (created, error) {
	out, err := a.ec2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{
		TagSpecifications: tagSpecs(ec2types.ResourceTypeInternetGateway, in.tags("tags")),
	})
	if err != nil {
		return created{}, err
	}
	id := out.InternetGateway.InternetGatewayId
	if vpc := in.optStr("vpcId"); vpc != nil {
		if _, err := a.ec2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: id, VpcId: vpc}); err != nil {
			return created{}, err
		}
	}
	return created{id: aws.ToString(id)}, nil
}

func (a *applier) egressOnlyGateway(ctx context.Context, in *inputs) (created, error) {
	out, err := a.ec2.CreateEgressOnlyInternetGateway(ctx, &ec2.CreateEgressOnlyInternetGatewayInput{
		VpcId:             in.optStr("vpcId"),
		TagSpecifications: tagSpecs(ec2types.ResourceTypeEgressOnlyInternetGateway, in.tags("tags")),
	})
	if err != nil {
		return created{}, err
	}
	return created{id: aws.ToString(out.EgressOnlyInternetGateway.EgressOnlyInternetGatewayId)}, nil
}

// eip: AllocateAddress; Pulumi's ID is the allocation ID.
func (a *applier) eip(ctx context.Context, in *inputs) (created, error) {
	out, err := a.ec2.AllocateAddress(ctx, &ec2.AllocateAddressInput{
		Domain:            ec2types.DomainType(in.str("domain")),
		TagSpecifications: tagSpecs(ec2types.ResourceTypeElasticIp, in.tags("tags")),
	})
	if err != nil {
		return created{}, err
	}
	return created{id: aws.ToString(out.AllocationId)}, nil
}

func (a *applier) natGateway(ctx context.Context, in *inputs) (created, error) {
	out, err := a.ec2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{
		AllocationId:      in.optStr("allocationId"),
		SubnetId:          in.optStr("subnetId"),
		ConnectivityType:  ec2types.ConnectivityType(in.str("connectivityType")),
		TagSpecifications: tagSpecs(ec2types.ResourceTypeNatgateway, in.tags("tags")),
	})
	if err != nil {
		return created{}, err
	}
	return created{id: aws.ToString(out.NatGateway.NatGatewayId)}, nil
}

func (a *applier) routeTable(ctx context.Context, in *inputs) (created, error) {
	out, err := a.ec2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{
		VpcId:             in.optStr("vpcId"),
		TagSpecifications: tagSpecs(ec2types.ResourceTypeRouteTable, in.tags("tags")),
	})
	if err != nil {
		return created{}, err
	}
	return created{id: aws.ToString(out.RouteTable.RouteTableId)}, nil
}

// route: CreateRoute. EC2 gives a route no ID; Applied records the
// provider's import ID, "<route table>_<destination>".
func (a *applier) route(ctx context.Context, in *inputs) (created, error) {
	ri := &ec2.CreateRouteInput{
		RouteTableId:                in.optStr("routeTableId"),
		DestinationCidrBlock:        in.optStr("destinationCidrBlock"),
		DestinationIpv6CidrBlock:    in.optStr("destinationIpv6CidrBlock"),
		DestinationPrefixListId:     in.optStr("destinationPrefixListId"),
		GatewayId:                   in.optStr("gatewayId"),
		NatGatewayId:                in.optStr("natGatewayId"),
		EgressOnlyInternetGatewayId: in.optStr("egressOnlyGatewayId"),
		VpcEndpointId:               in.optStr("vpcEndpointId"),
		TransitGatewayId:            in.optStr("transitGatewayId"),
		VpcPeeringConnectionId:      in.optStr("vpcPeeringConnectionId"),
		NetworkInterfaceId:          in.optStr("networkInterfaceId"),
	}
	if _, err := a.ec2.CreateRoute(ctx, ri); err != nil {
		return created{}, err
	}
	dest := aws.ToString(ri.DestinationCidrBlock) + aws.ToString(ri.DestinationIpv6CidrBlock) + aws.ToString(ri.DestinationPrefixListId)
	return created{id: aws.ToString(ri.RouteTableId) + "_" + dest}, nil
}

func (a *applier) routeTableAssociation(ctx context.Context, in *inputs) (created, error) {
	out, err := a.ec2.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{
		RouteTableId: in.optStr("routeTableId"),
		SubnetId:     in.optStr("subnetId"),
		GatewayId:    in.optStr("gatewayId"),
	})
	if err != nil {
		return created{}, err
	}
	return created{id: aws.ToString(out.AssociationId)}, nil
}

// vpcEndpoint: CreateVpcEndpoint with everything at once. The provider
// always sends privateDnsEnabled (false unless set), so a gateway
// endpoint reads false, as on AWS; moto would default it to true.
func (a *applier) vpcEndpoint(ctx context.Context, in *inputs) (created, error) {
	privateDNS, _ := in.boolean("privateDnsEnabled")
	out, err := a.ec2.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{
		VpcId:             in.optStr("vpcId"),
		ServiceName:       in.optStr("serviceName"),
		VpcEndpointType:   ec2types.VpcEndpointType(in.str("vpcEndpointType")),
		RouteTableIds:     in.strings("routeTableIds"),
		SubnetIds:         in.strings("subnetIds"),
		SecurityGroupIds:  in.strings("securityGroupIds"),
		PrivateDnsEnabled: aws.Bool(privateDNS),
		PolicyDocument:    in.optStr("policy"),
		TagSpecifications: tagSpecs(ec2types.ResourceTypeVpcEndpoint, in.tags("tags")),
	})
	if err != nil {
		return created{}, err
	}
	return created{id: aws.ToString(out.VpcEndpoint.VpcEndpointId)}, nil
}

// flowLog: CreateFlowLogs for the one VPC, subnet or interface named. moto
// accepts a log group that does not exist (the plan's is not created
// here) and reports its delivery FAILED, as AWS would; it refuses an S3
// bucket that does not exist, and a stack's S3 destination is a bucket
// the account already has, so that bucket is created first.
func (a *applier) flowLog(ctx context.Context, r mockaws.Resource, in *inputs) (created, error) {
	fi := &ec2.CreateFlowLogsInput{
		TrafficType:              ec2types.TrafficType(in.str("trafficType")),
		LogDestinationType:       ec2types.LogDestinationType(in.str("logDestinationType")),
		LogDestination:           in.optStr("logDestination"),
		DeliverLogsPermissionArn: in.optStr("iamRoleArn"),
		MaxAggregationInterval:   in.optInt32("maxAggregationInterval"),
		LogFormat:                in.optStr("logFormat"),
		TagSpecifications:        tagSpecs(ec2types.ResourceTypeVpcFlowLog, in.tags("tags")),
	}
	for field, typ := range map[string]ec2types.FlowLogsResourceType{
		"vpcId": ec2types.FlowLogsResourceTypeVpc, "subnetId": ec2types.FlowLogsResourceTypeSubnet,
		"eniId": ec2types.FlowLogsResourceTypeNetworkInterface,
	} {
		if id := in.str(field); id != "" {
			fi.ResourceType, fi.ResourceIds = typ, []string{id}
		}
	}
	if fi.LogDestinationType == ec2types.LogDestinationTypeS3 {
		bucketARN, prefix, err := a.ensureBucket(ctx, aws.ToString(fi.LogDestination))
		if err != nil {
			return created{}, err
		}
		if prefix != "" {
			// moto 5 looks the whole "bucket/prefix" up as a bucket name
			// (ec2/models/flow_logs.py) and refuses it; AWS takes it.
			fi.LogDestination = &bucketARN
			a.skip(r.URN, "logDestination", "moto 5 refuses an S3 destination with a key prefix: the flow log goes to "+bucketARN+", without /"+prefix)
		}
	}
	out, err := a.ec2.CreateFlowLogs(ctx, fi)
	if err != nil {
		return created{}, err
	}
	for _, u := range out.Unsuccessful {
		return created{}, fmt.Errorf("CreateFlowLogs refused %s: %s", aws.ToString(u.ResourceId), aws.ToString(u.Error.Message))
	}
	if len(out.FlowLogIds) != 1 {
		return created{}, fmt.Errorf("CreateFlowLogs made %d flow logs, not one", len(out.FlowLogIds))
	}
	return created{id: out.FlowLogIds[0]}, nil
}

// ensureBucket creates the bucket an S3 ARN (arn:aws:s3:::bucket/prefix)
// names, unless it exists, and returns the bucket's ARN and the prefix.
func (a *applier) ensureBucket(ctx context.Context, arn string) (bucketARN, prefix string, err error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "s3" {
		return "", "", fmt.Errorf("flow log destination %q is not an S3 ARN", arn)
	}
	bucket, prefix, _ := strings.Cut(parts[5], "/")
	bucketARN = strings.Join(append(parts[:5:5], bucket), ":")
	if _, err := a.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); err == nil {
		return bucketARN, prefix, nil
	}
	in := &s3.CreateBucketInput{Bucket: &bucket}
	if region := a.s3.Options().Region; region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
	}
	if _, err := a.s3.CreateBucket(ctx, in); err != nil {
		return "", "", fmt.Errorf("creating the flow logs' bucket %s: %w", bucket, err)
	}
	a.out.Prepared = append(a.out.Prepared, "s3 bucket "+bucket+" (the flow logs' existing destination)")
	return bucketARN, prefix, nil
}

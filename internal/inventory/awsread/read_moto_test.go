package awsread

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/inventory"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/testtools"
)

const testRegion = "us-east-1"

// account is a moto_server with SDK clients on it, for building what a
// test reads.
type account struct {
	moto *testtools.Moto
	cfg  aws.Config
	ec2  *ec2.Client
	asg  *autoscaling.Client
	elb  *elbv2.Client
}

func startAccount(t *testing.T) *account {
	t.Helper()
	m := testtools.StartMoto(t)
	m.SetAWSEnv(t)
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(testRegion))
	require.NoError(t, err)
	return &account{moto: m, cfg: cfg, ec2: ec2.NewFromConfig(cfg), asg: autoscaling.NewFromConfig(cfg), elb: elbv2.NewFromConfig(cfg)}
}

// read reads scope s with the recorder on, and fails the test if the read
// made a call that is not Describe, List or Get.
func (a *account) read(t *testing.T, s Scope) (*inventory.Inventory, []testtools.MotoRequest, error) {
	t.Helper()
	a.moto.StartRecording(t)
	inv, err := Read(context.Background(), NewClients(a.cfg), testRegion, s)
	reqs := a.moto.Requests(t)
	require.NotEmpty(t, reqs, "the recorder saw the read's requests")
	require.Empty(t, testtools.MutatingRequests(reqs), "Read made only Describe, List and Get calls")
	return inv, reqs, err
}

// must is v of a setup call that must succeed. It panics otherwise (Go
// does not pass f()'s two results after a *testing.T), which fails the test
// with the call's stack.
func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("setting up the account: %v", err))
	}
	return v
}

func tagSpec(typ ec2types.ResourceType, tags inventory.Tags) []ec2types.TagSpecification {
	spec := ec2types.TagSpecification{ResourceType: typ}
	for k, v := range tags {
		spec.Tags = append(spec.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return []ec2types.TagSpecification{spec}
}

func named(name string) inventory.Tags { return inventory.Tags{"Name": name, tags.Cluster: "legacy"} }

// legacy is a hand-grown cluster's account in moto, built through the
// SDK, and the inventory a read of its VPC must give.
type legacy struct {
	vpcID    string
	want     *inventory.Inventory
	otherIDs []string // resources of another VPC, which the read must not hold
}

// buildLegacy builds, in the account, a VPC with subnets in 3 zones, an
// internet gateway, a NAT gateway per zone with its Elastic IP, public and
// private route tables, an S3 gateway endpoint, two security groups, a
// pool group with a mixed instances policy and a masters group with a
// plain launch template, an NLB with its target group and listener and a
// flow log; and beside it another VPC with resources of its own.
func buildLegacy(t *testing.T, a *account) legacy {
	t.Helper()
	ctx := context.Background()
	c := a.ec2
	want := &inventory.Inventory{Region: testRegion}

	vpc := must(c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"), TagSpecifications: tagSpec(ec2types.ResourceTypeVpc, named("legacy-vpc"))})).Vpc
	vpcID := *vpc.VpcId
	must(c.AssociateVpcCidrBlock(ctx, &ec2.AssociateVpcCidrBlockInput{VpcId: vpc.VpcId, CidrBlock: aws.String("10.1.0.0/16")}))
	must(c.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: vpc.VpcId, EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}))
	want.VPCs = []inventory.VPC{{ID: vpcID, Cidr: "10.0.0.0/16", SecondaryCidrs: []string{"10.1.0.0/16"}, EnableDNSSupport: true, EnableDNSHostnames: true, Tags: named("legacy-vpc")}}

	zones := []string{"us-east-1a", "us-east-1b", "us-east-1c"}
	var public, private []string
	for i, z := range zones {
		for _, s := range []struct {
			kind, cidr string
			ids        *[]string
		}{
			{"public", []string{"10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"}[i], &public},
			{"private", []string{"10.0.64.0/19", "10.0.96.0/19", "10.0.128.0/19"}[i], &private},
		} {
			name := "legacy-" + s.kind + "-" + z
			sn := must(c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.VpcId, CidrBlock: aws.String(s.cidr), AvailabilityZone: aws.String(z), TagSpecifications: tagSpec(ec2types.ResourceTypeSubnet, named(name))})).Subnet
			if s.kind == "public" {
				must(c.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: sn.SubnetId, MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}))
			}
			*s.ids = append(*s.ids, *sn.SubnetId)
			want.Subnets = append(want.Subnets, inventory.Subnet{ID: *sn.SubnetId, VpcID: vpcID, AvailabilityZone: z, Cidr: s.cidr, MapPublicIPOnLaunch: s.kind == "public", Tags: named(name)})
		}
	}

	igw := must(c.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{TagSpecifications: tagSpec(ec2types.ResourceTypeInternetGateway, named("legacy-igw"))})).InternetGateway
	must(c.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGatewayId, VpcId: vpc.VpcId}))
	want.InternetGateways = []inventory.InternetGateway{{ID: *igw.InternetGatewayId, VpcIDs: []string{vpcID}, Tags: named("legacy-igw")}}

	// The VPC's main table, which CreateVpc made, holds the local routes.
	main := must(c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("vpc-id", vpcID), filter("association.main", "true")}})).RouteTables
	require.Len(t, main, 1)
	local := []inventory.Route{{DestinationCidr: "10.0.0.0/16", Target: "local"}, {DestinationCidr: "10.1.0.0/16", Target: "local"}}
	want.RouteTables = append(want.RouteTables, inventory.RouteTable{ID: *main[0].RouteTableId, VpcID: vpcID, Main: true, SubnetIDs: []string{}, Routes: local})

	publicRT := must(c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: vpc.VpcId, TagSpecifications: tagSpec(ec2types.ResourceTypeRouteTable, named("legacy-public"))})).RouteTable
	must(c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: publicRT.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: igw.InternetGatewayId}))
	for _, s := range public {
		must(c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: publicRT.RouteTableId, SubnetId: aws.String(s)}))
	}
	want.RouteTables = append(want.RouteTables, inventory.RouteTable{
		ID: *publicRT.RouteTableId, VpcID: vpcID, SubnetIDs: public, Tags: named("legacy-public"),
		Routes: append([]inventory.Route{{DestinationCidr: "0.0.0.0/0", Target: *igw.InternetGatewayId}}, local...),
	})

	var privateRTs []string
	for i, z := range zones {
		eip := must(c.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc, TagSpecifications: tagSpec(ec2types.ResourceTypeElasticIp, named("legacy-eip-"+z))}))
		want.Addresses = append(want.Addresses, inventory.Address{AllocationID: *eip.AllocationId, PublicIP: *eip.PublicIp, Tags: named("legacy-eip-" + z)})
		// (moto answers no ConnectivityType unless it was given.)
		nat := must(c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(public[i]), AllocationId: eip.AllocationId, ConnectivityType: ec2types.ConnectivityTypePublic, TagSpecifications: tagSpec(ec2types.ResourceTypeNatgateway, named("legacy-nat-"+z))})).NatGateway
		want.NatGateways = append(want.NatGateways, inventory.NatGateway{ID: *nat.NatGatewayId, VpcID: vpcID, SubnetID: public[i], AllocationID: *eip.AllocationId, ConnectivityType: "public", State: "available", Tags: named("legacy-nat-" + z)})

		rt := must(c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: vpc.VpcId, TagSpecifications: tagSpec(ec2types.ResourceTypeRouteTable, named("legacy-private-"+z))})).RouteTable
		must(c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: rt.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: nat.NatGatewayId}))
		must(c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rt.RouteTableId, SubnetId: aws.String(private[i])}))
		privateRTs = append(privateRTs, *rt.RouteTableId)
		want.RouteTables = append(want.RouteTables, inventory.RouteTable{
			ID: *rt.RouteTableId, VpcID: vpcID, SubnetIDs: []string{private[i]}, Tags: named("legacy-private-" + z),
			Routes: append([]inventory.Route{{DestinationCidr: "0.0.0.0/0", Target: *nat.NatGatewayId}}, local...),
		})
	}

	s3 := must(c.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{
		VpcId: vpc.VpcId, ServiceName: aws.String("com.amazonaws.us-east-1.s3"), VpcEndpointType: ec2types.VpcEndpointTypeGateway,
		RouteTableIds: privateRTs, TagSpecifications: tagSpec(ec2types.ResourceTypeVpcEndpoint, named("legacy-s3")),
	})).VpcEndpoint
	// moto answers PrivateDnsEnabled true for a gateway endpoint; AWS false.
	want.Endpoints = []inventory.Endpoint{{ID: *s3.VpcEndpointId, VpcID: vpcID, ServiceName: "com.amazonaws.us-east-1.s3", Type: "Gateway", RouteTableIDs: privateRTs, PrivateDNSEnabled: true, Tags: named("legacy-s3")}}
	// A gateway endpoint routes its service's prefix list in its tables.
	pl := must(c.DescribePrefixLists(ctx, &ec2.DescribePrefixListsInput{Filters: []ec2types.Filter{filter("prefix-list-name", "com.amazonaws.us-east-1.s3")}})).PrefixLists
	require.Len(t, pl, 1)
	for i := range want.RouteTables {
		if slices.Contains(privateRTs, want.RouteTables[i].ID) {
			want.RouteTables[i].Routes = append(want.RouteTables[i].Routes, inventory.Route{DestinationPrefixID: *pl[0].PrefixListId, Target: *s3.VpcEndpointId})
		}
	}

	groups := buildLegacyGroups(t, a, vpcID, want)
	buildLegacyFleet(t, a, vpcID, public, private, groups, want)

	flow := must(c.CreateFlowLogs(ctx, &ec2.CreateFlowLogsInput{
		ResourceIds: []string{vpcID}, ResourceType: ec2types.FlowLogsResourceTypeVpc, TrafficType: ec2types.TrafficTypeAll,
		LogDestinationType: ec2types.LogDestinationTypeCloudWatchLogs, LogGroupName: aws.String("legacy-flow"),
		DeliverLogsPermissionArn: aws.String("arn:aws:iam::123456789012:role/flow-logs"),
		TagSpecifications:        tagSpec(ec2types.ResourceTypeVpcFlowLog, named("legacy-flow")),
	}))
	require.Len(t, flow.FlowLogIds, 1)
	want.FlowLogs = []inventory.FlowLog{{ID: flow.FlowLogIds[0], ResourceID: vpcID, TrafficType: "ALL", DestinationType: "cloud-watch-logs", Destination: "legacy-flow", Tags: named("legacy-flow")}}

	sortInventory(want)
	return legacy{vpcID: vpcID, want: want, otherIDs: buildOtherVPC(t, a)}
}

// legacyGroups are the security groups' IDs.
type legacyGroups struct{ nodes, masters string }

func buildLegacyGroups(t *testing.T, a *account, vpcID string, want *inventory.Inventory) legacyGroups {
	t.Helper()
	ctx := context.Background()
	c := a.ec2
	// CreateVpc made the default group, which allows everything out (and,
	// on AWS, its own members in: moto makes no such ingress rule).
	def := must(c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{filter("vpc-id", vpcID), filter("group-name", "default")}})).SecurityGroups
	require.Len(t, def, 1)
	defID := *def[0].GroupId

	var g legacyGroups
	for _, s := range []struct {
		name string
		id   *string
	}{{"legacy-nodes", &g.nodes}, {"legacy-masters", &g.masters}} {
		*s.id = *must(c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			GroupName: aws.String(s.name), Description: aws.String(s.name + " group"), VpcId: aws.String(vpcID),
			TagSpecifications: tagSpec(ec2types.ResourceTypeSecurityGroup, named(s.name)),
		})).GroupId
	}
	// One permission with two CIDRs is two rules.
	ssh := must(c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(g.nodes),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []ec2types.IpRange{
			{CidrIp: aws.String("10.0.0.0/16"), Description: aws.String("ssh from the VPC")},
			{CidrIp: aws.String("192.168.0.0/24"), Description: aws.String("ssh from the office")},
		}}},
		TagSpecifications: tagSpec(ec2types.ResourceTypeSecurityGroupRule, inventory.Tags{"Name": "legacy-ssh"}),
	}))
	api := must(c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(g.masters),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(6443), ToPort: aws.Int32(6443), UserIdGroupPairs: []ec2types.UserIdGroupPair{
			{GroupId: aws.String(g.nodes), Description: aws.String("API from the nodes")},
		}}},
	}))
	require.Len(t, ssh.SecurityGroupRules, 2)
	require.Len(t, api.SecurityGroupRules, 1)

	// The rules' IDs come from AWS; the test compares them apart (see
	// ruleIDs) and the rest of each rule here.
	allOut := inventory.Rule{Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0"}
	want.SecurityGroups = []inventory.SecurityGroup{
		{ID: defID, Name: "default", Description: "default VPC security group", VpcID: vpcID, Ingress: []inventory.Rule{}, Egress: []inventory.Rule{allOut}},
		{ID: g.nodes, Name: "legacy-nodes", Description: "legacy-nodes group", VpcID: vpcID, Tags: named("legacy-nodes"), Egress: []inventory.Rule{allOut},
			Ingress: []inventory.Rule{
				{ID: *ssh.SecurityGroupRules[0].SecurityGroupRuleId, Protocol: "tcp", FromPort: 22, ToPort: 22, CidrIPv4: "10.0.0.0/16", Description: "ssh from the VPC", Tags: inventory.Tags{"Name": "legacy-ssh"}},
				{ID: *ssh.SecurityGroupRules[1].SecurityGroupRuleId, Protocol: "tcp", FromPort: 22, ToPort: 22, CidrIPv4: "192.168.0.0/24", Description: "ssh from the office", Tags: inventory.Tags{"Name": "legacy-ssh"}},
			}},
		{ID: g.masters, Name: "legacy-masters", Description: "legacy-masters group", VpcID: vpcID, Tags: named("legacy-masters"), Egress: []inventory.Rule{allOut},
			// moto keeps a group pair's description only in the group's
			// IpPermissions, not in DescribeSecurityGroupRules (AWS has it in
			// both): the reader takes it from there.
			Ingress: []inventory.Rule{{ID: *api.SecurityGroupRules[0].SecurityGroupRuleId, Protocol: "tcp", FromPort: 6443, ToPort: 6443, ReferencedGroupID: g.nodes, Description: "API from the nodes"}}},
	}
	return g
}

const (
	poolUserData    = "#!/bin/bash\n/etc/eks/bootstrap.sh legacy --kubelet-extra-args '--node-labels=pool=general'\n"
	mastersUserData = "#cloud-config\nruncmd: [kubeadm init]\n"
)

func buildLegacyFleet(t *testing.T, a *account, vpcID string, public, private []string, g legacyGroups, want *inventory.Inventory) {
	t.Helper()
	ctx := context.Background()
	c := a.ec2
	nodesData := &ec2types.RequestLaunchTemplateData{
		ImageId: aws.String("ami-0abcdef1234567890"), InstanceType: ec2types.InstanceTypeM5Large,
		IamInstanceProfile: &ec2types.LaunchTemplateIamInstanceProfileSpecificationRequest{Arn: aws.String("arn:aws:iam::123456789012:instance-profile/legacy-nodes")},
		SecurityGroupIds:   []string{g.nodes},
		BlockDeviceMappings: []ec2types.LaunchTemplateBlockDeviceMappingRequest{{DeviceName: aws.String("/dev/xvda"), Ebs: &ec2types.LaunchTemplateEbsBlockDeviceRequest{
			VolumeType: ec2types.VolumeTypeGp3, VolumeSize: aws.Int32(50), Iops: aws.Int32(3000), Throughput: aws.Int32(125), Encrypted: aws.Bool(true),
		}}},
		UserData:        aws.String(base64.StdEncoding.EncodeToString([]byte(poolUserData))),
		MetadataOptions: &ec2types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: ec2types.LaunchTemplateHttpTokensStateRequired, HttpPutResponseHopLimit: aws.Int32(2)},
	}
	nodes := must(c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("legacy-nodes"), LaunchTemplateData: nodesData,
		TagSpecifications: tagSpec(ec2types.ResourceTypeLaunchTemplate, named("legacy-nodes")),
	})).LaunchTemplate
	// A second version, not the default: the read gives the default's data.
	must(c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId: nodes.LaunchTemplateId, LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String("ami-0fedcba9876543210"), InstanceType: ec2types.InstanceTypeM6iLarge},
	}))
	masters := must(c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("legacy-masters"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{
			ImageId: aws.String("ami-0abcdef1234567890"), InstanceType: ec2types.InstanceTypeC5Xlarge,
			IamInstanceProfile: &ec2types.LaunchTemplateIamInstanceProfileSpecificationRequest{Name: aws.String("legacy-masters")},
			SecurityGroupIds:   []string{g.masters},
			UserData:           aws.String(base64.StdEncoding.EncodeToString([]byte(mastersUserData))),
		},
	})).LaunchTemplate
	// A template no group uses yet, tagged for the VPC's cluster: read; one
	// tagged for another cluster and one untagged: not read.
	spare := must(c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("legacy-spare"), LaunchTemplateData: &ec2types.RequestLaunchTemplateData{InstanceType: ec2types.InstanceTypeT3Small},
		TagSpecifications: tagSpec(ec2types.ResourceTypeLaunchTemplate, named("legacy-spare")),
	})).LaunchTemplate
	for name, tags := range map[string]inventory.Tags{"other-cluster": {tags.Cluster: "other"}, "untagged": nil} {
		in := &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name), LaunchTemplateData: &ec2types.RequestLaunchTemplateData{InstanceType: ec2types.InstanceTypeT3Small}}
		if tags != nil {
			in.TagSpecifications = tagSpec(ec2types.ResourceTypeLaunchTemplate, tags)
		}
		must(c.CreateLaunchTemplate(ctx, in))
	}
	want.LaunchTemplates = []inventory.LaunchTemplate{
		{ID: *nodes.LaunchTemplateId, Name: "legacy-nodes", DefaultVersion: 1, LatestVersion: 2, Tags: named("legacy-nodes"), Data: inventory.LaunchTemplateData{
			ImageID: "ami-0abcdef1234567890", InstanceType: "m5.large", IamInstanceProfile: "arn:aws:iam::123456789012:instance-profile/legacy-nodes",
			SecurityGroupIDs: []string{g.nodes}, UserData: poolUserData, HTTPTokens: "required", HTTPHopLimit: 2,
			BlockDevices: []inventory.BlockDevice{{DeviceName: "/dev/xvda", VolumeType: "gp3", SizeGiB: 50, Iops: 3000, Throughput: 125, Encrypted: true}},
		}},
		{ID: *masters.LaunchTemplateId, Name: "legacy-masters", DefaultVersion: 1, LatestVersion: 1, Data: inventory.LaunchTemplateData{
			ImageID: "ami-0abcdef1234567890", InstanceType: "c5.xlarge", IamInstanceProfile: "legacy-masters",
			SecurityGroupIDs: []string{g.masters}, UserData: mastersUserData,
		}},
		{ID: *spare.LaunchTemplateId, Name: "legacy-spare", DefaultVersion: 1, LatestVersion: 1, Tags: named("legacy-spare"), Data: inventory.LaunchTemplateData{InstanceType: "t3.small"}},
	}

	tg := must(a.elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name: aws.String("legacy-api"), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(6443), VpcId: aws.String(vpcID),
		TargetType: elbtypes.TargetTypeEnumInstance, HealthCheckProtocol: elbtypes.ProtocolEnumTcp,
		Tags: []elbtypes.Tag{{Key: aws.String("Name"), Value: aws.String("legacy-api")}},
	})).TargetGroups[0]
	lb := must(a.elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String("legacy-api"), Type: elbtypes.LoadBalancerTypeEnumNetwork, Scheme: elbtypes.LoadBalancerSchemeEnumInternal,
		Subnets: private, Tags: []elbtypes.Tag{{Key: aws.String("Name"), Value: aws.String("legacy-api")}, {Key: aws.String(tags.Cluster), Value: aws.String("legacy")}},
	})).LoadBalancers[0]
	listener := must(a.elb.CreateListener(ctx, &elbv2.CreateListenerInput{
		LoadBalancerArn: lb.LoadBalancerArn, Port: aws.Int32(6443), Protocol: elbtypes.ProtocolEnumTcp,
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroupArn}},
	})).Listeners[0]
	want.TargetGroups = []inventory.TargetGroup{{ARN: *tg.TargetGroupArn, Name: "legacy-api", Protocol: "TCP", Port: 6443, VpcID: vpcID, TargetType: "instance", HealthCheckProtocol: "TCP", Tags: inventory.Tags{"Name": "legacy-api"}}}
	want.LoadBalancers = []inventory.LoadBalancer{{
		ARN: *lb.LoadBalancerArn, Name: "legacy-api", Type: "network", Scheme: "internal", VpcID: vpcID, SubnetIDs: private,
		Listeners: []inventory.Listener{{ARN: *listener.ListenerArn, Port: 6443, Protocol: "TCP", TargetGroupARNs: []string{*tg.TargetGroupArn}}},
		Tags:      named("legacy-api"),
	}}

	poolTags := inventory.Tags{
		"Name": "legacy-pool-general", tags.Cluster: "legacy",
		"k8s.io/cluster-autoscaler/enabled":                        "true",
		"k8s.io/cluster-autoscaler/node-template/label/pool":       "general",
		"k8s.io/cluster-autoscaler/node-template/taint/dedicated":  "batch:NoSchedule",
		"k8s.io/cluster-autoscaler/node-template/resources/cpu":    "2",
		"k8s.io/cluster-autoscaler/node-template/label/node.k8s/x": "y",
	}
	var asTags []astypes.Tag
	for k, v := range poolTags {
		asTags = append(asTags, astypes.Tag{Key: aws.String(k), Value: aws.String(v), PropagateAtLaunch: aws.Bool(true)})
	}
	must(a.asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("legacy-pool-general"), MinSize: aws.Int32(0), MaxSize: aws.Int32(10), DesiredCapacity: aws.Int32(0),
		VPCZoneIdentifier: aws.String(private[0] + "," + private[1] + "," + private[2]), Tags: asTags,
		MixedInstancesPolicy: &astypes.MixedInstancesPolicy{
			LaunchTemplate: &astypes.LaunchTemplate{
				LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateId: nodes.LaunchTemplateId, Version: aws.String("$Default")},
				Overrides:                   []astypes.LaunchTemplateOverrides{{InstanceType: aws.String("m5.large")}, {InstanceType: aws.String("m5a.large")}, {InstanceType: aws.String("m6i.large")}},
			},
			InstancesDistribution: &astypes.InstancesDistribution{
				OnDemandBaseCapacity: aws.Int32(1), OnDemandPercentageAboveBaseCapacity: aws.Int32(25), SpotAllocationStrategy: aws.String("price-capacity-optimized"),
			},
		},
	}))
	must(a.asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("legacy-masters"), MinSize: aws.Int32(1), MaxSize: aws.Int32(1), DesiredCapacity: aws.Int32(1),
		VPCZoneIdentifier: aws.String(private[0]), TargetGroupARNs: []string{*tg.TargetGroupArn},
		HealthCheckType: aws.String("ELB"), HealthCheckGracePeriod: aws.Int32(600),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("legacy-masters"), Version: aws.String("$Latest")},
		Tags:           []astypes.Tag{{Key: aws.String("Name"), Value: aws.String("legacy-masters"), PropagateAtLaunch: aws.Bool(true)}},
	}))
	arns := map[string]string{}
	for _, g := range must(a.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"legacy-masters", "legacy-pool-general"}})).AutoScalingGroups {
		arns[*g.AutoScalingGroupName] = *g.AutoScalingGroupARN
	}
	want.AutoScalingGroups = []inventory.AutoScalingGroup{
		{Name: "legacy-masters", ARN: arns["legacy-masters"], MinSize: 1, MaxSize: 1, DesiredCapacity: 1, SubnetIDs: []string{private[0]}, TargetGroupARNs: []string{*tg.TargetGroupArn},
			HealthCheckType: "ELB", HealthCheckGracePeriod: 600, Tags: inventory.Tags{"Name": "legacy-masters"},
			LaunchTemplate: &inventory.LaunchTemplateRef{ID: *masters.LaunchTemplateId, Name: "legacy-masters", Version: "$Latest"}},
		{Name: "legacy-pool-general", ARN: arns["legacy-pool-general"], MinSize: 0, MaxSize: 10, DesiredCapacity: 0, SubnetIDs: private, Tags: poolTags, HealthCheckType: "EC2", HealthCheckGracePeriod: 300,
			MixedInstances: &inventory.MixedInstances{
				LaunchTemplate: inventory.LaunchTemplateRef{ID: *nodes.LaunchTemplateId, Name: "legacy-nodes", Version: "$Default"},
				InstanceTypes:  []string{"m5.large", "m5a.large", "m6i.large"}, OnDemandBaseCapacity: 1, OnDemandPercentageAboveBaseCapacity: 25,
				SpotAllocationStrategy: "price-capacity-optimized",
			}},
	}
}

// buildOtherVPC builds another VPC with a subnet, a group, a template and a
// group of instances, a target group and a flow log, and returns their IDs.
func buildOtherVPC(t *testing.T, a *account) []string {
	t.Helper()
	ctx := context.Background()
	c := a.ec2
	vpc := must(c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16"), TagSpecifications: tagSpec(ec2types.ResourceTypeVpc, inventory.Tags{tags.Cluster: "other"})})).Vpc
	sn := must(c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.VpcId, CidrBlock: aws.String("10.9.0.0/24"), AvailabilityZone: aws.String("us-east-1a")})).Subnet
	sg := must(c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("other"), Description: aws.String("other"), VpcId: vpc.VpcId}))
	igw := must(c.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})).InternetGateway
	must(c.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGatewayId, VpcId: vpc.VpcId}))
	lt := must(c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("other-nodes"), LaunchTemplateData: &ec2types.RequestLaunchTemplateData{InstanceType: ec2types.InstanceTypeT3Small}})).LaunchTemplate
	must(a.asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("other-nodes"), MinSize: aws.Int32(0), MaxSize: aws.Int32(1), VPCZoneIdentifier: sn.SubnetId,
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplateId},
	}))
	tg := must(a.elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("other"), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(80), VpcId: vpc.VpcId})).TargetGroups[0]
	fl := must(c.CreateFlowLogs(ctx, &ec2.CreateFlowLogsInput{
		ResourceIds: []string{*sn.SubnetId}, ResourceType: ec2types.FlowLogsResourceTypeSubnet, TrafficType: ec2types.TrafficTypeReject,
		LogDestinationType: ec2types.LogDestinationTypeCloudWatchLogs, LogGroupName: aws.String("other-flow"),
		DeliverLogsPermissionArn: aws.String("arn:aws:iam::123456789012:role/flow-logs"),
	}))
	return []string{*vpc.VpcId, *sn.SubnetId, *sg.GroupId, *igw.InternetGatewayId, *lt.LaunchTemplateId, "other-nodes", *tg.TargetGroupArn, fl.FlowLogIds[0]}
}

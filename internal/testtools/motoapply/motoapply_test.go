package motoapply_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
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

	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/internal/testtools"
	"github.com/kinfra-dev/kinfra/internal/testtools/motoapply"
	"github.com/kinfra-dev/kinfra/review/plan"
)

// motoConfig starts a moto_server of the test's own and an SDK
// configuration that talks to it.
func motoConfig(t *testing.T, region string) aws.Config {
	t.Helper()
	m := testtools.StartMoto(t)
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(m.Log)
			t.Logf("moto_server's log, last 4 KiB:\n%s", log[max(0, len(log)-4096):])
		}
	})
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(region),
		config.WithBaseEndpoint(m.Endpoint),
		config.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing"}, nil
		})),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}))
	require.NoError(t, err)
	return cfg
}

func planOf(t *testing.T, path string) *plan.Plan {
	t.Helper()
	sf, err := stackfile.Load(path)
	require.NoError(t, err)
	p, err := plan.Run(sf)
	require.NoError(t, err)
	return p
}

func TestAppliesTheUSEast1PlanAsPulumiUpWould(t *testing.T) {
	t.Parallel()
	p := planOf(t, "../../../stacks/Pulumi.us-east-1.yaml")
	cfg := motoConfig(t, "us-east-1")
	applied, err := motoapply.Apply(context.Background(), cfg, p.Resources)
	require.NoError(t, err)
	checkApplied(t, cfg, p, applied)
	// moto keeps no NLB setting for private-link traffic: the one input
	// left out, and listed.
	require.Equal(t, []motoapply.Skip{{URN: urnOf(t, p, "aws:lb/loadBalancer:LoadBalancer", "prod-use1-masters-api"),
		Field:  "enforceSecurityGroupInboundRulesOnPrivateLinkTraffic",
		Reason: "sent with SetSecurityGroups as the provider does, but moto 5 ignores the setting and never reports it"}}, applied.Skipped)
}

// A smaller cluster, written here: three zones, one NAT gateway, no IPv6,
// flow logs to an existing S3 bucket, two pools (one on-demand with one
// type, one with a mixed policy).
func TestAppliesASmallerThreeZonePlan(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "Pulumi.small.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`config:
  aws:region: eu-west-1
  kinfra:cluster:
    name: small
    network:
      vpcCidr: 10.8.0.0/16
      availabilityZones: [eu-west-1a, eu-west-1b, eu-west-1c]
      natGateways: single
      flowLogs:
        destination: s3
        s3BucketArn: arn:aws:s3:::central-flow-logs/small
    masters:
      count: 3
    nodePools:
      - name: general
        minSize: 2
        maxSize: 6
      - name: batch
        minSize: 0
        maxSize: 10
        instanceTypes: [m7i.large, m6i.large]
        onDemandBase: 0
        onDemandPercentageAboveBase: 0
`), 0o644))
	p := planOf(t, path)
	cfg := motoConfig(t, "eu-west-1")
	applied, err := motoapply.Apply(context.Background(), cfg, p.Resources)
	require.NoError(t, err)
	checkApplied(t, cfg, p, applied)
	require.Equal(t, []motoapply.Skip{
		{URN: urnOf(t, p, "aws:ec2/flowLog:FlowLog", "small-network-flow-logs"), Field: "logDestination",
			Reason: "moto 5 refuses an S3 destination with a key prefix: the flow log goes to arn:aws:s3:::central-flow-logs, without /small"},
		{URN: urnOf(t, p, "aws:lb/loadBalancer:LoadBalancer", "small-masters-api"), Field: "enforceSecurityGroupInboundRulesOnPrivateLinkTraffic",
			Reason: "sent with SetSecurityGroups as the provider does, but moto 5 ignores the setting and never reports it"},
	}, applied.Skipped)
	require.Equal(t, []string{"s3 bucket central-flow-logs (the flow logs' existing destination)"}, applied.Prepared)
	flows, err := ec2.NewFromConfig(cfg).DescribeFlowLogs(context.Background(), &ec2.DescribeFlowLogsInput{})
	require.NoError(t, err)
	require.Len(t, flows.FlowLogs, 1)
	require.Equal(t, "arn:aws:s3:::central-flow-logs", aws.ToString(flows.FlowLogs[0].LogDestination))
	require.Len(t, mockaws.OfType(p.Resources, "aws:ec2/natGateway:NatGateway"), 1)
	require.Len(t, mockaws.OfType(p.Resources, "aws:autoscaling/group:Group"), 5)
}

func urnOf(t *testing.T, p *plan.Plan, typ, name string) string {
	t.Helper()
	for _, r := range p.Resources {
		if r.Type == typ && r.Name == name {
			return r.URN
		}
	}
	t.Fatalf("no %s %s in the plan", typ, name)
	return ""
}

// checkApplied reads the account back through the SDK and holds it to the
// plan: every resource of the applied types is there, once, with its Name
// tag; every reference names the resource the plan's reference names; and
// no security group has an egress rule the plan does not declare.
func checkApplied(t *testing.T, cfg aws.Config, p *plan.Plan, applied *motoapply.Applied) {
	t.Helper()
	ctx := context.Background()
	e := ec2.NewFromConfig(cfg)
	as := autoscaling.NewFromConfig(cfg)
	lb := elbv2.NewFromConfig(cfg)

	// The live ID each mock reference (ID or ARN) must have become.
	want := map[string]string{}
	byType := map[string][]mockaws.Resource{}
	for _, r := range p.Resources {
		if !slices.Contains(motoapply.Types, r.Type) {
			continue
		}
		byType[r.Type] = append(byType[r.Type], r)
		live, ok := applied.Live[r.URN]
		require.True(t, ok, "%s was not applied", r.URN)
		want[r.ID] = live
		if arn, ok := r.State["arn"].(string); ok {
			want[arn] = live
		}
	}
	n := 0
	for _, rs := range byType {
		n += len(rs)
	}
	require.Len(t, applied.Live, n, "exactly the plan's resources of the applied types")
	ref := func(mock any) string {
		live, ok := want[mock.(string)]
		require.True(t, ok, "%v names no applied resource", mock)
		return live
	}
	refs := func(mock any) []string {
		var out []string
		for _, m := range mock.([]any) {
			out = append(out, ref(m))
		}
		return out
	}
	ids := func(typ string) []string {
		var out []string
		for _, r := range byType[typ] {
			out = append(out, applied.Live[r.URN])
		}
		return out
	}
	// Physical names: the plan's, else Pulumi's autoname.
	for _, rs := range byType {
		for _, r := range rs {
			name, named := applied.Names[r.URN]
			if given, ok := r.Inputs["name"].(string); ok {
				require.Equal(t, given, name, r.URN)
			} else if named {
				require.Regexp(t, "^"+regexp.QuoteMeta(r.Name)+"-[0-9a-f]{7}$", name, r.URN)
			}
		}
	}
	nameTag := func(r mockaws.Resource) string { return r.Inputs["tags"].(map[string]any)["Name"].(string) }

	// EC2 resources with tags: the Name tag of each, by its live ID.
	tagged := map[string]string{}
	for _, typ := range []string{"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/internetGateway:InternetGateway",
		"aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway", "aws:ec2/eip:Eip", "aws:ec2/natGateway:NatGateway",
		"aws:ec2/routeTable:RouteTable", "aws:ec2/vpcEndpoint:VpcEndpoint", "aws:ec2/securityGroup:SecurityGroup",
		"aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/flowLog:FlowLog"} {
		for _, r := range byType[typ] {
			tagged[applied.Live[r.URN]] = nameTag(r)
		}
	}
	tags, err := e.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{{Name: aws.String("key"), Values: []string{"Name"}}}, MaxResults: aws.Int32(1000)})
	require.NoError(t, err)
	got := map[string]string{}
	for _, tg := range tags.Tags {
		if _, ours := tagged[aws.ToString(tg.ResourceId)]; ours {
			got[aws.ToString(tg.ResourceId)] = aws.ToString(tg.Value)
		}
	}
	require.Equal(t, tagged, got, "every EC2 resource carries its Name tag")

	// The VPC and subnets as the plan sets them.
	vpcs, err := e.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: ids("aws:ec2/vpc:Vpc")})
	require.NoError(t, err)
	require.Len(t, vpcs.Vpcs, 1)
	vpcPlan := byType["aws:ec2/vpc:Vpc"][0]
	require.Equal(t, vpcPlan.Inputs["cidrBlock"], aws.ToString(vpcs.Vpcs[0].CidrBlock))
	dns, err := e.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: vpcs.Vpcs[0].VpcId, Attribute: ec2types.VpcAttributeNameEnableDnsHostnames})
	require.NoError(t, err)
	require.Equal(t, vpcPlan.Inputs["enableDnsHostnames"], aws.ToBool(dns.EnableDnsHostnames.Value))
	subnets, err := e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: ids("aws:ec2/subnet:Subnet")})
	require.NoError(t, err)
	require.Len(t, subnets.Subnets, len(byType["aws:ec2/subnet:Subnet"]))
	for _, r := range byType["aws:ec2/subnet:Subnet"] {
		i := slices.IndexFunc(subnets.Subnets, func(s ec2types.Subnet) bool { return aws.ToString(s.SubnetId) == applied.Live[r.URN] })
		s := subnets.Subnets[i]
		require.Equal(t, ref(r.Inputs["vpcId"]), aws.ToString(s.VpcId))
		require.Equal(t, r.Inputs["cidrBlock"], aws.ToString(s.CidrBlock))
		require.Equal(t, r.Inputs["availabilityZone"], aws.ToString(s.AvailabilityZone))
		require.Equal(t, r.Inputs["mapPublicIpOnLaunch"], aws.ToBool(s.MapPublicIpOnLaunch), r.Name)
		if _, v6 := r.Inputs["ipv6CidrBlock"]; v6 {
			require.Len(t, s.Ipv6CidrBlockAssociationSet, 1)
			block := aws.ToString(vpcs.Vpcs[0].Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlock)
			sub := aws.ToString(s.Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlock)
			require.True(t, strings.HasSuffix(sub, "::/64") && strings.HasPrefix(sub, strings.TrimSuffix(block, "00::/56")), "%s in %s", sub, block)
			require.True(t, aws.ToBool(s.AssignIpv6AddressOnCreation))
		}
	}

	// NAT gateways in the applied subnets with the applied addresses.
	nats, err := e.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: ids("aws:ec2/natGateway:NatGateway")})
	require.NoError(t, err)
	require.Len(t, nats.NatGateways, len(byType["aws:ec2/natGateway:NatGateway"]))
	for _, r := range byType["aws:ec2/natGateway:NatGateway"] {
		i := slices.IndexFunc(nats.NatGateways, func(g ec2types.NatGateway) bool { return aws.ToString(g.NatGatewayId) == applied.Live[r.URN] })
		require.Equal(t, ref(r.Inputs["subnetId"]), aws.ToString(nats.NatGateways[i].SubnetId))
		require.Equal(t, ref(r.Inputs["allocationId"]), aws.ToString(nats.NatGateways[i].NatGatewayAddresses[0].AllocationId))
	}

	// Routes and associations in the applied tables, to the applied
	// gateways and subnets.
	tables, err := e.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: ids("aws:ec2/routeTable:RouteTable")})
	require.NoError(t, err)
	require.Len(t, tables.RouteTables, len(byType["aws:ec2/routeTable:RouteTable"]))
	table := func(mock any) ec2types.RouteTable {
		i := slices.IndexFunc(tables.RouteTables, func(rt ec2types.RouteTable) bool { return aws.ToString(rt.RouteTableId) == ref(mock) })
		require.GreaterOrEqual(t, i, 0)
		return tables.RouteTables[i]
	}
	for _, r := range byType["aws:ec2/route:Route"] {
		rt := table(r.Inputs["routeTableId"])
		var found []string
		for _, lr := range rt.Routes {
			if d, ok := r.Inputs["destinationCidrBlock"]; ok && aws.ToString(lr.DestinationCidrBlock) == d ||
				r.Inputs["destinationIpv6CidrBlock"] != nil && aws.ToString(lr.DestinationIpv6CidrBlock) == r.Inputs["destinationIpv6CidrBlock"] {
				found = append(found, aws.ToString(lr.NatGatewayId)+aws.ToString(lr.GatewayId)+aws.ToString(lr.EgressOnlyInternetGatewayId))
			}
		}
		target := r.Inputs["natGatewayId"]
		for _, k := range []string{"gatewayId", "egressOnlyGatewayId"} {
			if v, ok := r.Inputs[k]; ok {
				target = v
			}
		}
		require.Equal(t, []string{ref(target)}, found, "route %s", r.Name)
	}
	for _, r := range byType["aws:ec2/routeTableAssociation:RouteTableAssociation"] {
		rt := table(r.Inputs["routeTableId"])
		i := slices.IndexFunc(rt.Associations, func(a ec2types.RouteTableAssociation) bool {
			return aws.ToString(a.RouteTableAssociationId) == applied.Live[r.URN]
		})
		require.GreaterOrEqual(t, i, 0, r.Name)
		require.Equal(t, ref(r.Inputs["subnetId"]), aws.ToString(rt.Associations[i].SubnetId))
	}

	// Endpoints with the applied tables, subnets and groups.
	eps, err := e.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: ids("aws:ec2/vpcEndpoint:VpcEndpoint")})
	require.NoError(t, err)
	require.Len(t, eps.VpcEndpoints, len(byType["aws:ec2/vpcEndpoint:VpcEndpoint"]))
	for _, r := range byType["aws:ec2/vpcEndpoint:VpcEndpoint"] {
		i := slices.IndexFunc(eps.VpcEndpoints, func(v ec2types.VpcEndpoint) bool { return aws.ToString(v.VpcEndpointId) == applied.Live[r.URN] })
		ep := eps.VpcEndpoints[i]
		require.Equal(t, r.Inputs["serviceName"], aws.ToString(ep.ServiceName))
		if v, ok := r.Inputs["routeTableIds"]; ok {
			require.ElementsMatch(t, refs(v), ep.RouteTableIds, r.Name)
		}
		if v, ok := r.Inputs["subnetIds"]; ok {
			require.ElementsMatch(t, refs(v), ep.SubnetIds, r.Name)
			var groups []string
			for _, g := range ep.Groups {
				groups = append(groups, aws.ToString(g.GroupId))
			}
			require.ElementsMatch(t, refs(r.Inputs["securityGroupIds"]), groups, r.Name)
		}
		require.Equal(t, r.Inputs["privateDnsEnabled"] == true, aws.ToBool(ep.PrivateDnsEnabled), r.Name)
	}

	// Security group rules: on the applied groups, from the applied
	// groups, tagged; and each group's egress is what the plan declares:
	// the default allow-all is gone.
	var ruleIDs []string
	ruleByID := map[string]mockaws.Resource{}
	for _, typ := range []string{"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"} {
		for _, r := range byType[typ] {
			ruleIDs = append(ruleIDs, applied.Live[r.URN])
			ruleByID[applied.Live[r.URN]] = r
		}
	}
	rules, err := e.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: ruleIDs})
	require.NoError(t, err)
	require.Len(t, rules.SecurityGroupRules, len(ruleIDs))
	for _, lr := range rules.SecurityGroupRules {
		r := ruleByID[aws.ToString(lr.SecurityGroupRuleId)]
		require.Equal(t, ref(r.Inputs["securityGroupId"]), aws.ToString(lr.GroupId), r.Name)
		require.Equal(t, strings.HasSuffix(r.Type, "EgressRule"), aws.ToBool(lr.IsEgress), r.Name)
		if g, ok := r.Inputs["referencedSecurityGroupId"]; ok {
			require.NotNil(t, lr.ReferencedGroupInfo, r.Name)
			require.Equal(t, ref(g), aws.ToString(lr.ReferencedGroupInfo.GroupId), r.Name)
		}
		require.Contains(t, lr.Tags, ec2types.Tag{Key: aws.String("Name"), Value: aws.String(nameTag(r))}, r.Name)
	}
	for _, r := range byType["aws:ec2/securityGroup:SecurityGroup"] {
		id := applied.Live[r.URN]
		out, err := e.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{id}}}})
		require.NoError(t, err)
		var egress, declared []string
		for _, lr := range out.SecurityGroupRules {
			if aws.ToBool(lr.IsEgress) {
				egress = append(egress, aws.ToString(lr.SecurityGroupRuleId))
			}
		}
		for _, rule := range byType["aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"] {
			if ref(rule.Inputs["securityGroupId"]) == id {
				declared = append(declared, applied.Live[rule.URN])
			}
		}
		// Inline egress blocks (none in kinfra's plans but an empty list)
		// would be rules without a resource of their own.
		require.Empty(t, r.Inputs["egress"], "%s: inline egress is not counted here", r.Name)
		require.ElementsMatch(t, declared, egress, "%s has exactly the egress rules the plan declares: AWS's default allow-all is revoked", r.Name)
	}

	// Launch templates and groups: every group launches from the applied
	// template the plan names, in the applied subnets, behind the applied
	// target group.
	lts, err := e.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: ids("aws:ec2/launchTemplate:LaunchTemplate")})
	require.NoError(t, err)
	require.Len(t, lts.LaunchTemplates, len(byType["aws:ec2/launchTemplate:LaunchTemplate"]))
	for _, r := range byType["aws:ec2/launchTemplate:LaunchTemplate"] {
		v, err := e.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(applied.Live[r.URN]), Versions: []string{"$Default"}})
		require.NoError(t, err)
		require.Len(t, v.LaunchTemplateVersions, 1)
		data := v.LaunchTemplateVersions[0].LaunchTemplateData
		require.Equal(t, refs(r.Inputs["vpcSecurityGroupIds"]), data.SecurityGroupIds, r.Name)
		require.Equal(t, r.Inputs["userData"], aws.ToString(data.UserData), r.Name)
		require.Equal(t, r.Inputs["imageId"], aws.ToString(data.ImageId), r.Name)
		require.Equal(t, r.Inputs["instanceType"], string(data.InstanceType), r.Name)
		require.Equal(t, applied.Names[r.URN], aws.ToString(v.LaunchTemplateVersions[0].LaunchTemplateName))
	}
	asgs, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: ids("aws:autoscaling/group:Group")})
	require.NoError(t, err)
	require.Len(t, asgs.AutoScalingGroups, len(byType["aws:autoscaling/group:Group"]))
	for _, r := range byType["aws:autoscaling/group:Group"] {
		i := slices.IndexFunc(asgs.AutoScalingGroups, func(g astypes.AutoScalingGroup) bool {
			return aws.ToString(g.AutoScalingGroupName) == applied.Live[r.URN]
		})
		g := asgs.AutoScalingGroups[i]
		if lt, ok := r.Inputs["launchTemplate"].(map[string]any); ok {
			require.Equal(t, ref(lt["id"]), aws.ToString(g.LaunchTemplate.LaunchTemplateId), r.Name)
		} else {
			spec := r.Inputs["mixedInstancesPolicy"].(map[string]any)["launchTemplate"].(map[string]any)["launchTemplateSpecification"].(map[string]any)
			require.Equal(t, ref(spec["launchTemplateId"]), aws.ToString(g.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateId), r.Name)
		}
		require.ElementsMatch(t, refs(r.Inputs["vpcZoneIdentifiers"]), strings.Split(aws.ToString(g.VPCZoneIdentifier), ","), r.Name)
		if tgs, ok := r.Inputs["targetGroupArns"]; ok {
			require.Equal(t, refs(tgs), g.TargetGroupARNs, r.Name)
		}
		require.EqualValues(t, r.Inputs["minSize"], aws.ToInt32(g.MinSize), r.Name)
		require.EqualValues(t, r.Inputs["maxSize"], aws.ToInt32(g.MaxSize), r.Name)
		require.EqualValues(t, r.Inputs["desiredCapacity"], aws.ToInt32(g.DesiredCapacity), r.Name)
		gotTags := map[string]string{}
		for _, tg := range g.Tags {
			gotTags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		require.Equal(t, r.Name, gotTags["Name"], r.Name)
	}

	// The load balancer, its target group and listener.
	for _, r := range byType["aws:lb/loadBalancer:LoadBalancer"] {
		out, err := lb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{applied.Live[r.URN]}})
		require.NoError(t, err)
		l := out.LoadBalancers[0]
		require.Equal(t, refs(r.Inputs["securityGroups"]), l.SecurityGroups)
		var subnetIDs []string
		for _, z := range l.AvailabilityZones {
			subnetIDs = append(subnetIDs, aws.ToString(z.SubnetId))
		}
		require.ElementsMatch(t, refs(r.Inputs["subnets"]), subnetIDs)
	}
	for _, r := range byType["aws:lb/listener:Listener"] {
		out, err := lb.DescribeListeners(ctx, &elbv2.DescribeListenersInput{ListenerArns: []string{applied.Live[r.URN]}})
		require.NoError(t, err)
		require.Equal(t, ref(r.Inputs["loadBalancerArn"]), aws.ToString(out.Listeners[0].LoadBalancerArn))
		action := r.Inputs["defaultActions"].([]any)[0].(map[string]any)
		require.Equal(t, ref(action["targetGroupArn"]), aws.ToString(out.Listeners[0].DefaultActions[0].TargetGroupArn))
	}
	var elbARNs []string
	for _, typ := range []string{"aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup", "aws:lb/listener:Listener"} {
		elbARNs = append(elbARNs, ids(typ)...)
	}
	if len(elbARNs) > 0 {
		out, err := lb.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: elbARNs})
		require.NoError(t, err)
		require.Len(t, out.TagDescriptions, len(elbARNs))
		for _, d := range out.TagDescriptions {
			require.Contains(t, d.Tags, elbTag("managed-by", "kinfra"), aws.ToString(d.ResourceArn))
		}
	}
}

func elbTag(k, v string) elbtypes.Tag { return elbtypes.Tag{Key: aws.String(k), Value: aws.String(v)} }

// An input Apply does not know how to create is an error naming it, not a
// resource that differs from its plan in silence.
func TestAnInputApplyDoesNotCreateIsAnError(t *testing.T) {
	t.Parallel()
	cfg := motoConfig(t, "us-east-1")
	_, err := motoapply.Apply(context.Background(), cfg, []mockaws.Resource{{
		URN: "urn:pulumi:s::kinfra::aws:ec2/vpc:Vpc::v", Type: "aws:ec2/vpc:Vpc", Name: "v", ID: "vpc-0123",
		Inputs: map[string]any{"cidrBlock": "10.0.0.0/16", "enableNetworkAddressUsageMetrics": true},
	}})
	require.EqualError(t, err, "creating urn:pulumi:s::kinfra::aws:ec2/vpc:Vpc::v: inputs enableNetworkAddressUsageMetrics of aws:ec2/vpc:Vpc are not applied: teach motoapply them")
}

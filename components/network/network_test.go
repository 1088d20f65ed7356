package network_test

import (
	"encoding/json"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/components/network"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/spec"
)

const (
	tVpc     = "aws:ec2/vpc:Vpc"
	tSubnet  = "aws:ec2/subnet:Subnet"
	tIGW     = "aws:ec2/internetGateway:InternetGateway"
	tEIGW    = "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway"
	tNAT     = "aws:ec2/natGateway:NatGateway"
	tEIP     = "aws:ec2/eip:Eip"
	tRT      = "aws:ec2/routeTable:RouteTable"
	tRoute   = "aws:ec2/route:Route"
	tAssoc   = "aws:ec2/routeTableAssociation:RouteTableAssociation"
	tEP      = "aws:ec2/vpcEndpoint:VpcEndpoint"
	tSG      = "aws:ec2/securityGroup:SecurityGroup"
	tFlowLog = "aws:ec2/flowLog:FlowLog"
	tLG      = "aws:cloudwatch/logGroup:LogGroup"
	tRole    = "aws:iam/role:Role"
	tPolicy  = "aws:iam/rolePolicy:RolePolicy"
	tTag     = "aws:ec2/tag:Tag"
	tNetwork = "kinfra:network:Network"
)

var zones3 = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

// outputs are the component outputs a test reads back.
type outputs struct {
	mu                sync.Mutex
	private, public   []string
	routeTables       map[string]string
	nats              map[string]string
	vpcID, v6, sgID   string
	availabilityZones []string
}

func run(t *testing.T, m *mockaws.Mocks, n spec.Network) (*outputs, error) {
	t.Helper()
	out := &outputs{}
	err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		net, err := network.New(ctx, "prod-network", network.Args{
			ClusterName: "prod", Region: "us-east-1", Network: n, Tags: map[string]string{"team": "platform"},
		})
		if err != nil {
			return err
		}
		out.availabilityZones = net.AvailabilityZones
		pulumi.All(net.PrivateSubnetIDs, net.PublicSubnetIDs, net.PrivateRouteTableIDs, net.NatGatewayIDs,
			net.VpcID, net.Ipv6CidrBlock, net.EndpointSecurityGroupID).ApplyT(func(v []any) error {
			out.mu.Lock()
			defer out.mu.Unlock()
			out.private, out.public = v[0].([]string), v[1].([]string)
			out.routeTables, out.nats = v[2].(map[string]string), v[3].(map[string]string)
			out.vpcID, out.v6, out.sgID = v[4].(string), v[5].(string), v[6].(string)
			return nil
		})
		return nil
	})
	return out, err
}

func mustRun(t *testing.T, n spec.Network) (*mockaws.Mocks, *outputs) {
	t.Helper()
	m := mockaws.New("us-east-1")
	out, err := run(t, m, n)
	require.NoError(t, err)
	return m, out
}

func TestSubnetsAreCarvedPerZoneAndTaggedForKubernetes(t *testing.T) {
	m, out := mustRun(t, spec.Network{VpcCidr: "10.40.0.0/16", AvailabilityZones: zones3})
	require.Len(t, m.ByType(tVpc), 1)
	require.Len(t, m.ByType(tSubnet), 6)
	vpc := m.MustNamed(t, tVpc, "prod-network-vpc")
	require.Equal(t, "10.40.0.0/16", vpc.Inputs["cidrBlock"])
	require.Equal(t, true, vpc.Inputs["enableDnsHostnames"])
	require.Equal(t, true, vpc.Inputs["enableDnsSupport"])

	wantPrivate := []string{"10.40.0.0/19", "10.40.32.0/19", "10.40.64.0/19"}
	wantPublic := []string{"10.40.252.0/22", "10.40.248.0/22", "10.40.244.0/22"}
	for i, z := range zones3 {
		priv := m.MustNamed(t, tSubnet, "prod-network-private-"+z)
		pub := m.MustNamed(t, tSubnet, "prod-network-public-"+z)
		require.Equal(t, wantPrivate[i], priv.Inputs["cidrBlock"])
		require.Equal(t, wantPublic[i], pub.Inputs["cidrBlock"])
		for _, s := range []mockaws.Resource{priv, pub} {
			require.Equal(t, z, s.Inputs["availabilityZone"])
			require.Equal(t, vpc.ID, s.Inputs["vpcId"])
			require.Equal(t, false, s.Inputs["mapPublicIpOnLaunch"])
			require.Equal(t, "owned", s.Inputs["tags"].(map[string]any)["kubernetes.io/cluster/prod"])
		}
		require.Equal(t, "1", priv.Inputs["tags"].(map[string]any)["kubernetes.io/role/internal-elb"])
		require.Equal(t, "1", pub.Inputs["tags"].(map[string]any)["kubernetes.io/role/elb"])
		require.NotContains(t, priv.Inputs["tags"], "kubernetes.io/role/elb")
		require.Equal(t, priv.ID, out.private[i], "outputs list private subnets in zone order")
		require.Equal(t, pub.ID, out.public[i])
	}
	require.Equal(t, zones3, out.availabilityZones)
	require.Equal(t, vpc.ID, out.vpcID)
}

func TestPerAzNATSendsEachZoneThroughItsOwnGateway(t *testing.T) {
	m, out := mustRun(t, spec.Network{AvailabilityZones: zones3, NatGateways: spec.NATPerAZ})
	require.Len(t, m.ByType(tNAT), 3)
	require.Len(t, m.ByType(tEIP), 3)
	require.Len(t, m.ByType(tRT), 4, "one public and one private route table per zone")
	require.Len(t, m.ByType(tAssoc), 6)
	igw := m.MustNamed(t, tIGW, "prod-network-igw")
	for _, z := range zones3 {
		nat := m.MustNamed(t, tNAT, "prod-network-nat-"+z)
		eip := m.MustNamed(t, tEIP, "prod-network-nat-"+z)
		require.Equal(t, eip.ID, nat.Inputs["allocationId"])
		require.Equal(t, m.MustNamed(t, tSubnet, "prod-network-public-"+z).ID, nat.Inputs["subnetId"], "NAT lives in its zone's public subnet")
		require.Equal(t, []string{igw.URN}, nat.Options.DependsOn, "NAT waits for the internet gateway")
		require.Equal(t, "vpc", eip.Inputs["domain"])

		rt := m.MustNamed(t, tRT, "prod-network-private-"+z)
		route := m.MustNamed(t, tRoute, "prod-network-private-"+z+"-default")
		require.Equal(t, rt.ID, route.Inputs["routeTableId"])
		require.Equal(t, "0.0.0.0/0", route.Inputs["destinationCidrBlock"])
		require.Equal(t, nat.ID, route.Inputs["natGatewayId"], "zone %s egresses through its own NAT", z)
		assoc := m.MustNamed(t, tAssoc, "prod-network-private-"+z)
		require.Equal(t, rt.ID, assoc.Inputs["routeTableId"])
		require.Equal(t, m.MustNamed(t, tSubnet, "prod-network-private-"+z).ID, assoc.Inputs["subnetId"])
		require.Equal(t, nat.ID, out.nats[z])
		require.Equal(t, rt.ID, out.routeTables[z])
	}
	public := m.MustNamed(t, tRoute, "prod-network-public-default")
	require.Equal(t, igw.ID, public.Inputs["gatewayId"])
	require.Equal(t, m.MustNamed(t, tRT, "prod-network-public").ID, public.Inputs["routeTableId"])
}

func TestSingleNATServesEveryZoneFromTheFirst(t *testing.T) {
	m, out := mustRun(t, spec.Network{AvailabilityZones: zones3, NatGateways: spec.NATSingle})
	require.Len(t, m.ByType(tNAT), 1)
	require.Len(t, m.ByType(tEIP), 1)
	nat := m.MustNamed(t, tNAT, "prod-network-nat-us-east-1a")
	for _, z := range zones3 {
		require.Equal(t, nat.ID, m.MustNamed(t, tRoute, "prod-network-private-"+z+"-default").Inputs["natGatewayId"])
		require.Equal(t, nat.ID, out.nats[z])
	}
	require.Len(t, m.ByType(tRT), 4, "private route tables stay per zone, so switching NAT modes changes routes only")
}

func TestNoNATLeavesPrivateSubnetsWithoutAnInternetRoute(t *testing.T) {
	m, out := mustRun(t, spec.Network{AvailabilityZones: zones3, NatGateways: spec.NATNone,
		InterfaceEndpoints: []string{"autoscaling", "ec2", "ecr.api", "ecr.dkr", "elasticloadbalancing", "kms", "ssm", "sts"}})
	require.Empty(t, m.ByType(tNAT))
	require.Empty(t, m.ByType(tEIP))
	routes := m.ByType(tRoute)
	require.Len(t, routes, 1, "only the public default route")
	require.Equal(t, "prod-network-public-default", routes[0].Name)
	require.Empty(t, out.nats)
	require.Len(t, m.ByType(tRT), 4)
}

func TestIPv6GivesEverySubnetASixtyFourAndPrivateEgressOnly(t *testing.T) {
	m, out := mustRun(t, spec.Network{AvailabilityZones: zones3, IPv6: true, InterfaceEndpoints: []string{"sts"}})
	vpc := m.MustNamed(t, tVpc, "prod-network-vpc")
	require.Equal(t, true, vpc.Inputs["assignGeneratedIpv6CidrBlock"])
	block := netip.MustParsePrefix(out.v6)
	require.Equal(t, 56, block.Bits())
	eigw := m.MustNamed(t, tEIGW, "prod-network-eigw")
	igw := m.MustNamed(t, tIGW, "prod-network-igw")
	seen := map[string]bool{}
	for _, s := range m.ByType(tSubnet) {
		p := netip.MustParsePrefix(mockaws.Str(s.Inputs["ipv6CidrBlock"]))
		require.Equal(t, 64, p.Bits())
		require.True(t, block.Contains(p.Addr()), "%s outside %s", p, block)
		require.False(t, seen[p.String()], "%s assigned twice", p)
		seen[p.String()] = true
		require.Equal(t, true, s.Inputs["assignIpv6AddressOnCreation"])
	}
	for _, z := range zones3 {
		r := m.MustNamed(t, tRoute, "prod-network-private-"+z+"-default-v6")
		require.Equal(t, "::/0", r.Inputs["destinationIpv6CidrBlock"])
		require.Equal(t, eigw.ID, r.Inputs["egressOnlyGatewayId"], "private subnets reach IPv6 egress only")
	}
	require.Equal(t, igw.ID, m.MustNamed(t, tRoute, "prod-network-public-default-v6").Inputs["gatewayId"])
	ingress := m.MustNamed(t, tSG, "prod-network-endpoints").Inputs["ingress"].([]any)[0].(map[string]any)
	require.Equal(t, []string{out.v6}, mockaws.Strings(ingress["ipv6CidrBlocks"]))
}

func TestWithoutIPv6ThereIsNoEgressOnlyGateway(t *testing.T) {
	m, out := mustRun(t, spec.Network{AvailabilityZones: zones3})
	require.Empty(t, m.ByType(tEIGW))
	require.Empty(t, out.v6)
	for _, s := range m.ByType(tSubnet) {
		require.NotContains(t, s.Inputs, "ipv6CidrBlock")
	}
}

func TestEndpointsAttachToEveryRouteTableAndThePrivateSubnets(t *testing.T) {
	m, out := mustRun(t, spec.Network{VpcCidr: "10.40.0.0/16", AvailabilityZones: zones3,
		GatewayEndpoints: []string{"s3", "dynamodb"}, InterfaceEndpoints: []string{"ecr.api", "sts"}})
	var tables []string
	for _, rt := range m.ByType(tRT) {
		tables = append(tables, rt.ID)
	}
	for _, svc := range []string{"s3", "dynamodb"} {
		ep := m.MustNamed(t, tEP, "prod-network-"+svc)
		require.Equal(t, "Gateway", ep.Inputs["vpcEndpointType"])
		require.Equal(t, "com.amazonaws.us-east-1."+svc, ep.Inputs["serviceName"])
		require.ElementsMatch(t, tables, mockaws.Strings(ep.Inputs["routeTableIds"]))
	}
	sg := m.MustNamed(t, tSG, "prod-network-endpoints")
	require.Equal(t, sg.ID, out.sgID)
	ingress := sg.Inputs["ingress"].([]any)
	require.Len(t, ingress, 1)
	rule := ingress[0].(map[string]any)
	require.Equal(t, "tcp", rule["protocol"])
	require.EqualValues(t, 443, rule["fromPort"])
	require.EqualValues(t, 443, rule["toPort"])
	require.Equal(t, []string{"10.40.0.0/16"}, mockaws.Strings(rule["cidrBlocks"]))
	require.Empty(t, sg.Inputs["egress"], "endpoints never connect out")
	for _, name := range []string{"prod-network-ecr-api", "prod-network-sts"} {
		ep := m.MustNamed(t, tEP, name)
		require.Equal(t, "Interface", ep.Inputs["vpcEndpointType"])
		require.Equal(t, true, ep.Inputs["privateDnsEnabled"])
		require.Equal(t, out.private, mockaws.Strings(ep.Inputs["subnetIds"]))
		require.Equal(t, []string{sg.ID}, mockaws.Strings(ep.Inputs["securityGroupIds"]))
	}
	require.Equal(t, "com.amazonaws.us-east-1.ecr.api", m.MustNamed(t, tEP, "prod-network-ecr-api").Inputs["serviceName"])
}

func TestNoInterfaceEndpointsMeansNoEndpointSecurityGroup(t *testing.T) {
	m, out := mustRun(t, spec.Network{AvailabilityZones: zones3})
	require.Empty(t, m.ByType(tSG))
	require.Empty(t, out.sgID)
	require.Len(t, m.ByType(tEP), 1, "the default s3 gateway endpoint")
}

func TestFlowLogsGoToALogGroupThroughALeastPrivilegeRole(t *testing.T) {
	m, _ := mustRun(t, spec.Network{AvailabilityZones: zones3, FlowLogs: spec.FlowLogs{RetentionDays: 90, TrafficType: "REJECT"}})
	fl := m.MustNamed(t, tFlowLog, "prod-network-flow-logs")
	lg := m.MustNamed(t, tLG, "prod-network-flow-logs")
	role := m.MustNamed(t, tRole, "prod-network-flow-logs")
	require.Equal(t, m.MustNamed(t, tVpc, "prod-network-vpc").ID, fl.Inputs["vpcId"])
	require.Equal(t, "REJECT", fl.Inputs["trafficType"])
	require.Equal(t, "cloud-watch-logs", fl.Inputs["logDestinationType"])
	require.Equal(t, "arn:aws:logs:us-east-1:123456789012:log-group:/kinfra/prod-network/flow-logs", fl.Inputs["logDestination"])
	require.Equal(t, "/kinfra/prod-network/flow-logs", lg.Inputs["name"])
	require.EqualValues(t, 90, lg.Inputs["retentionInDays"])
	require.EqualValues(t, 600, fl.Inputs["maxAggregationInterval"])

	var trust struct {
		Statement []struct {
			Principal struct{ Service []string }
			Action    []string
			Condition map[string]map[string]string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(mockaws.Str(role.Inputs["assumeRolePolicy"])), &trust))
	require.Len(t, trust.Statement, 1)
	require.Equal(t, []string{"vpc-flow-logs.amazonaws.com"}, trust.Statement[0].Principal.Service)
	require.Equal(t, "123456789012", trust.Statement[0].Condition["StringEquals"]["aws:SourceAccount"])
	require.Equal(t, "arn:aws:ec2:us-east-1:123456789012:vpc-flow-log/*", trust.Statement[0].Condition["ArnLike"]["aws:SourceArn"])

	var policy struct {
		Statement []struct {
			Action, Resource []string
		}
	}
	pol := m.MustNamed(t, tPolicy, "prod-network-flow-logs")
	require.Equal(t, role.ID, pol.Inputs["role"])
	require.NoError(t, json.Unmarshal([]byte(mockaws.Str(pol.Inputs["policy"])), &policy))
	for _, st := range policy.Statement {
		for _, a := range st.Action {
			require.NotContains(t, a, "*", "no wildcard actions")
		}
		for _, r := range st.Resource {
			require.NotEqual(t, "*", r, "no unscoped resources")
			require.True(t, strings.HasPrefix(r, "arn:aws:logs:us-east-1:123456789012:log-group:"), r)
		}
	}
}

func TestFlowLogsToS3NeedNoRoleAndOffMeansNone(t *testing.T) {
	m, _ := mustRun(t, spec.Network{AvailabilityZones: zones3, FlowLogs: spec.FlowLogs{Destination: "s3", S3BucketArn: "arn:aws:s3:::central-logs/prod"}})
	fl := m.MustNamed(t, tFlowLog, "prod-network-flow-logs")
	require.Equal(t, "s3", fl.Inputs["logDestinationType"])
	require.Equal(t, "arn:aws:s3:::central-logs/prod", fl.Inputs["logDestination"])
	require.Empty(t, m.ByType(tRole))
	require.Empty(t, m.ByType(tLG))

	off := false
	m, _ = mustRun(t, spec.Network{AvailabilityZones: zones3, FlowLogs: spec.FlowLogs{Enabled: &off}})
	require.Empty(t, m.ByType(tFlowLog))
	require.Empty(t, m.ByType(tRole))
}

func existing() spec.Network {
	return spec.Network{
		VpcCidr: "10.9.0.0/16",
		Existing: &spec.ExistingNetwork{
			VpcId: "vpc-0a1b2c3d4e5f67890",
			PrivateSubnets: []spec.ExistingSubnet{
				{ID: "subnet-00000000000000001", AvailabilityZone: "us-east-1a", Cidr: "10.9.0.0/20"},
				{ID: "subnet-00000000000000002", AvailabilityZone: "us-east-1b", Cidr: "10.9.16.0/20"},
			},
			PublicSubnets: []spec.ExistingSubnet{
				{ID: "subnet-00000000000000003", AvailabilityZone: "us-east-1a", Cidr: "10.9.240.0/24"},
			},
			RouteTableIds: []string{"rtb-0000000000000000a"},
		},
		GatewayEndpoints:   []string{"s3"},
		InterfaceEndpoints: []string{"sts"},
	}
}

func accountWith(n spec.Network) *mockaws.Mocks {
	m := mockaws.New("us-east-1")
	m.Account.Vpcs = map[string]mockaws.Vpc{n.Existing.VpcId: {Cidr: n.VpcCidr, DNSSupport: true, DNSHostnames: true}}
	m.Account.Subnets = map[string]mockaws.Subnet{}
	for _, s := range append(append([]spec.ExistingSubnet{}, n.Existing.PrivateSubnets...), n.Existing.PublicSubnets...) {
		m.Account.Subnets[s.ID] = mockaws.Subnet{VpcID: n.Existing.VpcId, AvailabilityZone: s.AvailabilityZone, Cidr: s.Cidr}
	}
	return m
}

func TestAdoptingAVPCCreatesNoNetworkOnlyTagsEndpointsAndFlowLogs(t *testing.T) {
	n := existing()
	m := accountWith(n)
	out, err := run(t, m, n)
	require.NoError(t, err)
	for _, typ := range []string{tVpc, tSubnet, tIGW, tNAT, tEIP, tRT, tRoute, tAssoc} {
		require.Empty(t, m.ByType(typ), "an adopted network creates no %s", typ)
	}
	require.Equal(t, "vpc-0a1b2c3d4e5f67890", out.vpcID)
	require.Equal(t, []string{"subnet-00000000000000001", "subnet-00000000000000002"}, out.private)
	require.Equal(t, []string{"subnet-00000000000000003"}, out.public)
	require.Equal(t, []string{"us-east-1a", "us-east-1b"}, out.availabilityZones)

	tagsBySubnet := map[string]map[string]string{}
	for _, tg := range m.ByType(tTag) {
		id := mockaws.Str(tg.Inputs["resourceId"])
		if tagsBySubnet[id] == nil {
			tagsBySubnet[id] = map[string]string{}
		}
		tagsBySubnet[id][mockaws.Str(tg.Inputs["key"])] = mockaws.Str(tg.Inputs["value"])
	}
	require.Equal(t, map[string]map[string]string{
		"subnet-00000000000000001": {"kubernetes.io/cluster/prod": "shared", "kubernetes.io/role/internal-elb": "1"},
		"subnet-00000000000000002": {"kubernetes.io/cluster/prod": "shared", "kubernetes.io/role/internal-elb": "1"},
		"subnet-00000000000000003": {"kubernetes.io/cluster/prod": "shared", "kubernetes.io/role/elb": "1"},
	}, tagsBySubnet)
	s3 := m.MustNamed(t, tEP, "prod-network-s3")
	require.Equal(t, "vpc-0a1b2c3d4e5f67890", s3.Inputs["vpcId"])
	require.Equal(t, []string{"rtb-0000000000000000a"}, mockaws.Strings(s3.Inputs["routeTableIds"]))
	require.Equal(t, []string{"subnet-00000000000000001", "subnet-00000000000000002"}, mockaws.Strings(m.MustNamed(t, tEP, "prod-network-sts").Inputs["subnetIds"]))
	require.Equal(t, "vpc-0a1b2c3d4e5f67890", m.MustNamed(t, tFlowLog, "prod-network-flow-logs").Inputs["vpcId"])
}

func TestAdoptedNetworkThatDiffersFromAWSFailsBeforeCreatingAnything(t *testing.T) {
	n := existing()
	m := accountWith(n)
	m.Account.Vpcs[n.Existing.VpcId] = mockaws.Vpc{Cidr: "10.8.0.0/16", DNSSupport: true}
	m.Account.Subnets["subnet-00000000000000002"] = mockaws.Subnet{VpcID: "vpc-0ffffffffffffffff", AvailabilityZone: "us-east-1c", Cidr: "10.9.16.0/21"}
	_, err := run(t, m, n)
	require.Error(t, err)
	for _, want := range []string{
		"cluster.network.vpcCidr: 10.9.0.0/16, but VPC vpc-0a1b2c3d4e5f67890 has primary block 10.8.0.0/16",
		"cluster.network.interfaceEndpoints: private DNS for interface endpoints needs DNS hostnames turned on in VPC vpc-0a1b2c3d4e5f67890; turn it on (enableDnsHostnames) or remove the interface endpoints",
		"cluster.network.existing.privateSubnets[1].id: subnet-00000000000000002 is in vpc-0ffffffffffffffff, not in the adopted VPC vpc-0a1b2c3d4e5f67890",
		"cluster.network.existing.privateSubnets[1].availabilityZone: us-east-1b is declared, but subnet-00000000000000002 is in us-east-1c",
		"cluster.network.existing.privateSubnets[1].cidr: 10.9.16.0/20 is declared, but subnet-00000000000000002 is 10.9.16.0/21",
	} {
		require.Contains(t, err.Error(), want)
	}
	for _, r := range m.Resources() {
		require.False(t, r.Custom, "nothing is created when the adopted network does not match: got %s %s", r.Type, r.Name)
	}
}

func TestImportAdoptsExistingResourcesByID(t *testing.T) {
	n := spec.Network{AvailabilityZones: []string{"us-east-1a", "us-east-1b"}, NatGateways: spec.NATSingle,
		Import: &spec.NetworkImport{
			Vpc:                "vpc-0a1b2c3d4e5f67890",
			InternetGateway:    "igw-0a1b2c3d4e5f67890",
			PublicSubnets:      map[string]string{"us-east-1a": "subnet-0a000000000000001"},
			PrivateSubnets:     map[string]string{"us-east-1a": "subnet-0a000000000000002", "us-east-1b": "subnet-0a000000000000003"},
			PublicRouteTable:   "rtb-0a000000000000001",
			PrivateRouteTables: map[string]string{"us-east-1a": "rtb-0a000000000000002"},
			NatGateways:        map[string]string{"us-east-1a": "nat-0a000000000000001"},
			ElasticIps:         map[string]string{"us-east-1a": "eipalloc-0a000000000000001"},
		}}
	m, _ := mustRun(t, n)
	want := map[[2]string]string{
		{tVpc, "prod-network-vpc"}:                          "vpc-0a1b2c3d4e5f67890",
		{tIGW, "prod-network-igw"}:                          "igw-0a1b2c3d4e5f67890",
		{tSubnet, "prod-network-public-us-east-1a"}:         "subnet-0a000000000000001",
		{tSubnet, "prod-network-public-us-east-1b"}:         "",
		{tSubnet, "prod-network-private-us-east-1a"}:        "subnet-0a000000000000002",
		{tRT, "prod-network-public"}:                        "rtb-0a000000000000001",
		{tRT, "prod-network-private-us-east-1a"}:            "rtb-0a000000000000002",
		{tRT, "prod-network-private-us-east-1b"}:            "",
		{tNAT, "prod-network-nat-us-east-1a"}:               "nat-0a000000000000001",
		{tEIP, "prod-network-nat-us-east-1a"}:               "eipalloc-0a000000000000001",
		{tRoute, "prod-network-public-default"}:             "rtb-0a000000000000001_0.0.0.0/0",
		{tRoute, "prod-network-private-us-east-1a-default"}: "rtb-0a000000000000002_0.0.0.0/0",
		{tRoute, "prod-network-private-us-east-1b-default"}: "",
		{tAssoc, "prod-network-public-us-east-1a"}:          "subnet-0a000000000000001/rtb-0a000000000000001",
		{tAssoc, "prod-network-public-us-east-1b"}:          "",
		{tAssoc, "prod-network-private-us-east-1a"}:         "subnet-0a000000000000002/rtb-0a000000000000002",
		{tAssoc, "prod-network-private-us-east-1b"}:         "",
	}
	for key, id := range want {
		require.Equal(t, id, m.MustNamed(t, key[0], key[1]).Options.Import, "%s %s", key[0], key[1])
	}
}

func TestImportedEndpointsAreAdoptedByID(t *testing.T) {
	n := spec.Network{AvailabilityZones: []string{"us-east-1a"}, InterfaceEndpoints: []string{"ecr.api", "sts"},
		Import: &spec.NetworkImport{Endpoints: map[string]string{"s3": "vpce-0a000000000000001", "ecr.api": "vpce-0a000000000000002"}}}
	m, _ := mustRun(t, n)
	const tEndpoint = "aws:ec2/vpcEndpoint:VpcEndpoint"
	for name, id := range map[string]string{
		"prod-network-s3":      "vpce-0a000000000000001",
		"prod-network-ecr-api": "vpce-0a000000000000002",
		"prod-network-sts":     "",
	} {
		require.Equal(t, id, m.MustNamed(t, tEndpoint, name).Options.Import, name)
	}
}

func TestInvalidArgsFailWithEveryProblemAndRegisterNothing(t *testing.T) {
	m := mockaws.New("us-east-1")
	err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		_, err := network.New(ctx, "bad", network.Args{Region: "us-east-1", Tags: map[string]string{"aws:owner": "me"},
			Network: spec.Network{VpcCidr: "10.0.0.0/8", NatGateways: "many", InterfaceEndpoints: []string{"s4"}}})
		return err
	})
	require.ErrorContains(t, err, `network bad: invalid arguments:
  network.ClusterName: required
  network.vpcCidr: 10.0.0.0/8 is not allowed; use an IPv4 block from /16 to /24 (AWS allows no larger VPC block, and a smaller one leaves no room for per-zone subnets)
  network.interfaceEndpoints[0]: "s4" is not a known service; use one of autoscaling, ebs, ec2, ec2messages, ecr.api, ecr.dkr, elasticfilesystem, elasticloadbalancing, events, kms, logs, monitoring, secretsmanager, sqs, ssm, ssmmessages, sts or xray
  network.natGateways: "many" is not allowed; use perAz (a NAT gateway per zone), single (one, cheaper, a single-zone dependency) or none (egress through VPC endpoints only)
  network.Tags["aws:owner"]: tag keys starting with "aws:" are reserved by AWS`)
	require.Empty(t, m.Resources())
}

func TestZonesAreLookedUpWhenNotPinned(t *testing.T) {
	m := mockaws.New("us-east-1")
	m.Account.Zones = []string{"us-east-1c", "us-east-1a", "us-east-1b"}
	out, err := run(t, m, spec.Network{AzCount: 2})
	require.NoError(t, err)
	require.Equal(t, []string{"us-east-1a", "us-east-1b"}, out.availabilityZones, "sorted, first azCount")
	var asked bool
	for _, inv := range m.Invokes() {
		if inv.Token == "aws:index/getAvailabilityZones:getAvailabilityZones" {
			asked = true
			require.Equal(t, "available", inv.Args["state"])
		}
	}
	require.True(t, asked)

	m = mockaws.New("us-east-1")
	m.Account.Zones = []string{"us-east-1a", "us-east-1b"}
	_, err = run(t, m, spec.Network{AzCount: 3})
	require.ErrorContains(t, err, "cluster.network.azCount: 3 zones wanted, but us-east-1 offers 2 ([us-east-1a us-east-1b]); lower azCount")
	for _, r := range m.Resources() {
		require.False(t, r.Custom)
	}
}

func TestEveryChildIsParentedNamedAfterTheComponentAndTagged(t *testing.T) {
	m, _ := mustRun(t, spec.Network{AvailabilityZones: zones3, IPv6: true, InterfaceEndpoints: []string{"sts"}})
	comps := m.ByType(tNetwork)
	require.Len(t, comps, 1)
	untaggable := map[string]bool{tRoute: true, tAssoc: true, tPolicy: true}
	for _, r := range m.Resources() {
		if r.Type == tNetwork {
			continue
		}
		require.Equal(t, comps[0].URN, r.Parent, "%s %s is a child of the network", r.Type, r.Name)
		require.True(t, strings.HasPrefix(r.Name, "prod-network-"), "%s is named after the component", r.Name)
		if untaggable[r.Type] {
			continue
		}
		tags, _ := r.Inputs["tags"].(map[string]any)
		require.Equal(t, "prod", tags["kinfra.dev/cluster"], "%s %s", r.Type, r.Name)
		require.Equal(t, "us-east-1", tags["kinfra.dev/region"])
		require.Equal(t, "network", tags["kinfra.dev/component"])
		require.Equal(t, "kinfra", tags["managed-by"])
		require.Equal(t, "platform", tags["team"])
		require.Equal(t, r.Name, tags["Name"])
	}
}

func TestTwoNetworksInOneStackDoNotCollide(t *testing.T) {
	m := mockaws.New("us-east-1")
	err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		for _, name := range []string{"blue", "green"} {
			if _, err := network.New(ctx, name, network.Args{ClusterName: name, Region: "us-east-1", Network: spec.Network{AvailabilityZones: zones3}}); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, r := range m.Resources() {
		require.False(t, seen[r.URN], "duplicate URN %s", r.URN)
		seen[r.URN] = true
	}
	require.Len(t, m.ByType(tVpc), 2)
}

package inventory

import (
	"encoding/json"
	"net/netip"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/cidr"
)

const legacyFixture = "../../tests/testdata/legacy-cluster.cfn.yaml"

func readLegacy(t *testing.T) *Inventory {
	t.Helper()
	data, err := os.ReadFile(legacyFixture)
	require.NoError(t, err)
	inv, problems, err := FromTemplate(data, "us-east-1", nil)
	require.NoError(t, err)
	require.Empty(t, problems)
	return inv
}

// The legacy cluster's subnets are exactly kinfra's carving of its VPC:
// private /19s from the bottom and public /22s from the top, zone by zone
// in the region's order (what Fn::GetAZs gives).
func TestFromTemplateLegacySubnetsAreKinfrasCarving(t *testing.T) {
	inv := readLegacy(t)
	require.True(t, inv.FromTemplate)
	require.Equal(t, "us-east-1", inv.Region)
	require.Equal(t, []VPC{{ID: "Vpc", Cidr: "10.60.0.0/16", EnableDNSSupport: true, EnableDNSHostnames: true,
		Tags: Tags{"Name": "legacy-vpc", "kubernetes.io/cluster/legacy": "owned"}}}, inv.VPCs)

	carve, err := cidr.Carve(netip.MustParsePrefix("10.60.0.0/16"), 3, 19, 22)
	require.NoError(t, err)
	byID := map[string]Subnet{}
	for _, s := range inv.Subnets {
		byID[s.ID] = s
	}
	require.Len(t, byID, 6)
	for i, letter := range []string{"A", "B", "C"} {
		zone := "us-east-1" + string(rune('a'+i))
		priv, pub := byID["PrivateSubnet"+letter], byID["PublicSubnet"+letter]
		require.Equal(t, Subnet{ID: "PrivateSubnet" + letter, VpcID: "Vpc", AvailabilityZone: zone, Cidr: carve.Private[i].String(),
			Tags: Tags{"Name": "legacy-private-" + string(rune('a'+i)), "kubernetes.io/cluster/legacy": "owned", "kubernetes.io/role/internal-elb": "1"}}, priv)
		require.Equal(t, Subnet{ID: "PublicSubnet" + letter, VpcID: "Vpc", AvailabilityZone: zone, Cidr: carve.Public[i].String(), MapPublicIPOnLaunch: true,
			Tags: Tags{"Name": "legacy-public-" + string(rune('a'+i)), "kubernetes.io/cluster/legacy": "owned", "kubernetes.io/role/elb": "1"}}, pub)
	}
}

func TestFromTemplateLegacyNetwork(t *testing.T) {
	inv := readLegacy(t)
	require.Equal(t, []InternetGateway{{ID: "InternetGateway", VpcIDs: []string{"Vpc"}, Tags: Tags{"Name": "legacy-igw"}}}, inv.InternetGateways)
	var nats []NatGateway
	var addresses []Address
	tables := []RouteTable{}
	for _, z := range []string{"A", "B", "C"} {
		nats = append(nats, NatGateway{ID: "NatGateway" + z, VpcID: "Vpc", SubnetID: "PublicSubnet" + z, AllocationID: "NatAddress" + z,
			ConnectivityType: "public", State: "available", Tags: Tags{"Name": "legacy-nat-" + lower(z)}})
		addresses = append(addresses, Address{AllocationID: "NatAddress" + z, Tags: Tags{}})
		tables = append(tables, RouteTable{ID: "PrivateRouteTable" + z, VpcID: "Vpc", SubnetIDs: []string{"PrivateSubnet" + z},
			Routes: []Route{{DestinationCidr: "10.60.0.0/16", Target: "local"}, {DestinationCidr: "0.0.0.0/0", Target: "NatGateway" + z}},
			Tags:   Tags{"Name": "legacy-private-" + lower(z)}})
	}
	tables = append(tables, RouteTable{ID: "PublicRouteTable", VpcID: "Vpc", SubnetIDs: []string{"PublicSubnetA", "PublicSubnetB", "PublicSubnetC"},
		Routes: []Route{{DestinationCidr: "10.60.0.0/16", Target: "local"}, {DestinationCidr: "0.0.0.0/0", Target: "InternetGateway"}},
		Tags:   Tags{"Name": "legacy-public"}})
	require.Equal(t, nats, inv.NatGateways)
	require.Equal(t, addresses, inv.Addresses)
	require.Equal(t, tables, inv.RouteTables)
	require.Equal(t, []Endpoint{{ID: "S3Endpoint", VpcID: "Vpc", ServiceName: "com.amazonaws.us-east-1.s3", Type: "Gateway",
		RouteTableIDs: []string{"PrivateRouteTableA", "PrivateRouteTableB", "PrivateRouteTableC"}, Tags: Tags{}}}, inv.Endpoints)
	require.Equal(t, []FlowLog{{ID: "VpcFlowLog", ResourceID: "Vpc", TrafficType: "REJECT", DestinationType: "s3",
		Destination: "FlowLogBucket.Arn", Tags: Tags{}}}, inv.FlowLogs)
}

func lower(s string) string { return string(rune(s[0]) + 'a' - 'A') }

func TestFromTemplateLegacySecurityGroups(t *testing.T) {
	inv := readLegacy(t)
	allOut := []Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0"}}
	clusterTags := func(name string) Tags { return Tags{"Name": name, "kubernetes.io/cluster/legacy": "owned"} }
	require.Equal(t, []SecurityGroup{
		{ID: "MastersSecurityGroup", Name: "legacy-masters", Description: "Kubernetes masters", VpcID: "Vpc",
			Ingress: []Rule{
				{Protocol: "tcp", FromPort: 6443, ToPort: 6443, CidrIPv4: "10.60.0.0/16"},
				{Protocol: "tcp", FromPort: 2379, ToPort: 2380, ReferencedGroupID: "MastersSecurityGroup"},
			}, Egress: allOut, Tags: clusterTags("legacy-masters")},
		{ID: "NodesSecurityGroup", Name: "legacy-nodes", Description: "Kubernetes nodes", VpcID: "Vpc",
			Ingress: []Rule{
				{Protocol: "tcp", FromPort: 22, ToPort: 22, CidrIPv4: "203.0.113.0/24", Description: "office SSH"},
				{Protocol: "tcp", FromPort: 10250, ToPort: 10250, ReferencedGroupID: "MastersSecurityGroup"},
				{Protocol: "-1", FromPort: -1, ToPort: -1, ReferencedGroupID: "NodesSecurityGroup"},
			}, Egress: allOut, Tags: clusterTags("legacy-nodes")},
	}, inv.SecurityGroups)
}

func TestFromTemplateLegacyLaunchTemplatesAndGroups(t *testing.T) {
	inv := readLegacy(t)
	lts := map[string]LaunchTemplate{}
	for _, lt := range inv.LaunchTemplates {
		lts[lt.ID] = lt
	}
	require.Len(t, lts, 3)
	master := lts["MasterLaunchTemplate"]
	require.Equal(t, "legacy-master", master.Name)
	require.Equal(t, Tags{"kubernetes.io/cluster/legacy": "owned"}, master.Tags)
	require.Equal(t, "m6i.xlarge", master.Data.InstanceType)
	require.Equal(t, "ami-0a1b2c3d4e5f60718", master.Data.ImageID)
	require.Equal(t, []string{"MastersSecurityGroup"}, master.Data.SecurityGroupIDs)
	require.Equal(t, "required", master.Data.HTTPTokens)
	require.Equal(t, int32(2), master.Data.HTTPHopLimit)
	require.Equal(t, []BlockDevice{
		{DeviceName: "/dev/xvda", VolumeType: "gp3", SizeGiB: 50, Encrypted: true},
		{DeviceName: "/dev/xvdf", VolumeType: "gp3", SizeGiB: 100, Iops: 3000, Throughput: 125, Encrypted: true},
	}, master.Data.BlockDevices)
	// Fn::Sub filled the parameters and kept ${!HOSTNAME} as the shell's.
	require.Contains(t, master.Data.UserData, "--cluster legacy --region us-east-1 --node \"${HOSTNAME}\"\n")

	general, gpu := lts["GeneralLaunchTemplate"], lts["GpuLaunchTemplate"]
	require.Equal(t, "m6i.2xlarge", general.Data.InstanceType)
	require.Equal(t, "NodeInstanceProfile", general.Data.IamInstanceProfile)
	require.Contains(t, general.Data.UserData, "\nKUBELET_EXTRA_ARGS=--cloud-provider=external --node-labels=node-role/general=true\n")
	require.Equal(t, "g5.xlarge", gpu.Data.InstanceType)
	require.Contains(t, gpu.Data.UserData, "--node-labels=workload=gpu --register-with-taints=nvidia.com/gpu=present:NoSchedule\n")
	require.Equal(t, "#!/bin/bash\n", gpu.Data.UserData[:12], "user data is decoded text")

	groups := map[string]AutoScalingGroup{}
	for _, g := range inv.AutoScalingGroups {
		groups[g.ARN] = g
	}
	require.Len(t, groups, 5)
	for i, z := range []string{"A", "B", "C"} {
		name := "legacy-master-us-east-1" + string(rune('a'+i))
		require.Equal(t, AutoScalingGroup{Name: name, ARN: "MasterGroup" + z, MinSize: 1, MaxSize: 1, DesiredCapacity: 1,
			LaunchTemplate:  &LaunchTemplateRef{ID: "MasterLaunchTemplate", Version: "MasterLaunchTemplate.LatestVersionNumber"},
			SubnetIDs:       []string{"PrivateSubnet" + z},
			TargetGroupARNs: []string{"ApiTargetGroup"},
			Tags:            Tags{"Name": name, "kubernetes.io/cluster/legacy": "owned", "k8s.io/role/master": "1"},
		}, groups["MasterGroup"+z])
	}
	private := []string{"PrivateSubnetA", "PrivateSubnetB", "PrivateSubnetC"}
	require.Equal(t, AutoScalingGroup{Name: "legacy-nodes-general", ARN: "GeneralGroup", MinSize: 2, MaxSize: 20, DesiredCapacity: 3,
		LaunchTemplate: &LaunchTemplateRef{ID: "GeneralLaunchTemplate", Version: "GeneralLaunchTemplate.LatestVersionNumber"},
		SubnetIDs:      private,
		Tags: Tags{"Name": "legacy-nodes-general", "kubernetes.io/cluster/legacy": "owned",
			"k8s.io/cluster-autoscaler/enabled": "true", "k8s.io/cluster-autoscaler/legacy": "owned",
			"k8s.io/cluster-autoscaler/node-template/label/node-role/general": "true"},
	}, groups["GeneralGroup"])
	require.Equal(t, AutoScalingGroup{Name: "legacy-nodes-gpu", ARN: "GpuGroup", MinSize: 0, MaxSize: 4, DesiredCapacity: 0,
		MixedInstances: &MixedInstances{
			LaunchTemplate: LaunchTemplateRef{ID: "GpuLaunchTemplate", Version: "GpuLaunchTemplate.LatestVersionNumber"},
			InstanceTypes:  []string{"g5.xlarge", "g5.2xlarge"}, OnDemandBaseCapacity: 0, OnDemandPercentageAboveBaseCapacity: 0,
			SpotAllocationStrategy: "price-capacity-optimized"},
		SubnetIDs: private,
		Tags: Tags{"Name": "legacy-nodes-gpu", "kubernetes.io/cluster/legacy": "owned",
			"k8s.io/cluster-autoscaler/enabled": "true", "k8s.io/cluster-autoscaler/legacy": "owned",
			"k8s.io/cluster-autoscaler/node-template/label/workload":       "gpu",
			"k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu": "present:NoSchedule"},
	}, groups["GpuGroup"])
}

func TestFromTemplateLegacyLoadBalancerAndUnread(t *testing.T) {
	inv := readLegacy(t)
	require.Equal(t, []LoadBalancer{{ARN: "ApiLoadBalancer", Name: "legacy-api", Type: "network", Scheme: "internal", VpcID: "Vpc",
		SubnetIDs: []string{"PrivateSubnetA", "PrivateSubnetB", "PrivateSubnetC"},
		Listeners: []Listener{{ARN: "ApiListener", Port: 6443, Protocol: "TCP", TargetGroupARNs: []string{"ApiTargetGroup"}}},
		Tags:      Tags{"kubernetes.io/cluster/legacy": "owned"}}}, inv.LoadBalancers)
	require.Equal(t, []TargetGroup{{ARN: "ApiTargetGroup", Name: "legacy-api", Protocol: "TCP", Port: 6443, VpcID: "Vpc",
		TargetType: "instance", HealthCheckProtocol: "TCP", Tags: Tags{"kubernetes.io/cluster/legacy": "owned"}}}, inv.TargetGroups)
	require.Equal(t, []Ref{
		{Type: "AWS::S3::Bucket", ID: "FlowLogBucket"},
		{Type: "AWS::IAM::InstanceProfile", ID: "NodeInstanceProfile"},
		{Type: "AWS::IAM::Role", ID: "NodeRole"},
	}, inv.Unread)
}

// The same template in JSON (long-form functions, as CloudFormation's
// own JSON) reads the same, and parameters given replace Defaults.
func TestFromTemplateJSONReadsLikeYAML(t *testing.T) {
	data, err := os.ReadFile(legacyFixture)
	require.NoError(t, err)
	doc, err := parseTemplate(data)
	require.NoError(t, err)
	js, err := json.MarshalIndent(doc, "", "\t")
	require.NoError(t, err)
	require.NotContains(t, string(js), "!Ref")

	fromYAML := readLegacy(t)
	fromJSON, problems, err := FromTemplate(js, "us-east-1", nil)
	require.NoError(t, err)
	require.Empty(t, problems)
	require.Equal(t, fromYAML, fromJSON)

	other, problems, err := FromTemplate(data, "us-east-1", map[string]string{"ClusterName": "old", "OfficeCidr": "198.51.100.0/24"})
	require.NoError(t, err)
	require.Empty(t, problems)
	require.Equal(t, "old-vpc", other.VPCs[0].Tags["Name"])
	require.Equal(t, "owned", other.VPCs[0].Tags["kubernetes.io/cluster/old"])
	require.Equal(t, "198.51.100.0/24", other.SecurityGroups[1].Ingress[0].CidrIPv4)
}

package importer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/importer"
	"github.com/kinfra-dev/kinfra/internal/inventory"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/review/findings"
	"github.com/kinfra-dev/kinfra/review/plan"
	"github.com/kinfra-dev/kinfra/spec"
)

var zones = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

// legacy is a hand-grown cluster laid out as kinfra carves 10.60.0.0/16:
// private /19s from the bottom, public /22s from the top, a NAT gateway per
// zone, an S3 endpoint, masters in three groups and two pools.
func legacy() *inventory.Inventory {
	owned := inventory.Tags{"kubernetes.io/cluster/legacy": "owned"}
	inv := &inventory.Inventory{Region: "us-east-1",
		VPCs:             []inventory.VPC{{ID: "vpc-00000000000000012", Cidr: "10.60.0.0/16", EnableDNSSupport: true, EnableDNSHostnames: true, Tags: owned}},
		InternetGateways: []inventory.InternetGateway{{ID: "igw-00000000000000004", VpcIDs: []string{"vpc-00000000000000012"}}},
	}
	public := inventory.RouteTable{ID: "rtb-0000000000000000a", VpcID: "vpc-00000000000000012",
		Routes: []inventory.Route{{DestinationCidr: "10.60.0.0/16", Target: "local"}, {DestinationCidr: "0.0.0.0/0", Target: "igw-00000000000000004"}}}
	inv.RouteTables = append(inv.RouteTables, inventory.RouteTable{ID: "rtb-0000000000000000c", VpcID: "vpc-00000000000000012", Main: true,
		Routes: []inventory.Route{{DestinationCidr: "10.60.0.0/16", Target: "local"}}})
	privCidr := []string{"10.60.0.0/19", "10.60.32.0/19", "10.60.64.0/19"}
	pubCidr := []string{"10.60.252.0/22", "10.60.248.0/22", "10.60.244.0/22"}
	var privIDs []string
	for i, z := range zones {
		l := string(rune('a' + i))
		priv, pub := "subnet-000000000000000e"+l, "subnet-0000000000000010"+l
		privIDs = append(privIDs, priv)
		inv.Subnets = append(inv.Subnets,
			inventory.Subnet{ID: priv, VpcID: "vpc-00000000000000012", AvailabilityZone: z, Cidr: privCidr[i], Tags: owned},
			inventory.Subnet{ID: pub, VpcID: "vpc-00000000000000012", AvailabilityZone: z, Cidr: pubCidr[i], MapPublicIPOnLaunch: true, Tags: owned})
		public.SubnetIDs = append(public.SubnetIDs, pub)
		nat := "nat-0000000000000008" + l
		inv.NatGateways = append(inv.NatGateways, inventory.NatGateway{ID: nat, VpcID: "vpc-00000000000000012", SubnetID: pub, AllocationID: "eipalloc-0000000000000002" + l, ConnectivityType: "public", State: "available"})
		inv.Addresses = append(inv.Addresses, inventory.Address{AllocationID: "eipalloc-0000000000000002" + l, PublicIP: "198.51.100." + l})
		inv.RouteTables = append(inv.RouteTables, inventory.RouteTable{ID: "rtb-000000000000000b" + l, VpcID: "vpc-00000000000000012", SubnetIDs: []string{priv},
			Routes: []inventory.Route{{DestinationCidr: "10.60.0.0/16", Target: "local"}, {DestinationCidr: "0.0.0.0/0", Target: nat}}})
		inv.AutoScalingGroups = append(inv.AutoScalingGroups, inventory.AutoScalingGroup{Name: "legacy-master-" + z, MinSize: 1, MaxSize: 1, DesiredCapacity: 1,
			LaunchTemplate: &inventory.LaunchTemplateRef{ID: "lt-00000000000000006", Version: "$Latest"}, SubnetIDs: []string{priv},
			Tags: inventory.Tags{"k8s.io/role/master": "1", "kubernetes.io/cluster/legacy": "owned"}})
	}
	inv.RouteTables = append(inv.RouteTables, public)
	inv.Endpoints = []inventory.Endpoint{{ID: "vpce-00000000000000013", VpcID: "vpc-00000000000000012", ServiceName: "com.amazonaws.us-east-1.s3", Type: "Gateway"}}
	inv.SecurityGroups = []inventory.SecurityGroup{{ID: "sg-0000000000000000d", Name: "legacy-nodes", VpcID: "vpc-00000000000000012",
		Ingress: []inventory.Rule{{Protocol: "tcp", FromPort: 22, ToPort: 22, CidrIPv4: "203.0.113.0/24"}}}}
	inv.LaunchTemplates = []inventory.LaunchTemplate{
		{ID: "lt-00000000000000006", Name: "legacy-master", Data: inventory.LaunchTemplateData{InstanceType: "m6i.xlarge", ImageID: "ami-00000000000000001",
			BlockDevices: []inventory.BlockDevice{{DeviceName: "/dev/sda1", VolumeType: "gp3", SizeGiB: 50}, {DeviceName: "/dev/xvdf", VolumeType: "gp3", SizeGiB: 100}}}},
		{ID: "lt-00000000000000007", Name: "legacy-general", Data: inventory.LaunchTemplateData{InstanceType: "m6i.2xlarge",
			UserData: "#!/bin/bash\n/etc/eks/bootstrap.sh --kubelet-extra-args '--node-labels=node-role/general=true --max-pods=110'\n"}},
		{ID: "lt-00000000000000005", Name: "legacy-gpu", Data: inventory.LaunchTemplateData{InstanceType: "g5.xlarge",
			UserData: "KUBELET_EXTRA_ARGS=\"--node-labels=workload=gpu --register-with-taints=nvidia.com/gpu=present:NoSchedule\"\n"}},
	}
	inv.AutoScalingGroups = append(inv.AutoScalingGroups,
		inventory.AutoScalingGroup{Name: "legacy-general", MinSize: 2, MaxSize: 20, DesiredCapacity: 3, SubnetIDs: privIDs,
			LaunchTemplate: &inventory.LaunchTemplateRef{ID: "lt-00000000000000007"},
			Tags:           inventory.Tags{"k8s.io/cluster-autoscaler/enabled": "true", "k8s.io/cluster-autoscaler/node-template/label/node-role/general": "true"}},
		inventory.AutoScalingGroup{Name: "legacy-gpu", MinSize: 0, MaxSize: 4, SubnetIDs: privIDs[:2],
			MixedInstances: &inventory.MixedInstances{LaunchTemplate: inventory.LaunchTemplateRef{ID: "lt-00000000000000005"}, InstanceTypes: []string{"g5.xlarge", "g5.2xlarge"}},
			Tags:           inventory.Tags{"k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu": "present:NoSchedule"}},
	)
	inv.LoadBalancers = []inventory.LoadBalancer{{ARN: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/legacy-api/0123", Name: "legacy-api", Type: "network", Scheme: "internal"}}
	inv.Unread = []inventory.Ref{{Type: "AWS::IAM::Role", ID: "legacy-node-role"}}
	return inv
}

// planOf plans the stack file the result renders, as `kinfra plan` would.
func planOf(t *testing.T, r *importer.Result) (*plan.Plan, string) {
	t.Helper()
	text, err := r.StackFile("a test inventory")
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "Pulumi."+r.Name+".yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	sf, err := stackfile.Load(path)
	require.NoError(t, err)
	p, err := plan.Run(sf)
	require.NoError(t, err, "the imported stack file does not plan:\n%s", text)
	require.Empty(t, findings.Errors(p.Findings), "error findings:\n%s", text)
	return p, text
}

func TestAKinfraLayoutIsImportedByIDAndPlans(t *testing.T) {
	r, err := importer.Build(legacy(), importer.Options{Region: "us-east-1"})
	require.NoError(t, err)
	require.Equal(t, "legacy", r.Name)
	require.Equal(t, importer.ModeImport, r.Mode)
	p, text := planOf(t, r)

	imports := map[string]string{}
	for _, res := range p.Resources {
		if res.Options.Import != "" {
			imports[res.Type+" "+res.Name] = res.Options.Import
		}
	}
	want := map[string]string{
		"aws:ec2/vpc:Vpc legacy-network-vpc":                                                   "vpc-00000000000000012",
		"aws:ec2/internetGateway:InternetGateway legacy-network-igw":                           "igw-00000000000000004",
		"aws:ec2/routeTable:RouteTable legacy-network-public":                                  "rtb-0000000000000000a",
		"aws:ec2/vpcEndpoint:VpcEndpoint legacy-network-s3":                                    "vpce-00000000000000013",
		"aws:ec2/route:Route legacy-network-public-default":                                    "rtb-0000000000000000a_0.0.0.0/0",
		"aws:ec2/routeTableAssociation:RouteTableAssociation legacy-network-public-us-east-1a": "subnet-0000000000000010a/rtb-0000000000000000a",
	}
	for i, z := range zones {
		l := string(rune('a' + i))
		want["aws:ec2/subnet:Subnet legacy-network-private-"+z] = "subnet-000000000000000e" + l
		want["aws:ec2/subnet:Subnet legacy-network-public-"+z] = "subnet-0000000000000010" + l
		want["aws:ec2/routeTable:RouteTable legacy-network-private-"+z] = "rtb-000000000000000b" + l
		want["aws:ec2/natGateway:NatGateway legacy-network-nat-"+z] = "nat-0000000000000008" + l
		want["aws:ec2/eip:Eip legacy-network-nat-"+z] = "eipalloc-0000000000000002" + l
		want["aws:ec2/route:Route legacy-network-private-"+z+"-default"] = "rtb-000000000000000b" + l + "_0.0.0.0/0"
		want["aws:ec2/routeTableAssociation:RouteTableAssociation legacy-network-private-"+z] = "subnet-000000000000000e" + l + "/rtb-000000000000000b" + l
	}
	for k, id := range want {
		require.Equal(t, id, imports[k], "%s\n%s", k, text)
	}
	// Every imported ID came from the inventory: none invented.
	require.Len(t, imports, len(want)+2, "imports: %v", imports) // the other two public associations

	c := p.Config
	require.Equal(t, spec.NATPerAZ, c.Network.NatGateways)
	require.Equal(t, zones, c.Network.AvailabilityZones)
	require.Equal(t, 3, c.Masters.Count)
	require.Equal(t, "m6i.xlarge", c.Masters.InstanceType)
	require.Equal(t, 100, c.Masters.EtcdVolume.SizeGiB)
	require.Equal(t, 50, c.Masters.RootVolume.SizeGiB)
	require.Len(t, c.NodePools, 2)
	general, gpu := c.NodePools[0], c.NodePools[1]
	require.Equal(t, "general", general.Name)
	require.Equal(t, []string{"m6i.2xlarge"}, general.InstanceTypes)
	require.Equal(t, 2, general.MinSize)
	require.Equal(t, 20, general.MaxSize)
	require.Equal(t, 110, general.MaxPods)
	require.Equal(t, map[string]string{"node-role/general": "true"}, general.Labels)
	require.Equal(t, "gpu", gpu.Name)
	require.Equal(t, []string{"us-east-1a", "us-east-1b"}, gpu.Zones)
	require.Equal(t, []string{"g5.xlarge", "g5.2xlarge"}, gpu.InstanceTypes)
	require.True(t, gpu.UsesSpot())
	require.Equal(t, map[string]string{"workload": "gpu"}, gpu.Labels)
	require.Equal(t, []spec.Taint{{Key: "nvidia.com/gpu", Value: "present", Effect: "NoSchedule"}}, gpu.Taints)
}

func TestEverythingNotExpressedIsReportedByID(t *testing.T) {
	r, err := importer.Build(legacy(), importer.Options{Region: "us-east-1"})
	require.NoError(t, err)
	got := map[string]string{}
	for _, it := range r.Unexpressed {
		got[it.ID] = it.Kind
	}
	for id, kind := range map[string]string{
		"sg-0000000000000000d":                  "security group",
		"legacy-node-role":                      "AWS::IAM::Role",
		"legacy-master-us-east-1a":              "Auto Scaling group",
		"legacy-general":                        "Auto Scaling group",
		"lt-00000000000000005":                  "launch template",
		"rtb-0000000000000000c":                 "",
		"eipalloc-00000000000000002003":         "",
		r.Imports["cluster.network.import.vpc"]: "",
	} {
		if kind == "" {
			require.NotContains(t, got, id, "%s is imported or AWS's own; it is not reported", id)
			continue
		}
		require.Equal(t, kind, got[id], id)
	}
	require.Contains(t, got, "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/legacy-api/0123")
	sg := r.Unexpressed[indexOf(r.Unexpressed, "sg-0000000000000000d")]
	require.Contains(t, sg.Why, "tcp/22 from 203.0.113.0/24")
	text, err := r.StackFile("vpc-00000000000000012")
	require.NoError(t, err)
	for _, it := range r.Unexpressed {
		require.Contains(t, text, "#   "+it.Kind+" "+it.ID+": ", "the stack file's header lists every item")
	}
}

func indexOf(items []importer.Item, id string) int {
	for i, it := range items {
		if it.ID == id {
			return i
		}
	}
	return -1
}

// Each way a network differs from kinfra's layout makes the import adopt
// the VPC instead, says why, and still plans.
func TestANetworkNotInKinfrasLayoutIsAdoptedAndSaysWhy(t *testing.T) {
	cases := []struct {
		name   string
		change func(*inventory.Inventory)
		why    string
	}{
		{"a /20 private subnet", func(inv *inventory.Inventory) { inv.Subnets[2].Cidr = "10.60.32.0/20" },
			"the private subnet of us-east-1b is 10.60.32.0/20 where kinfra would carve 10.60.32.0/19"},
		{"public subnets from the bottom", func(inv *inventory.Inventory) { inv.Subnets[1].Cidr = "10.60.96.0/22" },
			"the public subnet of us-east-1a is 10.60.96.0/22 where kinfra would carve 10.60.252.0/22"},
		{"a shared private table", func(inv *inventory.Inventory) {
			inv.RouteTables[1].SubnetIDs = append(inv.RouteTables[1].SubnetIDs, "subnet-000000000000000eb")
			inv.RouteTables[2].SubnetIDs = nil
		}, "zones us-east-1a and us-east-1b share route table rtb-000000000000000ba"},
		{"a zone routed through another zone's NAT", func(inv *inventory.Inventory) {
			inv.RouteTables[2].Routes[1].Target = "nat-0000000000000008a"
		}, "the private route table of us-east-1b does not route to the NAT gateway of its own zone"},
		{"IPv6", func(inv *inventory.Inventory) { inv.VPCs[0].Ipv6Cidrs = []string{"2600:1f18::/56"} },
			"it has IPv6 blocks"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inv := legacy()
			c.change(inv)
			r, err := importer.Build(inv, importer.Options{Region: "us-east-1"})
			require.NoError(t, err)
			require.Equal(t, importer.ModeAdopt, r.Mode)
			require.Contains(t, strings.Join(r.Notes, "\n"), c.why)
			p, _ := planOf(t, r)
			require.Equal(t, "vpc-00000000000000012", p.Config.Network.Existing.VpcId)
			for _, res := range p.Resources {
				require.Empty(t, res.Options.Import, "an adopted network imports nothing: %s", res.Name)
			}
		})
	}
}

func TestTheClusterNameComesFromTheTagsOrMustBeGiven(t *testing.T) {
	inv := legacy()
	inv.Subnets[0].Tags = inventory.Tags{"kubernetes.io/cluster/other": "shared"}
	_, err := importer.Build(inv, importer.Options{Region: "us-east-1"})
	require.EqualError(t, err, "the resources are tagged for 2 clusters (legacy, other); give the one to import with --name")
	r, err := importer.Build(inv, importer.Options{Region: "us-east-1", Name: "legacy"})
	require.NoError(t, err)
	require.Equal(t, "legacy", r.Name)

	bare := legacy()
	bare.VPCs[0].Tags, bare.AutoScalingGroups = nil, nil
	for i := range bare.Subnets {
		bare.Subnets[i].Tags = nil
	}
	_, err = importer.Build(bare, importer.Options{Region: "us-east-1"})
	require.ErrorContains(t, err, "give it with --name")
}

func TestATemplateIsDescribedWithoutImportIDs(t *testing.T) {
	inv := legacy()
	inv.FromTemplate = true
	r, err := importer.Build(inv, importer.Options{Region: "us-east-1"})
	require.NoError(t, err)
	require.Equal(t, importer.ModeCreate, r.Mode)
	require.Empty(t, r.Imports)
	p, _ := planOf(t, r)
	for _, res := range p.Resources {
		require.Empty(t, res.Options.Import, res.Name)
	}

	inv.Subnets[0].Cidr = "10.60.0.0/20"
	_, err = importer.Build(inv, importer.Options{Region: "us-east-1"})
	require.ErrorContains(t, err, "import from the deployed stack with --cloudformation-stack")
}

// A group scaled to nothing is a pool of at most one node, and the import
// says so.
func TestAGroupOfMaximumZeroIsNotedNotSilentlyResized(t *testing.T) {
	inv := legacy()
	for i := range inv.AutoScalingGroups {
		if inv.AutoScalingGroups[i].Name == "legacy-gpu" {
			inv.AutoScalingGroups[i].MaxSize = 0
		}
	}
	r, err := importer.Build(inv, importer.Options{Region: "us-east-1"})
	require.NoError(t, err)
	require.Contains(t, strings.Join(r.Notes, "\n"), "node pool gpu: group legacy-gpu has a maximum size of 0; the pool's maxSize is 1")
	p, _ := planOf(t, r)
	require.Equal(t, 1, p.Config.NodePools[1].MaxSize)
}

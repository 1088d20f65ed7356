package spec_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/validate"
	"github.com/kinfra-dev/kinfra/spec"
)

// valid is a small, valid cluster each case breaks in one way.
func valid() spec.Cluster {
	return spec.Cluster{
		Name:   "prod-use1",
		Region: "us-east-1",
		Network: spec.Network{
			VpcCidr:           "10.0.0.0/16",
			AvailabilityZones: []string{"us-east-1a", "us-east-1b", "us-east-1c"},
		},
		Masters:   spec.Masters{Count: 3},
		NodePools: []spec.NodePool{{Name: "general", MinSize: 3, MaxSize: 100}},
	}
}

func messages(t *testing.T, c spec.Cluster) []string {
	t.Helper()
	_, err := spec.Resolve(c)
	if err == nil {
		return nil
	}
	errs, ok := err.(validate.Errors)
	require.True(t, ok, "Resolve returns validate.Errors, got %T", err)
	return errs.Messages()
}

func TestValidClusterResolves(t *testing.T) {
	eff, err := spec.Resolve(valid())
	require.NoError(t, err)
	require.Equal(t, spec.NATPerAZ, eff.Network.NatGateways)
	require.Equal(t, 19, eff.Network.PrivateSubnetPrefixLength)
	require.Equal(t, 22, eff.Network.PublicSubnetPrefixLength)
	require.Equal(t, []string{"s3"}, eff.Network.GatewayEndpoints)
	require.True(t, eff.Network.FlowLogs.On())
	require.Equal(t, 365, eff.Network.FlowLogs.RetentionDays)
	require.Equal(t, spec.DefaultPodCidr, eff.Kubernetes.PodCidr)
}

func TestEachBadInputHasItsExactMessage(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(c *spec.Cluster)
		want   string
	}{
		{"missing name", func(c *spec.Cluster) { c.Name = "" },
			"cluster.name: required; a DNS label such as prod-use1 that names the cluster's resources"},
		{"name not a DNS label", func(c *spec.Cluster) { c.Name = "Prod_1" },
			`cluster.name: "Prod_1" is not allowed; use a DNS label of at most 26 lowercase letters, digits and '-', starting with a letter (AWS names derived from it must fit their limits)`},
		{"missing region", func(c *spec.Cluster) { c.Region = ""; c.Network.AvailabilityZones = nil },
			"aws:region: required; set it with `pulumi config set aws:region us-east-1` (every stack is one region)"},
		{"reserved tag", func(c *spec.Cluster) { c.Tags = map[string]string{"aws:team": "x"} },
			`cluster.tags["aws:team"]: tag keys starting with "aws:" are reserved by AWS`},
		{"kinfra tag overridden", func(c *spec.Cluster) { c.Tags = map[string]string{"Name": "x"} },
			`cluster.tags["Name"]: "Name" is set by kinfra on every resource; choose another key`},
		{"vpc cidr with host bits", func(c *spec.Cluster) { c.Network.VpcCidr = "10.0.1.0/16" },
			"cluster.network.vpcCidr: 10.0.1.0/16 has host bits set; did you mean 10.0.0.0/16?"},
		{"vpc cidr too large", func(c *spec.Cluster) { c.Network.VpcCidr = "10.0.0.0/8" },
			"cluster.network.vpcCidr: 10.0.0.0/8 is not allowed; use an IPv4 block from /16 to /24 (AWS allows no larger VPC block, and a smaller one leaves no room for per-zone subnets)"},
		{"vpc cidr garbage", func(c *spec.Cluster) { c.Network.VpcCidr = "10.0.0/16" },
			`cluster.network.vpcCidr: "10.0.0/16" is not a CIDR block (want e.g. 10.0.0.0/16)`},
		{"too many zones", func(c *spec.Cluster) { c.Network.AvailabilityZones = nil; c.Network.AzCount = 7 },
			"cluster.network.azCount: 7 is not allowed; use 1 to 6 zones (3 or more survive the loss of a zone)"},
		{"zone of another region", func(c *spec.Cluster) { c.Network.AvailabilityZones[2] = "us-west-2c" },
			`cluster.network.availabilityZones[2]: "us-west-2c" is not an availability zone of us-east-1; its zones are us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1e and us-east-1f (Local and Wavelength Zones are not supported)`},
		{"zone listed twice", func(c *spec.Cluster) { c.Network.AvailabilityZones[2] = "us-east-1a" },
			`cluster.network.availabilityZones[2]: "us-east-1a" is listed twice; each zone holds one private and one public subnet`},
		{"azCount disagrees with zones", func(c *spec.Cluster) { c.Network.AzCount = 2 },
			"cluster.network.azCount: 2 does not match the 3 zones listed in availabilityZones; set one or make them agree"},
		{"unknown NAT mode", func(c *spec.Cluster) { c.Network.NatGateways = "perZone" },
			`cluster.network.natGateways: "perZone" is not allowed; use perAz (a NAT gateway per zone), single (one, cheaper, a single-zone dependency) or none (egress through VPC endpoints only)`},
		{"no NAT for a control plane", func(c *spec.Cluster) {
			c.Network.NatGateways = spec.NATNone
			c.Network.InterfaceEndpoints = []string{"autoscaling", "ec2", "ecr.api", "ecr.dkr", "elasticloadbalancing", "kms", "ssm", "sts"}
		}, "cluster.network.natGateways: none leaves the masters no route to the Route53 API, which has no VPC endpoint: each master points its etcd-<slot> record at itself at boot. Use single or perAz (bulk traffic still takes the VPC endpoints)"},
		{"subnet bigger than VPC", func(c *spec.Cluster) { c.Network.PrivateSubnetPrefixLength = 16 },
			"cluster.network.privateSubnetPrefixLength: /16 is not allowed; a subnet must be smaller than the /16 VPC and no smaller than /28 (AWS's minimum)"},
		{"subnets do not fit", func(c *spec.Cluster) { c.Network.PrivateSubnetPrefixLength = 17 },
			"cluster.network.vpcCidr: 3 private /17 and 3 public /22 subnets need 101376 addresses, more than the 65536 of 10.0.0.0/16; use fewer zones or smaller subnets (AWS's largest VPC block is a /16)"},
		{"unknown interface endpoint", func(c *spec.Cluster) { c.Network.InterfaceEndpoints = []string{"ecr"} },
			`cluster.network.interfaceEndpoints[0]: "ecr" is not a known service; use one of autoscaling, ebs, ec2, ec2messages, ecr.api, ecr.dkr, elasticfilesystem, elasticloadbalancing, events, kms, logs, monitoring, secretsmanager, sqs, ssm, ssmmessages, sts or xray`},
		{"duplicate gateway endpoint", func(c *spec.Cluster) { c.Network.GatewayEndpoints = []string{"s3", "s3"} },
			`cluster.network.gatewayEndpoints[1]: "s3" is listed twice`},
		{"flow log retention", func(c *spec.Cluster) { c.Network.FlowLogs.RetentionDays = 100 },
			"cluster.network.flowLogs.retentionDays: 100 is not a retention CloudWatch Logs accepts; use 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653"},
		{"flow logs to s3 without bucket", func(c *spec.Cluster) { c.Network.FlowLogs.Destination = "s3" },
			`cluster.network.flowLogs.s3BucketArn: "" is not an S3 bucket ARN (arn:aws:s3:::<bucket>[/prefix]); destination s3 writes to an existing bucket`},
		{"flow log aggregation", func(c *spec.Cluster) { c.Network.FlowLogs.MaxAggregationIntervalSeconds = 300 },
			"cluster.network.flowLogs.maxAggregationIntervalSeconds: 300 is not allowed; AWS accepts 60 or 600"},
		{"pod cidr overlaps vpc", func(c *spec.Cluster) { c.Kubernetes.PodCidr = "10.0.0.0/12" },
			"cluster.kubernetes.podCidr: 10.0.0.0/12 overlaps cluster.network.vpcCidr 10.0.0.0/16; pods, Services and the VPC need disjoint blocks or traffic is misrouted"},
		{"service cidr overlaps pods", func(c *spec.Cluster) { c.Kubernetes.ServiceCidr = "10.128.0.0/16" },
			"cluster.kubernetes.serviceCidr: 10.128.0.0/16 overlaps cluster.kubernetes.podCidr 10.128.0.0/12; pods, Services and the VPC need disjoint blocks or traffic is misrouted"},
		{"service cidr too small for Services", func(c *spec.Cluster) { c.Kubernetes.ServiceCidr = "172.20.0.0/18"; c.Kubernetes.MaxServices = 20000 },
			"cluster.kubernetes.serviceCidr: 172.20.0.0/18 holds 16382 Service IPs, fewer than maxServices 20000; use a /17 or larger"},
		{"service cidr larger than apiserver allows", func(c *spec.Cluster) { c.Kubernetes.ServiceCidr = "10.160.0.0/11" },
			"cluster.kubernetes.serviceCidr: 10.160.0.0/11 is not allowed; use an IPv4 block from /12 (kube-apiserver's largest) to /24"},
		{"node mask too far from pod block", func(c *spec.Cluster) { c.Kubernetes.PodCidr = "100.64.0.0/10"; c.Kubernetes.NodeCidrMaskSize = 28 },
			"cluster.kubernetes.nodeCidrMaskSize: 28 is not allowed with podCidr 100.64.0.0/10; use /11 to /26 (smaller than the pod block, at most 16 bits smaller as kube-controller-manager requires, and at least 16 addresses)"},
		{"even master count", func(c *spec.Cluster) { c.Masters.Count = 4 },
			"cluster.masters.count: 4 is even; etcd needs an odd member count (1, 3, 5, 7) to keep quorum"},
		{"too many masters", func(c *spec.Cluster) { c.Masters.Count = 9 },
			"cluster.masters.count: 9 is not allowed; use 1, 3, 5 or 7 (etcd members; more than 7 slows every write)"},
		{"master majority in one zone", func(c *spec.Cluster) { c.Network.AvailabilityZones = c.Network.AvailabilityZones[:2] },
			"cluster.masters.count: 3 masters over 2 zones puts 2 in us-east-1a, a majority; losing that zone loses etcd quorum. Use at least 3 zones"},
		{"duplicate node pool", func(c *spec.Cluster) { c.NodePools = append(c.NodePools, spec.NodePool{Name: "general", MaxSize: 1}) },
			`cluster.nodePools[1].name: "general" is used by another node pool; names must be unique`},
		{"node pool min above max", func(c *spec.Cluster) { c.NodePools[0].MinSize = 200 },
			"cluster.nodePools[0].minSize: 200 is not allowed; use 0 to maxSize (100)"},
		{"pod cidr too small for nodes", func(c *spec.Cluster) { c.Kubernetes.PodCidr = "10.128.0.0/18" },
			"cluster.kubernetes.podCidr: 10.128.0.0/18 holds 64 node blocks of /24, but the cluster can run 103 nodes (3 masters + node pool maxSize); use a /17 or larger pod block, or a nodeCidrMaskSize of /25 (smaller node blocks)"},
		{"private subnets too small for nodes", func(c *spec.Cluster) {
			c.Network.PrivateSubnetPrefixLength = 26
			c.NodePools[0].MaxSize = 120
		}, "cluster.network.privateSubnetPrefixLength: private subnet 10.0.0.0/26 holds 59 addresses, but its zone needs 62: 61 nodes (its masters, and each pool's maxSize spread over the pool's zones left after one zone fails) and 1 endpoint and load balancer interfaces; use a /25 or larger"},
		{"import needs pinned zones", func(c *spec.Cluster) {
			c.Network.AvailabilityZones = nil
			c.Network.Import = &spec.NetworkImport{PrivateSubnets: map[string]string{"us-east-1a": "subnet-0123456789abcdef0"}}
		}, `cluster.network.import.privateSubnets["us-east-1a"]: zone-keyed imports need the zones pinned; set cluster.network.availabilityZones`},
		{"import id of the wrong kind", func(c *spec.Cluster) { c.Network.Import = &spec.NetworkImport{Vpc: "subnet-0123456789abcdef0"} },
			`cluster.network.import.vpc: "subnet-0123456789abcdef0" is not a VPC ID (vpc- and 8 or 17 hex digits)`},
		{"import id with a nine-digit suffix", func(c *spec.Cluster) { c.Network.Import = &spec.NetworkImport{InternetGateway: "igw-0123456789"} },
			`cluster.network.import.internetGateway: "igw-0123456789" is not an internet gateway ID (igw- and 8 or 17 hex digits)`},
		{"zone-keyed import id of the wrong kind", func(c *spec.Cluster) {
			c.Network.Import = &spec.NetworkImport{PrivateSubnets: map[string]string{"us-east-1a": "subnet-0123"}}
		}, `cluster.network.import.privateSubnets["us-east-1a"]: "subnet-0123" is not a subnet ID (subnet- and 8 or 17 hex digits)`},
		{"import of an endpoint the stack does not create", func(c *spec.Cluster) {
			c.Network.Import = &spec.NetworkImport{Endpoints: map[string]string{"dynamodb": "vpce-0123456789abcdef0"}}
		}, `cluster.network.import.endpoints["dynamodb"]: "dynamodb" is not an endpoint this stack creates; import only services of gatewayEndpoints or interfaceEndpoints (s3)`},
		{"import of an endpoint with an ID of the wrong kind", func(c *spec.Cluster) {
			c.Network.Import = &spec.NetworkImport{Endpoints: map[string]string{"s3": "vpc-0123456789abcdef0"}}
		}, `cluster.network.import.endpoints["s3"]: "vpc-0123456789abcdef0" is not a VPC endpoint ID (vpce- and 8 or 17 hex digits)`},
		{"kubernetes version malformed", func(c *spec.Cluster) { c.Kubernetes.Version = "1.37" },
			`cluster.kubernetes.version: "1.37" is not a Kubernetes version; use vMAJOR.MINOR.PATCH such as v1.37.2`},
		{"kubernetes version kubeadm cannot install", func(c *spec.Cluster) { c.Kubernetes.Version = "v1.34.1" },
			"cluster.kubernetes.version: v1.34.1 is not supported; kinfra's kubeadm (v1.37) installs v1.36.x and v1.37.x"},
		{"private domain not a DNS name", func(c *spec.Cluster) { c.PrivateDomain = "Prod_Zone" },
			`cluster.privateDomain: "Prod_Zone" is not a DNS name; use lowercase labels joined by dots, at most 200 characters (e.g. prod-use1.k8s.internal)`},
		{"instance type", func(c *spec.Cluster) { c.Masters.InstanceType = "large" },
			`cluster.masters.instanceType: "large" is not an EC2 instance type (e.g. m7i.2xlarge)`},
		{"ami id", func(c *spec.Cluster) { c.Masters.Image = spec.Image{ID: "ami-123"} },
			`cluster.masters.image.id: "ami-123" is not an AMI ID (ami- and 8 or 17 hex digits)`},
		{"ami id and lookup", func(c *spec.Cluster) {
			c.Masters.Image = spec.Image{ID: "ami-0123456789abcdef0", Owners: []string{"self"}}
		},
			"cluster.masters.image: id and a lookup (owners, name, tags) are both set; give one: the ID wins silently otherwise"},
		{"image owner", func(c *spec.Cluster) { c.Masters.Image.Owners = []string{"me"} },
			`cluster.masters.image.owners[0]: "me" is not an image owner; use self, amazon, aws-marketplace or a 12-digit account ID`},
		{"etcd volume type", func(c *spec.Cluster) { c.Masters.EtcdVolume.Type = "gp2" },
			`cluster.masters.etcdVolume.type: "gp2" is not allowed; use gp3, io1 or io2 (etcd needs consistent latency: no gp2, st1 or sc1)`},
		{"etcd volume too small", func(c *spec.Cluster) { c.Masters.EtcdVolume.SizeGiB = 4 },
			"cluster.masters.etcdVolume.sizeGiB: 4 is not allowed; use 20 to 16384 GiB"},
		{"ipv6 api access", func(c *spec.Cluster) { c.API.AccessCidrs = []string{"2001:db8::/32"} },
			"cluster.api.accessCidrs[0]: 2001:db8::/32 is an IPv6 block, but the API load balancer listens on IPv4 only; list IPv4 blocks"},
		{"io2 without iops", func(c *spec.Cluster) { c.Masters.EtcdVolume = spec.Volume{Type: "io2", SizeGiB: 64} },
			"cluster.masters.etcdVolume.iops: 0 is not allowed for io2; use 100 to 64000 (required: provisioned IOPS is what io2 is for)"},
		{"io1 iops beyond its size", func(c *spec.Cluster) { c.Masters.EtcdVolume = spec.Volume{Type: "io1", SizeGiB: 64, Iops: 5000} },
			"cluster.masters.etcdVolume.iops: 5000 is more than io1 allows for 64 GiB (50 IOPS per GiB); use at most 3200 or a larger volume"},
		{"gp3 throughput beyond its iops", func(c *spec.Cluster) { c.Masters.EtcdVolume.ThroughputMiBps = 1000 },
			"cluster.masters.etcdVolume.throughputMiBps: 1000 needs at least 4000 IOPS on gp3 (0.25 MiB/s per IOPS); raise iops"},
		{"roll is gone", func(c *spec.Cluster) { one := 1; c.Masters.Roll = &one },
			"cluster.masters.roll: 1: the key is gone; remove it. Every master slot's launch template now follows the stack, `pulumi up` replaces no master, and `kinfra roll --stack <stack>` replaces them one slot at a time once each is healthy (README, 'Upgrading a cluster')"},
		{"api scheme", func(c *spec.Cluster) { c.API.Scheme = "public" },
			`cluster.api.scheme: "public" is not allowed; use internal or internet-facing`},
		{"internal api open to all", func(c *spec.Cluster) { c.API.AccessCidrs = []string{"0.0.0.0/0"} },
			"cluster.api.accessCidrs[0]: 0.0.0.0/0 admits every address, but the load balancer is internal; list the VPC, peered or on-premises blocks that need the API"},
		{"public record on an internal api", func(c *spec.Cluster) {
			c.API.PublicZoneId, c.API.PublicName = "Z0123456789ABC", "api.example.com"
		}, "cluster.api.publicZoneId: a public record needs an internet-facing API; set scheme: internet-facing or remove publicZoneId and publicName"},
		{"cni provider", func(c *spec.Cluster) { c.CNI.Provider = "flannel" },
			`cluster.cni.provider: "flannel" is not allowed; use cilium or calico`},
		{"calico geneve", func(c *spec.Cluster) { c.CNI = spec.CNI{Provider: "calico", Tunnel: "geneve"} },
			"cluster.cni.tunnel: geneve is not available with calico; use vxlan"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.break_(&c)
			require.Equal(t, []string{tc.want}, messages(t, c))
		})
	}
}

func TestANetworkWithoutNATNeedsTheEndpointsNodesUse(t *testing.T) {
	n := spec.Network{AvailabilityZones: []string{"us-east-1a", "us-east-1b", "us-east-1c"}, NatGateways: spec.NATNone,
		InterfaceEndpoints: []string{"ecr.api", "ecr.dkr", "sts", "ssm", "kms"}}.WithDefaults()
	require.Equal(t, []string{"cluster.network.natGateways: none leaves nodes without a route to AWS APIs; add the endpoints autoscaling, ec2 and elasticloadbalancing (image pulls, bootstrap and the cloud integration need them) or use a NAT gateway"},
		n.Validate("cluster.network", "us-east-1").Messages())
}

// A component checks the sections it builds from, not the whole cluster:
// spec.Resolve has checked that once. Each section validator reports its
// own sections' mistakes and none of another's.
func TestEachComponentsValidatorChecksItsOwnSections(t *testing.T) {
	eff, err := spec.Resolve(valid())
	require.NoError(t, err)
	broken := eff
	broken.Masters.Count = 4
	broken.NodePools = append([]spec.NodePool{}, eff.NodePools...)
	broken.NodePools[0].MaxSize = 0
	broken.Images.Versions.Containerd = "latest"
	broken.Addons.Endpoint = "http://insecure"
	paths := func(errs validate.Errors) []string {
		var out []string
		for _, e := range errs {
			out = append(out, e.Path)
		}
		return out
	}
	require.Equal(t, []string{"cluster.masters.count"}, paths(broken.ValidateControlPlane()))
	require.Equal(t, []string{"cluster.images.versions.containerd"}, paths(broken.ValidateImages()))
	all := paths(broken.Validate())
	for _, p := range []string{"cluster.masters.count", "cluster.images.versions.containerd", "cluster.addons.endpoint", "cluster.nodePools[0].maxSize"} {
		require.Contains(t, all, p, "the whole cluster's check has every section's")
	}
	// What every component names resources by is checked by each.
	broken = eff
	broken.Name = ""
	for _, errs := range []validate.Errors{broken.ValidateControlPlane(), broken.ValidateImages()} {
		require.Contains(t, paths(errs), "cluster.name")
	}
}

package spec_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/validate"
	"github.com/kinfra-dev/kinfra/spec"
)

func TestDecodeReportsEveryUnknownKeyAndBadTypeWithPaths(t *testing.T) {
	_, err := spec.Decode([]byte(`{
		"name": "prod",
		"netwrk": {},
		"network": {"natGateway": "single", "azCount": "3", "ipv6": "yes"},
		"masters": {"count": 3.5},
		"nodePools": [{"name": "a", "maxSize": 3, "size": 2}]
	}`))
	require.Error(t, err)
	require.Equal(t, []string{
		`cluster.masters.count: 3.5 is not a whole number`,
		`cluster.network.azCount: "3" is not a whole number`,
		`cluster.network.ipv6: "yes" is not true or false`,
		`cluster.network.natGateway: unknown field (did you mean "natGateways"?); cluster.network takes availabilityZones, azCount, existing, flowLogs, gatewayEndpoints, import, interfaceEndpoints, ipv6, natGateways, privateSubnetPrefixLength, publicSubnetPrefixLength or vpcCidr`,
		`cluster.netwrk: unknown field (did you mean "network"?); cluster takes addons, alarms, api, backup, cni, images, joinTokens, kubeProxy, kubernetes, masters, name, network, nodePools, privateDomain, region or tags`,
		`cluster.nodePools[0].size: unknown field; cluster.nodePools[0] takes autoscaler, capacityRebalance, desiredSize, drainTimeoutSeconds, evictionHard, image, instanceRefresh, instanceTypes, kubeReserved, labels, maxPods, maxSize, minSize, name, onDemandBase, onDemandPercentageAboveBase, rootVolume, spotAllocationStrategy, systemReserved, taints or zones`,
	}, sortedMessages(err))
}

func sortedMessages(err error) []string {
	msgs := err.(validate.Errors).Messages()
	// Decode walks keys in order per object; compare as a set.
	out := append([]string{}, msgs...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestLoadTakesRegionFromStackAndRejectsAConflict(t *testing.T) {
	c, err := spec.Load([]byte(`{"name":"prod"}`), "eu-west-1")
	require.NoError(t, err)
	require.Equal(t, "eu-west-1", c.Region)

	_, err = spec.Load([]byte(`{"name":"prod","region":"us-east-1"}`), "eu-west-1")
	require.EqualError(t, err, `cluster.region: "us-east-1" differs from aws:region "eu-west-1"; remove it (the stack's aws:region is the region)`)

	// cluster.region never stands in for aws:region: the provider deploys to aws:region.
	_, err = spec.Load([]byte(`{"name":"prod","region":"us-east-1"}`), "")
	require.EqualError(t, err, "aws:region: required; set it with `pulumi config set aws:region us-east-1` (every stack is one region)")
}

func TestSmallVPCsGetSubnetDefaultsAWSAccepts(t *testing.T) {
	c := valid()
	c.Network.VpcCidr = "10.0.0.0/24"
	c.NodePools[0].MaxSize = 10
	eff, err := spec.Resolve(c)
	require.NoError(t, err)
	require.Equal(t, 27, eff.Network.PrivateSubnetPrefixLength)
	require.Equal(t, 28, eff.Network.PublicSubnetPrefixLength, "never smaller than AWS's /28")
}

func TestEveryProblemIsReportedInOneRun(t *testing.T) {
	c := valid()
	c.Name = ""
	c.Network.VpcCidr = "10.0.0.0/8"
	c.Network.NatGateways = "some"
	c.Kubernetes.ServiceCidr = "172.20.0.0/30"
	c.Masters.Count = 2
	c.NodePools[0].MaxSize = 0
	msgs := messages(t, c)
	require.Len(t, msgs, 7, strings.Join(msgs, "\n"))
	for _, field := range []string{"cluster.name", "cluster.network.vpcCidr", "cluster.network.natGateways", "cluster.kubernetes.serviceCidr", "cluster.masters.count", "cluster.nodePools[0].maxSize", "cluster.nodePools[0].minSize"} {
		require.True(t, hasPrefix(msgs, field+": "), "no error for %s in\n%s", field, strings.Join(msgs, "\n"))
	}
}

func hasPrefix(msgs []string, p string) bool {
	for _, m := range msgs {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return false
}

func adopted() spec.Cluster {
	c := valid()
	c.Network = spec.Network{
		VpcCidr: "10.9.0.0/16",
		Existing: &spec.ExistingNetwork{
			VpcId: "vpc-0a1b2c3d4e5f67890",
			PrivateSubnets: []spec.ExistingSubnet{
				{ID: "subnet-00000000000000001", AvailabilityZone: "us-east-1a", Cidr: "10.9.0.0/20"},
				{ID: "subnet-00000000000000002", AvailabilityZone: "us-east-1b", Cidr: "10.9.16.0/20"},
				{ID: "subnet-00000000000000003", AvailabilityZone: "us-east-1c", Cidr: "10.9.32.0/20"},
			},
			PublicSubnets: []spec.ExistingSubnet{
				{ID: "subnet-00000000000000004", AvailabilityZone: "us-east-1a", Cidr: "10.9.240.0/24"},
			},
		},
	}
	return c
}

func TestAdoptedNetworkDefaultsFromItsSubnets(t *testing.T) {
	eff, err := spec.Resolve(adopted())
	require.NoError(t, err)
	require.Equal(t, []string{"us-east-1a", "us-east-1b", "us-east-1c"}, eff.Network.AvailabilityZones)
	require.Equal(t, 3, eff.Network.AzCount)
	require.Empty(t, eff.Network.NatGateways, "NAT is not kinfra's to decide in an adopted VPC")
	require.Empty(t, eff.Network.GatewayEndpoints, "gateway endpoints need route tables kinfra does not own")
}

func TestAdoptedNetworkErrors(t *testing.T) {
	c := adopted()
	c.Network.NatGateways = "single"
	c.Network.GatewayEndpoints = []string{"s3"}
	ex := c.Network.Existing
	ex.PrivateSubnets[1].Cidr = "10.10.0.0/20"
	ex.PrivateSubnets[2].Cidr = "10.9.8.0/21"
	ex.PublicSubnets[0].AvailabilityZone = "us-east-1d"
	require.Equal(t, []string{
		"cluster.network.natGateways: not used when adopting an existing VPC (cluster.network.existing); remove it",
		"cluster.network.existing.privateSubnets[1].cidr: 10.10.0.0/20 is not inside the VPC block 10.9.0.0/16",
		"cluster.network.existing.privateSubnets[2].cidr: 10.9.8.0/21 overlaps 10.9.0.0/20 (cluster.network.existing.privateSubnets[0].cidr)",
		`cluster.network.existing.publicSubnets[0].availabilityZone: "us-east-1d" has no private subnet; public subnets must be in the zones of the private subnets`,
		"cluster.network.existing.routeTableIds: required for gatewayEndpoints s3: gateway endpoints are attached to route tables, and kinfra does not own the adopted VPC's",
	}, messages(t, c))
}

func TestAdoptedSubnetsAreSizedForTheirNodes(t *testing.T) {
	c := adopted()
	c.NodePools[0].MaxSize = 9000
	c.Kubernetes.PodCidr = "100.64.0.0/10" // room for the pods; only the subnets are short
	require.Equal(t, []string{
		"cluster.network.existing.privateSubnets[0].cidr: private subnet 10.9.0.0/20 holds 4091 addresses, but its zone needs 4502: 4501 nodes (its masters, and each pool's maxSize spread over the pool's zones left after one zone fails) and 1 endpoint and load balancer interfaces; use a /19 or larger",
		"cluster.network.existing.privateSubnets[1].cidr: private subnet 10.9.16.0/20 holds 4091 addresses, but its zone needs 4502: 4501 nodes (its masters, and each pool's maxSize spread over the pool's zones left after one zone fails) and 1 endpoint and load balancer interfaces; use a /19 or larger",
		"cluster.network.existing.privateSubnets[2].cidr: private subnet 10.9.32.0/20 holds 4091 addresses, but its zone needs 4502: 4501 nodes (its masters, and each pool's maxSize spread over the pool's zones left after one zone fails) and 1 endpoint and load balancer interfaces; use a /19 or larger",
	}, messages(t, c))
}

func loadMessages(t *testing.T, in string) []string {
	t.Helper()
	_, err := spec.Load([]byte(in), "us-east-1")
	require.Error(t, err)
	return err.(validate.Errors).Messages()
}

// A misspelt key no longer hides the rest: unknown keys, wrong types and
// validation problems come in one list, sorted by path, and checks of a
// value the decoder could not read (or of the field a typo was meant for)
// are left out rather than judging a default.
func TestUnknownKeysAndTypeErrorsComeWithEveryValidationProblem(t *testing.T) {
	require.Equal(t, []string{
		`cluster.masters.count: 4 is even; etcd needs an odd member count (1, 3, 5, 7) to keep quorum`,
		`cluster.network.natGateway: unknown field (did you mean "natGateways"?); cluster.network takes availabilityZones, azCount, existing, flowLogs, gatewayEndpoints, import, interfaceEndpoints, ipv6, natGateways, privateSubnetPrefixLength, publicSubnetPrefixLength or vpcCidr`,
		`cluster.network.vpcCidr: 10.0.0.0/8 is not allowed; use an IPv4 block from /16 to /24 (AWS allows no larger VPC block, and a smaller one leaves no room for per-zone subnets)`,
		`cluster.nodePools[0].maxsize: unknown field (did you mean "maxSize"?); cluster.nodePools[0] takes autoscaler, capacityRebalance, desiredSize, drainTimeoutSeconds, evictionHard, image, instanceRefresh, instanceTypes, kubeReserved, labels, maxPods, maxSize, minSize, name, onDemandBase, onDemandPercentageAboveBase, rootVolume, spotAllocationStrategy, systemReserved, taints or zones`,
		`cluster.nodePools[1].maxSize: "10" is not a whole number`,
		`cluster.nodePools[1].name: "Batch" is not allowed; use a DNS label of lowercase letters, digits and '-', starting with a letter`,
		`cluster.nodePools[10].name: required; a DNS label such as general or gpu`,
		`cluster.tags["aws:x"]: tag keys starting with "aws:" are reserved by AWS`,
	}, loadMessages(t, `{
		"name": "prod",
		"tags": {"aws:x": "y"},
		"network": {"vpcCidr": "10.0.0.0/8", "natGateway": "single"},
		"masters": {"count": 4},
		"nodePools": [
			{"name": "general", "maxsize": 10, "minSize": 3},
			{"name": "Batch", "maxSize": "10", "minSize": 3},
			{"name": "p2", "maxSize": 1}, {"name": "p3", "maxSize": 1}, {"name": "p4", "maxSize": 1},
			{"name": "p5", "maxSize": 1}, {"name": "p6", "maxSize": 1}, {"name": "p7", "maxSize": 1},
			{"name": "p8", "maxSize": 1}, {"name": "p9", "maxSize": 1}, {"maxSize": 1}
		]
	}`))
}

// Fields of embedded structs (an add-on's enabled and version) are keys of
// their object, as encoding/json promotes them.
func TestAddOnEnabledAndVersionAreKnownKeys(t *testing.T) {
	c, err := spec.Load([]byte(`{"name":"prod","addons":{"clusterAutoscaler":{"enabled":false,"version":"9.46.0"},"ebsCsiDriver":{"enabled":false}}}`), "us-east-1")
	require.NoError(t, err)
	require.False(t, c.Addons.ClusterAutoscaler.On())
	require.Equal(t, "9.46.0", c.Addons.ClusterAutoscaler.Version)
	require.False(t, c.Addons.EBSCSIDriver.On())
	require.Equal(t, []string{
		`cluster.addons.ebsCsiDriver.enable: unknown field (did you mean "enabled"?); cluster.addons.ebsCsiDriver takes enabled, storageClass or version`,
	}, loadMessages(t, `{"name":"prod","addons":{"ebsCsiDriver":{"enable":false}}}`))
}

// What the parser and the number reader find is said in the stack's terms:
// where the text goes wrong, the value, and what is allowed.
func TestUnreadableValuesAreDescribedWithoutParserWords(t *testing.T) {
	for in, want := range map[string]string{
		``:                          `kinfra:cluster: empty; give the cluster's settings as an object (docs/config.md)`,
		`prod`:                      `kinfra:cluster: "prod" is not an object; give the cluster's settings as a YAML mapping under kinfra:cluster (docs/config.md)`,
		`{"name": "prod", "masters`: `kinfra:cluster: the value ends after 25 characters, before it is complete (near "…e\": \"prod\", \"masters"); give one whole object`,
		`{"name": "prod",}`:         `kinfra:cluster: is not valid JSON at character 17 (near "{\"name\": \"prod\",}"); give the cluster's settings as one object`,
		`{"name": "prod"} x`:        `kinfra:cluster: has more text after the object, at character 18 (near "{\"name\": \"prod\"} x"); give one object`,
		`3`:                         `cluster: 3 is not an object; cluster takes addons, alarms, api, backup, cni, images, joinTokens, kubeProxy, kubernetes, masters, name, network, nodePools, privateDomain, region or tags`,
		`{"name":"prod","masters":{"count":99999999999}}`:                        `cluster.masters.count: 99999999999 is too large; use 1, 3, 5 or 7`,
		`{"name":"prod","masters":{"count":-1e400}}`:                             `cluster.masters.count: -1e400 is too small; use 1, 3, 5 or 7`,
		`{"name":"prod","kubernetes":{"maxServices":1e10}}`:                      `cluster.kubernetes.maxServices: 1e10 is too large; use a whole number from -2147483648 to 2147483647`,
		`{"name":"prod","masters":{"count":2.5}}`:                                `cluster.masters.count: 2.5 is not a whole number`,
		`{"name":"prod","nodePools":[null]}`:                                     `cluster.nodePools[0]: null is not allowed in a list; remove the entry`,
		`{"name":"prod","tags":{"team":null}}`:                                   `cluster.tags["team"]: null is not allowed; give a value ("" for an empty one) or remove the key`,
		`{"name":"prod","masters":{"instanceType":["m7i.large"]}}`:               `cluster.masters.instanceType: a list is not a string`,
		`{"name":"prod","masters":{"count":"` + strings.Repeat("3", 300) + `"}}`: `cluster.masters.count: "` + strings.Repeat("3", 256) + `…" is not a whole number`,
	} {
		require.Equal(t, []string{want}, loadMessages(t, in), in)
	}
	// Whole numbers however written: 1.0, 1e0 and 3e0 are 1 and 3.
	c, err := spec.Load([]byte(`{"name":"prod","masters":{"count":1.0},"nodePools":[{"name":"a","maxSize":3e0}]}`), "us-east-1")
	require.NoError(t, err)
	require.Equal(t, 1, c.Masters.Count)
	require.Equal(t, 3, c.NodePools[0].MaxSize)
}

// Only checks that could judge the unreadable value are left out: its
// siblings that name it and messages that name its path, not every message
// that happens to contain a common word such as "name".
func TestAnUnreadableValueHidesOnlyTheChecksThatReadIt(t *testing.T) {
	require.Equal(t, []string{
		`cluster.name: 3 is not a string; quote it`,
		`cluster.nodePools[0].instanceTypes[0]: "m7i" is not an EC2 instance type but a family; add a size: m7i has large, xlarge, 2xlarge, 4xlarge, 8xlarge, 12xlarge, 16xlarge, 24xlarge, 48xlarge, metal-24xl and metal-48xl`,
		`cluster.privateDomain: "Prod" is not a DNS name; use lowercase labels joined by dots, at most 200 characters (e.g. prod-use1.k8s.internal)`,
	}, loadMessages(t, `{"name": 3, "privateDomain": "Prod", "nodePools": [{"name": "general", "maxSize": 3, "instanceTypes": ["m7i"]}]}`))
}

// Lists in messages read as lists, not as Go prints a slice.
func TestListsInMessagesAreWrittenOut(t *testing.T) {
	c := adopted()
	c.Network.AvailabilityZones = []string{"us-east-1a", "us-east-1c"}
	require.Equal(t, []string{
		"cluster.network.availabilityZones: us-east-1a, us-east-1c does not match the zones of existing.privateSubnets (us-east-1a, us-east-1b, us-east-1c); remove it (zones come from the adopted subnets)",
	}, messages(t, c))
}

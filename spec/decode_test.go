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
		`cluster.netwrk: unknown field (did you mean "network"?); cluster takes addons, alarms, api, backup, cni, images, kubeProxy, kubernetes, masters, name, network, nodePools, privateDomain, region or tags`,
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
		"cluster.network.existing.routeTableIds: required for gatewayEndpoints [s3]: gateway endpoints are attached to route tables, and kinfra does not own the adopted VPC's",
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

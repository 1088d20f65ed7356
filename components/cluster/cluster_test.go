package cluster_test

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/components/cluster"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/spec"
)

func TestClusterComposesTheNetworkFromTheSpec(t *testing.T) {
	m := mockaws.New("eu-west-1")
	var eff spec.Cluster
	err := m.Run("kinfra", "eu-west-1", nil, func(ctx *pulumi.Context) error {
		c, err := cluster.New(ctx, "prod", spec.Cluster{Name: "prod", Region: "eu-west-1", Tags: map[string]string{"team": "x"},
			Network: spec.Network{AvailabilityZones: []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}}}, testPKI(t))
		if err != nil {
			return err
		}
		eff = c.Spec
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, spec.NATPerAZ, eff.Network.NatGateways, "the component keeps the effective spec")
	root, ok := m.Named("kinfra:cluster:Cluster", "prod")
	require.True(t, ok)
	net, ok := m.Named("kinfra:network:Network", "prod-network")
	require.True(t, ok)
	require.Equal(t, root.URN, net.Parent)
	vpc, _ := m.Named("aws:ec2/vpc:Vpc", "prod-network-vpc")
	require.Equal(t, "x", vpc.Inputs["tags"].(map[string]any)["team"], "cluster tags reach the network")
	require.Equal(t, "prod", vpc.Inputs["tags"].(map[string]any)["kinfra.dev/cluster"])
	cp, ok := m.Named("kinfra:masters:ControlPlane", "prod-masters")
	require.True(t, ok)
	require.Equal(t, root.URN, cp.Parent)
	// The control plane sits in the network the cluster built.
	zone, _ := m.Named("aws:route53/zone:Zone", "prod-masters-zone")
	require.Equal(t, vpc.ID, zone.Inputs["vpcs"].([]any)[0].(map[string]any)["vpcId"])
}

func TestAnInvalidSpecRegistersNothing(t *testing.T) {
	m := mockaws.New("eu-west-1")
	err := m.Run("kinfra", "eu-west-1", nil, func(ctx *pulumi.Context) error {
		bad := testPKI(t)
		broken := *bad
		broken.BootstrapToken = "nope"
		_, err := cluster.New(ctx, "prod", spec.Cluster{Name: "prod", Region: "eu-west-1", Masters: spec.Masters{Count: 4}}, &broken)
		return err
	})
	require.ErrorContains(t, err, "cluster.masters.count: 4 is even; etcd needs an odd member count (1, 3, 5, 7) to keep quorum")
	require.ErrorContains(t, err, "kinfra:pki.bootstrapToken: is not a kubeadm token", "spec and PKI problems are reported together")
	require.Empty(t, m.Resources())
}

func testPKI(t *testing.T) *pki.Bundle {
	b, err := pki.Generate("prod")
	require.NoError(t, err)
	return b
}

func TestClusterWiresImagesMastersAndPools(t *testing.T) {
	m := mockaws.New("eu-west-1")
	err := m.Run("kinfra", "eu-west-1", nil, func(ctx *pulumi.Context) error {
		_, err := cluster.New(ctx, "prod", spec.Cluster{Name: "prod", Region: "eu-west-1",
			Network:   spec.Network{AvailabilityZones: []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}},
			NodePools: []spec.NodePool{{Name: "general", MinSize: 1, MaxSize: 10}, {Name: "gpu", MaxSize: 2, Image: spec.Image{ID: "ami-0123456789abcdef0"}}},
		}, testPKI(t))
		return err
	})
	require.NoError(t, err)
	lt := func(name string) mockaws.Resource {
		r, ok := m.Named("aws:ec2/launchTemplate:LaunchTemplate", name)
		require.True(t, ok, name)
		return r
	}
	for _, role := range []string{"master", "node"} {
		_, ok := m.Named("aws:imagebuilder/image:Image", "prod-images-"+role)
		require.True(t, ok, "the %s image is built in the stack", role)
	}
	require.NotEqual(t, lt("prod-masters-master-0").Inputs["imageId"], lt("prod-pool-general").Inputs["imageId"], "masters and nodes run their own images")
	require.Equal(t, "ami-0123456789abcdef0", lt("prod-pool-gpu").Inputs["imageId"], "a pool's own AMI wins")
	require.Len(t, m.ByType("aws:sqs/queue:Queue"), 1, "one termination queue for the cluster")
	pool, _ := m.Named("aws:autoscaling/group:Group", "prod-pool-general")
	master, _ := m.Named("aws:autoscaling/group:Group", "prod-masters-master-0")
	require.Contains(t, pool.Options.Dependencies, master.URN, "nodes launch once the API answers")
}

// The cluster's outputs are one list: the component registers it and the
// program exports it. It holds every key the stacks built on a cluster read
// (the workers and add-ons examples), and only the conditional keys of what
// the cluster has.
func TestOutputsHoldWhatOtherStacksRead(t *testing.T) {
	m := mockaws.New("eu-west-1")
	var keys []string
	err := m.Run("kinfra", "eu-west-1", nil, func(ctx *pulumi.Context) error {
		c, err := cluster.New(ctx, "prod", spec.Cluster{Name: "prod", Region: "eu-west-1",
			Network:   spec.Network{AvailabilityZones: []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}},
			NodePools: []spec.NodePool{{Name: "general", MaxSize: 10}},
		}, testPKI(t))
		if err != nil {
			return err
		}
		for k := range c.Outputs() {
			keys = append(keys, k)
		}
		return nil
	})
	require.NoError(t, err)
	// Read by components/workers' and components/addons' examples of a
	// stack built on a cluster's outputs.
	for _, k := range []string{"clusterName", "region", "apiName", "caCertHash", "parameterPrefix", "joinPolicyArn",
		"nodeSecurityGroupId", "vpcId", "availabilityZones", "privateSubnetIds", "terminationQueueArn",
		"terminationQueueUrl", "terminationRoleArn", "kubernetes", "cni", "kubeProxyMode", "masterRoleNames",
		"serviceAccountIssuer", "oidcProviderArn"} {
		require.Contains(t, keys, k)
	}
	// Where operators find the cluster's groups, snapshots and images.
	for _, k := range []string{"masterAutoScalingGroups", "nodePoolAutoScalingGroups", "backupBucket", "backupPrefix", "images", "addons"} {
		require.Contains(t, keys, k)
	}
}

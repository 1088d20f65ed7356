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

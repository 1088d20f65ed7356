// Package cluster composes kinfra's components into one cluster from a single
// typed spec: the one-call entry point for a stack.
package cluster

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/components/network"
	"github.com/kinfra-dev/kinfra/spec"
)

// Cluster is the kinfra:cluster:Cluster component.
type Cluster struct {
	pulumi.ResourceState

	// Spec is the effective (defaulted, validated) cluster spec.
	Spec    spec.Cluster
	Network *network.Network
}

// New validates s (applying defaults), then builds the cluster. An invalid
// spec fails with every problem listed before any resource is registered.
//
// Today it builds the network; masters, node pools, images and add-ons are
// added by their components as they land (see docs/roadmap.md).
func New(ctx *pulumi.Context, name string, s spec.Cluster, opts ...pulumi.ResourceOption) (*Cluster, error) {
	eff, err := spec.Resolve(s)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Spec: eff}
	if err := ctx.RegisterComponentResource("kinfra:cluster:Cluster", name, c, opts...); err != nil {
		return nil, err
	}
	c.Network, err = network.New(ctx, name+"-network", network.Args{
		ClusterName: eff.Name,
		Region:      eff.Region,
		Network:     eff.Network,
		Tags:        eff.Tags,
	}, pulumi.Parent(c))
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"vpcId":             c.Network.VpcID,
		"availabilityZones": pulumi.ToStringArray(c.Network.AvailabilityZones),
		"privateSubnetIds":  c.Network.PrivateSubnetIDs,
		"publicSubnetIds":   c.Network.PublicSubnetIDs,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

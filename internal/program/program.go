// Package program is the kinfra Pulumi program: read the stack's config,
// build the cluster, export what other stacks need. main.go runs it under the
// Pulumi engine; `kinfra plan` runs the very same function under mocks.
package program

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/components/cluster"
	"github.com/kinfra-dev/kinfra/internal/validate"
	"github.com/kinfra-dev/kinfra/spec"
)

// Config keys the program reads.
const (
	ClusterKey = "kinfra:cluster"
	RegionKey  = "aws:region"
)

// Run is the program body: load the spec, then deploy it.
func Run(ctx *pulumi.Context) error {
	s, err := LoadSpec(ctx)
	if err != nil {
		return err
	}
	return Deploy(ctx, s)
}

// Deploy builds the cluster of an effective spec and exports what other
// stacks need. The offline plan calls LoadSpec and Deploy itself, so that it
// runs this very code while seeing the spec it loaded.
func Deploy(ctx *pulumi.Context, s spec.Cluster) error {
	c, err := cluster.New(ctx, s.Name, s)
	if err != nil {
		return err
	}
	ctx.Export("clusterName", pulumi.String(c.Spec.Name))
	ctx.Export("region", pulumi.String(c.Spec.Region))
	ctx.Export("vpcId", c.Network.VpcID)
	ctx.Export("vpcCidr", pulumi.String(c.Network.VpcCidr))
	ctx.Export("availabilityZones", pulumi.ToStringArray(c.Network.AvailabilityZones))
	ctx.Export("privateSubnetIds", c.Network.PrivateSubnetIDs)
	ctx.Export("publicSubnetIds", c.Network.PublicSubnetIDs)
	ctx.Export("subnetIdsByZone", c.Network.SubnetIDsByZone)
	ctx.Export("privateRouteTableIds", c.Network.PrivateRouteTableIDs)
	ctx.Export("publicRouteTableId", c.Network.PublicRouteTableID)
	return nil
}

// LoadSpec reads kinfra:cluster and aws:region and returns the effective
// spec, or every configuration problem at once.
func LoadSpec(ctx *pulumi.Context) (spec.Cluster, error) {
	raw, ok := ctx.GetConfig(ClusterKey)
	if !ok {
		return spec.Cluster{}, validate.Errors{{Path: ClusterKey, Message: "required; the stack file must set kinfra:cluster (see docs/config.md)"}}
	}
	region, _ := ctx.GetConfig(RegionKey)
	return spec.Load([]byte(raw), region)
}

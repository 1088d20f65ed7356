// Command vpc-only is a consumer stack: a Pulumi program in its own Go module
// that imports kinfra's network component to build a shared VPC, and nothing
// else from kinfra. Its go.mod shows the point: the Kubernetes SDK is not a
// dependency, so this program compiles only pulumi, pulumi-aws and kinfra's
// network and spec packages.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/kinfra-dev/kinfra/components/network"
	"github.com/kinfra-dev/kinfra/spec"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		region := config.Get(ctx, "aws:region")
		if region == "" {
			region = "us-west-2"
		}

		vpc, err := network.New(ctx, "shared-vpc", network.Args{
			ClusterName: "shared",
			Region:      region,
			Network: spec.Network{
				VpcCidr:            "10.80.0.0/16",
				AzCount:            2,
				NatGateways:        spec.NATSingle,
				InterfaceEndpoints: []string{"ecr.api", "ecr.dkr", "sts"},
			},
		})
		if err != nil {
			return err
		}

		ctx.Export("vpcId", vpc.VpcID)
		ctx.Export("privateSubnetIds", vpc.PrivateSubnetIDs)
		ctx.Export("publicSubnetIds", vpc.PublicSubnetIDs)
		return nil
	})
}

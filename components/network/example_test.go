package network_test

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/components/network"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/spec"
)

// A stack that needs only a VPC builds it with network.New. Here it runs under
// kinfra's recording mock; in a real program the body is passed to pulumi.Run.
func ExampleNew() {
	m := mockaws.New("eu-west-1")
	err := m.Run("shared", "eu-west-1", nil, func(ctx *pulumi.Context) error {
		vpc, err := network.New(ctx, "shared-vpc", network.Args{
			ClusterName: "shared",
			Region:      "eu-west-1",
			Network: spec.Network{
				VpcCidr:           "10.80.0.0/16",
				AvailabilityZones: []string{"eu-west-1a", "eu-west-1b"},
				NatGateways:       spec.NATSingle,
			},
		})
		if err != nil {
			return err
		}
		ctx.Export("vpcId", vpc.VpcID)
		for _, s := range vpc.PrivateSubnets {
			fmt.Println(s.Tier, s.Zone, s.Cidr)
		}
		return nil
	})
	fmt.Println("error:", err)
	fmt.Println("NAT gateways:", len(m.ByType("aws:ec2/natGateway:NatGateway")))
	// Output:
	// private eu-west-1a 10.80.0.0/19
	// private eu-west-1b 10.80.32.0/19
	// error: <nil>
	// NAT gateways: 1
}

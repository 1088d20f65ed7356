package masters_test

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/spec"
)

// A stack can build a control plane on a network made elsewhere: it passes
// that network's IDs and the cluster's PKI bundle. Here it runs under
// kinfra's recording mock; in a real program the body is passed to pulumi.Run.
func ExampleNew() {
	c, err := spec.Resolve(spec.Cluster{
		Name: "edge", Region: "eu-west-1",
		Network: spec.Network{VpcCidr: "10.90.0.0/16", AvailabilityZones: []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}},
		Masters: spec.Masters{Count: 3},
		// The AMI is looked up by name (kinfra-master-k8s-<version>-*);
		// a stack that bakes images passes its build as Args.Image.
		Images: spec.Images{Enabled: pulumi.BoolRef(false)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	bundle, err := pki.Generate(c.Name) // in a stack: pki.Parse of the secret kinfra:pki
	if err != nil {
		fmt.Println(err)
		return
	}
	m := mockaws.New("eu-west-1")
	err = m.Run("edge", "eu-west-1", nil, func(ctx *pulumi.Context) error {
		cp, err := masters.New(ctx, "edge-masters", masters.Args{
			Cluster: c,
			Network: masters.Network{
				VpcID:            pulumi.String("vpc-0123456789abcdef0"),
				VpcCidr:          "10.90.0.0/16",
				Zones:            c.Network.AvailabilityZones,
				PrivateSubnetIDs: []pulumi.StringInput{pulumi.String("subnet-0aaaaaaaaaaaaaaa1"), pulumi.String("subnet-0aaaaaaaaaaaaaaa2"), pulumi.String("subnet-0aaaaaaaaaaaaaaa3")},
			},
			PKI: bundle,
		})
		if err != nil {
			return err
		}
		fmt.Println(cp.APIEndpoint)
		for _, s := range cp.Slots {
			fmt.Println(s.Index, s.Zone, s.Record)
		}
		return nil
	})
	fmt.Println("error:", err)
	fmt.Println("etcd volumes:", len(m.ByType("aws:ebs/volume:Volume")))
	// Output:
	// https://api.edge.k8s.internal:6443
	// 0 eu-west-1a etcd-0.edge.k8s.internal
	// 1 eu-west-1b etcd-1.edge.k8s.internal
	// 2 eu-west-1c etcd-2.edge.k8s.internal
	// error: <nil>
	// etcd volumes: 3
}

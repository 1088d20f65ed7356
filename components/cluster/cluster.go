// Package cluster composes kinfra's components into one cluster from a single
// typed spec: the one-call entry point for a stack.
package cluster

import (
	"errors"
	"fmt"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/components/network"
	"github.com/kinfra-dev/kinfra/internal/validate"
	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/spec"
)

// Cluster is the kinfra:cluster:Cluster component.
type Cluster struct {
	pulumi.ResourceState

	// Spec is the effective (defaulted, validated) cluster spec.
	Spec    spec.Cluster
	Network *network.Network
	Masters *masters.ControlPlane
}

// New validates s (applying defaults) and the PKI bundle (kinfra:pki), then
// builds the cluster. An invalid spec or bundle fails with every problem
// listed before any resource is registered.
//
// Today it builds the network and the control plane; node pools, images and
// add-ons are added by their components as they land (docs/roadmap.md).
func New(ctx *pulumi.Context, name string, s spec.Cluster, bundle *pki.Bundle, opts ...pulumi.ResourceOption) (*Cluster, error) {
	var errs validate.Errors
	eff, err := spec.Resolve(s)
	if err != nil {
		if !errors.As(err, &errs) {
			return nil, err
		}
	}
	if bundle == nil {
		errs.Addf("kinfra:pki", "required; create the cluster's PKI with `kinfra pki init`")
	} else {
		errs.Append(bundle.Check(time.Now()))
	}
	if len(errs) > 0 {
		return nil, errs
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
	c.Masters, err = masters.New(ctx, name+"-masters", masters.Args{
		Cluster: eff,
		Network: masters.FromNetwork(c.Network),
		PKI:     bundle,
	}, pulumi.Parent(c))
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"apiEndpoint":       pulumi.String(c.Masters.APIEndpoint),
		"vpcId":             c.Network.VpcID,
		"availabilityZones": pulumi.ToStringArray(c.Network.AvailabilityZones),
		"privateSubnetIds":  c.Network.PrivateSubnetIDs,
		"publicSubnetIds":   c.Network.PublicSubnetIDs,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

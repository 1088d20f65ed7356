// Package network builds a cluster's VPC topology as the component resource
// kinfra:network:Network: a VPC with a private and a public subnet per zone,
// internet and NAT egress, optional IPv6, VPC endpoints and flow logs. It can
// also adopt an existing VPC, or import one made by hand, without recreating it.
//
// It depends on pulumi-aws's ec2, iam and cloudwatch packages only, so a stack
// that needs just a VPC does not compile the Kubernetes SDK.
package network

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/tags/tagset"
	"github.com/kinfra-dev/kinfra/spec"
)

// Args shape one network. All are plain values: they decide which resources
// exist, so they must be known when the program runs.
type Args struct {
	// ClusterName is used in Kubernetes discovery tags and the kinfra.dev/cluster tag. Required.
	ClusterName string
	// Region is the AWS region the stack deploys to. Required.
	Region string
	// Network is the topology. New applies its defaults and validates it.
	Network spec.Network
	// Tags are added to every resource.
	Tags map[string]string
}

// Subnet is one subnet the network created or adopted.
type Subnet struct {
	Zone string
	Tier string // "private" or "public"
	Cidr string
	ID   pulumi.StringOutput
}

// Network is the kinfra:network:Network component.
type Network struct {
	pulumi.ResourceState

	// Spec is the effective (defaulted) topology.
	Spec spec.Network
	// AvailabilityZones in subnet order.
	AvailabilityZones []string

	VpcID   pulumi.StringOutput
	VpcCidr string
	// Ipv6CidrBlock is the VPC's Amazon-provided /56, or "" without IPv6.
	Ipv6CidrBlock pulumi.StringOutput

	// PrivateSubnets and PublicSubnets are in zone order. PublicSubnets is
	// empty when an adopted VPC declares none.
	PrivateSubnets []Subnet
	PublicSubnets  []Subnet
	// PrivateSubnetIDs and PublicSubnetIDs are the IDs in zone order.
	PrivateSubnetIDs pulumi.StringArrayOutput
	PublicSubnetIDs  pulumi.StringArrayOutput
	// SubnetIDsByZone maps tier ("private", "public") to zone to subnet ID.
	SubnetIDsByZone pulumi.StringMapMapOutput

	// PublicRouteTableID is "" for an adopted VPC.
	PublicRouteTableID pulumi.StringOutput
	// PrivateRouteTableIDs maps zone to route table; empty for an adopted VPC.
	PrivateRouteTableIDs pulumi.StringMapOutput
	// NatGatewayIDs maps zone to the NAT gateway its private subnet uses.
	NatGatewayIDs pulumi.StringMapOutput
	// EndpointSecurityGroupID guards the interface endpoints; "" without any.
	EndpointSecurityGroupID pulumi.StringOutput
}

// builder carries what every part of one network needs.
type builder struct {
	ctx    *pulumi.Context
	name   string
	args   Args
	net    spec.Network
	zones  []string
	tags   tagset.Set
	parent pulumi.ResourceOption
	out    *Network
	// im holds the IDs to import; empty when nothing is imported.
	im      *spec.NetworkImport
	vpcID   pulumi.StringInput
	v6Block pulumi.StringOutput
	// routeTables are all route tables kinfra manages, for gateway endpoints.
	routeTables pulumi.StringArray
}

// New validates args, then registers the network. Invalid args fail before
// anything is registered, with every problem listed.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Network, error) {
	net := args.Network.WithDefaults()
	var errs []string
	if args.ClusterName == "" {
		errs = append(errs, "network.ClusterName: required")
	}
	if args.Region == "" {
		errs = append(errs, "network.Region: required")
	}
	errs = append(errs, net.Validate("network", args.Region).Messages()...)
	errs = append(errs, spec.ValidateTags("network.Tags", args.Tags).Messages()...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("network %s: invalid arguments:\n  %s", name, strings.Join(errs, "\n  "))
	}

	out := &Network{Spec: net, VpcCidr: net.VpcCidr}
	if err := ctx.RegisterComponentResource("kinfra:network:Network", name, out, opts...); err != nil {
		return nil, err
	}
	b := &builder{
		ctx: ctx, name: name, args: args, net: net, out: out, im: &spec.NetworkImport{},
		parent: pulumi.Parent(out),
		tags:   tagset.Set{ClusterName: args.ClusterName, Region: args.Region, Component: "network", Extra: args.Tags},
	}
	zones, err := b.resolveZones()
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	b.zones = zones
	out.AvailabilityZones = zones
	if net.Import != nil {
		b.im = net.Import
	}
	// Outputs a mode does not produce stay empty rather than unset.
	empty := pulumi.String("").ToStringOutput()
	out.Ipv6CidrBlock, out.PublicRouteTableID, out.EndpointSecurityGroupID = empty, empty, empty
	out.PrivateRouteTableIDs = pulumi.StringMap{}.ToStringMapOutput()
	out.NatGatewayIDs = pulumi.StringMap{}.ToStringMapOutput()

	if net.Existing != nil {
		err = b.adopt()
	} else {
		err = b.create()
	}
	if err == nil {
		err = b.endpoints()
	}
	if err == nil {
		err = b.flowLogs()
	}
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	b.collectOutputs()

	if err := ctx.RegisterResourceOutputs(out, pulumi.Map{
		"vpcId":                   out.VpcID,
		"vpcCidr":                 pulumi.String(out.VpcCidr),
		"ipv6CidrBlock":           out.Ipv6CidrBlock,
		"availabilityZones":       pulumi.ToStringArray(zones),
		"privateSubnetIds":        out.PrivateSubnetIDs,
		"publicSubnetIds":         out.PublicSubnetIDs,
		"subnetIdsByZone":         out.SubnetIDsByZone,
		"publicRouteTableId":      out.PublicRouteTableID,
		"privateRouteTableIds":    out.PrivateRouteTableIDs,
		"natGatewayIds":           out.NatGatewayIDs,
		"endpointSecurityGroupId": out.EndpointSecurityGroupID,
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// resolveZones returns the configured zones, or the first azCount zones the
// region offers without opt-in (Local Zones excluded), sorted by name.
func (b *builder) resolveZones() ([]string, error) {
	if len(b.net.AvailabilityZones) > 0 {
		return b.net.AvailabilityZones, nil
	}
	res, err := aws.GetAvailabilityZones(b.ctx, &aws.GetAvailabilityZonesArgs{
		State: pulumi.StringRef("available"),
		Filters: []aws.GetAvailabilityZonesFilter{
			{Name: "opt-in-status", Values: []string{"opt-in-not-required"}},
		},
	}, pulumi.Parent(b.out))
	if err != nil {
		return nil, fmt.Errorf("looking up availability zones: %w", err)
	}
	names := slices.Clone(res.Names)
	sort.Strings(names)
	if len(names) < b.net.AzCount {
		return nil, fmt.Errorf("cluster.network.azCount: %d zones wanted, but %s offers %d (%v); lower azCount", b.net.AzCount, b.args.Region, len(names), names)
	}
	return names[:b.net.AzCount], nil
}

func (b *builder) collectOutputs() {
	out := b.out
	ids := func(subnets []Subnet) pulumi.StringArray {
		arr := pulumi.StringArray{}
		for _, s := range subnets {
			arr = append(arr, s.ID)
		}
		return arr
	}
	byZone := pulumi.StringMapMap{}
	for _, tier := range [][]Subnet{out.PrivateSubnets, out.PublicSubnets} {
		for _, s := range tier {
			if byZone[s.Tier] == nil {
				byZone[s.Tier] = pulumi.StringMap{}
			}
			byZone[s.Tier].(pulumi.StringMap)[s.Zone] = s.ID
		}
	}
	out.PrivateSubnetIDs = ids(out.PrivateSubnets).ToStringArrayOutput()
	out.PublicSubnetIDs = ids(out.PublicSubnets).ToStringArrayOutput()
	out.SubnetIDsByZone = byZone.ToStringMapMapOutput()
	out.VpcID = b.vpcID.ToStringOutput()
}

// opts returns the child options: parented to the network, and importing id
// when it is set.
func (b *builder) opts(importID string, more ...pulumi.ResourceOption) []pulumi.ResourceOption {
	o := append([]pulumi.ResourceOption{b.parent}, more...)
	if importID != "" {
		o = append(o, pulumi.Import(pulumi.ID(importID)))
	}
	return o
}

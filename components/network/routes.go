package network

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/after"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/spec"
)

// routes builds one public route table shared by the public subnets, a private
// route table per zone, and the NAT gateways natGateways asks for. Private
// route tables exist per zone in every NAT mode, so switching modes changes
// routes only, never tables or associations.
func (b *builder) routes(vpc *ec2.Vpc, igw *ec2.InternetGateway, eigw *ec2.EgressOnlyInternetGateway) error {
	name, im := b.name, b.im
	public, err := ec2.NewRouteTable(b.ctx, name+"-public", &ec2.RouteTableArgs{
		VpcId: vpc.ID(),
		Tags:  b.tags.For(name+"-public", map[string]string{tags.Tier: "public"}),
	}, b.opts(im.PublicRouteTable)...)
	if err != nil {
		return err
	}
	b.out.PublicRouteTableID = public.ID().ToStringOutput()
	b.routeTables = append(b.routeTables, public.ID())
	if err := b.route(name+"-public-default", public, im.PublicRouteTable, "0.0.0.0/0", &ec2.RouteArgs{GatewayId: igw.ID()}); err != nil {
		return err
	}
	if eigw != nil {
		if err := b.route(name+"-public-default-v6", public, im.PublicRouteTable, "::/0", &ec2.RouteArgs{GatewayId: igw.ID()}); err != nil {
			return err
		}
	}

	// NAT gateways live in public subnets; one per zone, or one in the first zone.
	nats := map[string]*ec2.NatGateway{}
	natZones := map[string][]string{spec.NATPerAZ: b.zones, spec.NATSingle: b.zones[:1]}[b.net.NatGateways]
	for _, zone := range natZones {
		nat, err := b.natGateway(zone, igw, im)
		if err != nil {
			return err
		}
		nats[zone] = nat
	}

	privateIDs, natIDs := pulumi.StringMap{}, pulumi.StringMap{}
	for i, zone := range b.zones {
		pub := b.out.PublicSubnets[i]
		if err := b.associate(fmt.Sprintf("%s-public-%s", name, zone), pub.ID, public, im.PublicSubnets[zone], im.PublicRouteTable); err != nil {
			return err
		}

		rtName := fmt.Sprintf("%s-private-%s", name, zone)
		rtImport := im.PrivateRouteTables[zone]
		rt, err := ec2.NewRouteTable(b.ctx, rtName, &ec2.RouteTableArgs{
			VpcId: vpc.ID(),
			Tags:  b.tags.For(rtName, map[string]string{tags.Tier: "private"}),
		}, b.opts(rtImport)...)
		if err != nil {
			return err
		}
		privateIDs[zone] = rt.ID()
		b.routeTables = append(b.routeTables, rt.ID())
		if err := b.associate(rtName, b.out.PrivateSubnets[i].ID, rt, im.PrivateSubnets[zone], rtImport); err != nil {
			return err
		}

		nat := nats[zone]
		if nat == nil && b.net.NatGateways == spec.NATSingle {
			nat = nats[b.zones[0]]
		}
		if nat != nil {
			natIDs[zone] = nat.ID()
			if err := b.route(rtName+"-default", rt, rtImport, "0.0.0.0/0", &ec2.RouteArgs{NatGatewayId: nat.ID()}); err != nil {
				return err
			}
		}
		if eigw != nil {
			if err := b.route(rtName+"-default-v6", rt, rtImport, "::/0", &ec2.RouteArgs{EgressOnlyGatewayId: eigw.ID()}); err != nil {
				return err
			}
		}
	}
	b.out.PrivateRouteTableIDs = privateIDs.ToStringMapOutput()
	b.out.NatGatewayIDs = natIDs.ToStringMapOutput()
	return nil
}

func (b *builder) natGateway(zone string, igw *ec2.InternetGateway, im *spec.NetworkImport) (*ec2.NatGateway, error) {
	name := fmt.Sprintf("%s-nat-%s", b.name, zone)
	eip, err := ec2.NewEip(b.ctx, name, &ec2.EipArgs{
		Domain: pulumi.String("vpc"),
		Tags:   b.tags.For(name),
	}, b.opts(im.ElasticIps[zone])...)
	if err != nil {
		return nil, err
	}
	var subnetID pulumi.StringOutput
	for _, s := range b.out.PublicSubnets {
		if s.Zone == zone {
			subnetID = s.ID
		}
	}
	// AWS needs the internet gateway attached before a public NAT gateway works.
	return ec2.NewNatGateway(b.ctx, name, &ec2.NatGatewayArgs{
		AllocationId:     eip.ID(),
		SubnetId:         subnetID,
		ConnectivityType: pulumi.String("public"),
		Tags:             b.tags.For(name),
	}, b.opts(im.NatGateways[zone], after.All(igw))...)
}

// route adds one route. When its table is imported, the route is imported too,
// by AWS's route import ID "<table>_<destination>".
func (b *builder) route(name string, table *ec2.RouteTable, tableImport, dest string, args *ec2.RouteArgs) error {
	args.RouteTableId = table.ID()
	if dest == "::/0" {
		args.DestinationIpv6CidrBlock = pulumi.String(dest)
	} else {
		args.DestinationCidrBlock = pulumi.String(dest)
	}
	importID := ""
	if tableImport != "" {
		importID = tableImport + "_" + dest
	}
	_, err := ec2.NewRoute(b.ctx, name, args, b.opts(importID)...)
	return err
}

// associate attaches a subnet to a route table. When both are imported the
// association is imported too, by "<subnet>/<table>".
func (b *builder) associate(name string, subnetID pulumi.StringOutput, table *ec2.RouteTable, subnetImport, tableImport string) error {
	importID := ""
	if subnetImport != "" && tableImport != "" {
		importID = subnetImport + "/" + tableImport
	}
	_, err := ec2.NewRouteTableAssociation(b.ctx, name, &ec2.RouteTableAssociationArgs{
		SubnetId:     subnetID,
		RouteTableId: table.ID(),
	}, b.opts(importID)...)
	return err
}

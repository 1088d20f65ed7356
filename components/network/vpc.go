package network

import (
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/cidr"
	"github.com/kinfra-dev/kinfra/internal/tags"
)

// IPv6 /64 numbers inside the VPC's /56: public subnets take 0–15 and private
// subnets 16–31, by zone position, so adding a zone never renumbers a subnet.
const (
	ipv6PublicBase  = 0
	ipv6PrivateBase = 16
)

// create builds a new VPC with per-zone subnets, gateways and routes.
func (b *builder) create() error {
	n, name := b.net, b.name
	vpc, err := ec2.NewVpc(b.ctx, name+"-vpc", &ec2.VpcArgs{
		CidrBlock: pulumi.String(n.VpcCidr),
		// Both are needed for private DNS of interface endpoints and the
		// cluster's private hosted zone.
		EnableDnsSupport:             pulumi.Bool(true),
		EnableDnsHostnames:           pulumi.Bool(true),
		AssignGeneratedIpv6CidrBlock: pulumi.Bool(n.IPv6),
		Tags:                         b.tags.For(name+"-vpc", map[string]string{tags.ClusterKey(b.args.ClusterName): "owned"}),
	}, b.opts(b.im.Vpc)...)
	if err != nil {
		return err
	}
	b.vpcID = vpc.ID().ToStringOutput()
	if n.IPv6 {
		b.v6Block = vpc.Ipv6CidrBlock
		b.out.Ipv6CidrBlock = vpc.Ipv6CidrBlock
	}

	igw, err := ec2.NewInternetGateway(b.ctx, name+"-igw", &ec2.InternetGatewayArgs{
		VpcId: vpc.ID(),
		Tags:  b.tags.For(name + "-igw"),
	}, b.opts(b.im.InternetGateway)...)
	if err != nil {
		return err
	}
	var eigw *ec2.EgressOnlyInternetGateway
	if n.IPv6 {
		eigw, err = ec2.NewEgressOnlyInternetGateway(b.ctx, name+"-eigw", &ec2.EgressOnlyInternetGatewayArgs{
			VpcId: vpc.ID(),
			Tags:  b.tags.For(name + "-eigw"),
		}, b.opts(b.im.EgressOnlyInternetGateway)...)
		if err != nil {
			return err
		}
	}

	carved, err := cidr.Carve(netip.MustParsePrefix(n.VpcCidr), len(b.zones), n.PrivateSubnetPrefixLength, n.PublicSubnetPrefixLength)
	if err != nil {
		return err // Validate has already rejected this; kept for safety
	}
	for i, zone := range b.zones {
		pub, err := b.subnet(vpc, "public", zone, carved.Public[i], ipv6PublicBase+i)
		if err != nil {
			return err
		}
		priv, err := b.subnet(vpc, "private", zone, carved.Private[i], ipv6PrivateBase+i)
		if err != nil {
			return err
		}
		b.out.PublicSubnets = append(b.out.PublicSubnets, pub)
		b.out.PrivateSubnets = append(b.out.PrivateSubnets, priv)
	}
	return b.routes(vpc, igw, eigw)
}

// subnet creates one zone's subnet of a tier, tagged for Kubernetes load
// balancer discovery.
func (b *builder) subnet(vpc *ec2.Vpc, tier, zone string, block netip.Prefix, v6num int) (Subnet, error) {
	name := fmt.Sprintf("%s-%s-%s", b.name, tier, zone)
	role := map[string]string{"public": "kubernetes.io/role/elb", "private": "kubernetes.io/role/internal-elb"}[tier]
	args := &ec2.SubnetArgs{
		VpcId:            vpc.ID(),
		AvailabilityZone: pulumi.String(zone),
		CidrBlock:        pulumi.String(block.String()),
		// No public IPs even in public subnets: only NAT gateways and load
		// balancers live there, and they get their own addresses.
		MapPublicIpOnLaunch: pulumi.Bool(false),
		Tags: b.tags.For(name, map[string]string{
			role:                                "1",
			tags.ClusterKey(b.args.ClusterName): "owned",
			tags.Tier:                           tier,
		}),
	}
	if b.net.IPv6 {
		args.Ipv6CidrBlock = b.v6Block.ApplyT(func(block string) (string, error) {
			return cidr.IPv6Subnet(block, v6num)
		}).(pulumi.StringOutput)
		args.AssignIpv6AddressOnCreation = pulumi.Bool(true)
	}
	importID := b.im.PrivateSubnets[zone]
	if tier == "public" {
		importID = b.im.PublicSubnets[zone]
	}
	s, err := ec2.NewSubnet(b.ctx, name, args, b.opts(importID)...)
	if err != nil {
		return Subnet{}, err
	}
	return Subnet{Zone: zone, Tier: tier, Cidr: block.String(), ID: s.ID().ToStringOutput()}, nil
}

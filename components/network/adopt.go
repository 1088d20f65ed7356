package network

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/spec"
)

// adopt uses an existing VPC and subnets. It first checks every declared
// subnet against AWS (VPC, zone, CIDR), because capacity checks and subnet
// carving trusted the declaration; a mismatch fails before anything is made.
// It then tags the subnets so Kubernetes' AWS integrations discover them.
func (b *builder) adopt() error {
	ex := b.net.Existing
	var problems []string
	vpc, err := ec2.LookupVpc(b.ctx, &ec2.LookupVpcArgs{Id: pulumi.StringRef(ex.VpcId)}, pulumi.Parent(b.out))
	if err != nil {
		return fmt.Errorf("looking up adopted VPC %s: %w", ex.VpcId, err)
	}
	if vpc.CidrBlock != b.net.VpcCidr {
		problems = append(problems, fmt.Sprintf("cluster.network.vpcCidr: %s, but VPC %s has primary block %s", b.net.VpcCidr, ex.VpcId, vpc.CidrBlock))
	}
	if len(b.net.InterfaceEndpoints) > 0 {
		// AWS refuses private DNS for interface endpoints without both.
		for _, dns := range []struct {
			what, field string
			on          bool
		}{
			{"DNS support", "enableDnsSupport", vpc.EnableDnsSupport},
			{"DNS hostnames", "enableDnsHostnames", vpc.EnableDnsHostnames},
		} {
			if !dns.on {
				problems = append(problems, fmt.Sprintf("cluster.network.interfaceEndpoints: private DNS for interface endpoints needs %s turned on in VPC %s; turn it on (%s) or remove the interface endpoints",
					dns.what, ex.VpcId, dns.field))
			}
		}
	}
	check := func(tier string, subnets []spec.ExistingSubnet) {
		for i, s := range subnets {
			path := fmt.Sprintf("cluster.network.existing.%s[%d]", tier, i)
			got, err := ec2.LookupSubnet(b.ctx, &ec2.LookupSubnetArgs{Id: pulumi.StringRef(s.ID)}, pulumi.Parent(b.out))
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s.id: looking up %s: %v", path, s.ID, err))
				continue
			}
			if got.VpcId != ex.VpcId {
				problems = append(problems, fmt.Sprintf("%s.id: %s is in %s, not in the adopted VPC %s", path, s.ID, got.VpcId, ex.VpcId))
			}
			if got.AvailabilityZone != s.AvailabilityZone {
				problems = append(problems, fmt.Sprintf("%s.availabilityZone: %s is declared, but %s is in %s", path, s.AvailabilityZone, s.ID, got.AvailabilityZone))
			}
			if got.CidrBlock != s.Cidr {
				problems = append(problems, fmt.Sprintf("%s.cidr: %s is declared, but %s is %s", path, s.Cidr, s.ID, got.CidrBlock))
			}
		}
	}
	check("privateSubnets", ex.PrivateSubnets)
	check("publicSubnets", ex.PublicSubnets)
	if len(problems) > 0 {
		return fmt.Errorf("the adopted network does not match its declaration:\n  %s", strings.Join(problems, "\n  "))
	}

	b.vpcID = pulumi.String(ex.VpcId)
	for _, tier := range []struct {
		name    string
		role    string
		subnets []spec.ExistingSubnet
		into    *[]Subnet
	}{
		{"private", "kubernetes.io/role/internal-elb", ex.PrivateSubnets, &b.out.PrivateSubnets},
		{"public", "kubernetes.io/role/elb", ex.PublicSubnets, &b.out.PublicSubnets},
	} {
		for _, s := range tier.subnets {
			base := fmt.Sprintf("%s-%s-%s", b.name, tier.name, s.AvailabilityZone)
			// The cluster shares a subnet it does not own.
			for suffix, kv := range map[string][2]string{
				"cluster-tag": {tags.ClusterKey(b.args.ClusterName), "shared"},
				"role-tag":    {tier.role, "1"},
			} {
				if _, err := ec2.NewTag(b.ctx, base+"-"+suffix, &ec2.TagArgs{
					ResourceId: pulumi.String(s.ID),
					Key:        pulumi.String(kv[0]),
					Value:      pulumi.String(kv[1]),
				}, b.parent); err != nil {
					return err
				}
			}
			*tier.into = append(*tier.into, Subnet{Zone: s.AvailabilityZone, Tier: tier.name, Cidr: s.Cidr, ID: pulumi.String(s.ID).ToStringOutput()})
		}
	}
	for _, id := range ex.RouteTableIds {
		b.routeTables = append(b.routeTables, pulumi.String(id))
	}
	return nil
}

package masters

import (
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/ports"
	"github.com/kinfra-dev/kinfra/internal/tags"
)

// OperatorsRoleTag marks the operators' security group (ports.Operators),
// which the findings allow to reach etcd's client port.
const (
	OperatorsRoleTag = tags.Role
	OperatorsRole    = "operators"
)

// securityGroups creates the load balancer, master, node and operator
// groups and exactly the rules of ports.Rules between them, plus API access
// from the configured blocks. Rules are separate resources, so a change to one is
// reviewed as one.
func (b *builder) securityGroups() error {
	groups := map[ports.Group]pulumi.StringOutput{}
	for _, g := range []struct {
		group ports.Group
		desc  string
		// owned marks the group the AWS cloud controller may add load
		// balancer rules to (one per instance carries the cluster tag).
		owned bool
	}{
		{ports.LoadBalancer, "kinfra " + b.c.Name + ": the API load balancer", false},
		{ports.Masters, "kinfra " + b.c.Name + ": control-plane instances", true},
		{ports.Nodes, "kinfra " + b.c.Name + ": worker nodes", true},
		{ports.Operators, "kinfra " + b.c.Name + ": where kinfra roll and kinfra etcd run (attach to a deploy runner, bastion or Client VPN endpoint)", false},
	} {
		name := b.name + "-" + string(g.group)
		extra := map[string]string{}
		if g.owned {
			extra[tags.ClusterKey(b.c.Name)] = "owned"
		}
		if g.group == ports.Operators {
			extra[tags.Role] = OperatorsRole
		}
		sg, err := ec2.NewSecurityGroup(b.ctx, name, &ec2.SecurityGroupArgs{
			Description: pulumi.String(g.desc),
			VpcId:       b.net.VpcID,
			// Groups reference each other: revoke on delete, or none can go.
			RevokeRulesOnDelete: pulumi.Bool(true),
			Tags:                b.tags.For(name, extra),
		}, b.parent)
		if err != nil {
			return err
		}
		groups[g.group] = sg.ID().ToStringOutput()
	}
	b.lbSG, b.masterSG, b.nodeSG = groups[ports.LoadBalancer], groups[ports.Masters], groups[ports.Nodes]
	b.out.LoadBalancerSecurityGroupID, b.out.MasterSecurityGroupID, b.out.NodeSecurityGroupID = b.lbSG, b.masterSG, b.nodeSG
	b.out.OperatorSecurityGroupID = groups[ports.Operators]

	rules, err := ports.Rules(b.c.CNI)
	if err != nil {
		return err
	}
	for _, r := range rules {
		name := fmt.Sprintf("%s-%s-from-%s-%s", b.name, r.To, r.From, r.Name)
		args := &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId:           groups[r.To],
			ReferencedSecurityGroupId: groups[r.From],
			IpProtocol:                pulumi.String(r.Protocol),
			Description:               pulumi.String(r.Why),
			Tags:                      b.tags.For(name),
		}
		if r.Protocol != ports.All {
			args.FromPort, args.ToPort = pulumi.Int(r.FromPort), pulumi.Int(r.ToPort)
		}
		if _, err := vpc.NewSecurityGroupIngressRule(b.ctx, name, args, b.parent); err != nil {
			return err
		}
	}
	// The load balancer is IPv4 only (spec validation admits IPv4 blocks).
	for i, block := range b.c.API.AccessCidrs {
		name := fmt.Sprintf("%s-%s-from-access-%d", b.name, ports.LoadBalancer, i)
		if p, err := netip.ParsePrefix(block); err != nil || !p.Addr().Is4() {
			return fmt.Errorf("cluster.api.accessCidrs[%d]: %q is not an IPv4 block", i, block)
		}
		if _, err := vpc.NewSecurityGroupIngressRule(b.ctx, name, &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId: b.lbSG,
			CidrIpv4:        pulumi.String(block),
			IpProtocol:      pulumi.String(ports.TCP),
			FromPort:        pulumi.Int(ports.API),
			ToPort:          pulumi.Int(ports.API),
			Description:     pulumi.String("API access from " + block + " (cluster.api.accessCidrs)"),
			Tags:            b.tags.For(name),
		}, b.parent); err != nil {
			return err
		}
	}
	return b.egress()
}

// egress: the load balancer only forwards to the masters; instances reach
// AWS APIs, registries and the internet (through NAT or endpoints).
func (b *builder) egress() error {
	name := b.name + "-" + string(ports.LoadBalancer) + "-to-masters-api"
	if _, err := vpc.NewSecurityGroupEgressRule(b.ctx, name, &vpc.SecurityGroupEgressRuleArgs{
		SecurityGroupId:           b.lbSG,
		ReferencedSecurityGroupId: b.masterSG,
		IpProtocol:                pulumi.String(ports.TCP),
		FromPort:                  pulumi.Int(ports.API),
		ToPort:                    pulumi.Int(ports.API),
		Description:               pulumi.String("forward API traffic and health checks to the masters"),
		Tags:                      b.tags.For(name),
	}, b.parent); err != nil {
		return err
	}
	for _, g := range []struct {
		group ports.Group
		id    pulumi.StringOutput
	}{{ports.Masters, b.masterSG}, {ports.Nodes, b.nodeSG}} {
		blocks := [][2]string{{"ipv4", "0.0.0.0/0"}}
		if b.net.IPv6 {
			blocks = append(blocks, [2]string{"ipv6", "::/0"})
		}
		for _, blk := range blocks {
			name := b.name + "-" + string(g.group) + "-egress-" + blk[0]
			args := &vpc.SecurityGroupEgressRuleArgs{
				SecurityGroupId: g.id,
				IpProtocol:      pulumi.String(ports.All),
				Description:     pulumi.String("instances reach AWS APIs, registries and the internet"),
				Tags:            b.tags.For(name),
			}
			if blk[0] == "ipv4" {
				args.CidrIpv4 = pulumi.String(blk[1])
			} else {
				args.CidrIpv6 = pulumi.String(blk[1])
			}
			if _, err := vpc.NewSecurityGroupEgressRule(b.ctx, name, args, b.parent); err != nil {
				return err
			}
		}
	}
	return nil
}

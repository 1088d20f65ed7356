package motoapply

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// securityGroup does what the provider's resourceSecurityGroupCreate does:
// CreateSecurityGroup (named by the name input, else autonamed; described
// "Managed by Pulumi" when no description is given, pulumi-aws's default
// in place of Terraform's), then revokes the allow-all egress rules AWS
// gives every new group (IPv4, and IPv6 where the group has one), then
// authorizes the inline ingress and egress rules, untagged.
func (a *applier) securityGroup(ctx context.Context, r mockaws.Resource, in *inputs) (created, error) {
	name, err := physicalName(r, in, 255)
	if err != nil {
		return created{}, err
	}
	desc := in.str("description")
	if !in.has("description") {
		desc = "Managed by Pulumi"
	}
	// revokeRulesOnDelete only changes how the provider deletes the group.
	in.ignore("revokeRulesOnDelete")
	out, err := a.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName:         &name,
		Description:       &desc,
		VpcId:             in.optStr("vpcId"),
		TagSpecifications: tagSpecs(ec2types.ResourceTypeSecurityGroup, in.tags("tags")),
	})
	if err != nil {
		return created{}, err
	}
	id := out.GroupId
	allTraffic := func(r ec2types.IpPermission) []ec2types.IpPermission {
		r.IpProtocol, r.FromPort, r.ToPort = aws.String("-1"), aws.Int32(0), aws.Int32(0)
		return []ec2types.IpPermission{r}
	}
	if _, err := a.ec2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: id,
		IpPermissions: allTraffic(ec2types.IpPermission{IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}})}); err != nil {
		return created{}, fmt.Errorf("revoking the default IPv4 egress rule: %w", err)
	}
	// A group has the IPv6 one only in a VPC with IPv6; the provider
	// ignores its absence.
	if _, err := a.ec2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: id,
		IpPermissions: allTraffic(ec2types.IpPermission{Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}})}); err != nil && !isCode(err, "InvalidPermission.NotFound", "InvalidParameterValue") {
		return created{}, fmt.Errorf("revoking the default IPv6 egress rule: %w", err)
	}
	if perms := inlinePermissions(aws.ToString(id), in.objects("ingress")); len(perms) > 0 {
		if _, err := a.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: id, IpPermissions: perms}); err != nil {
			return created{}, fmt.Errorf("authorizing the inline ingress rules: %w", err)
		}
	}
	if perms := inlinePermissions(aws.ToString(id), in.objects("egress")); len(perms) > 0 {
		if _, err := a.ec2.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: id, IpPermissions: perms}); err != nil {
			return created{}, fmt.Errorf("authorizing the inline egress rules: %w", err)
		}
	}
	return created{id: aws.ToString(id), name: name}, nil
}

// inlinePermissions are a group's inline rules (ingress or egress blocks)
// as EC2 permissions, one per rule with all its peers, as the provider's
// expandIPPerms builds them.
func inlinePermissions(self string, rules []*inputs) []ec2types.IpPermission {
	var out []ec2types.IpPermission
	for _, r := range rules {
		desc := r.optStr("description")
		p := ec2types.IpPermission{IpProtocol: r.optStr("protocol"), FromPort: r.optInt32("fromPort"), ToPort: r.optInt32("toPort")}
		for _, c := range r.strings("cidrBlocks") {
			p.IpRanges = append(p.IpRanges, ec2types.IpRange{CidrIp: aws.String(c), Description: desc})
		}
		for _, c := range r.strings("ipv6CidrBlocks") {
			p.Ipv6Ranges = append(p.Ipv6Ranges, ec2types.Ipv6Range{CidrIpv6: aws.String(c), Description: desc})
		}
		for _, pl := range r.strings("prefixListIds") {
			p.PrefixListIds = append(p.PrefixListIds, ec2types.PrefixListId{PrefixListId: aws.String(pl), Description: desc})
		}
		groups := r.strings("securityGroups")
		if s, _ := r.boolean("self"); s {
			groups = append(groups, self)
		}
		for _, g := range groups {
			p.UserIdGroupPairs = append(p.UserIdGroupPairs, ec2types.UserIdGroupPair{GroupId: aws.String(g), Description: desc})
		}
		out = append(out, p)
	}
	return out
}

// securityGroupRule creates a vpc.SecurityGroupIngressRule or
// EgressRule as the provider does: one AuthorizeSecurityGroup* call with
// one peer, tagged on create; its ID is the sgr-… rule ID.
func (a *applier) securityGroupRule(ctx context.Context, in *inputs, egress bool) (created, error) {
	p := ec2types.IpPermission{IpProtocol: in.optStr("ipProtocol")}
	// "-1" (all traffic) takes no ports.
	if aws.ToString(p.IpProtocol) != "-1" {
		p.FromPort, p.ToPort = in.optInt32("fromPort"), in.optInt32("toPort")
	} else {
		in.ignore("fromPort", "toPort")
	}
	desc := in.optStr("description")
	switch {
	case in.has("cidrIpv4"):
		p.IpRanges = []ec2types.IpRange{{CidrIp: in.optStr("cidrIpv4"), Description: desc}}
	case in.has("cidrIpv6"):
		p.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: in.optStr("cidrIpv6"), Description: desc}}
	case in.has("prefixListId"):
		p.PrefixListIds = []ec2types.PrefixListId{{PrefixListId: in.optStr("prefixListId"), Description: desc}}
	case in.has("referencedSecurityGroupId"):
		p.UserIdGroupPairs = []ec2types.UserIdGroupPair{{GroupId: in.optStr("referencedSecurityGroupId"), Description: desc}}
	default:
		return created{}, errors.New("the rule names no peer (cidrIpv4, cidrIpv6, prefixListId or referencedSecurityGroupId)")
	}
	group := in.optStr("securityGroupId")
	specs := tagSpecs(ec2types.ResourceTypeSecurityGroupRule, in.tags("tags"))
	var rules []ec2types.SecurityGroupRule
	if egress {
		out, err := a.ec2.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: group, IpPermissions: []ec2types.IpPermission{p}, TagSpecifications: specs})
		if err != nil {
			return created{}, err
		}
		rules = out.SecurityGroupRules
	} else {
		out, err := a.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: group, IpPermissions: []ec2types.IpPermission{p}, TagSpecifications: specs})
		if err != nil {
			return created{}, err
		}
		rules = out.SecurityGroupRules
	}
	if len(rules) != 1 {
		return created{}, fmt.Errorf("authorizing one rule returned %d", len(rules))
	}
	return created{id: aws.ToString(rules[0].SecurityGroupRuleId)}, nil
}

// isCode reports whether err is an AWS API error with one of the codes.
func isCode(err error, codes ...string) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	for _, c := range codes {
		if api.ErrorCode() == c {
			return true
		}
	}
	return false
}
